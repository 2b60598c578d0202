//! Reading a page as a buyer reads it, with no selectors: the product's
//! title and the price to pay. The title is the page's main heading (the
//! `<h1>`, or what names the product, sharing most words with the page's
//! `<title>`). The price is the amount a buyer decides on: one the markup
//! calls a price, near the title and the buy button; not struck through
//! or marked as another price (old, list, "was"), not per unit, not a
//! shipping cost or an instalment, not in the cart, a header or a block
//! of other products ("customers also bought"). Its currency is its own
//! sign, read against the currency of the site's country domain (a bare
//! "$" on a .cl shop is pesos).
//!
//! The same reading checks what structured data says ([`Reading`]): every
//! amount the page shows, and which of them are struck through.

use scraper::{ElementRef, Html};
use url::Url;

use super::marks::{mark_words, within_aside};
use super::price::{currency_at_site, currency_in, parse_price};
use super::{text_of, Partial};

/// Longest element text considered a price ("US $1,299.99 – 1,499.99").
const MAX_PRICE_TEXT: usize = 40;
/// Elements after the title within which a price counts as near it.
const NEAR_TITLE: usize = 150;
/// Elements either side of the buy button within which a price counts as
/// near it.
const NEAR_BUY: usize = 80;
/// Elements read before giving up (a hostile page may hold millions).
const MAX_ELEMENTS: usize = 200_000;

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
/// unit price (compared with spaces removed), a cost other than it, an
/// instalment.
const PER_UNIT: [&str; 7] = ["/kg", "/100", "/l", "/m", "/st", "/mo", "/month"];
const NOT_THE_PRICE_WORDS: [&str; 16] = [
    "per ",
    "shipping",
    "versand",
    "envío",
    "livraison",
    "delivery",
    "postage",
    "payments",
    "a month",
    "monthly",
    "monatlich",
    "cuotas",
    "raten",
    "installment",
    "instalment",
    "financing",
];
/// How a text introduces a price that is not the one to pay now.
const WAS_WORDS: [&str; 12] = [
    "was ",
    "list price",
    "list:",
    "rrp",
    "uvp",
    "statt",
    "regular price",
    "reg.",
    "compare at",
    "original price",
    "antes",
    "typical price",
];
/// What a buy button says, or its markup.
const BUY_WORDS: [&str; 16] = [
    "add to cart",
    "add to bag",
    "add to basket",
    "buy now",
    "buy it now",
    "in den warenkorb",
    "jetzt kaufen",
    "añadir al carrito",
    "comprar",
    "ajouter au panier",
    "aggiungi al carrello",
    "in winkelwagen",
    "加入购物车",
    "立即购买",
    "カートに入れる",
    "sepete ekle",
];
const BUY_MARKS: [&str; 5] = ["addtocart", "addtobag", "buynow", "buybox", "addtobasket"];

/// What a buyer reads on a page.
#[derive(Debug, Default)]
pub(super) struct Reading {
    pub title: Option<String>,
    /// The price to pay, as written, and whether it is plainly so: marked
    /// as a price, beside the title or the buy button.
    pub price: Option<(String, bool)>,
    pub currency: Option<String>,
    /// Every amount the page shows as a price (struck through or not).
    pub shown: Vec<f64>,
    /// The amounts shown struck through or marked as another price.
    pub struck: Vec<f64>,
}

impl Reading {
    pub(super) fn into_partial(self) -> Partial {
        Partial {
            title: self.title,
            price: self.price.map(|(text, _)| text),
            currency: self.currency,
            ..Partial::default()
        }
    }
}

/// Whether two amounts are the same price (to the cent, or 0.5%).
pub(super) fn same_amount(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.005_f64.max(0.005 * a.abs().max(b.abs()))
}

