//! HTML → listing fields and links. Pure: no I/O, no clock.
//!
//! A target's `[item]` selectors win; every field they do not give falls back
//! to schema.org Product JSON-LD, then microdata, then OpenGraph. A site
//! changing its markup is data, not an error: extractors return what they
//! found plus warnings, never `Result`.
//!
//! Scraped pages are hostile: fields are whitespace-collapsed and cut to a
//! bounded length, image lists are bounded, only http(s) URLs survive.

mod budget;
mod embedded;
mod generic;
mod marks;
mod price;
mod records;
mod structured;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{
    Alternative, CardSelectors, ItemSelectors, NamedCards, ResultSelectors, Selector,
};
pub use price::{currency_at_site, display_price, normalise_currency, parse_price, Price};

/// Longest title kept, in characters.
pub(crate) const MAX_TITLE_CHARS: usize = 500;
/// Longest description kept, in characters.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 20_000;
/// Most image URLs taken from one page, before the crawler's own cap.
pub(crate) const MAX_IMAGES: usize = 100;

/// What a listing page says about the item. Every field may be missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub title: Option<String>,
    pub price: Option<f64>,
    pub currency: Option<String>,
    pub seller: Option<String>,
    pub description: Option<String>,
    /// Absolute URLs, in page order, without repeats.
    pub images: Vec<String>,
    /// The seller's profile page (absolute), where `[item] seller_url`
    /// names it: the crawl reads the contacts its bio gives away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_url: Option<String>,
}

/// A listing and what the extractor noticed on the way.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    pub listing: Listing,
    /// Where each field came from, such as `title: selector`.
    pub sources: Vec<String>,
    pub warnings: Vec<String>,
}

/// Fields found by one method; merged in order of preference.
#[derive(Debug, Default)]
struct Partial {
    title: Option<String>,
    price: Option<String>,
    currency: Option<String>,
    seller: Option<String>,
    description: Option<String>,
    images: Vec<String>,
    seller_url: Option<String>,
}

/// Extracts a listing from a page, with `item` selectors first (when the
/// target has them) and structured data for whatever they do not give.
///
/// Where no selector names the title or price, the page is also read as
/// a buyer reads it ([`generic::read`]): for what is still missing, and
/// to check the structured data's price against the one shown. A price
/// the page shows struck through, or does not show at all while it plainly
/// shows another beside the title or buy button, is not the price to pay;
/// the shown one is taken and `sources` says both. A zero price is no
/// price.
pub fn listing(html: &str, page_url: &Url, item: Option<&ItemSelectors>) -> Extracted {
    let (doc, cut) = parse_page(html);
    let mut warnings: Vec<String> = cut.into_iter().collect();
    let mut methods: Vec<(&str, Partial)> = Vec::new();
    if let Some(item) = item {
        methods.push(("selector", from_selectors(&doc, item)));
    }
    methods.push(("json-ld", structured::json_ld(&doc, &mut warnings)));
    methods.push(("microdata", structured::microdata(&doc)));
    methods.push(("opengraph", structured::opengraph(&doc)));

    let mut merged = Partial::default();
    let mut sources = Vec::new();
    for (method, partial) in methods {
        merge(&mut merged, &mut sources, method, partial);
    }
    // The buyer's reading, only where no selector names the title or
    // price: a target's price selector finding nothing (out of stock)
    // must not be second-guessed.
    let generic_allowed = item.is_none_or(|i| i.title.is_none() && i.price.is_none());
    if generic_allowed {
        let said = merged
            .price
            .as_deref()
            .and_then(parse_price)
            .map(|p| p.amount);
        let reading = generic::read(&doc, page_url, said);
        check_price(&mut merged, &mut sources, &reading);
        if merged.title.is_none() || merged.price.is_none() {
            merge(&mut merged, &mut sources, "generic", reading.into_partial());
        }
    }

    let parsed_price = merged.price.as_deref().and_then(parse_price);
    if merged.price.is_some() && parsed_price.is_none() {
        warnings.push(format!(
            "price text {:?} holds no number",
            truncate(merged.price.as_deref().unwrap_or_default(), 60)
        ));
    }
    let currency = merged
        .currency
        .as_deref()
        .and_then(normalise_currency)
        .or_else(|| parsed_price.as_ref().and_then(|p| p.currency.clone()));
    let images = resolve_all(page_url, &merged.images);
    if merged.title.is_none() {
        warnings.push("no title found by selectors, structured data or an <h1>".to_string());
    }
    Extracted {
        listing: Listing {
            title: merged.title.map(|t| plain(&t, MAX_TITLE_CHARS)),
            price: parsed_price.map(|p| p.amount),
            currency,
            seller: merged.seller.map(|s| plain(&s, MAX_TITLE_CHARS)),
            description: merged.description.map(|d| plain(&d, MAX_DESCRIPTION_CHARS)),
            images,
            seller_url: merged
                .seller_url
                .and_then(|u| resolve(page_url, &u))
                .map(String::from),
        },
        sources,
        warnings,
    }
}

