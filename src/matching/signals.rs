//! What a listing's price, words and seller say about it: the price as a
//! share of the product's MSRP (in one currency, through the FX table), the
//! counterfeit vocabulary, accessory phrasing, and authorized sellers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::text::{normalise, ProductTerms, Word};

/// Words sellers of fakes use; `[matching] counterfeit_words` replaces them.
pub(crate) const DEFAULT_COUNTERFEIT_WORDS: [&str; 17] = [
    "replica",
    "1:1",
    "AAA",
    "super copy",
    "mirror quality",
    "mirror image",
    "mirror version",
    "top version",
    "same factory",
    "dupe",
    "inspired by",
    "fake",
    "unbranded version",
    "same as original",
    "high imitation",
    "knockoff",
    "imitación",
];

/// Phrasing of accessories and parts that name the product they fit, in
/// several languages; "…" stands for up to four words, a trailing "*" for
/// the rest of a word (German compounds: "Ersatzfilter für").
/// `[matching] accessory_phrases` replaces them.
pub(crate) const DEFAULT_ACCESSORY_PHRASES: [&str; 44] = [
    "compatible with",
    "case for",
    "cover for",
    "sleeve for",
    "lid for",
    "filter for",
    "cable for",
    "charger for",
    "strap fits",
    "strap for",
    "band for",
    "laces for",
    "protector for",
    "pads for",
    "parts for",
    "replacement … for",
    "replacement … fits",
    "spare … for",
    "spare … fits",
    "accessory for",
    "hülle für",
    "passend für",
    "kompatibel mit",
    "ersatz* für",
    "zubehör für",
    "armband für",
    "coque pour",
    "housse pour",
    "étui pour",
    "compatible avec",
    "accessoire pour",
    "bracelet pour",
    "funda para",
    "compatible con",
    "repuesto para",
    "recambio para",
    "correa para",
    "custodia per",
    "compatibile con",
    "ricambio per",
    "cinturino per",
    "hoes voor",
    "geschikt voor",
    "capa para",
];

/// Words that say an item is not new, in several languages; `[matching]
/// used_words` replaces them. ("Occasion" alone is not here: "for any
/// occasion" sells new things too.)
pub(crate) const DEFAULT_USED_WORDS: [&str; 39] = [
    "used",
    "pre-owned",
    "preowned",
    "pre-loved",
    "preloved",
    "second hand",
    "secondhand",
    "like new",
    "good condition",
    "excellent condition",
    "bon état",
    "comme neuf",
    "buen estado",
    "como nuevo",
    "guter zustand",
    "wie neu",
    "buone condizioni",
    "come nuovo",
    "refurbished",
    "renewed",
    "for parts",
    "not working",
    "open box",
    "gebraucht",
    "generalüberholt",
    "d'occasion",
    "reconditionné",
    "usado",
    "usada",
    "seminuevo",
    "reacondicionado",
    "usato",
    "usata",
    "ricondizionato",
    "gebruikt",
    "begagnad",
    "używany",
    "中古",
    "二手",
];

/// Words that say an item is new; `[matching] new_words` replaces them.
pub(crate) const DEFAULT_NEW_WORDS: [&str; 13] = [
    "new",
    "brand new",
    "sealed",
    "bnib",
    "bnwt",
    "nwt",
    "neu",
    "neuf",
    "nuevo",
    "nueva",
    "nuovo",
    "nieuw",
    "全新",
];

/// What a listing says of the item's condition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    /// Says neither.
    #[default]
    Unknown,
    New,
    /// Second-hand, refurbished or for parts: wins over "new" ("like new").
    Used,
}

/// The condition `text` states, and the words that said it.
pub(crate) fn condition_of(
    used: &[Phrase],
    new: &[Phrase],
    text: &str,
) -> (Condition, Vec<String>) {
    let said_used = phrases_in(used, text);
    if !said_used.is_empty() {
        return (Condition::Used, said_used);
    }
    let said_new = phrases_in(new, text);
    if said_new.is_empty() {
        (Condition::Unknown, said_new)
    } else {
        (Condition::New, said_new)
    }
}