/// Reads a page as a buyer would.
///
/// With `checking` (the amount structured data says), only what the check
/// needs is read: the amounts near the title and the buy button, and
/// wherever that amount is shown — a fraction of a page's amounts.
pub(super) fn read(doc: &Html, page_url: &Url, checking: Option<f64>) -> Reading {
    let (elements, amounts) = elements_and_amounts(doc);
    let title_at = product_heading(doc, &elements);
    let title = title_at
        .map(|i| text_of(elements[i]))
        .filter(|t| !t.is_empty());
    let buy_at = elements
        .iter()
        .position(|e| is_buy_button(*e) && !within_aside(*e));
    let mut reading = Reading {
        title,
        ..Reading::default()
    };
    let mut best: Option<(f64, usize, String, bool)> = None;
    for i in amounts {
        let element = elements[i];
        let near = title_at.is_some_and(|t| i >= t && i - t <= NEAR_TITLE)
            || buy_at.is_some_and(|b| i.abs_diff(b) <= NEAR_BUY);
        if let Some(said) = checking.filter(|_| !near) {
            let says_it = short_text(element)
                .and_then(|t| parse_price(&t))
                .is_some_and(|p| same_amount(p.amount, said));
            if !says_it {
                continue;
            }
        }
        if let Some((amount, struck)) = shown_amount(element) {
            reading.shown.push(amount);
            if struck {
                reading.struck.push(amount);
            }
        }
        let Some((score, text, plain)) = price_score(element, i, title_at, buy_at) else {
            continue;
        };
        if links_elsewhere(element, page_url) {
            continue;
        }
        // The best score; on a tie the innermost (latest) element.
        if best.as_ref().is_none_or(|(s, ..)| score >= *s) {
            best = Some((score, i, text, plain));
        }
    }
    if let Some((_, _, text, plain)) = best {
        reading.currency = currency_at_site(&text, country_currency(page_url));
        reading.price = Some((text, plain));
    }
    reading
}

/// The page's elements in document order (at most [`MAX_ELEMENTS`]), and
/// in order the indexes of those that may hold an amount: an element with
/// a short text of its own holding a digit, its parent and grandparent (an
/// amount written in parts: "$", "12", ".99"). Scripts and styles hold
/// none. Only these are read as prices: reading every element's text would
/// cost the page's size many times over.
fn elements_and_amounts(doc: &Html) -> (Vec<ElementRef<'_>>, Vec<usize>) {
    use ego_tree::iter::Edge;
    let mut elements: Vec<ElementRef> = Vec::new();
    let mut parents: Vec<Option<usize>> = Vec::new();
    let mut digits: Vec<bool> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for edge in doc.root_element().traverse() {
        match edge {
            Edge::Open(node) => {
                if let Some(element) = ElementRef::wrap(node) {
                    if elements.len() == MAX_ELEMENTS {
                        break;
                    }
                    parents.push(open.last().copied());
                    elements.push(element);
                    digits.push(false);
                    open.push(elements.len() - 1);
                } else if let (Some(text), Some(&at)) = (node.value().as_text(), open.last()) {
                    let text = text.trim();
                    if text.len() <= MAX_PRICE_TEXT * 2 && text.bytes().any(|b| b.is_ascii_digit())
                    {
                        digits[at] = true;
                    }
                }
            }
            Edge::Close(node) => {
                if node.value().is_element()
                    && open
                        .last()
                        .is_some_and(|&at| elements[at].id() == node.id())
                {
                    open.pop();
                }
            }
        }
    }
    let mut candidate = vec![false; elements.len()];
    for i in (0..elements.len()).filter(|&i| digits[i]) {
        let mut at = Some(i);
        for _ in 0..3 {
            let Some(j) = at else { break };
            candidate[j] = true;
            at = parents[j];
        }
    }
    let amounts = (0..elements.len())
        .filter(|&i| candidate[i])
        .filter(|&i| {
            !matches!(
                elements[i].value().name(),
                "script" | "style" | "noscript" | "template"
            )
        })
        .collect();
    (elements, amounts)
}

