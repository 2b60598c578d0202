//! One score in 0..1 per (listing, product), and its reasons.
//!
//! The score is the product of two questions a reviewer asks:
//!
//! - **identity** — is this listing about this product? Either a verified
//!   image match or the text naming it is enough:
//!   `1 − (1 − image)(1 − text)`.
//! - **infringement** — given that, is it a fake? A logistic of the tells:
//!   counterfeit vocabulary, the price against MSRP (deep discounts push
//!   up, fair prices push down), a disguised brand name, the seller's
//!   confirmed record, and accessory phrasing pulling the other way.
//!
//! So a genuine second-hand item at a fair price, a look-alike of another
//! brand, and a case "for" the product all stay below the threshold even
//! when their photos or titles resemble the product, while a fake with the
//! brand scrubbed from its title is still caught by its photo and price.
//! Authorized sellers are never judged at all.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::image::Print;
use super::policy::{decide, queued, Listed, QueuePolicy, RuleOutcome};
use super::references::ReferenceIndex;
use super::relisting::Relisted;
use super::signals::{
    accessory_structure, condition_of, is_authorized, phrases_in, price_signal, Condition, Phrase,
    PriceSignal,
};
use super::text::{match_text, ProductTerms, TextMatch};

/// The matching settings of `[matching]` in knockoff.toml.
#[derive(Debug, Clone)]
pub struct MatchSettings {
    pub counterfeit_words: Vec<Phrase>,
    pub accessory_phrases: Vec<Phrase>,
    /// Condition words: second-hand, and new.
    pub used_words: Vec<Phrase>,
    pub new_words: Vec<Phrase>,
    /// US dollars per unit of each currency.
    pub fx: BTreeMap<String, f64>,
    /// Which verdicts enter the queue.
    pub policy: QueuePolicy,
    /// The infringement logistic's weights.
    pub weights: Weights,
}

impl MatchSettings {
    /// Settings from the phrase lists as written and an FX table.
    pub fn new(
        counterfeit_words: &[impl AsRef<str>],
        accessory_phrases: &[impl AsRef<str>],
        fx: BTreeMap<String, f64>,
    ) -> MatchSettings {
        MatchSettings {
            counterfeit_words: phrases(counterfeit_words),
            accessory_phrases: phrases(accessory_phrases),
            used_words: phrases(&super::signals::DEFAULT_USED_WORDS),
            new_words: phrases(&super::signals::DEFAULT_NEW_WORDS),
            fx,
            policy: QueuePolicy::default(),
            weights: Weights::default(),
        }
    }
}

/// Configured phrases, parsed.
pub(crate) fn phrases(list: &[impl AsRef<str>]) -> Vec<Phrase> {
    list.iter().map(|w| Phrase::new(w.as_ref())).collect()
}

impl Default for MatchSettings {
    /// The built-in vocabulary and FX table.
    fn default() -> MatchSettings {
        MatchSettings::new(
            &super::signals::DEFAULT_COUNTERFEIT_WORDS,
            &super::signals::DEFAULT_ACCESSORY_PHRASES,
            super::signals::default_fx(),
        )
    }
}

/// A protected product as the judge needs it.
#[derive(Debug, Clone)]
pub struct JudgedProduct {
    pub id: String,
    pub terms: ProductTerms,
    pub msrp: Option<f64>,
    pub currency: Option<String>,
}

/// What is known of one listing.
#[derive(Debug, Clone, Default)]
pub struct ListingFacts {
    pub title: String,
    pub description: String,
    pub seller: Option<String>,
    pub price: Option<f64>,
    pub currency: Option<String>,
    /// Prints of each photo, in page order (empty for a photo that failed).
    pub photos: Vec<Vec<Print>>,
    /// What each photo matched ([`Judge::match_photo`]), in page order.
    pub photo_matches: Vec<PhotoMatches>,
    /// Infringements already confirmed on the seller's other listings and
    /// on those of every account in its network.
    pub seller_confirmed: u32,
    /// The seller (or its network) on the brand's deny or watch list.
    pub listed: Option<Listed>,
    /// The listing removed after a takedown that this one puts back.
    pub relisted: Option<Relisted>,
}

