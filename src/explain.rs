//! `knockoff explain ID`: why a listing is, or is not, in the queue — the
//! listing of match ID (as `queue list` shows it), or a listing by its
//! canonical URL or `--listing N`.
//!
//! The listing is judged again, against every product (not only the ones
//! the full-text index would suggest), with the same judge and queue rules
//! as a crawl, and every signal and rule is reported beside what the store
//! holds for it — for listings that were never queued too.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::config::Config;
use crate::index;
use crate::judge::{facts_of, judge_for, material_key, Enforcement, Look, Photos};
use crate::matching::score::Judge;
use crate::matching::signals::is_authorized;
use crate::matching::verdict::Signals;
use crate::refusal::{Refusal, RefusalKind};
use crate::store::{ListingId, MatchId, Stage, Store};

/// What `explain` is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A match, by the id `queue list` shows: its listing.
    Match(MatchId),
    /// A listing by its id (`listings` shows it).
    Listing(ListingId),
    /// A listing by its canonical URL.
    Url(String),
}

impl Subject {
    /// The command line's ID: digits are a match id, anything else a
    /// listing's URL.
    pub fn parse(text: &str) -> Subject {
        let text = text.trim();
        match text.parse::<i64>() {
            Ok(id) => Subject::Match(MatchId(id)),
            Err(_) => Subject::Url(text.to_string()),
        }
    }
}

/// Everything `explain` says about one listing.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The match asked about, when `explain` was asked about a match.
    pub match_id: Option<i64>,
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

/// Nothing in the store is what `explain` was asked about.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotFound {
    #[error("there is no match with id {0} (`queue list` shows match ids; a listing's id goes with --listing {0})")]
    Match(i64),
    #[error("no listing with id {0} in the store (`listings` shows listing ids)")]
    Listing(i64),
    #[error("no listing with the URL `{0}` in the store")]
    Url(String),
}

impl Refusal for NotFound {
    fn kind(&self) -> RefusalKind {
        RefusalKind::NotFound
    }
}

/// The judge explanations use, kept while the reference photos on disk
/// stay as they were (each file's path, size and modification time):
/// reading the reference index (every reference photo's prints and
/// features) and building its lookups cost most of a match page when done
/// for each one. Made once by whichever caller comes first; the others
/// wait for it.
#[derive(Default)]
pub struct JudgeCache {
    kept: Mutex<Option<(index::ReferenceStamp, Arc<KeptJudge>)>>,
}

struct KeptJudge {
    judge: Judge,
    /// The reference index's key, under which photo matches are cached.
    matches_key: String,
}

impl JudgeCache {
    fn get(&self, config: &Config) -> Result<Arc<KeptJudge>> {
        let stamp = index::reference_stamp(config);
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((kept_stamp, judge)) = &*kept {
            if *kept_stamp == stamp {
                return Ok(judge.clone());
            }
        }
        let references = index::references(config).context("loading the reference index")?;
        let judge = Arc::new(KeptJudge {
            matches_key: references.key.clone(),
            judge: judge_for(config, references.index),
        });
        *kept = Some((stamp, judge.clone()));
        Ok(judge)
    }
}