/// The index of the element that names the product: of the `<h1>`s (a
/// cookie banner's, a modal's), the one sharing most words with the
/// document's `<title>`, the first on a tie; with none, the heading or
/// element marked as the product's name or title that shares most (at
/// least two) words with it.
fn product_heading(doc: &Html, elements: &[ElementRef]) -> Option<usize> {
    let words = |text: &str| -> Vec<String> {
        text.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() > 1)
            .map(String::from)
            .collect()
    };
    let title_selector = scraper::Selector::parse("title").ok()?;
    let page_title = doc
        .select(&title_selector)
        .next()
        .map(|t| words(&text_of(t)))
        .unwrap_or_default();
    let shared = |e: ElementRef| {
        words(&short_words(e))
            .iter()
            .filter(|w| page_title.contains(w))
            .count()
    };
    let best = |candidates: &mut dyn Iterator<Item = (usize, &ElementRef)>| {
        candidates
            .map(|(i, e)| (shared(*e), i))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
    };
    let h1 = best(
        &mut elements
            .iter()
            .enumerate()
            .filter(|(_, e)| e.value().name() == "h1"),
    );
    if let Some((_, at)) = h1 {
        return Some(at);
    }
    best(&mut elements.iter().enumerate().filter(|(_, e)| {
        matches!(e.value().name(), "h2" | "h3")
            || e.value().attr("itemprop") == Some("name")
            || mark_words(**e)
                .iter()
                .any(|w| matches!(w.as_str(), "title" | "name"))
    }))
    .filter(|(n, _)| *n >= 2)
    .map(|(_, at)| at)
}

/// An element's text up to a few hundred bytes.
fn short_words(element: ElementRef) -> String {
    let mut text = String::new();
    for piece in element.text() {
        text.push_str(piece);
        text.push(' ');
        if text.len() > 400 {
            break;
        }
    }
    text
}

/// Whether an amount sits in a link to another page — a card of another
/// product ("customers also bought", a sponsored one), not this one's
/// price — unless the link is the chosen one of a set (the selected
/// format or size, which links to its own page).
fn links_elsewhere(element: ElementRef, page_url: &Url) -> bool {
    let near = || {
        std::iter::once(element)
            .chain(element.ancestors().filter_map(ElementRef::wrap))
            .take(5)
    };
    let elsewhere = near().any(|e| {
        e.value().name() == "a"
            && e.value().attr("href").is_some_and(|href| {
                let href = href.trim();
                !href.is_empty()
                    && !href.starts_with('#')
                    && !href.to_ascii_lowercase().starts_with("javascript:")
                    && page_url
                        .join(href)
                        .is_ok_and(|to| to.path() != page_url.path())
            })
    });
    let chosen = || {
        near().any(|e| {
            let value = e.value();
            ["aria-selected", "aria-current", "aria-checked"]
                .iter()
                .any(|a| value.attr(a).is_some_and(|v| v != "false"))
                || mark_words(e)
                    .iter()
                    .any(|w| matches!(w.as_str(), "selected" | "active" | "current"))
        })
    };
    elsewhere && !chosen()
}

/// Whether an element is a buy button: its markup, or what it says.
fn is_buy_button(element: ElementRef) -> bool {
    let value = element.value();
    if !matches!(value.name(), "button" | "input" | "a") {
        return false;
    }
    // A link to another page is not a button (a page holds hundreds).
    if value.name() == "a"
        && value
            .attr("href")
            .is_some_and(|h| h.len() > 1 && !h.starts_with('#') && !h.contains("cart"))
    {
        return false;
    }
    let words = mark_words(element);
    if words.iter().any(|w| BUY_MARKS.contains(&w.as_str())) || words.concat().contains("addtocart")
    {
        return true;
    }
    let said = format!(
        "{} {} {}",
        short_words(element),
        value.attr("value").unwrap_or_default(),
        value.attr("aria-label").unwrap_or_default()
    )
    .to_lowercase();
    let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
    BUY_WORDS.iter().any(|w| said.contains(w))
}

