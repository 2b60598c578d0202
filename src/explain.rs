//! `knockoff explain LISTING`: why a listing is, or is not, in the queue.
//!
//! The listing is judged again, against every product (not only the ones
//! the full-text index would suggest), with the same judge and queue rules
//! as a crawl, and every signal and rule is reported beside what the store
//! holds for it — for listings that were never queued too.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::config::Config;
use crate::index;
use crate::matching::score::Signals;
use crate::matching::signals::is_authorized;
use crate::queue::{facts_of, judge_for, photo_pixels};
use crate::store::{Stage, Store};

/// Everything `explain` says about one listing.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub listing_id: i64,
    pub url: String,
    pub target: String,
    pub title: Option<String>,
    pub price: Option<f64>,
    pub currency: Option<String>,
    pub seller: Option<String>,
    /// The seller is one of the brand's authorized sellers: never queued.
    pub authorized_seller: bool,
    /// What the listing was read from: its search card only, or its page.
    pub stage: Stage,
    /// Every product considered, queued first, then by score.
    pub products: Vec<ProductExplanation>,
}

/// One product against the listing.
#[derive(Debug, Clone, Serialize)]
pub struct ProductExplanation {
    pub product_id: String,
    pub product_name: String,
    pub score: f64,
    /// Whether a queue rule fires now.
    pub queued: bool,
    /// The match the store holds, if any: its id and status.
    pub match_id: Option<i64>,
    pub status: Option<crate::status::MatchStatus>,
    /// The reasons in words, as the review card shows them.
    pub reasons: Vec<String>,
    /// Every signal and every rule, fired or not.
    pub signals: Signals,
}

/// The listing was not found.
#[derive(Debug, thiserror::Error)]
#[error("no listing with id or URL `{0}` in the store")]
pub(crate) struct NoSuchListing(pub String);

/// Explains listing `id_or_url` (an id, or its canonical URL).
pub fn explain(config: &Config, store: &Store, id_or_url: &str) -> Result<Explanation> {
    let listing = store
        .listing_to_judge(id_or_url.trim())?
        .ok_or_else(|| NoSuchListing(id_or_url.to_string()))?;
    let references = index::references(config).context("loading the reference index")?;
    let judge = judge_for(config, references.index);
    let mut printed = 0;
    let max_pixels = config.settings.crawl.max_image_pixels;
    let facts = facts_of(store, &listing, max_pixels, &mut printed)?;
    let stored = store.listing_matches(listing.listing.id)?;
    let mut products: Vec<ProductExplanation> = judge
        .judge_with_windows(&facts, None, |i| {
            photo_pixels(store, &listing, i, max_pixels)
        })
        .into_iter()
        .map(|verdict| {
            let product = &judge.products[verdict.product];
            let held = stored.iter().find(|(id, ..)| *id == product.id);
            let name = config
                .catalog
                .products
                .iter()
                .find(|p| p.id == product.id)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            ProductExplanation {
                product_id: product.id.clone(),
                product_name: name,
                score: verdict.score,
                queued: verdict.queued,
                match_id: held.map(|(_, id, _)| *id),
                status: held.map(|(_, _, status)| *status),
                reasons: verdict.signals.reasons(),
                signals: verdict.signals,
            }
        })
        .collect();
    products.sort_by(|a, b| b.queued.cmp(&a.queued).then(b.score.total_cmp(&a.score)));
    let l = listing.listing;
    Ok(Explanation {
        listing_id: l.id.0,
        authorized_seller: is_authorized(
            l.listing.seller.as_deref(),
            &config.catalog.brand.authorized_sellers,
        ),
        url: l.url,
        target: l.target,
        title: l.listing.title,
        price: l.listing.price,
        currency: l.listing.currency,
        seller: l.listing.seller,
        stage: l.stage,
        products,
    })
}

/// The explanation as text for a person.
pub fn render(explanation: &Explanation) -> String {
    let e = explanation;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "listing {} on {}: {}",
        e.listing_id,
        e.target,
        e.title.as_deref().unwrap_or("(no title)")
    );
    let _ = writeln!(out, "  {}", e.url);
    let price = match (e.price, e.currency.as_deref()) {
        (Some(p), Some(c)) => format!("{p:.2} {c}"),
        (Some(p), None) => format!("{p:.2}"),
        _ => "no price".into(),
    };
    let _ = writeln!(
        out,
        "  {price}, seller {}",
        e.seller.as_deref().unwrap_or("unknown")
    );
    if e.stage == Stage::Card {
        let _ = writeln!(
            out,
            "  judged from its search results card only (title, price, thumbnail): the item page was not fetched"
        );
    }
    if e.authorized_seller {
        let _ = writeln!(
            out,
            "the seller is authorized by the brand: never judged, never queued"
        );
        return out;
    }
    for p in &e.products {
        let held = match (&p.match_id, &p.status) {
            (Some(id), Some(status)) => format!(" (match #{id}, {status})"),
            _ => String::new(),
        };
        let verdict = if p.queued { "QUEUED" } else { "not queued" };
        let _ = writeln!(
            out,
            "\n{} {}: {verdict}{held}; score {:.3} = identity {:.3} × infringement {:.3}",
            p.product_id, p.product_name, p.score, p.signals.identity, p.signals.infringement
        );
        for rule in &p.signals.rules {
            let mark = if rule.fired { "[x]" } else { "[ ]" };
            let _ = writeln!(out, "  {mark} {}: {}", rule.rule, rule.why);
        }
        for reason in p.signals.signal_reasons() {
            let _ = writeln!(out, "  - {reason}");
        }
    }
    if e.products.is_empty() {
        let _ = writeln!(out, "no protected product to consider");
    }
    out
}
