//! Listing cards found with no selectors: the repeated records of a search
//! results page.
//!
//! The method follows the record-extraction literature — MDR (Liu, Grossman
//! and Zhai, "Mining Data Records in Web Pages", KDD 2003) and DEPTA (Zhai
//! and Liu, WWW 2005): the records of a list page are sibling subtrees of
//! the same structure under one parent. Instead of MDR's pairwise tree edit
//! distances (quadratic in the siblings, and in their size), elements are
//! grouped in one pass by their *path*: the tag and classes of every
//! ancestor, and their own tag. Cards of one results list share it, even
//! when the list is cut into rows or into several containers of the same
//! kind; the extra classes a card may carry itself (sponsored, sold out,
//! a badge) do not split it. Each group is scored by what makes a listing
//! card — a link, a price, a photo — over its members; the group with the
//! most such members wins. Groups inside navigation, headers, footers, side
//! bars, carousels and sponsored or "related" blocks count for less, and a
//! member holding several cards (an advertising block among the results)
//! is left out.
//!
//! A card's fields are then read as a buyer reads them: the link that the
//! card's title and photo point to; the title from its heading, without
//! the screen-reader text and badges around it; the first price that is
//! the price to pay (not struck through, not shipping, not per unit); the
//! photo from its lazy-loading attribute when it has one; the seller where
//! the card names one. Everything is bounded: at most [`MAX_ELEMENTS`]
//! elements are read, and every text is read only as far as it needs.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node};
use url::Url;

use super::generic::{country_currency, price_to_pay, short_text};
use super::marks::{is_aside, mark_words};
use super::price::{currency_at_site, parse_price};
use super::{canonicalize, plain, resolve, text_of, Card, MAX_CARDS_PER_PAGE, MAX_TITLE_CHARS};

/// Elements read from one page: a results page holds a few thousand; a
/// hostile one millions.
pub(crate) const MAX_ELEMENTS: usize = 300_000;
/// Fewest cards that make a results list.
const MIN_CARDS: usize = 2;
/// Groups whose fields are read to choose between them.
const FINALISTS: usize = 4;
/// Members of a group whose links are compared.
const DISTINCT_SAMPLE: usize = 100;
/// Longest text of one text node that is looked at as a price.
const MAX_PRICE_NODE: usize = 60;

/// Words that say an ancestor holds the results.
const RESULTS_WORDS: &[&str] = &[
    "results", "result", "search", "srp", "listing", "listings", "products", "items", "main",
];
/// Class words of text a browser does not show: screen-reader text, a
/// "new window" note, a price's spoken form.
const HIDDEN_CLASSES: &[&str] = &[
    "clipped",
    "sr-only",
    "visually-hidden",
    "visuallyhidden",
    "screen-reader-text",
    "screen-reader-only",
    "a-offscreen",
    "hidden",
    "hide",
];
/// Class words of text shown inside a title that is not the title: a
/// promotion's slogan.
const NOT_TITLE_WORDS: &[&str] = &["promo", "promotion", "slogan", "advert"];
/// Words in a link's address or class that make it not the listing's own
/// link: the seller's shop, reviews, the cart.
const NOT_THE_LISTING: &[&str] = &[
    "seller", "store", "shop", "user", "usr", "profile", "review", "reviews", "cart", "wishlist",
    "login", "signin", "feedback", "compare",
];
/// Words in a class, id or itemprop that mark a seller's name.
const SELLER_WORDS: &[&str] = &[
    "seller",
    "store",
    "shop",
    "merchant",
    "vendor",
    "storename",
    "shopname",
];
/// Attributes that hold a lazily loaded photo's address, in order of trust.
const LAZY_IMAGE_ATTRS: &[&str] = &[
    "data-src",
    "data-lazy-img",
    "data-lazy-src",
    "data-original",
    "data-lazy",
    "data-img",
    "data-image",
    "image-src",
    "data-ks-lazyload",
];
/// Texts of a link to the next page, lower case, arrows trimmed.
const NEXT_WORDS: &[&str] = &[
    "next",
    "next page",
    "weiter",
    "nächste",
    "nächste seite",
    "siguiente",
    "suivant",
    "suivante",
    "successivo",
    "successiva",
    "avanti",
    "próxima",
    "proxima",
    "volgende",
    "następna",
    "nästa",
    "neste",
    "næste",
    "下一页",
    "下一頁",
    "次へ",
    "次のページ",
    "다음",
    "следующая",
    "sonraki",
];