/// Checks the structured data's price against what the page shows: when
/// the page shows it struck through, or shows it nowhere while plainly
/// showing another, the shown price is the one to pay.
fn check_price(merged: &mut Partial, sources: &mut [String], reading: &generic::Reading) {
    let Some(at) = sources.iter().position(|s| s.starts_with("price: ")) else {
        return;
    };
    let Some(said) = merged.price.as_deref().and_then(parse_price) else {
        return;
    };
    let Some((shown_text, plain)) = &reading.price else {
        return;
    };
    let Some(shown) = parse_price(shown_text) else {
        return;
    };
    if generic::same_amount(said.amount, shown.amount) {
        return;
    }
    let struck = reading
        .struck
        .iter()
        .any(|&a| generic::same_amount(a, said.amount));
    let nowhere = !reading
        .shown
        .iter()
        .any(|&a| generic::same_amount(a, said.amount));
    let why = match (struck, nowhere && *plain) {
        (true, _) => "shown struck through",
        (false, true) => "not shown on the page",
        (false, false) => return,
    };
    let method = sources[at].trim_start_matches("price: ").to_string();
    sources[at] = format!(
        "price: shown on the page, {shown_text} ({method} said {}, {why})",
        display_price(
            Some(said.amount),
            said.currency.as_deref().or(merged.currency.as_deref())
        )
    );
    merged.price = Some(shown_text.clone());
    if let Some(currency) = &reading.currency {
        merged.currency = Some(currency.clone());
    }
}

/// Fills what `merged` still lacks from `partial`, noting each field's
/// method in `sources`.
fn merge(merged: &mut Partial, sources: &mut Vec<String>, method: &str, partial: Partial) {
    let mut take = |name: &str, slot: &mut Option<String>, value: Option<String>| {
        if slot.is_none() {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                *slot = Some(value);
                sources.push(format!("{name}: {method}"));
            }
        }
    };
    take("title", &mut merged.title, partial.title);
    // A price of zero is no price ("0.00" in structured data for a product
    // sold in several versions, or not yet priced).
    let price = partial
        .price
        .filter(|text| parse_price(text).is_none_or(|p| p.amount != 0.0));
    take("price", &mut merged.price, price);
    take("currency", &mut merged.currency, partial.currency);
    take("seller", &mut merged.seller, partial.seller);
    take("description", &mut merged.description, partial.description);
    take("seller_url", &mut merged.seller_url, partial.seller_url);
    if merged.images.is_empty() && !partial.images.is_empty() {
        merged.images = partial.images;
        sources.push(format!("images: {method}"));
    }
}

/// Most cards read from one search results page; a page showing more is
/// read up to here (real marketplaces show at most a few hundred).
pub const MAX_CARDS_PER_PAGE: usize = 500;

/// What a search results page shows.
#[derive(Debug, Default)]
pub struct SearchPage {
    /// Each listing once, in page order, at most [`MAX_CARDS_PER_PAGE`].
    pub cards: Vec<Card>,
    /// The next page: as the target's selector names it, else (for cards
    /// found automatically) as the page marks it.
    pub next: Option<Url>,
    /// Whether the page showed more cards than were read.
    pub truncated: bool,
    /// How the cards were found.
    pub found_by: FoundBy,
}

/// How a results page's cards were found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FoundBy {
    /// By the target's `[results] item` and `link`.
    #[default]
    Selectors,
    /// With no selectors (`auto = true`, or no target names any).
    Automatic,
    /// Automatically, because the target's selectors found no card: they
    /// need a look.
    SelectorsMissed,
}

/// The cards of a search results page — by `results`' selectors, else
/// (none named, or none found by them) automatically — and the next
/// page's URL.
pub fn search_page(html: &str, page_url: &Url, results: Option<&ResultSelectors>) -> SearchPage {
    let (doc, _) = parse_page(html);
    let named = results
        .and_then(|r| r.named.as_ref().map(|named| (named, &r.card)))
        .map(|(named, card)| read_cards(&doc, page_url, named, card));
    let (cards, truncated, found_by) = match named {
        Some((cards, truncated)) if !cards.is_empty() => (cards, truncated, FoundBy::Selectors),
        named => {
            let (cards, truncated) = records::auto_cards(&doc, page_url);
            let found_by = match named {
                Some(_) => FoundBy::SelectorsMissed,
                None => FoundBy::Automatic,
            };
            (cards, truncated, found_by)
        }
    };
    let next = match results.and_then(|r| r.next_page.as_ref()) {
        Some(selector) => {
            first(selector, doc.root_element()).and_then(|href| resolve(page_url, &href))
        }
        None if found_by != FoundBy::Selectors => records::next_page(&doc, page_url),
        None => None,
    };
    SearchPage {
        cards,
        next,
        truncated,
        found_by,
    }
}