/// An amount the page shows as a price — a currency amount, or a number
/// its markup calls a price — and whether it is struck through or marked
/// as another price.
fn shown_amount(element: ElementRef) -> Option<(f64, bool)> {
    let text = short_text(element)?;
    let price = parse_price(&text)?;
    let marked = says_price(element);
    if price.currency.is_none() && !marked {
        return None;
    }
    // Counted once: not a box around another amount.
    let inner = element
        .children()
        .filter_map(ElementRef::wrap)
        .any(|child| short_text(child).is_some_and(|t| parse_price(&t).is_some()));
    if inner || price.amount == 0.0 {
        return None;
    }
    Some((price.amount, struck_or_another(element, &text)))
}

/// How likely `element` (the `index`th element; the title and the buy
/// button at `title_at` and `buy_at`) holds the price to pay: its score,
/// its text, and whether it is plainly the price.
fn price_score(
    element: ElementRef,
    index: usize,
    title_at: Option<usize>,
    buy_at: Option<usize>,
) -> Option<(f64, String, bool)> {
    let (text, marked) = price_to_pay(element)?;
    // Other products, the cart, the header: not this product's price.
    if within_aside(element) {
        return None;
    }
    let mut score = 0.0;
    if marked {
        score += 3.0;
    }
    let near_buy = buy_at.filter(|&buy| index.abs_diff(buy) <= NEAR_BUY);
    if let Some(buy) = near_buy {
        score += 2.0 - index.abs_diff(buy) as f64 / NEAR_BUY as f64;
    }
    let mut near_title = false;
    // With a title, the price follows it: amounts before it are a cart,
    // a promotion in the header — unless the buy button stands by them.
    if let Some(title) = title_at {
        if index < title && near_buy.is_none() {
            return None;
        }
        if index >= title && index - title <= NEAR_TITLE {
            near_title = true;
            score += 2.0 - (index - title) as f64 / NEAR_TITLE as f64;
        }
    }
    let plain = marked && (near_title || near_buy.is_some());
    // An amount neither marked as a price nor near the title or the buy
    // button is not evidence enough.
    (score > 0.0).then_some((score, text, plain))
}

/// Whether an element's markup (or its parent's: a price's spoken form
/// inside it) calls it a price.
fn says_price(element: ElementRef) -> bool {
    std::iter::once(element)
        .chain(element.parent().and_then(ElementRef::wrap))
        .any(|e| {
            e.value().attr("itemprop") == Some("price")
                || mark_words(e)
                    .iter()
                    .any(|w| PRICE_MARKS.iter().any(|m| w.contains(m)))
        })
}

