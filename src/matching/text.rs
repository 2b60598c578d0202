//! Finding the brand and a product's names in listing text, however the
//! seller spelled them: "0rvane", "Orvne", "O-rvane", "ORVANE", "Orvanne"
//! all find "Orvane"; "cloud step" finds "cloudstep".
//!
//! Text is [`normalise`]d the same way for the full-text index and here:
//! lower case, accents and punctuation gone, digits inside words read as
//! the letters they imitate (0→o, 1→i, 3→e, 4→a, 5→s, 7→t). A term then
//! matches a word, or two or three adjacent words run together, within an
//! edit distance that grows with its length (0 up to 4 letters, 1 up to 7,
//! else 2; transpositions count one).

use serde::{Deserialize, Serialize};

/// One word of normalised text, and how it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub norm: String,
    pub raw: String,
}

/// Lower-cases and splits `text` into words; digits among letters become
/// the letters they imitate; a run of three or more single letters
/// ("H.A.L.V.A.R.D", "O R V A N E") is read as one word.
pub fn normalise(text: &str) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    // Where the current run of single letters started: (index in words,
    // byte offset in text).
    let mut run: Option<(usize, usize)> = None;
    let mut offset = 0;
    // Where the last word ended.
    let mut end = 0;
    for raw in text.split(|c: char| !c.is_alphanumeric()) {
        let start = offset;
        offset += raw.len()
            + text[start + raw.len()..]
                .chars()
                .next()
                .map_or(0, char::len_utf8);
        if raw.is_empty() {
            continue;
        }
        let norm = normalise_word(raw);
        let single_letter = norm.chars().count() == 1 && norm.chars().all(char::is_alphabetic);
        if !single_letter {
            spell_out(&mut words, run.take(), &text[..end]);
        } else if run.is_none() {
            run = Some((words.len(), start));
        }
        words.push(Word {
            norm,
            raw: raw.to_string(),
        });
        end = start + raw.len();
        // Bound the work on hostile text.
        if words.len() >= 2000 {
            break;
        }
    }
    spell_out(&mut words, run, &text[..end]);
    words
}

/// Joins the single letters from `run` (its first word's index and byte
/// offset) to the end of `words` into one word when there are at least
/// three; `text` ends where the last of them does.
fn spell_out(words: &mut Vec<Word>, run: Option<(usize, usize)>, text: &str) {
    let Some((first, start)) = run else { return };
    if words.len() - first < 3 {
        return;
    }
    let norm = words.drain(first..).map(|w| w.norm).collect();
    words.push(Word {
        norm,
        raw: text.get(start..).unwrap_or_default().to_string(),
    });
}

/// One word, lower-cased, accents folded, digits among letters read as
/// the letters they imitate.
fn normalise_word(raw: &str) -> String {
    let lower: String = raw
        .chars()
        .flat_map(char::to_lowercase)
        .map(fold_accent)
        .collect();
    let has_letter = lower.chars().any(|c| c.is_alphabetic());
    let has_digit = lower.chars().any(|c| c.is_ascii_digit());
    if has_letter && has_digit {
        lower
            .chars()
            .map(|c| match c {
                '0' => 'o',
                '1' => 'i',
                '3' => 'e',
                '4' => 'a',
                '5' => 's',
                '7' => 't',
                other => other,
            })
            .collect()
    } else {
        lower
    }
}

/// Normalised text as one string of words, for the full-text index.
pub(crate) fn normalised_text(text: &str) -> String {
    normalise(text)
        .into_iter()
        .map(|w| w.norm)
        .collect::<Vec<_>>()
        .join(" ")
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// Edits a term of `len` characters may be away from a word and still match.
pub(crate) fn allowed_edits(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    }
}

/// Where a term was found: the words as written, and how far off.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub written: String,
    pub edits: usize,
}

/// Finds `term` (normalised, one word) among `words` or two or three
/// adjacent words run together; the closest occurrence.
pub fn find(term: &str, words: &[Word]) -> Option<Found> {
    let term_len = term.chars().count();
    let allowed = allowed_edits(term_len);
    let mut best: Option<Found> = None;
    for start in 0..words.len() {
        let mut joined = String::new();
        let mut written: Vec<&str> = Vec::new();
        for word in words.iter().skip(start).take(3) {
            joined.push_str(&word.norm);
            written.push(&word.raw);
            let len = joined.chars().count();
            if len > term_len + allowed {
                break;
            }
            if len + allowed < term_len {
                continue;
            }
            let edits = strsim::osa_distance(&joined, term);
            if edits <= allowed && best.as_ref().is_none_or(|b| edits < b.edits) {
                best = Some(Found {
                    written: written.join(" "),
                    edits,
                });
                if edits == 0 {
                    return best;
                }
            }
        }
    }
    best
}