/// US dollars per unit of each currency; `[matching.fx]` adds to and
/// overrides these. Rough mid-2026 rates: a price ratio needs the right
/// order of magnitude, not the day's rate.
pub(crate) const DEFAULT_FX: [(&str, f64); 12] = [
    ("USD", 1.0),
    ("EUR", 1.09),
    ("GBP", 1.27),
    ("JPY", 0.0066),
    ("CAD", 0.73),
    ("AUD", 0.66),
    ("CHF", 1.12),
    ("CNY", 0.14),
    ("INR", 0.012),
    ("MXN", 0.055),
    ("BRL", 0.18),
    ("SEK", 0.095),
];

/// A phrase as normalised words; `None` stands for a gap of up to 4 words.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    pub text: String,
    tokens: Vec<Token>,
}

/// One element of a phrase.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    /// A word starting with this.
    Prefix(String),
    /// Up to four words.
    Gap,
}

impl Phrase {
    /// Parses a configured phrase; "…" or "..." is a gap, a word ending in
    /// "*" matches any word it starts.
    pub fn new(text: &str) -> Phrase {
        let marked = text.replace("...", " \u{1} ").replace('…', " \u{1} ");
        let mut tokens = Vec::new();
        for part in marked.split_whitespace() {
            if part == "\u{1}" {
                tokens.push(Token::Gap);
            } else if let Some(stem) = part.strip_suffix('*').filter(|s| !s.is_empty()) {
                tokens.extend(normalise(stem).into_iter().map(|w| Token::Prefix(w.norm)));
            } else {
                tokens.extend(normalise(part).into_iter().map(|w| Token::Word(w.norm)));
            }
        }
        Phrase {
            text: text.to_string(),
            tokens,
        }
    }

    /// Whether the phrase occurs in `words`.
    pub(crate) fn occurs_in(&self, words: &[Word]) -> bool {
        (0..words.len()).any(|start| matches_at(&self.tokens, &words[start..]))
    }
}

fn matches_at(pattern: &[Token], words: &[Word]) -> bool {
    let Some((token, rest)) = pattern.split_first() else {
        return true;
    };
    let first = words.first();
    match token {
        Token::Gap => (0..=4.min(words.len())).any(|skip| matches_at(rest, &words[skip..])),
        Token::Word(word) => {
            first.is_some_and(|w| &w.norm == word) && matches_at(rest, &words[1..])
        }
        Token::Prefix(stem) => {
            first.is_some_and(|w| w.norm.starts_with(stem.as_str()))
                && matches_at(rest, &words[1..])
        }
    }
}

/// The configured phrases of `phrases` found in `text`.
pub(crate) fn phrases_in(phrases: &[Phrase], text: &str) -> Vec<String> {
    let words = normalise(text);
    phrases
        .iter()
        .filter(|p| p.occurs_in(&words))
        .map(|p| p.text.clone())
        .collect()
}

/// A listing's price against the product's MSRP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceSignal {
    pub amount: f64,
    pub currency: String,
    pub msrp: f64,
    pub msrp_currency: String,
    /// Listing price over MSRP, both in US dollars.
    pub ratio: f64,
}

/// The price ratio, when the price, its currency and the MSRP are known
/// and both currencies are in `fx` (US dollars per unit).
pub(crate) fn price_signal(
    amount: Option<f64>,
    currency: Option<&str>,
    msrp: Option<f64>,
    msrp_currency: Option<&str>,
    fx: &BTreeMap<String, f64>,
) -> Option<PriceSignal> {
    let (amount, msrp) = (amount?, msrp?);
    // A listing without a currency is priced like the product.
    let msrp_currency = msrp_currency.unwrap_or("USD");
    let currency = currency.unwrap_or(msrp_currency);
    let usd = |value: f64, code: &str| fx.get(&code.to_ascii_uppercase()).map(|rate| value * rate);
    let (listing_usd, msrp_usd) = (usd(amount, currency)?, usd(msrp, msrp_currency)?);
    if !(amount > 0.0 && msrp_usd > 0.0 && listing_usd.is_finite()) {
        return None;
    }
    Some(PriceSignal {
        amount,
        currency: currency.to_string(),
        msrp,
        msrp_currency: msrp_currency.to_string(),
        ratio: listing_usd / msrp_usd,
    })
}

