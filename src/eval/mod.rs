//! The accuracy harness: a labelled set — from the demo generator, or from
//! [`independent`], a second generator written apart from it — judged
//! through the same path as a crawl (reference index from the workspace's
//! photos, tantivy candidates, the judge), scored against its truth.
//! [`photos`] measures the photo path alone on real photographs.
//!
//! Tune on the demo's seed 1; report [`HELD_OUT_SEED`] and the
//! independent set too, which nothing was tuned on.

pub mod independent;
pub mod networks;
pub mod photos;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use crate::config;
use crate::demo::catalog::{Catalog, Kind, THUMBNAIL_SIZE};
use crate::demo::draw::Transform;
use crate::demo::write_workspace;
use crate::index::{self, TextDoc, TextIndex};
use crate::judge::judge_for;
use crate::matching::image::Print;
use crate::matching::score::ListingFacts;
use crate::photo;
use crate::photo::read_listing_photo;

/// The seed never tuned on.
pub(crate) const HELD_OUT_SEED: u64 = 7_777;

/// Recall of one group of infringing listings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupRecall {
    pub listings: usize,
    pub caught: usize,
    /// Caught by the photo alone: a verified image match of the right
    /// product with strength ≥ 0.5.
    pub by_image: usize,
}

/// The harness's numbers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    /// "demo" or "independent".
    pub set: String,
    /// Judged as the search cards show the listings (title, price and a
    /// thumbnail) with this `prefilter`: a flag is an item page fetched.
    pub cards_prefilter: Option<f64>,
    pub seed: u64,
    pub listings: usize,
    pub products: usize,
    pub threshold: f64,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Share of true positives whose top product is the right one.
    pub attribution: f64,
    /// Per transformation of a copied photo, and `own_photo`.
    pub by_transformation: BTreeMap<String, GroupRecall>,
    /// False positives per kind of listing.
    pub false_positives_by_kind: BTreeMap<String, usize>,
    /// The listings judged wrong: (id, kind, transformation, best score,
    /// title, the rules that queued it — for a miss, why none did).
    pub mistakes: Vec<(u32, String, String, f64, String, Vec<String>)>,
}

/// One listing of a labelled set, with its truth.
#[derive(Debug, Clone, Default)]
pub struct LabelledListing {
    pub id: u32,
    pub title: String,
    pub description: String,
    pub seller: String,
    pub price: f64,
    pub currency: String,
    /// The photos as a marketplace serves them.
    pub photos: Vec<Vec<u8>>,
    pub infringing: bool,
    /// The product (index in the catalogue) it infringes or imitates.
    pub product: Option<usize>,
    /// What kind of listing it is ("copied_photo", "lookalike", …).
    pub kind: String,
    /// For an infringing listing: the trick on the official photo, or
    /// "own_photo".
    pub group: String,
}

/// Labelled listings of a brand whose workspace was written beside them.
#[derive(Debug, Clone, Default)]
pub struct LabelledSet {
    pub products: usize,
    pub listings: Vec<LabelledListing>,
}

/// The demo generator's labelled set for `seed`, its workspace in `dir`.
fn demo_set(seed: u64, n_listings: usize, dir: &std::path::Path) -> Result<LabelledSet> {
    let catalog = Catalog::generate(seed, n_listings);
    write_workspace(dir, &catalog)?;
    let listings = catalog
        .listings
        .iter()
        .map(|l| LabelledListing {
            id: l.id,
            title: l.title.clone(),
            description: l.description.clone(),
            seller: l.seller.clone(),
            price: l.price,
            currency: l.currency.clone(),
            photos: l.photos.iter().map(|p| catalog.listing_photo(p)).collect(),
            infringing: l.kind.is_infringing(),
            product: l.product,
            kind: l.kind.name().to_string(),
            group: match l.kind {
                Kind::CopiedPhoto => l.transform().map(Transform::name).unwrap_or("copied"),
                Kind::OwnPhoto => "own_photo",
                _ => "",
            }
            .to_string(),
        })
        .collect();
    Ok(LabelledSet {
        products: catalog.products.len(),
        listings,
    })
}

