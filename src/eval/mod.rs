//! The accuracy harness: a labelled set from the demo generator, judged
//! through the same path as a crawl (reference index from the workspace's
//! photos, tantivy candidates, the judge), scored against its truth.
//!
//! Tune on [`TUNING_SEED`]; report [`HELD_OUT_SEED`] too, which nothing was
//! tuned on.

pub mod photos;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use crate::config;
use crate::demo::catalog::{Catalog, Kind};
use crate::demo::write_workspace;
use crate::index::{self, TextDoc, TextIndex};
use crate::matching::image::{listing_prints, WORK_SIDE};
use crate::matching::score::ListingFacts;
use crate::photo;
use crate::queue::judge_for;

/// The seed thresholds and weights were tuned on.
pub const TUNING_SEED: u64 = 1;
/// The seed never tuned on.
pub const HELD_OUT_SEED: u64 = 7_777;

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
    /// title, the rules that queued it — empty for a miss).
    pub mistakes: Vec<(u32, String, String, f64, String, Vec<String>)>,
}

/// Generates the labelled set for `seed` and judges it.
pub fn evaluate(seed: u64, n_listings: usize) -> Result<EvalReport> {
    let catalog = Catalog::generate(seed, n_listings);
    let dir = tempfile::tempdir()?;
    write_workspace(dir.path(), &catalog)?;
    let config = config::load(dir.path())?;
    let references = index::references(&config)?;
    let judge = judge_for(&config, references.index);
    let text = TextIndex::in_memory()?;
    let docs: Vec<TextDoc> = catalog
        .listings
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
        seed,
        listings: catalog.listings.len(),
        products: catalog.products.len(),
        threshold,
        ..EvalReport::default()
    };
    let mut attributed = 0;
    for listing in &catalog.listings {
        let photos = listing
            .photos
            .iter()
            .map(|p| {
                let bytes = catalog.listing_photo(p);
                photo::decode_small(&bytes, 40_000_000, WORK_SIDE)
                    .map(|(_, small)| listing_prints(&small))
                    .unwrap_or_default()
            })
            .collect();
        let facts = ListingFacts {
            title: listing.title.clone(),
            description: listing.description.clone(),
            seller: Some(listing.seller.clone()),
            price: Some(listing.price),
            currency: Some(listing.currency.clone()),
            photos,
            seller_confirmed: 0,
        };
        let listed = candidates
            .get(&(listing.id as i64))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let verdicts = judge.judge_with_windows(&facts, Some(listed), |i| {
            let bytes = catalog.listing_photo(listing.photos.get(i)?);
            photo::decode_small(&bytes, 40_000_000, WORK_SIDE)
                .ok()
                .map(|(_, small)| small)
        });
        // The queue's view: the highest-scoring verdict a rule queued.
        let best = verdicts
            .iter()
            .filter(|v| v.queued)
            .max_by(|a, b| a.score.total_cmp(&b.score));
        let flagged = best.is_some();
        let truth = listing.kind.is_infringing();
        let group = match listing.kind {
            Kind::CopiedPhoto => listing.transform().map(|t| t.name()).unwrap_or("copied"),
            Kind::OwnPhoto => "own_photo",
            _ => "",
        };
        if truth {
            let entry = report
                .by_transformation
                .entry(group.to_string())
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
                    .entry(listing.kind.name().to_string())
                    .or_default() += 1;
            }
            (false, true) => report.false_negatives += 1,
            (false, false) => {}
        }
        if flagged != truth {
            report.mistakes.push((
                listing.id,
                listing.kind.name().to_string(),
                group.to_string(),
                verdicts.iter().map(|v| v.score).fold(0.0, f64::max),
                listing.title.clone(),
                best.map(|b| {
                    b.signals
                        .rules
                        .iter()
                        .filter(|r| r.fired)
                        .map(|r| format!("{}: {}", r.rule, r.why))
                        .collect()
                })
                .unwrap_or_default(),
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
        "seed {}: {} listings, {} products, threshold {}",
        report.seed, report.listings, report.products, report.threshold
    );
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
            let _ = writeln!(out, "         queued by {rule}");
        }
    }
    out
}
