//! Extraction when nothing else applies: a page with no selectors and no
//! structured data. The title is the page's `<h1>`; the price is the most
//! likely currency amount — one the markup calls a price, close after the
//! title, not struck through (an old price), not per unit, not a shipping
//! cost; the currency is the amount's own symbol, read against the
//! currency of the site's country domain (a bare "$" on a .mx shop is
//! pesos).

use scraper::{ElementRef, Html};
use url::Url;

use super::price::{currency_at_site, currency_in, parse_price};
use super::{text_of, Partial};

/// Longest element text considered a price ("US $1,299.99 – 1,499.99").
const MAX_PRICE_TEXT: usize = 40;
/// Elements after the title within which a price counts as near it.
const NEAR_TITLE: usize = 150;
/// Elements read before giving up (a hostile page may hold millions).
const MAX_ELEMENTS: usize = 50_000;

/// Words in a class, id or itemprop that mark a price, and those that mark
/// a price that is not the one to pay now.
const PRICE_MARKS: [&str; 3] = ["price", "preis", "precio"];
const NOT_NOW_MARKS: [&str; 18] = [
    "old",
    "was",
    "strike",
    "strikethrough",
    "striked",
    "regular",
    "list",
    "compare",
    "crossed",
    "before",
    "rrp",
    "uvp",
    "msrp",
    "original",
    "shipping",
    "delivery",
    "postage",
    "unit",
];
/// Text that makes an amount something other than the item's price: a
/// unit price (compared with spaces removed), or a cost other than it.
const PER_UNIT: [&str; 5] = ["/kg", "/100", "/l", "/m", "/st"];
const NOT_THE_PRICE_WORDS: [&str; 6] = [
    "per ",
    "shipping",
    "versand",
    "envío",
    "livraison",
    "delivery",
];

/// The title and price of a page nothing else read.
pub(super) fn generic(doc: &Html, page_url: &Url) -> Partial {
    let elements: Vec<ElementRef> = doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .take(MAX_ELEMENTS)
        .collect();
    let title_at = product_heading(doc, &elements);
    let title = title_at
        .map(|i| text_of(elements[i]))
        .filter(|t| !t.is_empty());
    let site_currency = country_currency(page_url);
    let best = elements
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let (score, text) = price_score(*e, i, title_at)?;
            Some((score, i, text))
        })
        // The best score; on a tie the innermost (latest) element.
        .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (price, currency) = match best {
        Some((_, _, text)) => {
            let currency = currency_at_site(&text, site_currency);
            (Some(text), currency)
        }
        None => (None, None),
    };
    Partial {
        title,
        price,
        currency,
        ..Partial::default()
    }
}

/// The index of the `<h1>` that names the product: of several (a cookie
/// banner's, a modal's), the one sharing most words with the document's
/// `<title>`, the first on a tie.
fn product_heading(doc: &Html, elements: &[ElementRef]) -> Option<usize> {
    let words = |text: &str| -> Vec<String> {
        text.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 1)
            .map(String::from)
            .collect()
    };
    let title_selector = scraper::Selector::parse("title").ok()?;
    let page_title = doc
        .select(&title_selector)
        .next()
        .map(|t| words(&text_of(t)))
        .unwrap_or_default();
    elements
        .iter()
        .enumerate()
        .filter(|(_, e)| e.value().name() == "h1")
        .map(|(i, e)| {
            let shared = words(&text_of(*e))
                .iter()
                .filter(|w| page_title.contains(w))
                .count();
            (shared, i)
        })
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        .map(|(_, i)| i)
}

/// How likely `element` (the `index`th element, the title at `title_at`)
/// holds the price to pay, and its text; `None` when it cannot.
fn price_score(
    element: ElementRef,
    index: usize,
    title_at: Option<usize>,
) -> Option<(f64, String)> {
    let (text, says_price) = price_to_pay(element)?;
    let mut score = 0.0;
    if says_price {
        score += 3.0;
    }
    // With a title, the price follows it: amounts before it are a cart,
    // a promotion in the header.
    if let Some(title) = title_at {
        if index < title {
            return None;
        }
        if index - title <= NEAR_TITLE {
            score += 2.0 - (index - title) as f64 / NEAR_TITLE as f64;
        }
    }
    Some((score, text))
}