/// Generates the demo generator's labelled set for `seed` and judges it
/// (as search cards with `cards_prefilter`, when given).
pub fn evaluate(seed: u64, n_listings: usize, cards_prefilter: Option<f64>) -> Result<EvalReport> {
    let dir = tempfile::tempdir()?;
    let set = demo_set(seed, n_listings, dir.path())?;
    judge_set("demo", seed, &set, dir.path(), cards_prefilter)
}

/// Generates the independent generator's labelled set for `seed` and
/// judges it.
pub fn evaluate_independent(
    seed: u64,
    n_listings: usize,
    cards_prefilter: Option<f64>,
) -> Result<EvalReport> {
    let dir = tempfile::tempdir()?;
    let set = independent::generate(seed, n_listings, dir.path())?;
    judge_set("independent", seed, &set, dir.path(), cards_prefilter)
}

/// `listing` as a search results card shows it: title, price and a
/// thumbnail of its first photo ([`THUMBNAIL_SIZE`] on the longer side).
fn as_card(listing: &LabelledListing) -> LabelledListing {
    let thumbnail = listing.photos.first().and_then(|bytes| {
        let (_, full) = photo::decode(bytes, 40_000_000).ok()?;
        let full = full.to_rgb8();
        let scale = THUMBNAIL_SIZE as f64 / full.width().max(full.height()) as f64;
        let side = |n: u32| ((n as f64 * scale).round() as u32).max(1);
        let small = image::imageops::resize(
            &full,
            side(full.width()),
            side(full.height()),
            image::imageops::FilterType::Triangle,
        );
        Some(crate::demo::draw::jpeg(&small, 80))
    });
    LabelledListing {
        description: String::new(),
        seller: String::new(),
        photos: thumbnail.into_iter().collect(),
        ..listing.clone()
    }
}

/// Judges `set` with the workspace in `dir`, as a crawl would.
fn judge_set(
    name: &str,
    seed: u64,
    set: &LabelledSet,
    dir: &std::path::Path,
    cards_prefilter: Option<f64>,
) -> Result<EvalReport> {
    let cards: Vec<LabelledListing>;
    let listings = match cards_prefilter {
        Some(_) => {
            cards = set.listings.iter().map(as_card).collect();
            &cards
        }
        None => &set.listings,
    };
    let config = config::load(dir)?;
    let references = index::references(&config)?;
    let judge = judge_for(&config, references.index);
    let text = TextIndex::in_memory()?;
    let docs: Vec<TextDoc> = listings
        .iter()
        .map(|l| TextDoc {
            id: l.id as i64,
            title: &l.title,
            description: &l.description,
            seller: &l.seller,
        })
        .collect();
    text.upsert(&docs, false)?;
    let mut candidates: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (p, product) in judge.products.iter().enumerate() {
        for id in text.product_hits(&product.terms)? {
            candidates.entry(id).or_default().push(p);
        }
    }
    let threshold = config.settings.policy.threshold;
    let mut report = EvalReport {
        set: name.to_string(),
        cards_prefilter,
        seed,
        listings: set.listings.len(),
        products: set.products,
        threshold,
        ..EvalReport::default()
    };
    let mut attributed = 0;
    for listing in listings {
        let (photos, photo_matches): (Vec<Vec<Print>>, _) = listing
            .photos
            .iter()
            .map(|bytes| match read_listing_photo(bytes, 40_000_000, true) {
                Ok(photo) => {
                    let matches = judge.match_photo(&photo.prints, || photo.pixels);
                    (photo.prints, matches)
                }
                Err(_) => Default::default(),
            })
            .unzip();
        let facts = ListingFacts {
            title: listing.title.clone(),
            description: listing.description.clone(),
            seller: Some(listing.seller.clone()).filter(|s| !s.is_empty()),
            price: Some(listing.price),
            currency: Some(listing.currency.clone()),
            photos,
            photo_matches,
            seller_confirmed: 0,
            listed: None,
            relisted: None,
        };
        let listed = candidates
            .get(&(listing.id as i64))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let verdicts = judge.judge(&facts, Some(listed));
        // The queue's view: the highest-scoring verdict a rule queued (or,
        // for a card, whether its item page would be fetched).
        let best = verdicts
            .iter()
            .filter(|v| v.queued || cards_prefilter.is_some_and(|p| v.score >= p))
            .max_by(|a, b| a.score.total_cmp(&b.score));
        let flagged = match cards_prefilter {
            Some(prefilter) => judge.card_worth_page(&facts, &verdicts, prefilter),
            None => best.is_some(),
        };
        let truth = listing.infringing;
        if truth {
            let entry = report
                .by_transformation
                .entry(listing.group.clone())
                .or_default();
            entry.listings += 1;
            entry.caught += flagged as usize;
            let by_image = verdicts.iter().any(|v| {
                Some(v.product) == listing.product
                    && v.signals.image.as_ref().is_some_and(|i| i.strength >= 0.5)
            });
            entry.by_image += by_image as usize;
        }
        match (flagged, truth) {
            (true, true) => {
                report.true_positives += 1;
                attributed += (best.map(|b| b.product) == listing.product) as usize;
            }
            (true, false) => {
                report.false_positives += 1;
                *report
                    .false_positives_by_kind
                    .entry(listing.kind.clone())
                    .or_default() += 1;
            }
            (false, true) => report.false_negatives += 1,
            (false, false) => {}
        }
        if flagged != truth {
            report.mistakes.push((
                listing.id,
                listing.kind.clone(),
                listing.group.clone(),
                verdicts.iter().map(|v| v.score).fold(0.0, f64::max),
                listing.title.clone(),
                // A false positive: the rules that queued it; a miss: why
                // each rule of its best verdict did not.
                match best {
                    Some(b) => b
                        .signals
                        .rules
                        .iter()
                        .filter(|r| r.fired)
                        .map(|r| format!("queued by {}: {}", r.rule, r.why))
                        .collect(),
                    None => verdicts
                        .iter()
                        .max_by(|a, b| a.score.total_cmp(&b.score))
                        .map(|v| {
                            v.signals
                                .rules
                                .iter()
                                .map(|r| format!("not {}: {}", r.rule, r.why))
                                .collect()
                        })
                        .unwrap_or_default(),
                },
            ));
        }
    }
    let (tp, fp, fneg) = (
        report.true_positives as f64,
        report.false_positives as f64,
        report.false_negatives as f64,
    );
    report.precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 1.0 };
    report.recall = if tp + fneg > 0.0 {
        tp / (tp + fneg)
    } else {
        1.0
    };
    report.f1 = if report.precision + report.recall > 0.0 {
        2.0 * report.precision * report.recall / (report.precision + report.recall)
    } else {
        0.0
    };
    report.attribution = if tp > 0.0 {
        attributed as f64 / tp
    } else {
        1.0
    };
    Ok(report)
}