/// The best image match of a listing for one product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSignal {
    /// Listing photo, counted from 1 in page order.
    pub photo: usize,
    /// The reference photo, relative to reference-images/.
    pub reference: String,
    /// How the reference was altered to match ("mirror", "crop 15% left").
    pub variant: String,
    /// Which part of the listing photo matched, and whether it was trimmed.
    pub view: String,
    pub phash_distance: u32,
    pub dhash_distance: u32,
    pub layout_distance: f64,
    /// 0..1.
    pub strength: f64,
    /// Local features agreeing on where the reference sits in the photo,
    /// when the verifier found it ([`super::features`]); the hash
    /// distances then say nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inliers: Option<u32>,
}

/// What one listing photo matched: per product (by its place in the
/// judge's list) the strongest match, with `photo` still 0 — a photo's
/// matches do not depend on the listing showing it, so they are computed
/// and kept once per photo.
pub type PhotoMatches = Vec<(usize, ImageSignal)>;

/// A photo whose best hash match is at least this strong is settled: the
/// local-feature verifier is not asked.
const SETTLED: f64 = 0.8;

impl ImageSignal {
    /// How the listing photo shows the reference, in a reviewer's words:
    /// "mirrored, cropped 12% left, below a banner: near-identical".
    pub fn in_words(&self) -> String {
        // Parts are joined by '+', which a tilt's sign also is ("tilt +5°").
        let mut parts: Vec<String> = Vec::new();
        for piece in self.variant.split('+') {
            match parts.last_mut() {
                Some(last) if !piece.starts_with(char::is_alphabetic) => {
                    last.push('+');
                    last.push_str(piece);
                }
                _ => parts.push(piece.to_string()),
            }
        }
        let mut how: Vec<String> = parts
            .iter()
            .filter_map(|part| {
                let part = part.trim();
                let word = if part == "as is" {
                    return None;
                } else if part == "mirror" {
                    "mirrored".to_string()
                } else if let Some(rest) = part.strip_prefix("rotate ") {
                    format!("turned {rest}")
                } else if let Some(rest) = part.strip_prefix("tilt ") {
                    format!("tilted {}", rest.trim_start_matches('+'))
                } else if let Some(rest) = part.strip_prefix("crop ") {
                    format!("cropped {}", rest.replace("every side", "on every side"))
                } else if part.starts_with("reduced to") {
                    "shrunk into one tile of a collage".to_string()
                } else {
                    part.to_string()
                };
                Some(word)
            })
            .collect();
        let view = self
            .view
            .replace("whole photo, trimmed", "its border trimmed");
        if view != "whole photo" {
            how.push(match view.as_str() {
                v if v.ends_with(" tile") => format!("in the {v}"),
                v if v.starts_with("a part of the photo") => format!("in {v}"),
                v => v.to_string(),
            });
        }
        let closeness = match (self.inliers, self.phash_distance) {
            (Some(n), _) => format!("{n} local features agree"),
            (None, 0..=4) => "near-identical".into(),
            (None, 5..=10) => "very close".into(),
            _ => "close".into(),
        };
        if how.is_empty() {
            format!("as it is: {closeness}")
        } else {
            format!("{}: {closeness}", how.join(", "))
        }
    }
}

/// Every signal behind a score, as stored (JSON) and shown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    pub image: Option<ImageSignal>,
    pub text: TextMatch,
    pub price: Option<PriceSignal>,
    pub counterfeit_words: Vec<String>,
    pub accessory_phrases: Vec<String>,
    pub seller_confirmed: u32,
    /// The seller (or its network) on the brand's deny or watch list.
    #[serde(default)]
    pub listed: Option<Listed>,
    /// The listing removed after a takedown that this one puts back (for
    /// the product that one was confirmed for).
    #[serde(default)]
    pub relisted: Option<Relisted>,
    /// What the listing says of the item's condition, and the words.
    #[serde(default)]
    pub condition: Condition,
    #[serde(default)]
    pub condition_words: Vec<String>,
    /// 0..1: is this listing about this product.
    pub identity: f64,
    /// 0..1: given that, is it an infringement.
    pub infringement: f64,
    /// Every queue rule, fired or not (empty in signals stored before the
    /// rules existed).
    #[serde(default)]
    pub rules: Vec<RuleOutcome>,
}