/// An element's text when it reads as a price to pay now — a currency
/// amount, short, not struck through or marked as another price (old,
/// list, shipping, per unit), not a box of several prices — and whether
/// its markup calls it a price.
pub(super) fn price_to_pay(element: ElementRef) -> Option<(String, bool)> {
    let text = short_text(element)?;
    if text.is_empty() {
        return None;
    }
    parse_price(&text)?;
    // An amount without a currency sign is a quantity, a rating, a count —
    // unless the sign stands beside it in an element of its own
    // ("<em>￥</em><i>1699.00</i>").
    let text = match currency_in(&text) {
        Some(_) => text,
        None => with_sign_beside(element, text)?,
    };
    let lower = text.to_lowercase();
    let squeezed: String = lower.split_whitespace().collect();
    if PER_UNIT.iter().any(|t| squeezed.contains(t))
        || NOT_THE_PRICE_WORDS.iter().any(|t| lower.contains(t))
    {
        return None;
    }
    // A box of several prices is not one: its parts are judged instead. A
    // box of one amount and its sign is one price.
    let amounts = element
        .children()
        .filter_map(ElementRef::wrap)
        .filter_map(short_text)
        .filter_map(|t| parse_price(&t))
        .collect::<Vec<_>>();
    if amounts.len() > 1 || amounts.iter().any(|p| p.currency.is_some()) {
        return None;
    }
    // Struck through, or marked as another price, here or just above.
    let mut scope = Some(element);
    for _ in 0..3 {
        let Some(e) = scope else { break };
        if matches!(e.value().name(), "del" | "s" | "strike")
            || e.value().attr("data-a-strike") == Some("true")
            || marks_another_price(e)
        {
            return None;
        }
        scope = e.parent().and_then(ElementRef::wrap);
    }
    let marks = marks_of(element);
    let says_price = PRICE_MARKS.iter().any(|m| marks.contains(m));
    Some((text, says_price))
}

/// A bare amount with the currency sign its neighbour element shows
/// ("$" before, "€" after), when one does.
fn with_sign_beside(element: ElementRef, amount: String) -> Option<String> {
    let sign_of = |neighbour: Option<ElementRef>| {
        let text = short_text(neighbour?)?;
        (currency_in(&text).is_some() && parse_price(&text).is_none()).then_some(text)
    };
    let before = element.prev_siblings().find_map(ElementRef::wrap);
    let after = element.next_siblings().find_map(ElementRef::wrap);
    if let Some(sign) = sign_of(before) {
        return Some(format!("{sign} {amount}"));
    }
    sign_of(after).map(|sign| format!("{amount} {sign}"))
}

/// An element's text when it is short enough to be a price, read no
/// further than that (every element of a page is asked: reading whole
/// subtrees would cost the page's size times its depth).
pub(super) fn short_text(element: ElementRef) -> Option<String> {
    let mut text = String::new();
    for piece in element.text() {
        text.push_str(piece);
        text.push(' ');
        if text.len() > MAX_PRICE_TEXT * 4 {
            return None;
        }
    }
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (text.chars().count() <= MAX_PRICE_TEXT).then_some(text)
}

/// Whether an element's class, id or itemprop marks a price that is not
/// the one to pay now: a word of it ("price-old", "wasPrice",
/// "listprice") is one of [`NOT_NOW_MARKS`], alone or joined to "price".
fn marks_another_price(element: ElementRef) -> bool {
    mark_words(element).iter().any(|word| {
        NOT_NOW_MARKS.iter().any(|m| {
            word == m
                || word.strip_suffix("price") == Some(m)
                || word.strip_prefix("price") == Some(m)
        })
    })
}