/// What a product is called: the brand's words and the product's own
/// phrases (its name without the brand, and its keywords).
#[derive(Debug, Clone, PartialEq)]
pub struct ProductTerms {
    pub brand: Vec<String>,
    /// Each phrase as normalised words; a phrase also matches run together.
    pub phrases: Vec<Vec<String>>,
}

/// Words too common to identify a product.
const FILLER: [&str; 8] = ["the", "and", "for", "with", "of", "by", "new", "a"];

impl ProductTerms {
    /// Terms for a product called `name` with `keywords`, of brand `brand`.
    pub fn new(brand: &str, name: &str, keywords: &[String]) -> ProductTerms {
        let brand_words: Vec<String> = normalise(brand).into_iter().map(|w| w.norm).collect();
        let mut phrases: Vec<Vec<String>> = Vec::new();
        let mut add = |text: &str| {
            let words: Vec<String> = normalise(text)
                .into_iter()
                .map(|w| w.norm)
                .filter(|w| !brand_words.contains(w) && !FILLER.contains(&w.as_str()))
                .collect();
            if !words.is_empty() && !phrases.contains(&words) {
                phrases.push(words);
            }
        };
        add(name);
        for keyword in keywords {
            add(keyword);
        }
        ProductTerms {
            brand: brand_words,
            phrases,
        }
    }

    /// Every single normalised word of the product's phrases, for building
    /// a full-text query.
    pub(crate) fn words(&self) -> Vec<String> {
        let mut words: Vec<String> = self.phrases.iter().flatten().cloned().collect();
        for phrase in &self.phrases {
            if phrase.len() > 1 {
                words.push(phrase.concat());
            }
        }
        words.sort();
        words.dedup();
        words
    }
}

/// What the text says about one product.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextMatch {
    /// 0..1: how clearly the text names this product.
    pub score: f64,
    /// The brand as written, when found.
    pub brand: Option<String>,
    /// Written differently from the brand (beyond letter case): a
    /// misspelling or digit-for-letter swap meant to dodge filters.
    pub brand_disguised: bool,
    /// The product's words as written.
    pub product_words: Vec<String>,
    /// Share of the best-matching product phrase found, 0..1.
    pub phrase_share: f64,
    /// Found in the title (else only in the description).
    pub in_title: bool,
}

/// Weight of a word in a phrase: longer words say more.
fn weight(word: &str) -> f64 {
    word.chars().count().min(6) as f64
}

fn phrase_share(phrase: &[String], words: &[Word], found: &mut Vec<String>) -> f64 {
    // The phrase run together ("cloudstep" for "cloud step"), or its words.
    if phrase.len() > 1 {
        if let Some(hit) = find(&phrase.concat(), words) {
            found.push(hit.written);
            return 1.0;
        }
    }
    let total: f64 = phrase.iter().map(|w| weight(w)).sum();
    let mut matched = 0.0;
    for word in phrase {
        if let Some(hit) = find(word, words) {
            matched += weight(word);
            found.push(hit.written);
        }
    }
    if total > 0.0 {
        matched / total
    } else {
        0.0
    }
}