/// The judgement of one listing against one product.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Index of the product in the judge's list.
    pub product: usize,
    pub score: f64,
    /// Whether a queue rule fired: what decides the queue.
    pub queued: bool,
    pub signals: Signals,
}

/// Everything needed to judge listings; built once per run.
pub struct Judge {
    pub products: Vec<JudgedProduct>,
    pub references: ReferenceIndex,
    pub settings: MatchSettings,
    pub authorized_sellers: Vec<String>,
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Price ratio at which the discount tell is neutral (0).
const NEUTRAL_RATIO: f64 = 0.45;
/// Distance from the neutral ratio at which the tell is full (±1): +1 at a
/// fifth of MSRP or less, −1 (a fair price) at 70% or more.
const FULL_TELL_SPAN: f64 = 0.25;

/// How strongly the price says "fake": +1 deep under MSRP, 0 at 45%, −1 at
/// a fair price.
pub(crate) fn discount_tell(ratio: f64) -> f64 {
    ((NEUTRAL_RATIO - ratio) / FULL_TELL_SPAN).clamp(-1.0, 1.0)
}

/// The infringement logistic's weights: `[matching.weights]` in
/// knockoff.toml, fitted to a team's own decisions by `knockoff tune`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Where the logistic starts when no tell is present.
    pub bias: f64,
    /// Counterfeit vocabulary in the title or description.
    pub counterfeit_words: f64,
    /// Times the discount tell (+1 deep under MSRP, −1 at a fair price).
    pub discount: f64,
    /// The brand written to dodge filters ("0rvane").
    pub brand_disguised: f64,
    /// The seller has a confirmed infringement on another listing.
    pub seller_record: f64,
    /// Each further confirmed infringement of the seller, up to three.
    pub seller_record_step: f64,
    /// Accessory phrasing ("case for"): negative, it pulls down.
    pub accessory: f64,
}

impl Default for Weights {
    /// The weights set by hand on the demo generator (issue 3).
    fn default() -> Weights {
        Weights {
            bias: -2.0,
            counterfeit_words: 3.0,
            discount: 2.5,
            brand_disguised: 1.2,
            seller_record: 1.5,
            seller_record_step: 0.5,
            accessory: -5.0,
        }
    }
}

/// The names of [`Weights`]' fields, in [`Weights::to_array`] order: the
/// keys of `[matching.weights]`.
pub(crate) const WEIGHT_NAMES: [&str; 7] = [
    "bias",
    "counterfeit_words",
    "discount",
    "brand_disguised",
    "seller_record",
    "seller_record_step",
    "accessory",
];

impl Weights {
    pub(crate) fn to_array(self) -> [f64; 7] {
        [
            self.bias,
            self.counterfeit_words,
            self.discount,
            self.brand_disguised,
            self.seller_record,
            self.seller_record_step,
            self.accessory,
        ]
    }

    pub(crate) fn from_array(w: [f64; 7]) -> Weights {
        Weights {
            bias: w[0],
            counterfeit_words: w[1],
            discount: w[2],
            brand_disguised: w[3],
            seller_record: w[4],
            seller_record_step: w[5],
            accessory: w[6],
        }
    }
}