/// One element of the page as the reader sees it.
struct Element<'a> {
    element: ElementRef<'a>,
    parent: Option<usize>,
    /// Hash of the tags and classes from the root to here.
    path: u64,
    /// Hash of the ancestors' path and this element's tag: what the cards
    /// of one list share.
    group: u64,
    /// Its own classes, as [`class_key`] writes them.
    classes: String,
    /// Its place in document order, and the place after its last
    /// descendant: its subtree is `index..end`.
    index: usize,
    end: usize,
    /// In this subtree: links to a page, price texts, photos.
    links: u32,
    prices: u32,
    images: u32,
    /// This element's own text holds a short run with a digit.
    digits: bool,
    /// Its text reads as a price.
    price: bool,
}

/// The cards of a results page found by structure, each listing once, at
/// most [`MAX_CARDS_PER_PAGE`]; whether the page showed more.
pub(super) fn auto_cards(doc: &Html, page_url: &Url) -> (Vec<Card>, bool) {
    let mut elements = read_elements(doc);
    mark_prices(&mut elements);
    add_up(&mut elements);
    let Some(members) = best_group(&elements, page_url).or_else(|| lone_card(&elements)) else {
        return (Vec::new(), false);
    };
    let currency = page_currency(doc, page_url);
    let mut cards = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for member in members {
        let Some(card) = read_card(&elements, member, page_url, currency) else {
            continue;
        };
        if !seen.insert(card.url.clone()) {
            continue;
        }
        if cards.len() == MAX_CARDS_PER_PAGE {
            return (cards, true);
        }
        cards.push(card);
    }
    (cards, false)
}

/// The page's elements in document order (at most [`MAX_ELEMENTS`]), each
/// with its parent, path and own features.
fn read_elements<'a>(doc: &'a Html) -> Vec<Element<'a>> {
    let mut elements: Vec<Element<'a>> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for edge in doc.root_element().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(_) => {
                    if elements.len() == MAX_ELEMENTS {
                        break;
                    }
                    let Some(element) = ElementRef::wrap(node) else {
                        continue;
                    };
                    let parent = open.last().copied();
                    let parent_path = parent.map_or(0, |p| elements[p].path);
                    let value = element.value();
                    let tag = value.name();
                    let classes = class_key(value.attr("class").unwrap_or_default());
                    let path = hash_of(&(parent_path, tag, &classes));
                    let group = hash_of(&(parent_path, tag));
                    let index = elements.len();
                    let links = u32::from(tag == "a" && leads_somewhere(element));
                    let images = u32::from(tag == "img");
                    elements.push(Element {
                        element,
                        parent,
                        path,
                        group,
                        classes,
                        index,
                        end: index + 1,
                        links,
                        prices: 0,
                        images,
                        digits: false,
                        price: false,
                    });
                    open.push(elements.len() - 1);
                }
                Node::Text(text) => {
                    if let Some(&at) = open.last() {
                        let text = text.trim();
                        if !text.is_empty()
                            && text.len() <= MAX_PRICE_NODE
                            && text.bytes().any(|b| b.is_ascii_digit())
                        {
                            elements[at].digits = true;
                        }
                    }
                }
                _ => {}
            },
            Edge::Close(node) => {
                if node.value().is_element()
                    && open
                        .last()
                        .is_some_and(|&at| elements[at].element.id() == node.id())
                {
                    if let Some(at) = open.pop() {
                        elements[at].end = elements.len();
                    }
                }
            }
        }
    }
    // Elements still open when the budget ran out end where reading did.
    let read = elements.len();
    for at in open {
        elements[at].end = read;
    }
    elements
}