/// The default FX table.
pub(crate) fn default_fx() -> BTreeMap<String, f64> {
    DEFAULT_FX
        .iter()
        .map(|(c, r)| (c.to_string(), *r))
        .collect()
}

/// Whether `seller` is one of `authorized` (case and surrounding space ignored).
pub(crate) fn is_authorized(seller: Option<&str>, authorized: &[String]) -> bool {
    let Some(seller) = seller.map(str::trim).filter(|s| !s.is_empty()) else {
        return false;
    };
    authorized
        .iter()
        .any(|a| a.trim().eq_ignore_ascii_case(seller))
}

/// Words that say what a thing serves, in the languages the built-in
/// phrases cover: "kit *for* …", "strap *fits* …", "housse *pour* …".
const SERVING: [&str; 8] = ["for", "fits", "fit", "fur", "pour", "para", "per", "voor"];

/// The accessory a title describes by its structure — "&lt;thing&gt; for / fits
/// &lt;brand or product&gt;" where the thing is not the product itself ("Shoe
/// Cleaning Kit For Orvane Cloudrunner", "Dust cover for the Orvane
/// Pack") — as its phrase ("kit for"), for any thing the phrase list does
/// not name. "Orvane Cloudrunner for men" is the product, not an
/// accessory: the word before "for" is the product's own.
pub(crate) fn accessory_structure(title: &str, terms: &ProductTerms) -> Option<String> {
    let words: Vec<String> = normalise(title).into_iter().map(|w| w.norm).collect();
    let names_product = |w: &str| {
        terms.brand.iter().any(|b| b == w) || terms.phrases.iter().flatten().any(|p| p == w)
    };
    (1..words.len()).find_map(|i| {
        let (thing, serving) = (&words[i - 1], &words[i]);
        let served = words[i + 1..].iter().take(3).any(|w| names_product(w));
        (SERVING.contains(&serving.as_str()) && !names_product(thing) && served)
            .then(|| format!("{thing} {serving}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_compare_across_currencies() {
        let fx = default_fx();
        let usd = price_signal(Some(29.8), Some("USD"), Some(149.0), Some("USD"), &fx).unwrap();
        assert!((usd.ratio - 0.2).abs() < 1e-9);
        // ¥4,490 is about $29.6: a fifth of a $149 MSRP.
        let jpy = price_signal(Some(4490.0), Some("JPY"), Some(149.0), Some("USD"), &fx).unwrap();
        assert!((jpy.ratio - 0.199).abs() < 0.01, "{}", jpy.ratio);
        let eur = price_signal(Some(137.0), Some("eur"), Some(149.0), None, &fx).unwrap();
        assert!((eur.ratio - 1.0).abs() < 0.01);
        // Unknown currency, missing price or MSRP: no signal rather than a wrong one.
        assert_eq!(
            price_signal(Some(10.0), Some("XYZ"), Some(149.0), None, &fx),
            None
        );
        assert_eq!(
            price_signal(None, Some("USD"), Some(149.0), None, &fx),
            None
        );
        assert_eq!(price_signal(Some(10.0), None, None, None, &fx), None);
        assert_eq!(price_signal(Some(0.0), None, Some(9.0), None, &fx), None);
    }

    #[test]
    fn accessories_are_known_by_their_structure() {
        let terms = ProductTerms::new(
            "Orvane",
            "Orvane Cloudrunner",
            &["cloudrunner".into(), "running shoe".into()],
        );
        let cases = [
            ("Shoe Cleaning Kit For Orvane Cloudrunner", Some("kit for")),
            ("Dust cover for the Orvane running shoe", Some("cover for")),
            ("Replacement insoles fit Cloudrunner 2", Some("insoles fit")),
            ("Semelles pour Orvane Cloudrunner", Some("semelles pour")),
            ("Orvane Cloudrunner for men, size 42", None),
            ("Orvane Cloudrunner replica AAA for sale", None),
            ("Running shoes for women", None),
        ];
        for (title, expected) in cases {
            assert_eq!(
                accessory_structure(title, &terms).as_deref(),
                expected,
                "{title}"
            );
        }
    }

    #[test]
    fn vocabulary_and_accessory_phrases_with_gaps() {
        let words: Vec<Phrase> = DEFAULT_COUNTERFEIT_WORDS
            .iter()
            .map(|w| Phrase::new(w))
            .collect();
        assert_eq!(
            phrases_in(&words, "Cloudstep 1:1 quality, AAA grade!"),
            ["1:1", "AAA"]
        );
        assert_eq!(
            phrases_in(&words, "Super-copy of the Tidewatch"),
            ["super copy"]
        );
        assert!(phrases_in(&words, "Genuine, receipt included").is_empty());
        let accessories: Vec<Phrase> = DEFAULT_ACCESSORY_PHRASES
            .iter()
            .map(|w| Phrase::new(w))
            .collect();
        assert_eq!(
            phrases_in(
                &accessories,
                "Replacement silicone strap for Orvane Tidewatch"
            ),
            ["strap for", "replacement … for"]
        );
        assert_eq!(
            phrases_in(&accessories, "Spare lid compatible with Orvane Aero Bottle"),
            ["compatible with"]
        );
        assert!(phrases_in(&accessories, "Orvane Tidewatch replica").is_empty());
        // Other languages, and a German compound through "ersatz* für".
        for (title, phrase) in [
            ("Funda para Orvane Tidewatch", "funda para"),
            ("Ersatzfilter für Orvane Aero Bottle", "ersatz* für"),
            ("Coque pour Orvane Pulse Buds", "coque pour"),
            ("Cinturino per Orvane Tidewatch", "cinturino per"),
            ("Spare cable fits Orvane Pulse Buds", "spare … fits"),
        ] {
            assert_eq!(phrases_in(&accessories, title), [phrase], "{title}");
        }
        // A prefix matches only the start of a word.
        assert!(phrases_in(&accessories, "Orvane Aero Bottle, ersatzlos für dich").len() == 1);
        assert!(phrases_in(&accessories, "Neuer Orvane für Ersatz").is_empty());
        assert_eq!(
            phrases_in(&words, "Orvane Tidewatch mirror version"),
            ["mirror version"]
        );
    }

    #[test]
    fn condition_words_in_several_languages() {
        let used: Vec<Phrase> = DEFAULT_USED_WORDS.iter().map(|w| Phrase::new(w)).collect();
        let new: Vec<Phrase> = DEFAULT_NEW_WORDS.iter().map(|w| Phrase::new(w)).collect();
        let condition = |text: &str| condition_of(&used, &new, text).0;
        assert_eq!(
            condition("Used Orvane Tidewatch, good condition"),
            Condition::Used
        );
        assert_eq!(condition("Orvane Tidewatch pre-owned"), Condition::Used);
        assert_eq!(condition("Orvane Tidewatch - like new!"), Condition::Used);
        assert_eq!(condition("Orvane Tidewatch gebraucht"), Condition::Used);
        assert_eq!(condition("Montre Orvane d'occasion"), Condition::Used);
        assert_eq!(condition("Reloj Orvane usado"), Condition::Used);
        assert_eq!(
            condition("Montre Orvane (occasion, très bon état)"),
            Condition::Used
        );
        assert_eq!(condition("Orvane Uhr, wie neu"), Condition::Used);
        assert_eq!(condition("Reloj Orvane en buen estado"), Condition::Used);
        assert_eq!(
            condition("Orvane Tidewatch for parts / not working"),
            Condition::Used
        );
        assert_eq!(condition("NEW Orvane Tidewatch sealed"), Condition::New);
        assert_eq!(condition("Orvane Tidewatch neu OVP"), Condition::New);
        assert_eq!(
            condition("Orvane Tidewatch, a gift for any occasion"),
            Condition::Unknown
        );
        assert_eq!(
            condition_of(&used, &new, "Refurbished Orvane Pulse Buds").1,
            ["refurbished"]
        );
    }

    #[test]
    fn authorized_sellers_match_whatever_their_case() {
        let authorized = vec!["orvane-official".to_string(), "BigBox Retail".to_string()];
        assert!(is_authorized(Some("Orvane-Official "), &authorized));
        assert!(is_authorized(Some("bigbox retail"), &authorized));
        assert!(!is_authorized(Some("orvane-official-outlet"), &authorized));
        assert!(!is_authorized(None, &authorized));
    }
}