/// The tells of `signals` as numbers, in [`WEIGHT_NAMES`] order (the
/// first, the bias's, is always 1).
pub(crate) fn tells(signals: &Signals) -> [f64; 7] {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    [
        1.0,
        flag(!signals.counterfeit_words.is_empty()),
        signals
            .price
            .as_ref()
            .map_or(0.0, |p| discount_tell(p.ratio)),
        flag(signals.text.brand_disguised),
        flag(signals.seller_confirmed > 0),
        signals.seller_confirmed.clamp(1, 3) as f64 - 1.0,
        flag(!signals.accessory_phrases.is_empty()),
    ]
}

/// The infringement logistic over the tells.
pub fn infringement(signals: &Signals, weights: &Weights) -> f64 {
    let z: f64 = tells(signals)
        .iter()
        .zip(weights.to_array())
        .map(|(x, w)| x * w)
        .sum();
    sigmoid(z)
}

impl Judge {
    /// Verdicts for the products this listing might be about: those an
    /// image matched, plus `text_candidates` (every product when `None`).
    /// Empty for an authorized seller.
    pub fn judge(&self, facts: &ListingFacts, text_candidates: Option<&[usize]>) -> Vec<Verdict> {
        if is_authorized(facts.seller.as_deref(), &self.authorized_sellers) {
            return Vec::new();
        }
        let images = self.image_matches(facts);
        let mut considered: Vec<usize> = match text_candidates {
            Some(candidates) => candidates.to_vec(),
            None => (0..self.products.len()).collect(),
        };
        considered.extend(images.keys().copied());
        // A relisting is judged for the product its removed listing was
        // confirmed for, whatever the index says.
        if let Some(relisted) = &facts.relisted {
            considered.extend(self.products.iter().position(|p| p.id == relisted.product));
        }
        considered.sort_unstable();
        considered.dedup();
        let all_text = format!("{}\n{}", facts.title, facts.description);
        let counterfeit_words = phrases_in(&self.settings.counterfeit_words, &all_text);
        let accessory_phrases = phrases_in(&self.settings.accessory_phrases, &all_text);
        let (condition, condition_words) = condition_of(
            &self.settings.used_words,
            &self.settings.new_words,
            &all_text,
        );
        let texts: BTreeMap<usize, TextMatch> = considered
            .iter()
            .filter(|&&p| p < self.products.len())
            .map(|&p| {
                let terms = &self.products[p].terms;
                (p, match_text(terms, &facts.title, &facts.description))
            })
            .collect();
        let images = one_product_per_tile(images, &texts);
        let mut verdicts = texts
            .into_iter()
            .map(|(p, text)| {
                let product = &self.products[p];
                let image = images.get(&p).cloned();
                let price = price_signal(
                    facts.price,
                    facts.currency.as_deref(),
                    product.msrp,
                    product.currency.as_deref(),
                    &self.settings.fx,
                );
                let image_strength = image.as_ref().map_or(0.0, |i| i.strength);
                let mut signals = Signals {
                    identity: 1.0 - (1.0 - image_strength) * (1.0 - text.score),
                    image,
                    text,
                    price,
                    counterfeit_words: counterfeit_words.clone(),
                    accessory_phrases: accessory_phrases
                        .iter()
                        .cloned()
                        .chain(
                            accessory_structure(&facts.title, &product.terms)
                                .filter(|found| !accessory_phrases.contains(found)),
                        )
                        .collect(),
                    seller_confirmed: facts.seller_confirmed,
                    listed: facts.listed.clone(),
                    relisted: facts.relisted.clone().filter(|r| r.product == product.id),
                    condition,
                    condition_words: condition_words.clone(),
                    infringement: 0.0,
                    rules: Vec::new(),
                };
                signals.infringement = infringement(&signals, &self.settings.weights);
                let score = round3(signals.identity * signals.infringement);
                signals.rules = decide(&self.settings.policy, &signals, score);
                Verdict {
                    product: p,
                    score,
                    queued: false,
                    signals,
                }
            })
            .collect::<Vec<_>>();
        one_product_per_photo(&mut verdicts, |p| self.products[p].id.as_str());
        for verdict in &mut verdicts {
            verdict.queued = queued(&verdict.signals.rules);
        }
        verdicts
    }