/// A class attribute as a path sees it: its words sorted, without the ones
/// that change from card to card or with the page's state (a number, an
/// id, "active", "odd").
fn class_key(classes: &str) -> String {
    let mut words: Vec<&str> = classes
        .split_whitespace()
        .filter(|w| !has_digit_run(w, 3))
        .filter(|w| {
            !matches!(
                *w,
                "active"
                    | "selected"
                    | "current"
                    | "odd"
                    | "even"
                    | "first"
                    | "last"
                    | "hover"
                    | "open"
            )
        })
        .collect();
    words.sort_unstable();
    words.dedup();
    words.join(" ")
}

fn has_digit_run(word: &str, run: usize) -> bool {
    let mut count = 0;
    for b in word.bytes() {
        if b.is_ascii_digit() {
            count += 1;
            if count >= run {
                return true;
            }
        } else {
            count = 0;
        }
    }
    false
}

fn hash_of<T: Hash>(value: &T) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Marks the elements whose text reads as a price: those with a short
/// digit run of their own, and their parent and grandparent (a price
/// written in parts: "$", "12", ".99").
fn mark_prices(elements: &mut [Element<'_>]) {
    let mut checked = vec![false; elements.len()];
    for i in 0..elements.len() {
        if !elements[i].digits
            || matches!(
                elements[i].element.value().name(),
                "script" | "style" | "noscript"
            )
        {
            continue;
        }
        let mut at = Some(i);
        for _ in 0..3 {
            let Some(j) = at else { break };
            if !checked[j] {
                checked[j] = true;
                elements[j].price = reads_as_price(elements[j].element);
            }
            at = elements[j].parent;
        }
    }
}

/// Whether an element's text is a currency amount, or a number the markup
/// calls a price.
fn reads_as_price(element: ElementRef<'_>) -> bool {
    let Some(text) = short_text(element) else {
        return false;
    };
    let Some(price) = parse_price(&text) else {
        return false;
    };
    price.currency.is_some() || mark_words(element).iter().any(|w| w.contains("price"))
}

/// Adds each element's links, prices and photos to its ancestors'. Of a
/// price and the elements around it that read as one too (its parts' box,
/// a short card "Watch 0 $10.00"), the innermost is counted, once.
fn add_up(elements: &mut [Element<'_>]) {
    let mut holds_price = vec![false; elements.len()];
    // In reverse document order every element comes after its descendants.
    for i in (0..elements.len()).rev() {
        if elements[i].price && !holds_price[i] {
            elements[i].prices += 1;
        }
        if let Some(p) = elements[i].parent {
            holds_price[p] |= holds_price[i] || elements[i].price;
            elements[p].links += elements[i].links;
            elements[p].prices += elements[i].prices;
            elements[p].images += elements[i].images;
        }
    }
}

/// Whether a member of a group looks like a listing card.
fn card_like(e: &Element<'_>) -> bool {
    e.links > 0 && e.prices > 0
}

/// The members of the group that reads best as the page's listing cards,
/// in page order, without blocks that hold several cards.
fn best_group(elements: &[Element<'_>], page_url: &Url) -> Option<Vec<usize>> {
    let mut groups: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, e) in elements.iter().enumerate() {
        if card_like(e) {
            groups.entry(e.group).or_default().push(i);
        }
    }
    let mut scored: Vec<(f64, Vec<usize>)> = groups
        .into_values()
        .filter(|members| members.len() >= MIN_CARDS)
        .map(|members| {
            let with_photo = members.iter().filter(|&&m| elements[m].images > 0).count();
            let score = (members.len() as f64 + 0.5 * with_photo as f64)
                * context_weight(elements, members[0]);
            (score, members)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1[0].cmp(&b.1[0])));
    scored.truncate(FINALISTS);
    // Among the finalists, what counts is cards that each lead to a
    // listing of their own (judged on the first hundred members: a hostile
    // page may hold a hundred thousand).
    scored
        .into_iter()
        .map(|(score, members)| {
            let members = without_blocks(elements, members);
            let sample = &members[..members.len().min(DISTINCT_SAMPLE)];
            let links: std::collections::HashSet<String> = sample
                .iter()
                .filter_map(|&m| main_link(elements[m].element, page_url))
                .map(|u| u.to_string())
                .collect();
            let distinct = links.len() as f64 / sample.len().max(1) as f64;
            (score * distinct, members)
        })
        .filter(|(score, members)| *score > 0.0 && members.len() >= MIN_CARDS)
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1[0].cmp(&a.1[0])))
        .map(|(_, members)| with_kin(elements, members))
}

