//! The queue policy: which verdicts enter the review queue.
//!
//! The score orders the queue; these rules decide what enters it. They are
//! the ones a brand protection team writes down, recall first — a reviewer
//! dismisses a wrong match with one key, while a missed counterfeit stays
//! on sale:
//!
//! - **official photo**: a verified copy of the brand's own photo, by a
//!   seller who is not authorized, is actionable by itself (unauthorized
//!   use of copyrighted imagery) — unless the listing reads as second-hand
//!   at a plausible price, or as an accessory.
//! - **price floor**: the brand named (or disguised) at a new-item price
//!   below `price_floor` of MSRP. (A product noun alone is not enough:
//!   other brands' look-alikes share nouns and sell cheap; a copy with the
//!   brand scrubbed is caught by its photo.)
//! - **counterfeit vocabulary**: "replica", "1:1", … with the brand or
//!   product (in words or in a photo).
//! - **score**: a score at or above `threshold`.
//! - **seller list**: the seller, or an account of its network, is on the
//!   brand's deny or watch list, and the listing names or shows the
//!   product.
//! - **relisted**: the listing puts back one removed after a takedown (its
//!   photo and most of its title, see [`super::relisting`]), for the
//!   product that one was confirmed for.
//!
//! Authorized sellers are never judged at all (see [`super::score::Judge`]);
//! accessory phrasing blocks the photo and price rules and pulls the score
//! down. Every rule is reported, fired or not, with its reason in words.

use super::signals::Condition;
use super::verdict::{Rule, RuleOutcome, Signals};

/// The rules' settings: `[matching]` in knockoff.toml.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuePolicy {
    /// `threshold`: a score at or above it is queued by itself.
    pub threshold: f64,
    /// `official_photo`: whether a verified copy of a reference photo queues.
    pub official_photo: bool,
    /// `photo_strength`: the image strength (0..1) that counts as a
    /// verified copy of the brand's photo.
    pub photo_strength: f64,
    /// `price_floor`: a new item naming the brand or product below this
    /// share of MSRP is queued.
    pub price_floor: f64,
    /// `used_price_floor`: a second-hand listing at or above this share of
    /// MSRP is a plausible resale, which the photo rule leaves alone.
    pub used_price_floor: f64,
    /// `counterfeit_vocabulary`: whether counterfeit words with the brand
    /// or product queue.
    pub counterfeit_vocabulary: bool,
}

impl Default for QueuePolicy {
    fn default() -> QueuePolicy {
        QueuePolicy {
            threshold: 0.5,
            official_photo: true,
            photo_strength: 0.75,
            price_floor: 0.5,
            used_price_floor: 0.25,
            counterfeit_vocabulary: true,
        }
    }
}