/// The words of an element's class, id and itemprop, lower case: split at
/// anything not a letter or digit, and where lower case meets upper case
/// ("oldPrice" → "old", "price").
pub(super) fn mark_words(element: ElementRef) -> Vec<String> {
    let value = element.value();
    let mut words = Vec::new();
    for raw in [
        value.attr("class"),
        value.attr("id"),
        value.attr("itemprop"),
    ]
    .into_iter()
    .flatten()
    {
        let mut word = String::new();
        let mut previous_lower = false;
        for c in raw.chars() {
            let boundary = !c.is_alphanumeric() || (previous_lower && c.is_uppercase());
            if boundary && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
            }
            previous_lower = c.is_lowercase();
        }
        if !word.is_empty() {
            words.push(word);
        }
    }
    words
}

/// An element's class, id and itemprop, lower case, as one string.
pub(super) fn marks_of(element: ElementRef) -> String {
    let value = element.value();
    [
        value.attr("class"),
        value.attr("id"),
        value.attr("itemprop"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
    .to_lowercase()
}

/// The currency of the country a host's domain belongs to, where it has
/// one of its own.
pub(super) fn country_currency(url: &Url) -> Option<&'static str> {
    let host = url.host_str()?;
    let tld = host.rsplit('.').next()?;
    let country = [
        ("uk", "GBP"),
        ("jp", "JPY"),
        ("cn", "CNY"),
        ("mx", "MXN"),
        ("cl", "CLP"),
        ("co", "COP"),
        ("ar", "ARS"),
        ("br", "BRL"),
        ("ca", "CAD"),
        ("au", "AUD"),
        ("nz", "NZD"),
        ("in", "INR"),
        ("ch", "CHF"),
        ("se", "SEK"),
        ("no", "NOK"),
        ("dk", "DKK"),
        ("pl", "PLN"),
        ("de", "EUR"),
        ("fr", "EUR"),
        ("es", "EUR"),
        ("it", "EUR"),
        ("nl", "EUR"),
        ("at", "EUR"),
        ("be", "EUR"),
        ("ie", "EUR"),
        ("pt", "EUR"),
        ("fi", "EUR"),
    ];
    country.iter().find(|(t, _)| *t == tld).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(html: &str, url: &str) -> (Option<String>, Option<f64>, Option<String>) {
        let doc = Html::parse_document(html);
        let partial = generic(&doc, &Url::parse(url).unwrap());
        (
            partial.title,
            partial
                .price
                .as_deref()
                .and_then(parse_price)
                .map(|p| p.amount),
            partial.currency,
        )
    }

    #[test]
    fn the_price_to_pay_near_the_title_wins() {
        let page = r#"<header><span class="cart">$0.00</span></header>
            <h1>Orvane Tidewatch</h1>
            <div class="price-box"><del>$329.00</del> <span class="old-price">$299.00</span>
              <span class="price">$189.00</span><span class="unit">$18.90 / 100 g</span></div>
            <p>Shipping: $9.99</p>
            <aside><span class="price">$12.00</span> accessories</aside>"#;
        assert_eq!(
            read(page, "https://shop.example/p/1"),
            (
                Some("Orvane Tidewatch".into()),
                Some(189.0),
                Some("USD".into())
            )
        );
    }

    #[test]
    fn locale_numbers_and_the_country_currency() {
        let chile = r#"<h1>Reloj</h1><p class="precio">$ 24.990</p>"#;
        assert_eq!(
            read(chile, "https://tienda.example.cl/p/1").1,
            Some(24990.0)
        );
        assert_eq!(
            read(chile, "https://tienda.example.cl/p/1").2.as_deref(),
            Some("CLP")
        );
        let germany = r#"<h1>Uhr</h1><span class="product-preis">1.234,56 €</span>"#;
        assert_eq!(
            read(germany, "https://laden.example.de/p/1"),
            (Some("Uhr".into()), Some(1234.56), Some("EUR".into()))
        );
        // A pound sign says pounds wherever the shop is.
        let pounds = r#"<h1>Watch</h1><span>£59.00</span>"#;
        assert_eq!(
            read(pounds, "https://shop.example.de/").2.as_deref(),
            Some("GBP")
        );
    }

    #[test]
    fn no_amount_no_price() {
        let page = r#"<h1>Watch</h1><p>Call for price</p><p>In stock: 12</p>"#;
        assert_eq!(read(page, "https://shop.example/").1, None);
    }
}