/// An element's text when it reads as a price to pay now — an amount with
/// a currency sign (its own, or the sign beside it); short; not per unit, shipping or an instalment; not
/// struck through or marked as another price; not a box of several
/// prices — and whether its markup calls it a price.
pub(super) fn price_to_pay(element: ElementRef) -> Option<(String, bool)> {
    let text = short_text(element)?;
    if text.is_empty() {
        return None;
    }
    let price = parse_price(&text)?;
    if price.amount == 0.0 {
        return None;
    }
    let marked = says_price(element);
    // An amount without a currency sign is a quantity, a rating, a count —
    // unless the sign stands beside it in an element of its own
    // ("<em>￥</em><i>1699.00</i>").
    let text = match currency_in(&text) {
        Some(_) => text,
        None => with_sign_beside(element, &text)?,
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
    if struck_or_another(element, &text) {
        return None;
    }
    Some((text, marked))
}

/// Whether a price is struck through or marked as another than the one to
/// pay now (here or just above), or its text introduces it so ("Was $20").
fn struck_or_another(element: ElementRef, text: &str) -> bool {
    let lower = text.to_lowercase();
    if WAS_WORDS.iter().any(|w| lower.starts_with(w)) {
        return true;
    }
    let mut scope = Some(element);
    for _ in 0..3 {
        let Some(e) = scope else { break };
        if matches!(e.value().name(), "del" | "s" | "strike")
            || e.value().attr("data-a-strike") == Some("true")
            || marks_another_price(e)
        {
            return true;
        }
        scope = e.parent().and_then(ElementRef::wrap);
    }
    false
}

/// A bare amount with the currency sign its neighbour element shows
/// ("$" before, "€" after), when one does.
fn with_sign_beside(element: ElementRef, amount: &str) -> Option<String> {
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
        ("gr", "EUR"),
        ("sk", "EUR"),
        ("si", "EUR"),
        ("lt", "EUR"),
        ("lv", "EUR"),
        ("ee", "EUR"),
        ("cz", "CZK"),
        ("hu", "HUF"),
        ("ro", "RON"),
        ("tr", "TRY"),
        ("ru", "RUB"),
        ("ua", "UAH"),
        ("id", "IDR"),
        ("kr", "KRW"),
        ("vn", "VND"),
        ("ph", "PHP"),
        ("th", "THB"),
        ("my", "MYR"),
        ("sg", "SGD"),
        ("hk", "HKD"),
        ("tw", "TWD"),
        ("il", "ILS"),
        ("ae", "AED"),
        ("sa", "SAR"),
        ("za", "ZAR"),
        ("pe", "PEN"),
        ("uy", "UYU"),
    ];
    country.iter().find(|(t, _)| *t == tld).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(html: &str, url: &str) -> (Option<String>, Option<f64>, Option<String>) {
        let doc = Html::parse_document(html);
        let partial = super::read(&doc, &Url::parse(url).unwrap(), None).into_partial();
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

    #[test]
    fn instalments_other_products_and_the_cart_are_not_the_price() {
        let page = r#"<header><div class="minicart"><span class="price">$0.00</span></div></header>
            <h1>Orvane Tidewatch 40 mm</h1>
            <p class="installments">or 4 payments of $27.50</p><p>$9.16/mo with Affirm</p>
            <div class="product-price"><span class="price">$110.00</span></div>
            <button class="btn add-to-cart">Add to cart</button>
            <section class="related-products"><h2>Customers also bought</h2>
              <a href="/p/2"><span class="price">$590.00</span></a><a href="/p/3"><span class="price">$5.00</span></a></section>"#;
        assert_eq!(read(page, "https://shop.example/p/1").1, Some(110.0));
    }

    #[test]
    fn a_price_beside_the_buy_button_counts_before_the_title_too() {
        let page = r#"<div class="buy"><span class="amount">€ 89,00</span>
            <button>In den Warenkorb</button></div><h1>Orvane Tidewatch</h1>
            <p>Versandkostenfrei ab €50</p>"#;
        assert_eq!(
            read(page, "https://laden.example.de/p/1"),
            (
                Some("Orvane Tidewatch".into()),
                Some(89.0),
                Some("EUR".into())
            )
        );
    }

    #[test]
    fn without_an_h1_the_element_naming_the_product_anchors_the_price() {
        let page = r#"<html><head><title>Orvane Tidewatch 40mm Steel | Watch Shop</title></head><body>
            <div class="promo">Sale! Everything from $5</div>
            <div class="product-name">Orvane Tidewatch 40mm Steel</div>
            <span class="sale-price">$129.00</span></body></html>"#;
        assert_eq!(
            read(page, "https://shop.example/p/1"),
            (
                Some("Orvane Tidewatch 40mm Steel".into()),
                Some(129.0),
                Some("USD".into())
            )
        );
    }

    #[test]
    fn the_current_price_in_pesos_over_the_struck_list_price() {
        let page = r#"<h1>Reloj Orvane</h1><div class="prices">
            <span class="price price--list"><s>$ 249.990</s></span>
            <span class="price price--current">$ 229.990</span></div>"#;
        assert_eq!(
            read(page, "https://tienda.example.cl/p/1"),
            (
                Some("Reloj Orvane".into()),
                Some(229_990.0),
                Some("CLP".into())
            )
        );
        let reading = super::read(
            &Html::parse_document(page),
            &Url::parse("https://tienda.example.cl/p/1").unwrap(),
            None,
        );
        assert!(reading.struck.contains(&249_990.0), "{reading:?}");
        assert!(reading.shown.contains(&229_990.0), "{reading:?}");
    }
}