/// Every rule applied to one verdict; queued when any fired.
pub fn decide(policy: &QueuePolicy, signals: &Signals, score: f64) -> Vec<RuleOutcome> {
    let outcome = |rule: Rule, fired: bool, why: String| RuleOutcome { rule, fired, why };
    let accessory = signals.accessory_phrases.first();
    let ratio = signals.price.as_ref().map(|p| p.ratio);
    // Which product: a photo match, or at least half of the product's
    // name in words. The brand alone names every product at once.
    let share = signals.text.phrase_share;
    let identified = signals.image.is_some() || share >= 0.5;
    // The brand as written or disguised. A product noun alone is not
    // enough for the price rule: other brands' look-alikes share nouns
    // ("Everyday Tidewatch") and sell cheap.
    let brand_named = signals.text.brand.is_some();
    let product_named = signals.image.is_some() || share >= 0.99 || (brand_named && identified);
    let used = signals.condition == Condition::Used;
    let share_of_msrp = |r: f64| format!("{:.0}% of MSRP", r * 100.0);

    let photo = match &signals.image {
        _ if !policy.official_photo => outcome(Rule::OfficialPhoto, false, "rule off".into()),
        None => outcome(Rule::OfficialPhoto, false, "no photo matches a reference photo".into()),
        Some(image) if image.strength < policy.photo_strength => outcome(
            Rule::OfficialPhoto,
            false,
            format!(
                "the closest photo match ({}) has strength {:.2}, under {:.2}",
                image.reference, image.strength, policy.photo_strength
            ),
        ),
        Some(_) if accessory.is_some() => outcome(
            Rule::OfficialPhoto,
            false,
            format!(
                "a copied photo, but accessory phrasing '{}'",
                accessory.map_or("", |a| a.as_str())
            ),
        ),
        Some(_) if used && ratio.is_none_or(|r| r >= policy.used_price_floor) => outcome(
            Rule::OfficialPhoto,
            false,
            format!(
                "a copied photo, but second-hand ({}) at a plausible price{}",
                signals.condition_words.join(", "),
                ratio.map_or(String::new(), |r| format!(" ({})", share_of_msrp(r)))
            ),
        ),
        Some(image) => outcome(
            Rule::OfficialPhoto,
            true,
            format!(
                "listing photo {} is a copy of {} (strength {:.2}) by a seller who is not authorized",
                image.photo, image.reference, image.strength
            ),
        ),
    };

    let price = match ratio {
        None => outcome(
            Rule::PriceFloor,
            false,
            "no price to compare with MSRP".into(),
        ),
        Some(_) if !brand_named => outcome(
            Rule::PriceFloor,
            false,
            "the text does not name the brand (as written or disguised)".into(),
        ),
        Some(_) if !identified => outcome(
            Rule::PriceFloor,
            false,
            "the brand is named, but not this product (in words or a photo)".into(),
        ),
        Some(r) if r >= policy.price_floor => outcome(
            Rule::PriceFloor,
            false,
            format!(
                "{} is not under the floor of {}",
                share_of_msrp(r),
                share_of_msrp(policy.price_floor)
            ),
        ),
        Some(r) if used => outcome(
            Rule::PriceFloor,
            false,
            format!(
                "{} but second-hand ({})",
                share_of_msrp(r),
                signals.condition_words.join(", ")
            ),
        ),
        Some(_) if accessory.is_some() => outcome(
            Rule::PriceFloor,
            false,
            format!(
                "under the floor, but accessory phrasing '{}'",
                accessory.map_or("", |a| a.as_str())
            ),
        ),
        Some(r) => outcome(
            Rule::PriceFloor,
            true,
            format!(
                "named at {}, under the floor of {}",
                share_of_msrp(r),
                share_of_msrp(policy.price_floor)
            ),
        ),
    };

    let words = &signals.counterfeit_words;
    let vocabulary = if !policy.counterfeit_vocabulary {
        outcome(Rule::CounterfeitVocabulary, false, "rule off".into())
    } else if words.is_empty() {
        outcome(
            Rule::CounterfeitVocabulary,
            false,
            "no counterfeit words".into(),
        )
    } else if !product_named {
        outcome(
            Rule::CounterfeitVocabulary,
            false,
            format!(
                "'{}' but neither the brand nor the product is named or pictured",
                words.join("', '")
            ),
        )
    } else {
        outcome(
            Rule::CounterfeitVocabulary,
            true,
            format!("'{}' with the brand or product", words.join("', '")),
        )
    };

    let by_score = outcome(
        Rule::Score,
        score >= policy.threshold,
        format!(
            "score {score:.3} {} the threshold {}",
            if score >= policy.threshold {
                "reaches"
            } else {
                "is under"
            },
            policy.threshold
        ),
    );
    let listed = match &signals.listed {
        None => outcome(Rule::SellerList, false, "the seller is on no list".into()),
        // The product must be identified: the brand alone names every
        // product at once, and would queue the listing once per product.
        Some(listed) if !identified => outcome(
            Rule::SellerList,
            false,
            format!(
                "{}, but the listing neither names nor shows this product",
                listed.describe()
            ),
        ),
        Some(listed) => outcome(Rule::SellerList, true, listed.describe()),
    };
    let relisted = match &signals.relisted {
        None => outcome(
            Rule::Relisted,
            false,
            "no listing removed after a takedown shows this photo and title".into(),
        ),
        Some(relisted) => outcome(Rule::Relisted, true, relisted.describe()),
    };
    vec![photo, price, vocabulary, by_score, listed, relisted]
}

