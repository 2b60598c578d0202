//! What an element's markup says of it: the words of its class, id and
//! itemprop ("price-old" → "price", "old"; "wasPrice" → "was", "price"),
//! and whether it is page furniture or a block set apart from the page's
//! main content (navigation, a carousel, something sponsored or related).

use scraper::ElementRef;

/// Words in an element's class or id that say it is not the page's main
/// content: furniture, advertising, recommendations. (Not "header" or
/// "footer": a buy box has a header of its own; the tags say it.)
const ASIDE_WORDS: &[&str] = &[
    "nav",
    "navigation",
    "navbar",
    "menu",
    "sidebar",
    "aside",
    "breadcrumb",
    "breadcrumbs",
    "filter",
    "filters",
    "facet",
    "facets",
    "refinements",
    "carousel",
    "slider",
    "sponsored",
    "sponsor",
    "advert",
    "advertisement",
    "ads",
    "related",
    "recommended",
    "recommendations",
    "recommendation",
    "similar",
    "recently",
    "viewed",
    "also",
    "comparison",
    "upsell",
    "crosssell",
    "minicart",
];

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

/// Whether an element is page furniture or a block set apart from the
/// main content: navigation, header, footer, a side bar, a carousel, the
/// cart, something sponsored or "related".
pub(super) fn is_aside(element: ElementRef) -> bool {
    matches!(
        element.value().name(),
        "nav" | "header" | "footer" | "aside"
    ) || mark_words(element)
        .iter()
        .any(|w| ASIDE_WORDS.contains(&w.as_str()))
}

/// Whether `element` or one of its ancestors is set apart ([`is_aside`]).
pub(super) fn within_aside(element: ElementRef) -> bool {
    std::iter::once(element)
        .chain(element.ancestors().filter_map(ElementRef::wrap))
        .any(is_aside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_punctuation_and_case() {
        let doc = scraper::Html::parse_fragment(
            r#"<span class="price-old wasPrice" id="listPRICE_2" itemprop="offers">x</span>"#,
        );
        let span = doc
            .root_element()
            .descendants()
            .filter_map(ElementRef::wrap)
            .find(|e| e.value().name() == "span")
            .unwrap();
        assert_eq!(
            mark_words(span),
            ["price", "old", "was", "price", "list", "price", "2", "offers"]
        );
    }
}