/// Explains `subject`: a match's listing, or a listing, judged by the
/// judge `judges` keeps.
pub fn explain(
    config: &Config,
    store: &Store,
    judges: &JudgeCache,
    subject: &Subject,
) -> Result<Explanation> {
    let (match_id, key) = match subject {
        Subject::Match(id) => {
            let entry = store
                .review_entry(*id)?
                .ok_or_else(|| NotFound::Match(id.0).refused())?;
            (Some(id.0), entry.listing_id.to_string())
        }
        Subject::Listing(id) => (None, id.0.to_string()),
        Subject::Url(url) => (None, url.clone()),
    };
    let listing = store.listing_to_judge(&key)?.ok_or_else(|| {
        match subject {
            Subject::Listing(id) => NotFound::Listing(id.0),
            _ => NotFound::Url(key.clone()),
        }
        .refused()
    })?;
    let kept = judges.get(config)?;
    let judge = &kept.judge;
    let mut photos = Photos::new(config, store);
    let known = Enforcement::load(config, store, &mut photos)?;
    let facts = facts_of(
        &mut photos,
        judge,
        &kept.matches_key,
        &listing,
        &known,
        Look::Closely,
    )?;
    let stored = store.listing_matches(listing.stored.id)?;
    let mut products: Vec<ProductExplanation> = judge
        .judge(&facts, None)
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
    let l = listing.stored;
    Ok(Explanation {
        match_id,
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

/// Why a match cannot be opened by hand.
#[derive(Debug, thiserror::Error)]
pub enum OpenRefused {
    #[error("a match opened by hand needs a reason")]
    NoReason,
    #[error("there is no product `{0}` in reference-images/products.toml")]
    NoSuchProduct(String),
    #[error("there is no listing with id {0}")]
    NoSuchListing(i64),
}

impl Refusal for OpenRefused {
    fn kind(&self) -> RefusalKind {
        match self {
            OpenRefused::NoSuchListing(_) => RefusalKind::NotFound,
            OpenRefused::NoReason | OpenRefused::NoSuchProduct(_) => RefusalKind::Invalid,
        }
    }
}

/// Opens a match by hand on `listing` for `product_id` — a listing the
/// judge passed over, which a reviewer says is worth a decision — with
/// the judge's own score and signals for that product (as `explain`
/// shows them), audited as `actor`'s with `reason`. See
/// [`Store::open_match`]: it stays pending until a person decides.
pub fn open_by_hand(
    config: &Config,
    store: &Store,
    judges: &JudgeCache,
    listing: ListingId,
    product_id: &str,
    actor: &str,
    reason: &str,
) -> Result<MatchId> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(OpenRefused::NoReason.refused().into());
    }
    if !config.catalog.products.iter().any(|p| p.id == product_id) {
        return Err(OpenRefused::NoSuchProduct(product_id.to_string())
            .refused()
            .into());
    }
    let to_judge = store
        .listing_to_judge(&listing.0.to_string())?
        .ok_or_else(|| OpenRefused::NoSuchListing(listing.0).refused())?;
    let explanation = explain(config, store, judges, &Subject::Listing(listing))?;
    let (score, signals) = explanation
        .products
        .into_iter()
        .find(|p| p.product_id == product_id)
        .map_or_else(|| (0.0, Signals::default()), |p| (p.score, p.signals));
    store.open_match(
        listing,
        product_id,
        score,
        &signals,
        &material_key(&to_judge),
        actor,
        reason,
    )
}

/// The explanation as text for a person.
pub fn render(explanation: &Explanation) -> String {
    let e = explanation;
    let mut out = String::new();
    if let Some(id) = e.match_id {
        let product = e
            .products
            .iter()
            .find(|p| p.match_id == Some(id))
            .map_or(String::new(), |p| {
                format!(" ({} {})", p.product_id, p.product_name)
            });
        let _ = writeln!(out, "match #{id}{product}, of");
    }
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

#[cfg(all(test, feature = "demo"))]
mod tests {
    use super::*;

    #[test]
    fn the_kept_judge_is_made_again_when_a_reference_photo_changes() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = crate::demo::catalog::Catalog::generate(1, 0);
        crate::demo::write_workspace(dir.path(), &catalog).unwrap();
        let config = crate::config::load(dir.path()).unwrap();
        let judges = JudgeCache::default();
        let first = judges.get(&config).unwrap();
        let again = judges.get(&config).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "kept while nothing changed");

        let photo = |p: usize| {
            config
                .reference_dir()
                .join(&config.catalog.products[p].images[0])
        };
        std::fs::copy(photo(1), photo(0)).unwrap();
        let changed = judges.get(&config).unwrap();
        assert!(!Arc::ptr_eq(&first, &changed), "made again");
        assert_ne!(first.matches_key, changed.matches_key);
    }
}