/// Whether any rule fired.
pub fn queued(rules: &[RuleOutcome]) -> bool {
    rules.iter().any(|r| r.fired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::signals::PriceSignal;
    use crate::matching::text::TextMatch;
    use crate::matching::verdict::{ImageSignal, Listed, SellerList};

    /// A listing that says nothing: no photo match, no name, no price.
    fn quiet() -> Signals {
        Signals {
            image: None,
            text: TextMatch::default(),
            price: None,
            counterfeit_words: vec![],
            accessory_phrases: vec![],
            seller_confirmed: 0,
            listed: None,
            relisted: None,
            condition: Condition::Unknown,
            condition_words: vec![],
            identity: 0.0,
            infringement: 0.0,
            rules: vec![],
        }
    }

    fn copied_photo(strength: f64) -> Option<ImageSignal> {
        Some(ImageSignal {
            photo: 1,
            reference: "tidewatch/front.png".into(),
            variant: "as is".into(),
            view: "whole photo".into(),
            phash_distance: 0,
            dhash_distance: 0,
            layout_distance: 0.0,
            strength,
            inliers: None,
        })
    }

    fn priced(ratio: f64) -> Option<PriceSignal> {
        Some(PriceSignal {
            amount: 329.0 * ratio,
            currency: "USD".into(),
            msrp: 329.0,
            msrp_currency: "USD".into(),
            ratio,
        })
    }

    fn brand() -> TextMatch {
        TextMatch {
            score: 0.95,
            brand: Some("Orvane".into()),
            product_words: vec!["Tidewatch".into()],
            phrase_share: 1.0,
            in_title: true,
            ..TextMatch::default()
        }
    }

    /// Which rules fire, by name.
    fn fired(signals: &Signals, score: f64) -> Vec<&'static str> {
        decide(&QueuePolicy::default(), signals, score)
            .into_iter()
            .filter(|r| r.fired)
            .map(|r| r.rule.as_str())
            .collect()
    }

    #[test]
    fn a_copied_official_photo_is_enough_by_itself() {
        let copy = Signals {
            image: copied_photo(1.0),
            price: priced(0.3),
            ..quiet()
        };
        assert_eq!(fired(&copy, 0.2), ["official photo"]);
        // A weak resemblance is not a copy.
        let weak = Signals {
            image: copied_photo(0.6),
            ..quiet()
        };
        assert!(fired(&weak, 0.2).is_empty());
    }

    #[test]
    fn the_photo_rule_leaves_plausible_resales_and_accessories_alone() {
        let resale = Signals {
            image: copied_photo(1.0),
            price: priced(0.6),
            condition: Condition::Used,
            condition_words: vec!["pre-owned".into()],
            ..quiet()
        };
        assert!(fired(&resale, 0.1).is_empty());
        // "Used" at 10% of MSRP is not a plausible resale.
        let cheap_used = Signals {
            price: priced(0.1),
            ..resale.clone()
        };
        assert_eq!(fired(&cheap_used, 0.1), ["official photo"]);
        let strap = Signals {
            image: copied_photo(1.0),
            accessory_phrases: vec!["strap for".into()],
            ..quiet()
        };
        assert!(fired(&strap, 0.0).is_empty());
    }

    #[test]
    fn the_brand_under_the_price_floor_queues_new_items_only() {
        let cheap = Signals {
            text: brand(),
            price: priced(0.3),
            condition: Condition::New,
            ..quiet()
        };
        assert_eq!(fired(&cheap, 0.3), ["price floor"]);
        let fair = Signals {
            price: priced(0.8),
            ..cheap.clone()
        };
        assert!(fired(&fair, 0.1).is_empty());
        let used = Signals {
            condition: Condition::Used,
            condition_words: vec!["used".into()],
            ..cheap.clone()
        };
        assert!(fired(&used, 0.1).is_empty());
        // The brand alone names every product: not this one in particular.
        let brand_only = Signals {
            text: TextMatch {
                product_words: vec![],
                phrase_share: 0.0,
                ..brand()
            },
            ..cheap.clone()
        };
        assert!(fired(&brand_only, 0.1).is_empty());
        // A product noun alone (another brand's look-alike) is not enough.
        let noun_only = Signals {
            text: TextMatch {
                brand: None,
                ..brand()
            },
            ..cheap
        };
        assert!(fired(&noun_only, 0.1).is_empty());
    }

    #[test]
    fn counterfeit_words_need_the_brand_or_product() {
        let replica = Signals {
            text: brand(),
            counterfeit_words: vec!["replica".into()],
            ..quiet()
        };
        assert_eq!(fired(&replica, 0.4), ["counterfeit vocabulary"]);
        let unrelated = Signals {
            counterfeit_words: vec!["replica".into()],
            ..quiet()
        };
        assert!(fired(&unrelated, 0.0).is_empty());
    }

    #[test]
    fn a_listed_seller_is_queued_when_the_listing_is_about_the_brand() {
        let denied = Listed {
            list: SellerList::Deny,
            entry: "bazaar/luxdeals".into(),
            via_network: true,
        };
        // A fair second-hand offer no other rule queues.
        let resale = Signals {
            text: brand(),
            price: priced(0.8),
            condition: Condition::Used,
            listed: Some(denied.clone()),
            ..quiet()
        };
        let rules = decide(&QueuePolicy::default(), &resale, 0.1);
        let list = rules.iter().find(|r| r.rule == Rule::SellerList).unwrap();
        assert!(list.fired);
        assert_eq!(
            list.why,
            "seller's network on the deny list (`bazaar/luxdeals`)"
        );
        assert_eq!(fired(&resale, 0.1), ["seller list"]);
        // Not a listing about the brand: another brand's sneaker.
        let unrelated = Signals {
            listed: Some(Listed {
                list: SellerList::Watch,
                via_network: false,
                ..denied
            }),
            ..quiet()
        };
        let rules = decide(&QueuePolicy::default(), &unrelated, 0.1);
        assert!(!queued(&rules));
        assert!(
            rules[4]
                .why
                .starts_with("seller on the watch list (`bazaar/luxdeals`), but"),
            "{}",
            rules[4].why
        );
        assert!(fired(
            &Signals {
                text: brand(),
                ..quiet()
            },
            0.1
        )
        .is_empty());
    }

    #[test]
    fn the_score_rule_and_every_rule_reported_with_its_reason() {
        let rules = decide(&QueuePolicy::default(), &quiet(), 0.7);
        let names: Vec<&str> = rules.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(
            names,
            [
                "official photo",
                "price floor",
                "counterfeit vocabulary",
                "score",
                "seller list",
                "relisted"
            ]
        );
        assert!(queued(&rules));
        assert_eq!(rules[3].why, "score 0.700 reaches the threshold 0.5");
        assert_eq!(rules[0].why, "no photo matches a reference photo");
        let off = QueuePolicy {
            official_photo: false,
            ..QueuePolicy::default()
        };
        let copy = Signals {
            image: copied_photo(1.0),
            ..quiet()
        };
        assert!(!queued(&decide(&off, &copy, 0.1)));
    }
}