/// How clearly `title` and `description` name the product.
pub(crate) fn match_text(terms: &ProductTerms, title: &str, description: &str) -> TextMatch {
    let title_words = normalise(title);
    let description_words = normalise(description);
    let judge = |words: &[Word]| -> (Option<Found>, f64, Vec<String>) {
        let brand = terms
            .brand
            .iter()
            .filter_map(|b| find(b, words))
            .min_by_key(|f| f.edits);
        let mut best = (0.0, Vec::new());
        for phrase in &terms.phrases {
            let mut found = Vec::new();
            let share = phrase_share(phrase, words, &mut found);
            if share > best.0 {
                best = (share, found);
            }
        }
        (brand, best.0, best.1)
    };
    let (title_brand, title_share, title_found) = judge(&title_words);
    let (desc_brand, desc_share, desc_found) = judge(&description_words);
    // The description counts for less than the title.
    let (share, product_words, in_title) = if title_share >= desc_share * 0.8 && title_share > 0.0 {
        (title_share, title_found, true)
    } else {
        (desc_share * 0.8, desc_found, false)
    };
    let brand = title_brand.or(desc_brand);
    let brand_found = brand.is_some() as u8 as f64;
    let score = share * (0.6 + 0.35 * brand_found) + 0.1 * brand_found * (1.0 - share);
    let brand_disguised = brand.as_ref().is_some_and(|b| {
        let written: String = b.written.chars().filter(|c| c.is_alphanumeric()).collect();
        b.edits > 0
            || b.written.contains(|c: char| !c.is_alphanumeric())
            || written.to_lowercase().chars().any(|c| c.is_ascii_digit())
    });
    TextMatch {
        score,
        brand: brand.map(|b| b.written),
        brand_disguised,
        product_words,
        phrase_share: share,
        in_title,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloudstep() -> ProductTerms {
        ProductTerms::new(
            "Orvane",
            "Orvane Cloudstep 3",
            &["cloudstep".into(), "cloud step".into()],
        )
    }

    #[test]
    fn brand_variants_are_found_and_disguises_noticed() {
        for (title, disguised) in [
            ("Orvane Cloudstep 3", false),
            ("ORVANE Cloudstep", false),
            ("0rvane Cloudstep replica", true),
            ("Orvne Cloudstep", true),
            ("O-rvane Cloudstep", true),
            ("Orvanne cloudstep", true),
        ] {
            let found = match_text(&cloudstep(), title, "");
            assert!(found.brand.is_some(), "{title}");
            assert_eq!(found.brand_disguised, disguised, "{title}");
            assert!(found.score > 0.9, "{title}: {}", found.score);
        }
        for title in ["Orange running shoe", "Oven mitt", "Vantor Classic sneaker"] {
            let found = match_text(&cloudstep(), title, "");
            assert_eq!(found.brand, None, "{title}");
            assert_eq!(found.score, 0.0, "{title}");
        }
    }

    #[test]
    fn product_names_match_fuzzily_split_or_joined() {
        for title in [
            "cloud step runner",
            "Cloudstpe 3",
            "CLOUD-STEP",
            "cl0udstep",
        ] {
            let found = match_text(&cloudstep(), title, "");
            assert!(found.phrase_share >= 0.99, "{title}: {found:?}");
            assert!(found.score >= 0.6 && found.brand.is_none(), "{title}");
        }
        // A different product of the same brand: only the brand is there.
        let tidewatch = match_text(&cloudstep(), "Orvane Tidewatch replica", "");
        assert!(tidewatch.score < 0.2, "{tidewatch:?}");
        // The description counts, for less.
        let described = match_text(&cloudstep(), "Running shoe", "Like the Orvane Cloudstep");
        assert!(!described.in_title && described.score > 0.7 && described.score < 0.9);
    }

    #[test]
    fn normalising_reads_digits_as_letters_only_inside_words() {
        let norm = |t: &str| normalised_text(t);
        assert_eq!(norm("0rvane 1:1 AAA"), "orvane 1 1 aaa");
        assert_eq!(norm("Café Crème"), "cafe creme");
        assert_eq!(normalise(&"x ".repeat(10_000)).len(), 1);
        assert_eq!(normalise(&"xy ".repeat(10_000)).len(), 2000);
    }

    #[test]
    fn spelled_out_letters_are_read_as_one_word() {
        let words = normalise("H.A.L.V.A.R.D Arc chair, O R V A N E and a b");
        let norms: Vec<&str> = words.iter().map(|w| w.norm.as_str()).collect();
        assert_eq!(
            norms,
            ["halvard", "arc", "chair", "orvane", "and", "a", "b"]
        );
        assert_eq!(words[0].raw, "H.A.L.V.A.R.D");
        assert_eq!(words[3].raw, "O R V A N E");
        assert_eq!(normalised_text("size S-M"), "size s m");
        for title in [
            "O.r.v.a.n.e Cloudstep",
            "O R V A N E cloudstep",
            "0.R.V.A.N.E Cloudstep",
        ] {
            let found = match_text(&cloudstep(), title, "");
            assert!(found.brand.is_some(), "{title}: {found:?}");
        }
    }
}