    /// Whether a listing seen only on a search card (`facts`, judged as
    /// `verdicts`) is worth fetching its item page: a rule queues it, it
    /// scores at least `prefilter`, or its words are counterfeit vocabulary
    /// — in results of a search for the brand's products that is reason
    /// enough to look, even when a thumbnail is too small to recognise.
    pub(crate) fn card_worth_page(
        &self,
        facts: &ListingFacts,
        verdicts: &[Verdict],
        prefilter: f64,
    ) -> bool {
        verdicts.iter().any(|v| v.queued || v.score >= prefilter)
            || !phrases_in(
                &self.settings.counterfeit_words,
                &format!("{}\n{}", facts.title, facts.description),
            )
            .is_empty()
    }

    /// Which of a listing's photos (by index) match a reference photo:
    /// the brand's own photos, which say nothing of who sells.
    pub fn reference_photos(&self, facts: &ListingFacts) -> Vec<usize> {
        (0..facts.photo_matches.len())
            .filter(|&k| !facts.photo_matches[k].is_empty())
            .collect()
    }

    /// What one listing photo matches: its prints' verified hash matches;
    /// then, unless one of those settles it, the local-feature verifier's
    /// placements of reference photos in `pixels()` (the photo at
    /// [`super::features::feature_size`], decoded by the caller so judging
    /// stays pure, and only when needed).
    pub fn match_photo(
        &self,
        prints: &[Print],
        pixels: impl FnOnce() -> Option<image::RgbImage>,
    ) -> PhotoMatches {
        let mut best: BTreeMap<usize, ImageSignal> = BTreeMap::new();
        let keep =
            |best: &mut BTreeMap<usize, ImageSignal>, product: usize, signal: ImageSignal| {
                if best
                    .get(&product)
                    .is_none_or(|b| b.strength < signal.strength)
                {
                    best.insert(product, signal);
                }
            };
        for print in prints {
            for hit in self.references.lookup(print) {
                let region = match print.region {
                    super::image::Region::Whole => "whole photo".to_string(),
                    super::image::Region::BelowBanner => "below a banner".to_string(),
                    super::image::Region::AboveFooter => "above a footer".to_string(),
                    super::image::Region::Quadrant(q) => format!(
                        "{} tile",
                        ["top-left", "top-right", "bottom-left", "bottom-right"][q as usize % 4]
                    ),
                };
                keep(
                    &mut best,
                    hit.reference.product as usize,
                    ImageSignal {
                        photo: 0,
                        reference: hit.reference.image.clone(),
                        variant: hit.reference.variant.to_string(),
                        view: if print.trimmed {
                            format!("{region}, trimmed")
                        } else {
                            region
                        },
                        phash_distance: hit.phash_distance,
                        dhash_distance: hit.dhash_distance,
                        layout_distance: (hit.layout_distance as f64 * 10.0).round() / 10.0,
                        strength: round3(hit.strength),
                        inliers: None,
                    },
                );
            }
        }
        let settled = best.values().any(|b| b.strength >= SETTLED);
        if !settled && self.references.has_features() {
            if let Some(photo) = pixels() {
                let features = super::features::describe_listing(&photo);
                for hit in self.references.locate(&photo, &features) {
                    let product = hit.reference.product as usize;
                    if !hit.is_copy() {
                        // A closer look found a look-alike of this
                        // reference where the hashes saw a weak copy.
                        if best.get(&product).is_some_and(|b| b.inliers.is_none()) {
                            best.remove(&product);
                        }
                        continue;
                    }
                    let p = &hit.placement;
                    let mut how = Vec::new();
                    if hit.mirrored {
                        how.push("mirror".to_string());
                    }
                    if p.rotation.abs() >= 3.0 {
                        how.push(format!("tilt {:+.0}°", p.rotation));
                    }
                    keep(
                        &mut best,
                        product,
                        ImageSignal {
                            photo: 0,
                            reference: hit.reference.image.clone(),
                            variant: if how.is_empty() {
                                "as is".into()
                            } else {
                                how.join("+")
                            },
                            view: format!("a part of the photo, at {:.0}% size", p.scale * 100.0),
                            phash_distance: 0,
                            dhash_distance: 0,
                            layout_distance: (hit.agreement.colour as f64 * 10.0).round() / 10.0,
                            strength: round3(p.strength),
                            inliers: Some(p.inliers),
                        },
                    );
                }
            }
        }
        best.into_iter().collect()
    }