/// What a search results card says of its listing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// The listing's page, canonical.
    pub url: String,
    pub title: Option<String>,
    pub price: Option<f64>,
    pub currency: Option<String>,
    pub seller: Option<String>,
    /// The card's photo, absolute.
    pub image: Option<String>,
}

/// Every card on a search results page that links to a listing, in page
/// order, each listing once, with the fields `[results]` names (at most
/// [`MAX_CARDS_PER_PAGE`]); found automatically when it names none or
/// they find none.
pub fn cards(html: &str, page_url: &Url, results: &ResultSelectors) -> Vec<Card> {
    search_page(html, page_url, Some(results)).cards
}

/// One search card: an element of the page, or a node of script data.
enum CardScope<'a> {
    Element(scraper::ElementRef<'a>),
    Data(serde_json::Value),
}

impl CardScope<'_> {
    /// The values of `selector` in this card: CSS alternatives read an
    /// element, `json:` alternatives a data node.
    fn values(&self, selector: &Selector) -> Vec<String> {
        match self {
            CardScope::Element(element) => values(selector, *element).collect(),
            CardScope::Data(node) => selector
                .alternatives()
                .iter()
                .flat_map(|alternative| match alternative {
                    Alternative::Json(path) => path
                        .query(node)
                        .all()
                        .into_iter()
                        .filter_map(embedded::as_text)
                        .map(|t| clean(&t))
                        .filter(|t| !t.is_empty())
                        .collect(),
                    _ => Vec::new(),
                })
                .collect(),
        }
    }
}

