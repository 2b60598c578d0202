//! What the judge says of a listing against one product, as stored (the
//! queue's signals JSON) and shown: the [`Verdict`], its [`Signals`], the
//! image match behind it ([`ImageSignal`]), and every queue rule's outcome
//! ([`RuleOutcome`]). The types only: `score` and `policy` compute them,
//! the store, the review UI, `explain` and the evidence bundle read them.

use serde::{Deserialize, Serialize};

use super::relisting::Relisted;
use super::signals::{Condition, PriceSignal};
use super::text::TextMatch;
use crate::words::closed_set;

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

closed_set! {
    /// A seller list of `[brand]` in products.toml beside `authorized_sellers`
    /// (the allow list, whose sellers are never judged): `denied_sellers` are
    /// known infringers, `watched_sellers` suspects. Either queues every
    /// listing of theirs, or of their networks, that names or shows a product.
    pub enum SellerList("seller list") {
        Deny = "deny",
        Watch = "watch",
    }
}

/// A listing's seller on a seller list: the account itself, or another
/// account of its network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub list: SellerList,
    /// The listed account as the list names it.
    pub entry: String,
    /// Whether the entry is another account of the seller's network.
    pub via_network: bool,
}

impl Listed {
    /// In words: "seller on the deny list (`luxdeals`)".
    pub fn describe(&self) -> String {
        let whose = if self.via_network {
            "seller's network"
        } else {
            "seller"
        };
        format!(
            "{whose} on the {} list (`{}`)",
            self.list.as_str(),
            self.entry
        )
    }
}

closed_set! {
    /// The queue policy's rules, by the names reviewers read.
    pub enum Rule("queue rule") {
        /// A listing photo copies a reference photo.
        OfficialPhoto = "official photo",
        /// The brand and product named at a price far under MSRP.
        PriceFloor = "price floor",
        /// Words counterfeiters use, with the brand or product.
        CounterfeitVocabulary = "counterfeit vocabulary",
        /// The weighted score reaches the threshold.
        Score = "score",
        /// The seller, or its network, is on the brand's deny or watch list.
        SellerList = "seller list",
        /// A listing removed after a takedown, put back.
        Relisted = "relisted",
    }
}

/// One rule applied to one verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleOutcome {
    pub rule: Rule,
    pub fired: bool,
    /// Why it fired or did not, in words.
    pub why: String,
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