    /// The strongest verified image match per product, over every photo.
    fn image_matches(&self, facts: &ListingFacts) -> BTreeMap<usize, ImageSignal> {
        let mut best: BTreeMap<usize, ImageSignal> = BTreeMap::new();
        for (photo, matches) in facts.photo_matches.iter().enumerate() {
            for (product, signal) in matches {
                if best
                    .get(product)
                    .is_some_and(|b| b.strength >= signal.strength)
                {
                    continue;
                }
                best.insert(
                    *product,
                    ImageSignal {
                        photo: photo + 1,
                        ..signal.clone()
                    },
                );
            }
        }
        best
    }
}

/// A collage shows the seller's other goods beside the one the listing is
/// about: when one listing photo matches several products and the words
/// name some of them (half their name or more), the photo's matches of
/// products the words do not name are dropped.
fn one_product_per_tile(
    mut images: BTreeMap<usize, ImageSignal>,
    texts: &BTreeMap<usize, TextMatch>,
) -> BTreeMap<usize, ImageSignal> {
    let named = |p: &usize| texts.get(p).is_some_and(|t| t.phrase_share >= 0.5);
    let photos: Vec<usize> = images.values().map(|i| i.photo).collect();
    for photo in photos {
        let on_photo: Vec<usize> = images
            .iter()
            .filter(|(_, i)| i.photo == photo)
            .map(|(p, _)| *p)
            .collect();
        if on_photo.len() > 1 && on_photo.iter().any(named) {
            for p in on_photo.iter().filter(|p| !named(p)) {
                images.remove(p);
            }
        }
    }
    images
}

