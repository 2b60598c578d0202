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
use super::policy::{decide, queued, QueuePolicy};
use super::references::ReferenceIndex;
use super::relisting::Relisted;
use super::signals::{
    accessory_structure, condition_of, is_authorized, phrases_in, price_signal, Phrase,
};
use super::text::{match_text, ProductTerms, TextMatch};
use super::verdict::{ImageSignal, Listed, PhotoMatches, Rule, Signals, Verdict};

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

/// A photo whose best hash match is at least this strong is settled: the
/// local-feature verifier is not asked.
const SETTLED: f64 = 0.8;

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
            .position(|r| r.rule == Rule::OfficialPhoto && r.fired)
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