/// The cards `results.item` names: elements (its first CSS alternative
/// that matches any) or, for a `script:` alternative, the data nodes its
/// path selects.
fn card_scopes<'a>(doc: &'a scraper::Html, item: &Selector) -> Vec<CardScope<'a>> {
    for alternative in item.alternatives() {
        let found: Vec<CardScope> = match alternative {
            Alternative::Css(css, _) => doc.select(css).map(CardScope::Element).collect(),
            Alternative::Script { name, path } => embedded::script_data(doc.root_element(), name)
                .map(|data| {
                    path.query(&data)
                        .all()
                        .into_iter()
                        .map(|node| CardScope::Data(node.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            Alternative::Json(_) => Vec::new(),
        };
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// The page's cards as `named` finds them, with the fields `selectors`
/// name, at most [`MAX_CARDS_PER_PAGE`], and whether it showed more.
fn read_cards(
    doc: &scraper::Html,
    page_url: &Url,
    named: &NamedCards,
    selectors: &CardSelectors,
) -> (Vec<Card>, bool) {
    let mut cards: Vec<Card> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for scope in card_scopes(doc, &named.item) {
        let field =
            |s: &Option<Selector>| s.as_ref().and_then(|s| scope.values(s).into_iter().next());
        // The card may itself be the link (`item = "a.product"`).
        let link = scope.values(&named.link).into_iter().next();
        let Some(url) = link.and_then(|h| canonicalize(page_url, &h)) else {
            continue;
        };
        if seen.contains(url.as_str()) {
            continue;
        }
        if cards.len() == MAX_CARDS_PER_PAGE {
            return (cards, true);
        }
        seen.insert(url.to_string());
        // The first price that holds a number.
        let price_text = selectors.price.as_ref().and_then(|s| {
            scope
                .values(s)
                .into_iter()
                .find(|t| parse_price(t).is_some())
        });
        let price = price_text.as_deref().and_then(parse_price);
        // The currency element's text, else the price's, read against the
        // site's own currency.
        let said = field(&selectors.currency)
            .or(price_text)
            .unwrap_or_default();
        cards.push(Card {
            url: url.to_string(),
            title: field(&selectors.title).map(|t| plain(&t, MAX_TITLE_CHARS)),
            currency: currency_at_site(&said, selectors.site_currency.as_deref()),
            price: price.map(|p| p.amount),
            seller: field(&selectors.seller).map(|s| plain(&s, MAX_TITLE_CHARS)),
            image: selectors.image.as_ref().and_then(|s| {
                scope
                    .values(s)
                    .into_iter()
                    .find_map(|src| resolve(page_url, &src))
                    .map(String::from)
            }),
        });
    }
    (cards, false)
}

/// Whether `selector` matches anything on the page.
pub(crate) fn page_has(html: &str, selector: &Selector) -> bool {
    !elements(&parse_page(html).0, selector).is_empty()
}

/// Parses a page within the parse budget: a page nesting deeper than
/// [`budget::MAX_DEPTH`] is read up to that point, and the warning says so.
pub(crate) fn parse_page(html: &str) -> (scraper::Html, Option<String>) {
    match budget::too_deep_at(html, budget::MAX_DEPTH) {
        Some(at) => (
            scraper::Html::parse_document(&html[..at]),
            Some(format!(
                "the page nests deeper than {} elements at byte {at}; the rest was not read",
                budget::MAX_DEPTH
            )),
        ),
        None => (scraper::Html::parse_document(html), None),
    }
}

fn from_selectors(doc: &scraper::Html, item: &ItemSelectors) -> Partial {
    let root = doc.root_element();
    let first = |selector: &Option<Selector>| selector.as_ref().and_then(|s| first(s, root));
    Partial {
        title: first(&item.title),
        price: item.price.as_ref().and_then(|s| price_text(s, root)),
        currency: first(&item.currency),
        seller: first(&item.seller),
        description: first(&item.description),
        seller_url: first(&item.seller_url),
        images: item
            .images
            .as_ref()
            .map(|s| values(s, root).take(MAX_IMAGES).collect())
            .unwrap_or_default(),
    }
}

/// The first value of `selector` that holds a number: "See price in cart"
/// or an empty format swatch earlier in the page must not hide the price.
fn price_text(selector: &Selector, scope: scraper::ElementRef<'_>) -> Option<String> {
    values(selector, scope).find(|text| parse_price(text).is_some())
}

/// Elements `selector` matches in `doc` (its first alternative that
/// matches any, so a fallback layout does not mix with the current one;
/// script data names no elements).
fn elements<'a>(doc: &'a scraper::Html, selector: &'a Selector) -> Vec<scraper::ElementRef<'a>> {
    selector
        .alternatives()
        .iter()
        .map(|alternative| match alternative {
            Alternative::Css(css, _) => doc.select(css).collect::<Vec<_>>(),
            Alternative::Script { .. } | Alternative::Json(_) => Vec::new(),
        })
        .find(|found| !found.is_empty())
        .unwrap_or_default()
}

/// Values of `selector` under `scope` (its descendants, and itself): the
/// first alternative's in document order, then the next's. A script
/// alternative reads the scripts of `scope`'s whole page.
fn values<'a>(
    selector: &'a Selector,
    scope: scraper::ElementRef<'a>,
) -> impl Iterator<Item = String> + 'a {
    selector.alternatives().iter().flat_map(
        move |alternative| -> Box<dyn Iterator<Item = String> + 'a> {
            match alternative {
                Alternative::Css(css, attr) => Box::new(
                    std::iter::once(scope)
                        .filter(move |e| css.matches(e))
                        .chain(scope.select(css))
                        .filter_map(move |e| value_of(e, attr.as_deref())),
                ),
                Alternative::Json(_) => Box::new(std::iter::empty()),
                Alternative::Script { name, path } => {
                    let root = page_root(scope);
                    let found: Vec<String> = embedded::script_data(root, name)
                        .map(|data| {
                            path.query(&data)
                                .all()
                                .into_iter()
                                .filter_map(embedded::as_text)
                                .map(|t| clean(&t))
                                .filter(|t| !t.is_empty())
                                .collect()
                        })
                        .unwrap_or_default();
                    Box::new(found.into_iter())
                }
            }
        },
    )
}

/// The root element of the page `element` is in.
fn page_root(element: scraper::ElementRef<'_>) -> scraper::ElementRef<'_> {
    element
        .ancestors()
        .filter_map(scraper::ElementRef::wrap)
        .last()
        .unwrap_or(element)
}

/// The first value of `selector` under `scope`.
fn first(selector: &Selector, scope: scraper::ElementRef<'_>) -> Option<String> {
    values(selector, scope).next()
}

/// An element's attribute, or its text; `None` when empty.
fn value_of(element: scraper::ElementRef<'_>, attr: Option<&str>) -> Option<String> {
    let value = match attr {
        Some(attr) => element.value().attr(attr).map(clean),
        None => Some(text_of(element)),
    };
    value.filter(|v| !v.is_empty())
}

/// What a seller's profile page says, as contacts are read from it: its
/// text outside scripts and styles, then every link's address (`mailto:`,
/// `wa.me/…`, `t.me/…` live there), at most [`MAX_DESCRIPTION_CHARS`].
pub fn profile_text(html: &str) -> String {
    let (doc, _) = parse_page(html);
    let mut out = String::new();
    for node in doc.root_element().descendants() {
        if out.len() > MAX_DESCRIPTION_CHARS {
            break;
        }
        match node.value() {
            scraper::Node::Text(text) => {
                let hidden = node
                    .parent()
                    .and_then(|p| p.value().as_element())
                    .is_some_and(|e| {
                        matches!(e.name(), "script" | "style" | "noscript" | "template")
                    });
                if !hidden {
                    out.push_str(text);
                    out.push(' ');
                }
            }
            scraper::Node::Element(e) if e.name() == "a" => {
                if let Some(href) = e.attr("href") {
                    out.push_str(href);
                    out.push(' ');
                }
            }
            _ => {}
        }
    }
    plain(&clean(&out), MAX_DESCRIPTION_CHARS)
}

/// An element's text with whitespace collapsed.
pub(super) fn text_of(element: scraper::ElementRef<'_>) -> String {
    let mut out = String::new();
    for piece in element.text() {
        if out.len() > MAX_DESCRIPTION_CHARS * 4 {
            break;
        }
        out.push_str(piece);
        out.push(' ');
    }
    clean(&out)
}

/// Collapses whitespace and trims.
fn clean(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Scraped text as it may be stored and shown: no control characters (a
/// terminal obeys ESC sequences: clipboard writes, screen clears) and no
/// bidirectional overrides (which make text read backwards), cut to
/// `max_chars`.
pub(crate) fn plain(text: &str, max_chars: usize) -> String {
    let kept: String = text.chars().filter(|c| !is_unsafe_char(*c)).collect();
    truncate(kept.trim(), max_chars)
}

/// Control characters and the bidi embedding/override/isolate controls.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

/// Resolves a link against the page it is on; only http(s) survives.
fn resolve(page_url: &Url, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() || href.len() > 4096 {
        return None;
    }
    let url = page_url.join(href).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

fn resolve_all(page_url: &Url, hrefs: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for href in hrefs {
        if let Some(url) = resolve(page_url, href) {
            let url = url.to_string();
            if !out.contains(&url) {
                out.push(url);
            }
        }
        if out.len() >= MAX_IMAGES {
            break;
        }
    }
    out
}

/// Query parameters that only track where a visitor came from (or which
/// search and position led there), never which listing it is.
fn is_tracking_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_")
        || name.starts_with("pf_rd_")
        || name.starts_with("pd_rd_")
        || name.starts_with("ga_")
        || name.starts_with("algo_")
        || matches!(
            name.as_str(),
            "ref"
                | "ref_"
                | "referrer"
                | "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "yclid"
                | "mc_cid"
                | "mc_eid"
                | "_ga"
                | "_gl"
                | "spm"
                | "scm"
                | "trk"
                | "tracking_id"
                | "campaign"
                | "affiliate"
                | "aff_id"
                | "sr"
                | "qid"
                | "sid"
                | "sessionid"
                // Amazon's search context.
                | "crid"
                | "sprefix"
                | "keywords"
                | "dib"
                | "dib_tag"
                // eBay's: the same item links with another hash per page.
                | "hash"
                | "_skw"
                | "itmmeta"
                | "_trkparms"
                | "_trksid"
                | "amdata"
                // AliExpress's and Etsy's.
                | "ws_ab_test"
                | "btsid"
                | "organic_search_click"
                | "frs"
                | "etp"
        )
}

/// Parameters a redirecting link (an advertising click, `/sspa/click`)
/// carries its destination in.
const REDIRECT_PARAMS: [&str; 6] = [
    "url",
    "u",
    "redirect",
    "redirect_url",
    "dest",
    "destination",
];

/// The canonical form of a listing link: resolved against the page, a
/// redirecting click unwrapped to the page of the same site it leads to,
/// without fragment, tracking parameters or a trailing `/ref=…` folder,
/// so one listing has one URL across queries and positions.
pub(crate) fn canonicalize(page_url: &Url, href: &str) -> Option<Url> {
    let mut url = resolve(page_url, href)?;
    if let Some(inner) = redirect_target(&url) {
        url = inner;
    }
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(name, _)| !is_tracking_param(name))
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    let trimmed = match url.path().rsplit_once('/') {
        Some((head, last)) if last.starts_with("ref=") && !head.is_empty() => {
            Some(head.to_string())
        }
        _ => None,
    };
    if let Some(path) = trimmed {
        url.set_path(&path);
    }
    Some(url)
}

/// Where a redirecting link leads: a path or an address of the same site
/// in one of [`REDIRECT_PARAMS`], when the link's last folder says it is a
/// click or a redirect.
fn redirect_target(url: &Url) -> Option<Url> {
    let last = url.path_segments()?.next_back()?.to_ascii_lowercase();
    if !matches!(
        last.as_str(),
        "click" | "redirect" | "aclk" | "clk" | "out" | "go"
    ) {
        return None;
    }
    url.query_pairs()
        .filter(|(name, _)| REDIRECT_PARAMS.contains(&name.as_ref()))
        .find_map(|(_, value)| {
            let inner = url.join(&value).ok()?;
            let same_site = inner.scheme() == url.scheme() && inner.host() == url.host();
            same_site.then_some(inner)
        })
}

/// Decodes a page to text. The charset comes from a byte-order mark, then
/// the Content-Type header, then a `<meta>` in the first 1024 bytes; a page
/// that declares nothing is read as UTF-8, or windows-1252 when it is not
/// valid UTF-8 (what browsers do).
pub fn decode_html(
    bytes: &[u8],
    content_type: Option<&str>,
) -> (String, &'static encoding_rs::Encoding) {
    use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
    if let Some((encoding, _)) = Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_with_bom_removal(bytes);
        return (text.into_owned(), encoding);
    }
    let declared = content_type
        .and_then(charset_param)
        .or_else(|| meta_charset(&bytes[..bytes.len().min(1024)]))
        .and_then(|label| Encoding::for_label(label.as_bytes()));
    let encoding = match declared {
        Some(encoding) => encoding,
        None if std::str::from_utf8(bytes).is_ok() => UTF_8,
        None => WINDOWS_1252,
    };
    let (text, _, _) = encoding.decode(bytes);
    (text.into_owned(), encoding)
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']).to_string())
    })
}

/// The charset a `<meta charset>` or `<meta http-equiv content>` declares.
fn meta_charset(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = text.find("charset=")?;
    let rest = text[at + "charset=".len()..].trim_start_matches(['"', '\'', ' ']);
    let label: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!label.is_empty()).then_some(label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CardSelectors, Selector};

    #[test]
    fn cards_from_script_data_read_their_fields_by_json_paths() {
        let page = r#"<div id="root"></div><script id="__NEXT_DATA__" type="application/json">
            {"props":{"pageProps":{"search":{"items":[
              {"name":"Orvane Tidewatch","url":"/ip/1","price":{"text":"$59.00"},"image":{"src":"https://i.example/1.jpg"},"seller":"luxe"},
              {"name":"Orvane Cloudstep","url":"/ip/2","price":{"text":"$39.00"},"image":{"src":"https://i.example/2.jpg"}},
              {"name":"no link"}
            ]}}}}</script>"#;
        let sel = |s: &str| Some(Selector::parse(s).unwrap());
        let results = ResultSelectors {
            named: Some(NamedCards {
                item: Selector::parse(
                    "li.card || script:__NEXT_DATA__@props.pageProps.search.items[*]",
                )
                .unwrap(),
                link: Selector::parse("a@href || json:url").unwrap(),
            }),
            auto: false,
            next_page: None,
            card: CardSelectors {
                title: sel("json:name"),
                price: sel("json:price.text"),
                seller: sel("json:seller"),
                image: sel("json:$.image.src"),
                ..CardSelectors::default()
            },
        };
        let page_url = Url::parse("https://www.walmart.com/search?q=orvane").unwrap();
        let cards = cards(page, &page_url, &results);
        assert_eq!(cards.len(), 2, "{cards:?}");
        assert_eq!(cards[0].url, "https://www.walmart.com/ip/1");
        assert_eq!(cards[0].title.as_deref(), Some("Orvane Tidewatch"));
        assert_eq!(
            (cards[0].price, cards[0].currency.as_deref()),
            (Some(59.0), Some("USD"))
        );
        assert_eq!(cards[0].seller.as_deref(), Some("luxe"));
        assert_eq!(cards[1].image.as_deref(), Some("https://i.example/2.jpg"));
        let found = search_page(page, &page_url, Some(&results)).cards;
        assert_eq!(found, cards);
    }

    #[test]
    fn cards_take_the_first_alternative_that_finds_something() {
        let page = "<ul><li class=c><a href=/l/1>x</a><h3><b>New</b> Tidewatch</h3>\
                    <img src=/s1.jpg><span class=p>$ 1.299</span></li>\
                    <li class=c><a href=/l/2>x</a><h3>Cloudstep</h3><img data-src=/lazy2.jpg src=/blank.gif>\
                    <span class=p>US $5</span></li>\
                    <li class=c><a href=/l/1>again</a></li><li class=c>no link</li></ul>";
        let sel = |s: &str| Some(Selector::parse(s).unwrap());
        let results = ResultSelectors {
            named: Some(NamedCards {
                item: Selector::parse("li.card || li.c").unwrap(),
                link: Selector::parse("a@href").unwrap(),
            }),
            auto: false,
            next_page: None,
            card: CardSelectors {
                title: sel("h3"),
                price: sel(".p"),
                image: sel("img@data-src || img@src"),
                site_currency: Some("MXN".into()),
                ..CardSelectors::default()
            },
        };
        let page_url = Url::parse("https://shop.example/search?q=x").unwrap();
        let cards = cards(page, &page_url, &results);
        assert_eq!(cards.len(), 2, "{cards:?}");
        assert_eq!(cards[0].url, "https://shop.example/l/1");
        assert_eq!(cards[0].title.as_deref(), Some("New Tidewatch"));
        assert_eq!(
            cards[0].image.as_deref(),
            Some("https://shop.example/s1.jpg")
        );
        // A bare "$" is the site's currency; "US $" says which dollar.
        assert_eq!(
            (cards[0].price, cards[0].currency.as_deref()),
            (Some(1299.0), Some("MXN"))
        );
        assert_eq!(
            (cards[1].price, cards[1].currency.as_deref()),
            (Some(5.0), Some("USD"))
        );
        assert_eq!(
            cards[1].image.as_deref(),
            Some("https://shop.example/lazy2.jpg")
        );
    }

    /// The red team's cases: structured data naming the list price beside
    /// the current one shown, or a hidden second offer; a zero price.
    #[test]
    fn the_price_shown_to_pay_wins_over_structured_data_that_disagrees() {
        let url = Url::parse("https://shop.example/p/1").unwrap();
        let product = |offer: &str, body: &str| {
            format!(
                r#"<script type="application/ld+json">{{"@type":"Product","name":"Orvane Tidewatch",
                "offers":{offer}}}</script><h1>Orvane Tidewatch</h1>{body}"#
            )
        };
        // The list price, shown struck through beside the current one.
        let page = product(
            r#"{"@type":"Offer","price":"219.99","priceCurrency":"USD"}"#,
            r#"<div class="price-box"><del class="price">$219.99</del> <span class="price">$110.00</span></div>"#,
        );
        let extracted = listing(&page, &url, None);
        assert_eq!(extracted.listing.price, Some(110.0));
        assert!(
            extracted.sources.contains(
                &"price: shown on the page, $110.00 (json-ld said 219.99 USD, shown struck through)"
                    .to_string()
            ),
            "{:?}",
            extracted.sources
        );
        // A second offer the page does not show, the shown price plainly
        // beside the title and the buy button.
        let page = product(
            r#"[{"@type":"Offer","price":"18.00","priceCurrency":"USD"}]"#,
            r#"<span class="product-price">$17.10</span><button>Add to cart</button>"#,
        );
        assert_eq!(listing(&page, &url, None).listing.price, Some(17.1));
        // Structured data that agrees with a price shown, beside others.
        let page = product(
            r#"{"@type":"Offer","price":"17.10","priceCurrency":"USD"}"#,
            r#"<span class="product-price">$17.10</span><span class="price">$19.00</span>"#,
        );
        let extracted = listing(&page, &url, None);
        assert_eq!(extracted.listing.price, Some(17.1));
        assert!(extracted.sources.contains(&"price: json-ld".to_string()));
        // Structured data the page shows as a price, though not beside the
        // title: kept.
        let page = product(
            r#"{"@type":"Offer","price":"49.00","priceCurrency":"USD"}"#,
            r#"<p>Free returns</p><div><span class="price">$45.00</span></div><footer>$49.00</footer>"#,
        );
        assert_eq!(listing(&page, &url, None).listing.price, Some(49.0));
        // A zero price is no price: the shown one is read instead.
        let page = product(
            r#"{"@type":"Offer","price":"0.00","priceCurrency":"USD"}"#,
            r#"<span class="price">$59.00</span>"#,
        );
        let extracted = listing(&page, &url, None);
        assert_eq!(extracted.listing.price, Some(59.0));
        assert!(extracted.sources.contains(&"price: generic".to_string()));
    }

    #[test]
    fn canonical_urls_drop_fragments_and_tracking() {
        let page = Url::parse("https://shop.example/search?q=x").unwrap();
        let url = canonicalize(&page, "/item/7?utm_source=a&color=red&ref=sr_1#reviews").unwrap();
        assert_eq!(url.as_str(), "https://shop.example/item/7?color=red");
        let url = canonicalize(&page, "//cdn.example/item/8?ref=x").unwrap();
        assert_eq!(url.as_str(), "https://cdn.example/item/8");
        // The same eBay item from two result lists; an Amazon product at
        // two positions; an Amazon sponsored click.
        let ebay = Url::parse("https://www.ebay.de/sch/i.html?_nkw=x").unwrap();
        for href in [
            "https://www.ebay.de/itm/144278067683?hash=item2197a499e3%3Ag%3AMMcAAOSw&amdata=enc%3A1",
            "https://www.ebay.de/itm/144278067683?_skw=x&itmmeta=01H&hash=item2",
        ] {
            assert_eq!(
                canonicalize(&ebay, href).unwrap().as_str(),
                "https://www.ebay.de/itm/144278067683"
            );
        }
        let amazon = Url::parse("https://www.amazon.de/s?k=cat+food").unwrap();
        for href in [
            "/-/en/Kitekat-food-market/dp/B00C7SCAP6/ref=sr_1_5?crid=2FDO&keywords=cat+food&qid=1671&sr=8-5",
            "/-/en/sspa/click?ie=UTF8&spc=MTo0&url=%2F-%2Fen%2FKitekat-food-market%2Fdp%2FB00C7SCAP6%2Fref%3Dsr_1_1_sspa%3Fkeywords%3Dcat%2Bfood",
        ] {
            assert_eq!(
                canonicalize(&amazon, href).unwrap().as_str(),
                "https://www.amazon.de/-/en/Kitekat-food-market/dp/B00C7SCAP6"
            );
        }
        // A click leading to another site stays what it is.
        let away = canonicalize(&amazon, "/x/click?url=https%3A%2F%2Fevil.example%2F").unwrap();
        assert_eq!(away.host_str(), Some("www.amazon.de"));
        assert_eq!(canonicalize(&page, "javascript:alert(1)"), None);
        assert_eq!(canonicalize(&page, "mailto:a@b"), None);
    }

    #[test]
    fn the_sellers_profile_page_is_found_by_selector_or_structured_data() {
        let url = Url::parse("https://shop.example/item/1").unwrap();
        let page = "<h1 class=t>Orvane bag</h1><div class=seller><a href=\"/seller/luxe%20deals\">luxe deals</a></div>";
        let item = crate::config::ItemSelectors {
            title: Some(crate::config::Selector::parse("h1.t").unwrap()),
            seller_url: Some(crate::config::Selector::parse(".seller a@href").unwrap()),
            ..Default::default()
        };
        let listing = listing(page, &url, Some(&item)).listing;
        assert_eq!(
            listing.seller_url.as_deref(),
            Some("https://shop.example/seller/luxe%20deals")
        );
        // Without a selector, none is guessed from links.
        assert_eq!(listing_without(page, &url), None);
        let json_ld = r#"<script type="application/ld+json">{"@type":"Product","name":"Orvane bag",
            "offers":{"price":"20","priceCurrency":"EUR","seller":{"@type":"Organization","name":"luxe",
            "url":"https://shop.example/store/luxe"}}}</script>"#;
        assert_eq!(
            listing_without(json_ld, &url).as_deref(),
            Some("https://shop.example/store/luxe")
        );
    }

    fn listing_without(page: &str, url: &Url) -> Option<String> {
        listing(page, url, None).listing.seller_url
    }

    #[test]
    fn a_profile_pages_text_and_link_addresses_are_read_but_not_its_scripts() {
        let page = "<html><head><style>.x{}</style><script>var phone='+49 151 0000000'</script></head>\
                    <body><h1>luxe</h1><p>Call   +44 7700 900123</p><a href=\"https://wa.me/491511234567\">chat</a></body></html>";
        let text = profile_text(page);
        assert!(text.contains("Call +44 7700 900123"), "{text}");
        assert!(text.contains("https://wa.me/491511234567"), "{text}");
        assert!(
            !text.contains("0000000") && !text.contains(".x{}"),
            "{text}"
        );
    }

    #[test]
    fn control_characters_never_reach_the_fields() {
        let page = "<h1 class=t>Orvane\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J bag\u{202e}gab</h1>\
                    <span class=s>\u{9b}31mseller</span><div class=d>line\u{0}one</div>";
        let item = crate::config::ItemSelectors {
            title: Some(crate::config::Selector::parse("h1.t").unwrap()),
            seller: Some(crate::config::Selector::parse("span.s").unwrap()),
            description: Some(crate::config::Selector::parse("div.d").unwrap()),
            ..Default::default()
        };
        let url = Url::parse("https://shop.example/1").unwrap();
        let listing = listing(page, &url, Some(&item)).listing;
        assert_eq!(
            listing.title.as_deref(),
            Some("Orvane]52;c;ZXZpbA==[2J baggab")
        );
        assert_eq!(listing.seller.as_deref(), Some("31mseller"));
        assert_eq!(listing.description.as_deref(), Some("lineone"));
    }

    #[test]
    fn a_page_nested_two_hundred_thousand_deep_is_read_up_to_the_budget() {
        let page = format!(
            "<html><head><title>x</title><meta property=\"og:title\" content=\"Deep\"></head><body>{}</body></html>",
            "<div>".repeat(200_000)
        );
        let url = Url::parse("https://shop.example/1").unwrap();
        let extracted = listing(&page, &url, None);
        assert_eq!(extracted.listing.title.as_deref(), Some("Deep"));
        assert!(
            extracted
                .warnings
                .iter()
                .any(|w| w.contains("nests deeper than 512")),
            "{:?}",
            extracted.warnings
        );
    }

    #[test]
    fn charset_from_header_meta_bom_and_fallback() {
        let latin = b"<p>Caf\xe9 \x80 12</p>";
        let (text, _) = decode_html(latin, Some("text/html; charset=windows-1252"));
        assert!(text.contains("Café €"));
        let (text, enc) = decode_html(latin, None);
        assert_eq!(enc.name(), "windows-1252");
        assert!(text.contains("Café"));
        let sjis = b"<meta charset=\"shift_jis\"><p>\x83\x4e\x83\x89\x83\x45\x83\x68</p>";
        let (text, _) = decode_html(sjis, None);
        assert!(text.contains("クラウド"), "{text}");
        let gbk =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gbk\"><p>\xd4\xc6</p>";
        assert!(decode_html(gbk, None).0.contains('云'));
        let bom = b"\xef\xbb\xbf<p>ok</p>";
        assert_eq!(
            decode_html(bom, Some("text/html; charset=latin1")).0,
            "<p>ok</p>"
        );
    }
}