/// A listing photo is a copy of one product's photo, not of several: when
/// one photo matches more than one product (the other tiles of a collage,
/// a look-alike of a neighbour), the official-photo rule fires only for
/// the product it identifies best (photo and words together).
fn one_product_per_photo<'a>(verdicts: &mut [Verdict], product_id: impl Fn(usize) -> &'a str) {
    let photo_rule = |v: &Verdict| {
        v.signals
            .rules
            .iter()
            .position(|r| r.rule == "official photo" && r.fired)
    };
    let firing: Vec<(usize, usize, f64)> = verdicts
        .iter()
        .enumerate()
        .filter(|(_, v)| photo_rule(v).is_some())
        .filter_map(|(i, v)| Some((i, v.signals.image.as_ref()?.photo, v.signals.identity)))
        .collect();
    for &(i, photo, identity) in &firing {
        let better = firing.iter().find(|&&(j, other_photo, other_identity)| {
            j != i
                && other_photo == photo
                && (other_identity > identity || (other_identity == identity && j < i))
        });
        if let Some(&(j, ..)) = better {
            let winner = verdicts[j].product;
            let verdict = &mut verdicts[i];
            if let Some(at) = photo_rule(verdict) {
                let rule = &mut verdict.signals.rules[at];
                rule.fired = false;
                rule.why = format!(
                    "{}; but the same photo identifies {} better",
                    rule.why,
                    product_id(winner)
                );
            }
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn percent(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

impl Signals {
    /// The why of a score: the rules that queued it, then one short phrase
    /// per signal, strongest first.
    pub fn reasons(&self) -> Vec<String> {
        self.queued_by()
            .into_iter()
            .chain(self.signal_reasons())
            .collect()
    }

    /// Which rules queued it, by name (`explain` and the match page give
    /// each rule's reason in full).
    pub(crate) fn queued_by(&self) -> Option<String> {
        let fired: Vec<&str> = self
            .rules
            .iter()
            .filter(|r| r.fired)
            .map(|r| r.rule.as_str())
            .collect();
        (!fired.is_empty()).then(|| format!("queued by: {}", fired.join(", ")))
    }

    /// The signals in words, without the rules.
    pub(crate) fn signal_reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if let Some(image) = &self.image {
            let variant = if image.variant == "as is" {
                String::new()
            } else {
                format!(" after {}", image.variant)
            };
            reasons.push(format!(
                "image: listing photo {} ({}) ↔ {}, {}/64 + {}/64 bits{variant}, colours {:.0} apart",
                image.photo,
                image.view,
                image.reference,
                image.phash_distance,
                image.dhash_distance,
                image.layout_distance
            ));
        }
        let text = &self.text;
        if text.score > 0.0 {
            let place = if text.in_title {
                "title"
            } else {
                "description"
            };
            let mut parts = Vec::new();
            if let Some(brand) = &text.brand {
                if text.brand_disguised {
                    parts.push(format!("brand disguised as '{brand}'"));
                } else {
                    parts.push(format!("brand '{brand}'"));
                }
            }
            if !text.product_words.is_empty() {
                parts.push(format!("'{}'", text.product_words.join(" ")));
            }
            reasons.push(format!("{place}: {}", parts.join(", ")));
        }
        if let Some(price) = &self.price {
            reasons.push(format!(
                "price {} of MSRP ({:.2} {} vs {:.2} {})",
                percent(price.ratio),
                price.amount,
                price.currency,
                price.msrp,
                price.msrp_currency
            ));
        }
        for word in &self.counterfeit_words {
            reasons.push(format!("word '{word}'"));
        }
        if let Some(listed) = &self.listed {
            reasons.push(listed.describe());
        }
        if let Some(relisted) = &self.relisted {
            reasons.push(relisted.describe());
        }
        if self.seller_confirmed > 0 {
            reasons.push(format!(
                "seller (with its network) has {} confirmed infringement(s)",
                self.seller_confirmed
            ));
        }
        if self.condition != Condition::Unknown {
            reasons.push(format!(
                "condition: {} ('{}')",
                if self.condition == Condition::Used {
                    "second-hand"
                } else {
                    "new"
                },
                self.condition_words.join("', '")
            ));
        }
        for phrase in &self.accessory_phrases {
            reasons.push(format!("accessory phrasing '{phrase}' (counts against)"));
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matched_photo_is_described_in_words() {
        let signal = |variant: &str, view: &str, phash| ImageSignal {
            photo: 2,
            reference: "front.png".into(),
            variant: variant.into(),
            view: view.into(),
            phash_distance: phash,
            dhash_distance: 1,
            layout_distance: 3.0,
            strength: 0.9,
            inliers: None,
        };
        assert_eq!(
            signal("mirror+crop 12% left, 6% top", "below a banner", 3).in_words(),
            "mirrored, cropped 12% left, 6% top, below a banner: near-identical"
        );
        assert_eq!(
            signal("as is", "whole photo, trimmed", 14).in_words(),
            "its border trimmed: close"
        );
        assert_eq!(
            signal("tilt +5°", "top-left tile", 8).in_words(),
            "tilted 5°, in the top-left tile: very close"
        );
        assert_eq!(
            signal("as is", "whole photo", 0).in_words(),
            "as it is: near-identical"
        );
        let found = ImageSignal {
            inliers: Some(41),
            ..signal("mirror", "a part of the photo, at 45% size", 0)
        };
        assert_eq!(
            found.in_words(),
            "mirrored, in a part of the photo, at 45% size: 41 local features agree"
        );
    }

    fn judge() -> Judge {
        Judge {
            products: vec![JudgedProduct {
                id: "ORV-CS3".into(),
                terms: ProductTerms::new("Orvane", "Orvane Cloudstep 3", &["cloudstep".into()]),
                msrp: Some(149.0),
                currency: Some("USD".into()),
            }],
            references: ReferenceIndex::default(),
            settings: MatchSettings::default(),
            authorized_sellers: vec!["orvane-official".into()],
        }
    }

    fn facts(title: &str, price: f64, currency: &str, seller: &str) -> ListingFacts {
        ListingFacts {
            title: title.into(),
            price: Some(price),
            currency: Some(currency.into()),
            seller: Some(seller.into()),
            ..ListingFacts::default()
        }
    }

    fn score(facts: &ListingFacts) -> f64 {
        judge().judge(facts, None).first().map_or(0.0, |v| v.score)
    }

    #[test]
    fn fakes_score_high_and_genuine_listings_low() {
        let fake = facts("0rvane Cloudstep replica", 29.99, "USD", "luxe-deals-88");
        assert!(score(&fake) > 0.8, "{}", score(&fake));
        let cheap_no_words = facts("Orvane Cloudstep 3 sneakers", 24.0, "EUR", "megasale");
        assert!(score(&cheap_no_words) > 0.5, "{}", score(&cheap_no_words));
        let used = facts(
            "Used Orvane Cloudstep 3 - good condition",
            95.0,
            "USD",
            "jane_d",
        );
        assert!(score(&used) < 0.2, "{}", score(&used));
        let case = facts(
            "Replacement laces for Orvane Cloudstep 3",
            9.99,
            "USD",
            "gadget-corner",
        );
        assert!(score(&case) < 0.1, "{}", score(&case));
        let other = facts("Vantor Classic sneaker", 60.0, "USD", "urban-goods");
        assert!(score(&other) < 0.1, "{}", score(&other));
        let official = facts("Orvane Cloudstep 3 replica", 10.0, "USD", "Orvane-Official");
        assert!(judge().judge(&official, None).is_empty());
    }

    #[test]
    fn a_relisting_is_judged_and_queued_for_the_removed_listings_product() {
        // Words that name nothing and a fair price: no rule but this one.
        let relisting = ListingFacts {
            relisted: Some(Relisted {
                listing: 7,
                url: "https://shop.example/l/7".into(),
                product: "ORV-CS3".into(),
                removed_at: "2026-11-30T10:00:00.000Z".into(),
            }),
            ..facts("Sneakers white size 42", 140.0, "USD", "new-account-1")
        };
        let verdicts = judge().judge(&relisting, Some(&[]));
        assert_eq!(verdicts.len(), 1, "judged for the removed one's product");
        let fired: Vec<&str> = verdicts[0]
            .signals
            .rules
            .iter()
            .filter(|r| r.fired)
            .map(|r| r.rule.as_str())
            .collect();
        assert_eq!(fired, ["relisted"]);
        assert!(verdicts[0].queued);
        assert!(verdicts[0]
            .signals
            .reasons()
            .contains(&"relisted: the photo and title of listing #7 (https://shop.example/l/7), removed 2026-11-30 after a takedown".to_string()));
        // Without it, the same listing is about nothing.
        let plain = ListingFacts {
            relisted: None,
            ..relisting
        };
        assert!(judge().judge(&plain, Some(&[])).is_empty());
    }

    #[test]
    fn seller_history_raises_the_score_and_reasons_say_why() {
        let borderline = facts("Orvane Cloudstep 3", 70.0, "USD", "kingstar");
        let with_history = ListingFacts {
            seller_confirmed: 2,
            ..borderline.clone()
        };
        assert!(score(&with_history) > score(&borderline) + 0.2);
        let verdict = judge().judge(&with_history, None).remove(0);
        let reasons = verdict.signals.reasons().join("; ");
        assert!(
            reasons.contains("title: brand 'Orvane', 'Cloudstep 3'"),
            "{reasons}"
        );
        assert!(reasons.contains("price 47% of MSRP"), "{reasons}");
        assert!(
            reasons.contains("seller (with its network) has 2 confirmed"),
            "{reasons}"
        );
    }
}