/// The report as printed by `knockoff eval`.
pub fn render(report: &EvalReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} set, seed {}: {} listings, {} products, threshold {}",
        report.set, report.seed, report.listings, report.products, report.threshold
    );
    if let Some(prefilter) = report.cards_prefilter {
        let fetched = report.true_positives + report.false_positives;
        let _ = writeln!(
            out,
            "judged from search cards (title, price, {THUMBNAIL_SIZE} px thumbnail), prefilter \
             {prefilter}: a flag is an item page fetched — {fetched} of {} listings ({:.3})",
            report.listings,
            fetched as f64 / report.listings.max(1) as f64
        );
    }
    let _ = writeln!(
        out,
        "precision {:.3}  recall {:.3}  F1 {:.3}  attribution {:.3}  (TP {} FP {} FN {})",
        report.precision,
        report.recall,
        report.f1,
        report.attribution,
        report.true_positives,
        report.false_positives,
        report.false_negatives
    );
    let _ = writeln!(out, "recall per transformation (and by the photo alone):");
    for (name, group) in &report.by_transformation {
        let _ = writeln!(
            out,
            "  {name:<12} {:>3}/{:<3} {:.3}   image alone {:.3}",
            group.caught,
            group.listings,
            group.caught as f64 / group.listings.max(1) as f64,
            group.by_image as f64 / group.listings.max(1) as f64
        );
    }
    if !report.false_positives_by_kind.is_empty() {
        let _ = writeln!(
            out,
            "false positives by kind: {:?}",
            report.false_positives_by_kind
        );
    }
    for (id, kind, group, score, title, rules) in report.mistakes.iter().take(20) {
        let _ = writeln!(
            out,
            "  wrong: {id} {kind} {group} score {score:.3} {title:?}"
        );
        for rule in rules {
            let _ = writeln!(out, "         {rule}");
        }
    }
    out
}