/// The chosen cards and their kin: elements inside the list's container
/// made like its cards (the same tag and classes) that link to a page and
/// show a price or photo — a listing sold in several sizes shows no price;
/// a results list may hold a carousel of results, or a card the parser
/// nested one level off.
fn with_kin(elements: &[Element<'_>], members: Vec<usize>) -> Vec<usize> {
    let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
    for &m in &members {
        let e = &elements[m];
        *counts
            .entry((e.element.value().name(), &e.classes))
            .or_default() += 1;
    }
    let Some(((tag, classes), _)) = counts.into_iter().max_by_key(|(key, n)| (*n, *key)) else {
        return members;
    };
    // Made like the cards: the same tag, mostly the same classes, and
    // mostly the same parts inside (another component with a similar
    // name is not a card of this list).
    let model = members
        .iter()
        .find(|&&m| elements[m].classes == classes)
        .map(|&m| inner_parts(elements, m))
        .unwrap_or_default();
    let like_the_cards = |e: &Element<'_>| {
        e.element.value().name() == tag
            && similar_classes(&e.classes, classes)
            && share_in(&inner_parts(elements, e.index), &model) >= 0.7
    };
    // Not inside a carousel, a sponsored or "related" block among the
    // results: those are left out as the groups they form are.
    let set_apart = |e: &Element<'_>, container: usize| {
        let mut at = e.parent;
        while let Some(i) = at.filter(|&i| i != container) {
            if is_aside(elements[i].element) {
                return true;
            }
            at = elements[i].parent;
        }
        false
    };
    // The smallest element holding every member.
    let mut container = elements[members[0]].parent;
    while let Some(c) = container {
        if members.iter().all(|&m| m > c && m < elements[c].end) {
            break;
        }
        container = elements[c].parent;
    }
    let Some(container) = container else {
        return members;
    };
    let mut chosen = members;
    chosen.sort_unstable();
    let mut kin = Vec::new();
    let mut next_member = 0;
    let mut i = container + 1;
    while i < elements[container].end {
        while next_member < chosen.len() && chosen[next_member] < i {
            next_member += 1;
        }
        if chosen.get(next_member) == Some(&i) {
            // A chosen card: nothing inside it is another card.
            i = elements[i].end;
            continue;
        }
        let e = &elements[i];
        if like_the_cards(e)
            && !set_apart(e, container)
            && e.links > 0
            && (e.prices > 0 || e.images > 0)
            && !contains_any(e, &chosen)
        {
            kin.push(i);
            i = e.end;
            continue;
        }
        i += 1;
    }
    chosen.extend(kin);
    chosen.sort_unstable();
    chosen
}

/// The kinds of element inside `at` (tag and classes), from its first
/// few hundred descendants.
fn inner_parts(elements: &[Element<'_>], at: usize) -> std::collections::HashSet<u64> {
    let end = elements[at].end.min(at + 300);
    elements[at + 1..end]
        .iter()
        .map(|e| hash_of(&(e.element.value().name(), &e.classes)))
        .collect()
}

/// The share of `parts` that `model` has too: a card without a price
/// lacks some of its list's parts but has few others.
fn share_in(parts: &std::collections::HashSet<u64>, model: &std::collections::HashSet<u64>) -> f64 {
    if parts.is_empty() {
        return 1.0;
    }
    parts.intersection(model).count() as f64 / parts.len() as f64
}

/// Whether two class keys share at least half their words (a card may
/// carry a class of its own: "s-item--watch-at-corner").
fn similar_classes(a: &str, b: &str) -> bool {
    let a: Vec<&str> = a.split(' ').filter(|w| !w.is_empty()).collect();
    let b: Vec<&str> = b.split(' ').filter(|w| !w.is_empty()).collect();
    if a.is_empty() || b.is_empty() {
        return a.is_empty() && b.is_empty();
    }
    let shared = a.iter().filter(|w| b.contains(w)).count();
    2 * shared >= a.len().max(b.len())
}

/// Whether `e`'s subtree holds any of `sorted`.
fn contains_any(e: &Element<'_>, sorted: &[usize]) -> bool {
    let at = sorted.partition_point(|&m| m < e.index);
    sorted.get(at).is_some_and(|&m| m < e.end)
}

/// A results page showing one listing: the one smallest element with a
/// link, a price and a photo, outside page furniture and advertising.
/// Two or more such elements that form no list are no answer.
fn lone_card(elements: &[Element<'_>]) -> Option<Vec<usize>> {
    let complete = |e: &Element<'_>| card_like(e) && e.images > 0;
    let mut smallest = elements
        .iter()
        .filter(|e| complete(e))
        // Nothing complete inside it: its children's sums say so.
        .filter(|e| {
            !elements[e.index + 1..e.end]
                .iter()
                .any(|d| d.parent == Some(e.index) && complete(d))
        })
        .filter(|e| context_weight(elements, e.index) >= 1.0);
    let card = smallest.next()?;
    smallest.next().is_none().then(|| vec![card.index])
}

/// How much a group at `member` counts by where it sits: less inside page
/// furniture or advertising, more inside what says it holds results.
fn context_weight(elements: &[Element<'_>], member: usize) -> f64 {
    let mut weight: f64 = 1.0;
    let mut at = elements[member].parent;
    while let Some(i) = at {
        let element = elements[i].element;
        let tag = element.value().name();
        if is_aside(element) {
            weight *= 0.4;
        } else if tag == "main"
            || mark_words(element)
                .iter()
                .any(|w| RESULTS_WORDS.contains(&w.as_str()))
        {
            weight *= 1.2;
        }
        at = elements[i].parent;
    }
    weight.min(3.0)
}

/// The members without those holding several cards' worth of prices: an
/// advertising block or a carousel among the results.
fn without_blocks(elements: &[Element<'_>], members: Vec<usize>) -> Vec<usize> {
    let mut prices: Vec<u32> = members.iter().map(|&m| elements[m].prices).collect();
    prices.sort_unstable();
    let median = prices[prices.len() / 2];
    let most = (3 * median).max(4);
    members
        .into_iter()
        .filter(|&m| elements[m].prices <= most)
        .collect()
}

/// Whether a link leads to a page at all (not `#`, `javascript:`,
/// `mailto:`): cheap enough to ask of every link of a hostile page; the
/// address itself is resolved only for the cards chosen.
fn leads_somewhere(anchor: ElementRef<'_>) -> bool {
    anchor.value().attr("href").is_some_and(|href| {
        let href = href.trim_start();
        let lower = href.get(..11).unwrap_or(href).to_ascii_lowercase();
        !href.is_empty()
            && !href.starts_with('#')
            && !lower.starts_with("javascript:")
            && !lower.starts_with("mailto:")
            && !lower.starts_with("tel:")
    })
}

/// A link's target when it is a page: http(s), not this page's own anchor.
fn link_of(anchor: ElementRef<'_>, page_url: &Url) -> Option<Url> {
    let href = anchor.value().attr("href")?.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    canonicalize(page_url, href)
}

/// The card's own link: of the links in it, the one its title and photo
/// point to — by weight of heading, title-like class, text and photo —
/// never the seller's shop or the reviews.
fn main_link(card: ElementRef<'_>, page_url: &Url) -> Option<Url> {
    let mut weights: Vec<(Url, f64)> = Vec::new();
    for anchor in std::iter::once(card)
        .chain(card.descendants().filter_map(ElementRef::wrap))
        .filter(|e| e.value().name() == "a")
    {
        let Some(url) = link_of(anchor, page_url) else {
            continue;
        };
        // The link's classes, and its address's leading folders whole
        // ("/store/135389"; a listing's slug may say "cart").
        let path = url.path().to_ascii_lowercase();
        let mut words = mark_words(anchor);
        words.extend(
            path.split('/')
                .filter(|w| !w.is_empty())
                .take(2)
                .map(String::from),
        );
        // A saved page keeps its links absolute to the site it came from:
        // other sites' links count less, not nothing.
        let mut weight = if crate::config::same_site(&url, page_url) {
            2.0
        } else {
            1.0
        };
        if words.iter().any(|w| NOT_THE_LISTING.contains(&w.as_str())) {
            weight -= 4.0;
        }
        if words
            .iter()
            .any(|w| matches!(w.as_str(), "title" | "name" | "link"))
        {
            weight += 2.0;
        }
        let in_heading = anchor
            .ancestors()
            .take(4)
            .filter_map(ElementRef::wrap)
            .any(is_heading)
            || anchor
                .descendants()
                .filter_map(ElementRef::wrap)
                .any(is_heading);
        if in_heading {
            weight += 3.0;
        }
        if anchor
            .descendants()
            .filter_map(ElementRef::wrap)
            .any(|e| e.value().name() == "img")
        {
            weight += 1.0;
        }
        let text = short_words(anchor, 200);
        weight += (text.chars().count().min(100) as f64) / 25.0;
        match weights.iter_mut().find(|(u, _)| *u == url) {
            Some((_, w)) => *w += weight,
            None => weights.push((url, weight)),
        }
    }
    weights
        .into_iter()
        .filter(|(_, w)| *w > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(url, _)| url)
}

fn is_heading(element: ElementRef<'_>) -> bool {
    matches!(
        element.value().name(),
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
    ) || element.value().attr("role") == Some("heading")
}

/// An element's text up to `max` bytes, whitespace collapsed.
fn short_words(element: ElementRef<'_>, max: usize) -> String {
    let mut out = String::new();
    for piece in element.text() {
        out.push_str(piece);
        out.push(' ');
        if out.len() > max {
            break;
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One card's fields; `None` when it has no link of the page's own site.
fn read_card(
    elements: &[Element<'_>],
    member: usize,
    page_url: &Url,
    site_currency: Option<&str>,
) -> Option<Card> {
    let card = elements[member].element;
    let url = main_link(card, page_url)?;
    let image_element = card
        .descendants()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == "img" && image_of(*e, page_url).is_some());
    let price = card_price(card);
    let currency = price
        .as_deref()
        .and_then(|text| currency_at_site(text, site_currency));
    Some(Card {
        title: card_title(card, &url, page_url, image_element).map(|t| plain(&t, MAX_TITLE_CHARS)),
        price: price.as_deref().and_then(parse_price).map(|p| p.amount),
        currency,
        seller: card_seller(card).map(|s| plain(&s, MAX_TITLE_CHARS)),
        image: image_element
            .and_then(|e| image_of(e, page_url))
            .map(String::from),
        url: url.to_string(),
    })
}

/// The card's title: its name as marked up (`itemprop=name`), its heading,
/// a title-like element, else its link's text, title or photo's alt text.
/// Text a browser hides and badges before the title are left out; when
/// the photo's alt text is what the heading ends with, the rest was a
/// badge ("New listing").
fn card_title(
    card: ElementRef<'_>,
    url: &Url,
    page_url: &Url,
    image: Option<ElementRef<'_>>,
) -> Option<String> {
    let descendants = || card.descendants().filter_map(ElementRef::wrap);
    let alt = image
        .and_then(|i| i.value().attr("alt"))
        .map(|a| a.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|a| a.chars().count() >= 8);
    let named = descendants()
        .find(|e| e.value().attr("itemprop") == Some("name"))
        .or_else(|| descendants().find(|e| is_heading(*e)))
        .or_else(|| {
            descendants().find(|e| {
                mark_words(*e)
                    .iter()
                    .any(|w| matches!(w.as_str(), "title" | "name"))
                    && !visible_text(*e).is_empty()
            })
        })
        .map(visible_text)
        .filter(|t| !t.is_empty());
    let linked = || {
        descendants()
            .chain(std::iter::once(card))
            .filter(|e| e.value().name() == "a")
            .filter(|a| link_of(*a, page_url).as_ref() == Some(url))
            .map(|a| {
                let text = visible_text(a);
                if text.is_empty() {
                    a.value()
                        .attr("title")
                        .unwrap_or_default()
                        .trim()
                        .to_string()
                } else {
                    text
                }
            })
            .filter(|t| {
                parse_price(t).is_none_or(|p| p.currency.is_none()) || t.chars().count() > 20
            })
            .max_by_key(|t| t.chars().count())
            .filter(|t| !t.is_empty())
    };
    match (named.or_else(linked), alt) {
        (Some(title), Some(alt)) if title != alt && title.ends_with(&alt) => Some(alt),
        (Some(title), _) => Some(title),
        (None, alt) => alt,
    }
}

/// An element's text without what a browser hides (screen-reader text,
/// scripts) and without badges, whitespace collapsed.
fn visible_text(element: ElementRef<'_>) -> String {
    let mut out = String::new();
    let mut skip_until: Option<ego_tree::NodeId> = None;
    for edge in element.traverse() {
        match edge {
            Edge::Open(node) => {
                if skip_until.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Element(e) => {
                        let hidden =
                            matches!(e.name(), "script" | "style" | "noscript" | "template")
                                || e.attr("aria-hidden") == Some("true")
                                || e.attr("hidden").is_some()
                                || e.attr("class").is_some_and(|c| {
                                    c.split_whitespace().any(|w| {
                                        HIDDEN_CLASSES.iter().any(|h| w.eq_ignore_ascii_case(h))
                                            || w.split(|c: char| !c.is_alphanumeric())
                                                .any(|part| NOT_TITLE_WORDS.contains(&part))
                                    })
                                });
                        // The element itself is what was asked for: its
                        // own class does not hide it.
                        if hidden && node.id() != element.id() {
                            skip_until = Some(node.id());
                        }
                    }
                    Node::Text(text) => {
                        out.push_str(&text[..]);
                        out.push(' ');
                        if out.len() > MAX_TITLE_CHARS * 8 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if skip_until == Some(node.id()) {
                    skip_until = None;
                }
            }
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The price to pay on a card: of the amounts that are (not struck
/// through, not shipping, not per unit), one the markup calls a price,
/// else the first.
fn card_price(card: ElementRef<'_>) -> Option<String> {
    let mut first: Option<String> = None;
    for element in std::iter::once(card).chain(card.descendants().filter_map(ElementRef::wrap)) {
        let Some((text, marked)) = price_to_pay(element) else {
            continue;
        };
        if marked {
            return Some(text);
        }
        first.get_or_insert(text);
    }
    first
}

/// The seller a card names: an element marked as the seller's or shop's,
/// with a short text that is a name (not a number, not a price).
fn card_seller(card: ElementRef<'_>) -> Option<String> {
    card.descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| {
            mark_words(*e)
                .iter()
                .any(|w| SELLER_WORDS.contains(&w.as_str()))
        })
        .filter_map(|e| short_text(e))
        .map(|t| strip_seller_prefix(&t))
        .find(|t| {
            t.chars().any(char::is_alphabetic)
                && parse_price(t).is_none_or(|price| price.currency.is_none())
        })
}

/// "Seller: x", "Sold by x", "Verkäufer: x" → "x".
fn strip_seller_prefix(text: &str) -> String {
    let lower = text.to_lowercase();
    for prefix in [
        "sold by",
        "seller:",
        "seller",
        "verkäufer:",
        "vendedor:",
        "vendeur :",
        "vendeur:",
        "store:",
        "shop:",
        "by ",
    ] {
        if lower.starts_with(prefix) {
            return text[prefix.len()..].trim().to_string();
        }
    }
    text.trim().to_string()
}

/// A photo's address: its lazy-loading attribute, else its `src` unless
/// that is a placeholder, else the first of its `srcset`.
fn image_of(img: ElementRef<'_>, page_url: &Url) -> Option<Url> {
    let value = img.value();
    let usable = |src: &str| -> Option<Url> {
        let src = src.trim();
        if src.is_empty() || src.starts_with("data:") || is_placeholder(src) {
            return None;
        }
        resolve(page_url, src)
    };
    LAZY_IMAGE_ATTRS
        .iter()
        .filter_map(|attr| value.attr(attr))
        .find_map(usable)
        .or_else(|| value.attr("src").and_then(usable))
        .or_else(|| {
            ["data-srcset", "srcset"]
                .iter()
                .filter_map(|attr| value.attr(attr))
                .find_map(|set| {
                    set.split(',')
                        .next()
                        .and_then(|c| c.split_whitespace().next())
                        .and_then(usable)
                })
        })
}

/// Addresses of the stand-in pictures lazy pages show before the photo.
fn is_placeholder(src: &str) -> bool {
    let lower = src.to_ascii_lowercase();
    [
        "blank.",
        "spacer.",
        "placeholder",
        "transparent.",
        "pixel.",
        "loading.",
        "lazy.",
        "grey.gif",
        "1x1",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// What a bare "$" or "¥" on this page means: the country domain's
/// currency, else the page's language's where it settles the yen sign
/// (Chinese pages price in yuan).
fn page_currency(doc: &Html, page_url: &Url) -> Option<&'static str> {
    if let Some(currency) = country_currency(page_url) {
        return Some(currency);
    }
    let lang = doc
        .root_element()
        .value()
        .attr("lang")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if lang.starts_with("zh") {
        return Some("CNY");
    }
    if lang.starts_with("ja") {
        return Some("JPY");
    }
    None
}

/// The next results page: what the page marks as next (`rel=next`, a
/// class or label saying next), else a link whose text says it.
pub(super) fn next_page(doc: &Html, page_url: &Url) -> Option<Url> {
    let elements = doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .take(MAX_ELEMENTS);
    let mut by_text: Option<Url> = None;
    for element in elements {
        let value = element.value();
        if !matches!(value.name(), "a" | "link") {
            continue;
        }
        let Some(href) = value.attr("href").map(str::trim) else {
            continue;
        };
        if href.is_empty()
            || href.starts_with('#')
            || href.to_ascii_lowercase().starts_with("javascript:")
        {
            continue;
        }
        let Some(url) = resolve(page_url, href) else {
            continue;
        };
        if url == *page_url || value.attr("aria-disabled") == Some("true") {
            continue;
        }
        let rel_next = value
            .attr("rel")
            .is_some_and(|r| r.split_whitespace().any(|w| w.eq_ignore_ascii_case("next")));
        let label = format!(
            "{} {}",
            value.attr("aria-label").unwrap_or_default(),
            value.attr("title").unwrap_or_default()
        )
        .to_lowercase();
        let marked_next = mark_words(element)
            .iter()
            .any(|w| matches!(w.as_str(), "next" | "nextpage"))
            || label
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w == "next");
        if rel_next || (value.name() == "a" && marked_next) {
            return Some(url);
        }
        if by_text.is_none() && value.name() == "a" {
            let text = text_of(element).to_lowercase();
            let text = text.trim_matches(|c: char| !c.is_alphanumeric()).trim();
            if NEXT_WORDS.contains(&text) {
                by_text = Some(url);
            }
        }
    }
    by_text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cards_of(html: &str) -> Vec<Card> {
        let url = Url::parse("https://shop-9.example/search?q=watch").unwrap();
        auto_cards(&Html::parse_document(html), &url).0
    }

    /// A list so short that the whole of it reads as one price ("Watch 0
    /// $10.00 Watch 1 $11.00"): each card still counts its own.
    #[test]
    fn two_short_cards_are_a_list() {
        let cards = cards_of(
            r#"<ul><li><a href="/p/0">Watch 0</a> <span>$10.00</span></li>
               <li><a href="/p/1">Watch 1</a> <span>$11.00</span></li></ul>"#,
        );
        let read: Vec<(&str, Option<f64>)> = cards
            .iter()
            .map(|c| (c.title.as_deref().unwrap_or(""), c.price))
            .collect();
        assert_eq!(read, [("Watch 0", Some(10.0)), ("Watch 1", Some(11.0))]);
    }

    #[test]
    fn a_page_of_one_result_reads_it_and_a_page_of_none_reads_nothing() {
        let one = r#"<nav><a href="/">Home</a></nav><div class="results">
            <div class="hit"><img src="/i/7.jpg"><a href="/p/7">Orvane Tidewatch</a><b>€ 89,00</b></div>
            <a class="banner" href="/promo">Sale</a></div>"#;
        let cards = cards_of(one);
        assert_eq!(cards.len(), 1, "{cards:?}");
        assert_eq!(cards[0].url, "https://shop-9.example/p/7");
        assert_eq!(cards[0].price, Some(89.0));
        let none = r#"<h1>No results for "orvane"</h1><p>Try another search.</p>
            <nav><a href="/">Home</a> <a href="/help">Help</a></nav>"#;
        assert!(cards_of(none).is_empty());
    }
}
