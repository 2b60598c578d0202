//! The review side of the store: escalations and notes, opening a match by
//! hand and taking a decision back, the queue as the review UI pages
//! through it, runs and the audit log as pages.

use anyhow::{Context, Result};
use serde::Serialize;

use super::db::{args, Bind, Db, Row, Value};
use super::matches::{
    audit, audit_row, match_exists, queue_entry, MatchId, QueueEntry, QUEUE_COLUMNS,
};
use super::{now, ListingId, RunSummary, Store};
use crate::matching::verdict::Signals;
use crate::refusal::{Refusal, RefusalKind};
use crate::status::{MatchStatus, QueueSort, StatusFilter};

/// Which queue entries a page shows.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub status: StatusFilter,
    pub product: Option<String>,
    pub target: Option<String>,
    pub seller: Option<String>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    /// Listings first seen on or after this day (YYYY-MM-DD).
    pub seen_since: Option<String>,
    /// Only these listings (a full-text search's hits).
    pub listing_ids: Option<Vec<i64>>,
    /// Only listings of the accounts of this seller network.
    pub network: Option<i64>,
    pub sort: QueueSort,
    pub offset: usize,
    pub limit: usize,
}

impl QueueFilter {
    /// Whether anything besides the status narrows the list.
    fn narrowed(&self) -> bool {
        let given = |v: &Option<String>| v.as_ref().is_some_and(|v| !v.is_empty());
        [&self.product, &self.target, &self.seller, &self.seen_since]
            .into_iter()
            .any(given)
            || self.min_score.is_some()
            || self.max_score.is_some()
            || self.listing_ids.is_some()
            || self.network.is_some()
    }
}

/// One queue entry with what the review page shows besides.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewEntry {
    #[serde(flatten)]
    pub entry: QueueEntry,
    pub listing_id: i64,
    /// The listing's image URLs, in page order.
    pub images: Vec<String>,
    pub escalated_at: Option<String>,
    pub escalated_by: Option<String>,
    /// Confirmed matches of this listing's seller (the account: its name on this marketplace).
    pub seller_confirmed: u64,
    /// Where its takedown stands: drafted, submitted, removed or rejected.
    pub takedown: Option<String>,
    /// The seller network of the listing's seller, when it is in one.
    pub network: Option<NetworkSummary>,
}

/// A seller network in one line, as every match card of its accounts
/// shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NetworkSummary {
    pub id: i64,
    pub accounts: u64,
    pub marketplaces: u64,
    /// Confirmed matches of all its accounts' listings.
    pub confirmed: u64,
}

impl std::fmt::Display for NetworkSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "network #{}: {} accounts on {} marketplace{}, {} confirmed",
            self.id,
            self.accounts,
            self.marketplaces,
            if self.marketplaces == 1 { "" } else { "s" },
            self.confirmed
        )
    }
}

/// Why a decision cannot be taken back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UndoRefused {
    #[error("match #{0} is pending: there is no decision to undo")]
    NotDecided(i64),
    #[error("match #{0} was decided by someone else: only they can undo it")]
    NotYours(i64),
    #[error("the takedown of match #{0} has gone out: the decision stands")]
    TakedownSent(i64),
}

impl Refusal for UndoRefused {
    fn kind(&self) -> RefusalKind {
        RefusalKind::Conflict
    }
}

/// The listing already has a match for that product: the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this listing already has match #{} for that product", .0 .0)]
pub struct MatchExists(pub MatchId);

impl Refusal for MatchExists {
    fn kind(&self) -> RefusalKind {
        RefusalKind::Conflict
    }
}

/// How far the queue is counted and paged. A count walks every entry it
/// counts, and a page walks every entry before it: past this many, a
/// million-entry queue would cost a second a page. Reviewers work from the
/// top (each decision moves it) and reach the rest by filters and orders.
pub const QUEUE_DEPTH: usize = 10_000;

/// A page of the queue and how many entries the filter matches in all.
#[derive(Debug, Clone)]
pub struct QueuePage {
    pub entries: Vec<ReviewEntry>,
    /// Entries the filter matches, counted up to [`QUEUE_DEPTH`].
    pub total: usize,
    /// More match than [`QUEUE_DEPTH`]: `total` is a floor.
    pub more: bool,
}

/// One target's part of a run.
#[derive(Debug, Clone, Default)]
pub struct TargetRun {
    pub target: String,
    /// Search and listing pages done.
    pub pages: u64,
    pub listings_new: u64,
    pub listings_changed: u64,
    /// Matches of this target's listings queued during or right after the run.
    pub queued: u64,
    /// Errors by kind.
    pub errors: std::collections::BTreeMap<String, u64>,
}

/// A crawl run as the runs page shows it.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub running: bool,
    pub summary: Option<RunSummary>,
    pub per_target: Vec<TargetRun>,
    /// Frontier items done and still to do (the live progress of a running crawl).
    pub done: u64,
    pub to_do: u64,
}

/// What the review page reads beyond [`QUEUE_COLUMNS`], from column 18 on.
/// The seller count is the account's — its name on this marketplace; one
/// name on two marketplaces may be two people (the network says when it is
/// not). Its `CROSS JOIN` fixes SQLite's join order: from the seller's
/// listings (few) to their matches, never from every confirmed match to
/// its listing; its condition is in the WHERE clause, as PostgreSQL's
/// dialect wants.
const REVIEW_COLUMNS: &str = "l.id, l.images, m.escalated_at, m.escalated_by,
    (SELECT COUNT(*) FROM listings cl CROSS JOIN matches cm
      WHERE cm.listing_id = cl.id AND cl.seller = l.seller AND cl.target = l.target AND cm.status = 'confirmed'),
    m.takedown,
    (SELECT s.network FROM sellers s WHERE s.target = l.target AND s.name = l.seller)";

fn review_entry(r: &Row) -> Result<ReviewEntry> {
    let images: String = r.get(19)?;
    Ok(ReviewEntry {
        entry: queue_entry(r)?,
        listing_id: r.get(18)?,
        images: serde_json::from_str(&images).unwrap_or_default(),
        escalated_at: r.get(20)?,
        escalated_by: r.get(21)?,
        seller_confirmed: r.get::<i64>(22)? as u64,
        takedown: r.get(23)?,
        network: r.get::<Option<i64>>(24)?.map(|id| NetworkSummary {
            id,
            accounts: 0,
            marketplaces: 0,
            confirmed: 0,
        }),
    })
}

/// Where a status list puts escalated matches (pending, waiting for a
/// senior reviewer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escalated {
    /// In the pending list too: the command line's pending is everything
    /// waiting for a decision.
    Included,
    /// Only in the escalated list: the review UI's pending list is the
    /// reviewers' own.
    Apart,
}

/// The one reading of a queue filter: its WHERE clause over `matches m`
/// and `listings l`, and the clause's values in order (`?1`, `?2`…).
fn queue_where(
    db: &Db,
    filter: &QueueFilter,
    escalated: Escalated,
) -> Result<(String, Vec<Value>)> {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut bind = |clause: &dyn Fn(usize) -> String, value: Value| {
        values.push(value);
        clauses.push(clause(values.len()));
    };
    if let Some(status) = filter.status.status() {
        bind(
            &|n| format!("m.status = ?{n}"),
            Value::Text(status.as_str().into()),
        );
    }
    for (column, value) in [
        ("m.product_id =", &filter.product),
        ("l.target =", &filter.target),
        ("l.seller =", &filter.seller),
        ("l.first_seen >=", &filter.seen_since),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            bind(&|n| format!("{column} ?{n}"), Value::Text(v.clone()));
        }
    }
    if let Some(min) = filter.min_score {
        bind(&|n| format!("m.score >= ?{n}"), Value::Real(min));
    }
    if let Some(max) = filter.max_score {
        bind(&|n| format!("m.score <= ?{n}"), Value::Real(max));
    }
    if let Some(ids) = &filter.listing_ids {
        bind(
            &|n| format!("l.id IN ({})", db.json_integers(n)),
            Value::Text(serde_json::to_string(ids)?),
        );
    }
    if let Some(network) = filter.network {
        bind(
            &|n| {
                format!(
                    "EXISTS (SELECT 1 FROM sellers s
                     WHERE s.network = ?{n} AND s.target = l.target AND s.name = l.seller)"
                )
            },
            Value::Integer(network),
        );
    }
    match (filter.status, escalated) {
        (StatusFilter::Escalated, _) => clauses.push("m.escalated_at IS NOT NULL".into()),
        (StatusFilter::Pending, Escalated::Apart) => clauses.push("m.escalated_at IS NULL".into()),
        _ => {}
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    Ok((where_sql, values))
}

/// `values` as a statement's parameters.
fn bound(values: &[Value]) -> Vec<&dyn Bind> {
    values.iter().map(|v| v as &dyn Bind).collect()
}

/// Fills in the figures of the networks `entries` name (read as ids only).
fn network_figures(db: &Db, entries: &mut [ReviewEntry]) -> Result<()> {
    let mut known: std::collections::HashMap<i64, NetworkSummary> = Default::default();
    for entry in entries {
        let Some(network) = entry.network.as_mut() else {
            continue;
        };
        if let Some(summary) = known.get(&network.id) {
            *network = *summary;
            continue;
        }
        let (n, sites): (i64, i64) = db.one(
            "SELECT COUNT(*), COUNT(DISTINCT target) FROM sellers WHERE network = ?1",
            args![network.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let c: i64 = db.one(
            "SELECT COUNT(*) FROM sellers s
             JOIN listings l ON l.seller = s.name AND l.target = s.target
             JOIN matches m ON m.listing_id = l.id
             WHERE s.network = ?1 AND m.status = 'confirmed'",
            args![network.id],
            |r| r.get(0),
        )?;
        (network.accounts, network.marketplaces, network.confirmed) =
            (n as u64, sites as u64, c as u64);
        known.insert(network.id, *network);
    }
    Ok(())
}

impl Store {
    /// Appends an audit row that concerns no match (a refused sign-in, say).
    pub(crate) fn record_event(&self, actor: &str, action: &str, detail: &str) -> Result<()> {
        self.write(|db| audit(db, actor, action, None, detail))
    }

    /// Appends an audit row about match `id` (an evidence export, say).
    pub(crate) fn record_match_event(
        &self,
        id: MatchId,
        actor: &str,
        action: &str,
        detail: &str,
    ) -> Result<()> {
        self.write(|db| audit(db, actor, action, Some(id.0), detail))
    }

    /// Flags pending match `id` for a senior look; it stays pending.
    pub fn escalate(&self, id: MatchId, actor: &str, note: Option<&str>) -> Result<bool> {
        self.write(|db| {
            let changed = db.exec(
                "UPDATE matches SET escalated_at = ?2, escalated_by = ?3, updated_at = ?2
                 WHERE id = ?1 AND status = 'pending' AND escalated_at IS NULL",
                args![id.0, now(), actor],
            )?;
            if changed == 1 {
                audit(db, actor, "escalated", Some(id.0), note.unwrap_or(""))?;
            } else {
                match_exists(db, id)?;
            }
            Ok(changed == 1)
        })
    }

    /// Opens a match by hand on a listing no rule queued for `product_id`:
    /// pending and escalated (so no re-judging withdraws it before a
    /// person decides), with the judge's `score` and `signals` for that
    /// product, audited as `actor`'s with the `reason`, in one transaction.
    /// A listing that already has a match for the product is refused
    /// ([`MatchExists`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open_match(
        &self,
        listing: ListingId,
        product_id: &str,
        score: f64,
        signals: &Signals,
        material_key: &str,
        actor: &str,
        reason: &str,
    ) -> Result<MatchId> {
        self.write(|db| {
            let held: Option<i64> = db.optional(
                "SELECT id FROM matches WHERE listing_id = ?1 AND product_id = ?2",
                args![listing.0, product_id],
                |r| r.get(0),
            )?;
            if let Some(id) = held {
                return Err(MatchExists(MatchId(id)).refused().into());
            }
            let id = MatchId(db.one(
                "INSERT INTO matches (listing_id, product_id, status, score, signals, material_key,
                    first_queued, updated_at, escalated_at, escalated_by)
                 VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?6, ?6, ?7) RETURNING id",
                args![
                    listing.0,
                    product_id,
                    score,
                    serde_json::to_string(signals)?,
                    material_key,
                    now(),
                    actor
                ],
                |r| r.get(0),
            )?);
            audit(db, actor, "opened by hand", Some(id.0), reason)?;
            Ok(id)
        })
    }

    /// Takes back `actor`'s decision on match `id`: pending again, as
    /// before it, audited as `undone`. Only the person who decided may, and
    /// only until its takedown goes out ([`UndoRefused`]).
    pub(crate) fn undo_decision(&self, id: MatchId, actor: &str) -> Result<MatchStatus> {
        self.write(|db| {
            let row: Option<(MatchStatus, Option<String>, Option<String>)> = db.optional(
                "SELECT status, decided_by, takedown FROM matches WHERE id = ?1",
                args![id.0],
                |r| Ok((r.word(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let Some((status, decided_by, takedown)) = row else {
                return Err(super::NoSuchMatch(id.0).refused().into());
            };
            if status == MatchStatus::Pending {
                return Err(UndoRefused::NotDecided(id.0).refused().into());
            }
            if decided_by.as_deref() != Some(actor) {
                return Err(UndoRefused::NotYours(id.0).refused().into());
            }
            if matches!(
                takedown.as_deref(),
                Some("submitted" | "removed" | "rejected")
            ) {
                return Err(UndoRefused::TakedownSent(id.0).refused().into());
            }
            db.exec(
                "UPDATE matches SET status = 'pending', decided_at = NULL, decided_by = NULL,
                    note = NULL, decided_key = NULL, takedown = NULL, takedown_at = NULL,
                    updated_at = ?2
                 WHERE id = ?1",
                args![id.0, now()],
            )?;
            audit(
                db,
                actor,
                "undone",
                Some(id.0),
                &format!("{status} → pending"),
            )?;
            Ok(status)
        })
    }

    /// The newest decision `actor` made that still stands and may be
    /// undone: the match and what it became.
    pub(crate) fn last_decision(&self, actor: &str) -> Result<Option<(MatchId, MatchStatus)>> {
        self.read(|db| {
            db.optional(
                "SELECT m.id, m.status FROM matches m
                     WHERE m.decided_by = ?1 AND m.status != 'pending'
                       AND (m.takedown IS NULL OR m.takedown = 'drafted')
                     ORDER BY m.decided_at DESC, m.id DESC LIMIT 1",
                args![actor],
                |r| Ok((MatchId(r.get(0)?), r.word(1)?)),
            )
        })
    }

    /// Adds a reviewer's note to match `id` (the audit log is where notes live).
    pub(crate) fn add_note(&self, id: MatchId, actor: &str, note: &str) -> Result<()> {
        self.write(|db| {
            match_exists(db, id)?;
            audit(db, actor, "note", Some(id.0), note)
        })
    }

    /// The queue entries of a status list, highest score first: the
    /// command line's lists, where pending means everything waiting for a
    /// decision (the escalated included). Read as [`Store::queue_page`]
    /// reads a page, through [`queue_where`].
    pub fn queue(&self, status: StatusFilter) -> Result<Vec<QueueEntry>> {
        let filter = QueueFilter {
            status,
            ..QueueFilter::default()
        };
        self.read(|db| {
            let (where_sql, values) = queue_where(db, &filter, Escalated::Included)?;
            db.all(
                &format!(
                    "SELECT {QUEUE_COLUMNS} FROM matches m JOIN listings l ON l.id = m.listing_id
                     {where_sql} ORDER BY m.score DESC, m.id DESC"
                ),
                &bound(&values),
                queue_entry,
            )
        })
        .context("reading the queue")
    }

    /// One page of the queue under `filter`, highest score first.
    pub(crate) fn queue_page(&self, filter: &QueueFilter) -> Result<QueuePage> {
        let order = match filter.sort {
            QueueSort::Score => "m.score DESC, m.id DESC",
            QueueSort::FirstSeen => "l.first_seen DESC, m.id DESC",
            // Equal prices by listing, so the order is the listings_price
            // index's own and a page reads only the listings it shows.
            QueueSort::Price => "l.price IS NULL, l.price, l.id, m.id",
            QueueSort::Seller => "l.seller IS NULL, LOWER(l.seller), m.score DESC, m.id DESC",
        };
        self.read(|db| {
            let (where_sql, mut values) = queue_where(db, filter, Escalated::Apart)?;
            let listing_order = order.contains("l.");
            let (from, where_sql) = if listing_order && !filter.narrowed() {
                // A whole list in a listing's order walks that order's
                // index of the listings and finds each one's matches by
                // matches_listing. SQLite joins a CROSS JOIN in the order
                // written (PostgreSQL plans it freely); left to itself it
                // sorted every pending match, 0.3–0.5 s a page at 120,000.
                let joined = match where_sql.is_empty() {
                    true => "WHERE l.id = m.listing_id".to_string(),
                    false => format!("{where_sql} AND l.id = m.listing_id"),
                };
                ("listings l CROSS JOIN matches m", joined)
            } else if listing_order || where_sql.contains("l.") {
                // A narrowed list: few enough rows that the planner's own
                // choice (often sorting them) is the quick one.
                ("matches m JOIN listings l ON l.id = m.listing_id", where_sql)
            } else {
                // Without the join, counting and skipping to a deep page
                // walk the (status, score) index alone.
                ("matches m", where_sql)
            };
            // Counted up to one past the depth: enough to say "more".
            let counted: i64 = db.one(
                &format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM {from} {where_sql} LIMIT {}) AS capped",
                    QUEUE_DEPTH + 1
                ),
                &bound(&values),
                |r| r.get(0),
            )?;
            let counted = counted as usize;
            values.push(Value::Integer(filter.limit as i64));
            values.push(Value::Integer(filter.offset as i64));
            let (limit, offset) = (values.len() - 1, values.len());
            let ids: Vec<i64> = db.all(
                &format!(
                    "SELECT m.id FROM {from} {where_sql} ORDER BY {order} LIMIT ?{limit} OFFSET ?{offset}"
                ),
                &bound(&values),
                |r| r.get(0),
            )?;
            let mut entries = db
                .all(
                    &format!(
                        "SELECT {QUEUE_COLUMNS}, {REVIEW_COLUMNS}
                         FROM matches m JOIN listings l ON l.id = m.listing_id
                         WHERE m.id IN ({})",
                        db.json_integers(1)
                    ),
                    args![serde_json::to_string(&ids)?],
                    review_entry,
                )
                .context("reading the queue")?;
            // In the page's order, which the ids are in.
            entries.sort_by_key(|e| ids.iter().position(|&id| id == e.entry.id));
            network_figures(db, &mut entries)?;
            Ok(QueuePage {
                entries,
                total: counted.min(QUEUE_DEPTH),
                more: counted > QUEUE_DEPTH,
            })
        })
    }

    /// One match with its review details.
    pub fn review_entry(&self, id: MatchId) -> Result<Option<ReviewEntry>> {
        self.read(|db| {
            let entry = db
                .optional(
                    &format!(
                        "SELECT {QUEUE_COLUMNS}, {REVIEW_COLUMNS}
                         FROM matches m JOIN listings l ON l.id = m.listing_id
                         WHERE m.id = ?1"
                    ),
                    args![id.0],
                    review_entry,
                )
                .context("reading a match")?;
            let mut entries: Vec<ReviewEntry> = entry.into_iter().collect();
            network_figures(db, &mut entries)?;
            Ok(entries.pop())
        })
    }

    /// The newest `limit` runs, newest first, with their per-target numbers.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>> {
        self.read(|db| {
            let mut runs: Vec<RunRow> = db.all(
                "SELECT id, started_at, finished_at, status, summary FROM runs
                 ORDER BY id DESC LIMIT ?1",
                args![limit],
                |r| {
                    let status: String = r.get(3)?;
                    let summary: Option<String> = r.get(4)?;
                    Ok(RunRow {
                        id: r.get(0)?,
                        started_at: r.get(1)?,
                        finished_at: r.get(2)?,
                        running: status == "running",
                        summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
                        per_target: Vec::new(),
                        done: 0,
                        to_do: 0,
                    })
                },
            )?;
            for run in &mut runs {
                // What was queued while the run went and in the ten minutes
                // after it (the judging that follows a crawl).
                let queued_until = run
                    .finished_at
                    .as_deref()
                    .map(|at| {
                        chrono::DateTime::parse_from_rfc3339(at)
                            .map(|t| super::timestamp((t + chrono::Duration::minutes(10)).into()))
                            .with_context(|| format!("run {}'s finish time {at:?}", run.id))
                    })
                    .transpose()?;
                run.per_target = db.all(
                    "SELECT f.target,
                        (SELECT COUNT(*) FROM listings l WHERE l.first_run = ?1 AND l.target = f.target),
                        (SELECT COUNT(*) FROM listings l WHERE l.changed_run = ?1 AND l.first_run != ?1
                            AND l.target = f.target),
                        SUM(CASE WHEN f.kind != 'image' AND f.state = 'done' THEN 1 ELSE 0 END),
                        (SELECT COUNT(*) FROM audit_log a JOIN matches m ON m.id = a.match_id
                            JOIN listings l ON l.id = m.listing_id
                          WHERE a.action = 'queued' AND l.target = f.target AND a.at >= ?2
                            AND (CAST(?3 AS TEXT) IS NULL OR a.at <= ?3))
                     FROM frontier f WHERE f.run_id = ?1 GROUP BY f.target ORDER BY f.target",
                    args![run.id, run.started_at, queued_until],
                    |r| {
                        Ok(TargetRun {
                            target: r.get(0)?,
                            listings_new: r.get::<i64>(1)? as u64,
                            listings_changed: r.get::<i64>(2)? as u64,
                            pages: r.get::<Option<i64>>(3)?.unwrap_or(0) as u64,
                            queued: r.get::<i64>(4)? as u64,
                            errors: Default::default(),
                        })
                    },
                )?;
                db.each(
                    "SELECT target, kind, COUNT(*) FROM crawl_errors WHERE run_id = ?1
                     GROUP BY target, kind",
                    args![run.id],
                    |r| {
                        let (target, kind, n): (String, String, i64) =
                            (r.get(0)?, r.get(1)?, r.get(2)?);
                        if let Some(t) = run.per_target.iter_mut().find(|t| t.target == target) {
                            t.errors.insert(kind, n as u64);
                        }
                        Ok(())
                    },
                )?;
                let (done, to_do): (i64, i64) = db.one(
                    "SELECT COALESCE(SUM(CASE WHEN state IN ('done', 'failed') THEN 1 ELSE 0 END), 0),
                            COALESCE(SUM(CASE WHEN state IN ('done', 'failed') THEN 0 ELSE 1 END), 0)
                     FROM frontier WHERE run_id = ?1",
                    args![run.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                (run.done, run.to_do) = (done as u64, to_do as u64);
            }
            Ok(runs)
        })
    }

    /// The bytes of the listing page as last captured, and their URL.
    pub(crate) fn listing_capture(&self, listing_id: i64) -> Result<Option<(String, Vec<u8>)>> {
        let row: Option<(String, Option<String>)> = self.read(|db| {
            db.optional(
                "SELECT f.url, f.body_sha256 FROM listings l JOIN fetches f ON f.id = l.fetch_id
                     WHERE l.id = ?1",
                args![listing_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })?;
        match row {
            Some((url, Some(sha))) => Ok(self.blob(&sha)?.map(|bytes| (url, bytes))),
            _ => Ok(None),
        }
    }

    /// A page of the whole audit log, newest first, and its length.
    pub(crate) fn audit_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<super::AuditRow>, usize)> {
        self.read(|db| {
            let total: i64 = db.one("SELECT COUNT(*) FROM audit_log", args![], |r| r.get(0))?;
            let rows = db.all(
                "SELECT at, actor, action, match_id, detail FROM audit_log
                 ORDER BY id DESC LIMIT ?1 OFFSET ?2",
                args![limit, offset],
                audit_row,
            )?;
            Ok((rows, total as usize))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::matching::contacts::{Contact, ContactKind};
    use crate::status::Decision;
    use crate::store::db::tests::on_both_stores;
    use crate::store::matches::StoredVerdict;
    use crate::store::report::ReportQuery;
    use crate::store::{ItemKind, NewItem, ShownOn, TakedownState};

    /// A listing written as the crawl would leave it: (target, seller, price, first seen).
    fn listing(
        store: &Store,
        run: i64,
        n: i64,
        target: &str,
        seller: &str,
        price: f64,
    ) -> ListingId {
        let id = store
            .write(|db| {
                db.one(
                    "INSERT INTO listings (url, target, title, price, currency, seller, images,
                        content_hash, first_seen, last_seen, last_changed, first_run, last_run, changed_run)
                     VALUES (?1, ?2, 'Orvane', ?3, 'EUR', ?4, '[\"http://img/1\"]', 'h',
                        ?5, ?5, ?5, ?6, ?6, ?6) RETURNING id",
                    args![
                        format!("http://{target}/{n}"),
                        target,
                        price,
                        seller,
                        format!("2026-11-{:02}T10:00:00.000Z", n),
                        run
                    ],
                    |r| r.get(0),
                )
            })
            .unwrap();
        ListingId(id)
    }

    fn verdict(product: &str, score: f64, ratio: f64) -> StoredVerdict {
        let mut signals: Signals = Default::default();
        signals.price = Some(crate::matching::signals::PriceSignal {
            amount: ratio * 100.0,
            currency: "USD".into(),
            msrp: 100.0,
            msrp_currency: "USD".into(),
            ratio,
        });
        StoredVerdict {
            product_id: product.into(),
            score,
            queued: true,
            signals,
        }
    }

    /// Every status, a page of ten.
    fn all() -> QueueFilter {
        QueueFilter {
            status: StatusFilter::All,
            limit: 10,
            ..QueueFilter::default()
        }
    }

    #[test]
    fn the_review_side_reads_alike_on_both_engines() {
        on_both_stores(|store| {
            let run = store
                .start_run(&["shop".into(), "bazaar".into()], None, &[])
                .unwrap();
            let item = |target: &str, url: &str| NewItem {
                target: target.into(),
                kind: ItemKind::Listing,
                url: url.into(),
                query: None,
                page: None,
            };
            store
                .add_items(
                    run.id,
                    &[
                        item("shop", "http://shop/x"),
                        item("bazaar", "http://bazaar/x"),
                    ],
                )
                .unwrap();
            let a = listing(store, run.id.0, 1, "shop", "Ann", 20.0);
            let b = listing(store, run.id.0, 2, "shop", "Bob", 120.0);
            let c = listing(store, run.id.0, 3, "bazaar", "ann-b", 30.0);
            for (listing, score, ratio) in [(a, 0.95, 0.2), (b, 0.7, 1.2), (c, 0.8, 0.3)] {
                store
                    .record_verdicts(listing, "k", "m", &[verdict("ORV-1", score, ratio)])
                    .unwrap();
            }
            let id_of = |listing: ListingId| MatchId(store.listing_matches(listing).unwrap()[0].1);
            let (ma, mb, mc) = (id_of(a), id_of(b), id_of(c));
            store.decide(ma, Decision::Confirm, "rita", None).unwrap();
            store
                .decide(mb, Decision::Dismiss, "rita", Some("genuine"))
                .unwrap();
            assert!(store.escalate(mc, "ana", Some("legal")).unwrap());
            store
                .set_takedown(ma, TakedownState::Submitted, "rita", "sent")
                .unwrap();
            store.add_note(mc, "ana", "looks fake").unwrap();

            // Sellers: what they show, and one network of two accounts.
            let phone = Contact {
                kind: ContactKind::Phone,
                value: "+441234567890".into(),
            };
            store
                .record_contacts(a, &[phone.clone(), phone.clone()])
                .unwrap();
            store
                .record_contacts(c, std::slice::from_ref(&phone))
                .unwrap();
            assert_eq!(store.contacts_of(a).unwrap(), std::slice::from_ref(&phone));
            let shown = store.shown_by_sellers(ShownOn::First).unwrap();
            assert_eq!(
                shown
                    .iter()
                    .map(|s| (s.seller.as_str(), s.listing))
                    .collect::<Vec<_>>(),
                [("ann-b", c), ("Ann", a)]
            );
            let groups: HashMap<(String, String), usize> = [
                (("shop".to_string(), "Ann".to_string()), 7),
                (("bazaar".to_string(), "ann-b".to_string()), 7),
            ]
            .into();
            store.record_networks(&groups).unwrap();
            let network = store
                .network_of("shop", "Ann")
                .unwrap()
                .expect("in a network");
            assert_eq!(store.network_of("bazaar", "ann-b").unwrap(), Some(network));
            assert_eq!(store.network_of("shop", "Bob").unwrap(), None);
            assert_eq!(store.network_members().unwrap().len(), 2);
            let figures = store.seller_figures().unwrap();
            assert_eq!(figures[&("shop".into(), "Ann".into())].confirmed, 1);
            assert_eq!(
                store.seller_matches("shop", "Bob").unwrap()[0].status,
                "dismissed"
            );

            // The queue as the review UI pages it, under each filter and order.
            let page = |filter: QueueFilter| -> (Vec<MatchId>, usize) {
                let page = store.queue_page(&filter).unwrap();
                (
                    page.entries.iter().map(|e| MatchId(e.entry.id)).collect(),
                    page.total,
                )
            };
            assert_eq!(page(all()), (vec![ma, mc, mb], 3));
            let sorted = |sort| page(QueueFilter { sort, ..all() }).0;
            assert_eq!(sorted(QueueSort::Price), [ma, mc, mb]);
            assert_eq!(sorted(QueueSort::Seller), [ma, mc, mb]);
            assert_eq!(sorted(QueueSort::FirstSeen), [mc, mb, ma]);
            // The same orders on a narrowed list (another plan).
            let narrowed = |sort| {
                page(QueueFilter {
                    sort,
                    product: Some("ORV-1".into()),
                    ..all()
                })
                .0
            };
            assert_eq!(narrowed(QueueSort::Price), [ma, mc, mb]);
            assert_eq!(narrowed(QueueSort::Seller), [ma, mc, mb]);
            assert_eq!(narrowed(QueueSort::FirstSeen), [mc, mb, ma]);
            let paged = QueueFilter {
                offset: 1,
                limit: 1,
                ..all()
            };
            assert_eq!(page(paged), (vec![mc], 3));
            let by = |filter: QueueFilter| page(filter).0;
            assert_eq!(
                by(QueueFilter {
                    status: StatusFilter::Escalated,
                    ..all()
                }),
                [mc]
            );
            assert_eq!(
                by(QueueFilter {
                    status: StatusFilter::Pending,
                    ..all()
                }),
                []
            );
            assert_eq!(
                by(QueueFilter {
                    target: Some("shop".into()),
                    ..all()
                }),
                [ma, mb]
            );
            assert_eq!(
                by(QueueFilter {
                    seller: Some("Bob".into()),
                    ..all()
                }),
                [mb]
            );
            assert_eq!(
                by(QueueFilter {
                    min_score: Some(0.75),
                    max_score: Some(0.9),
                    ..all()
                }),
                [mc]
            );
            assert_eq!(
                by(QueueFilter {
                    seen_since: Some("2026-11-02".into()),
                    ..all()
                }),
                [mc, mb]
            );
            assert_eq!(
                by(QueueFilter {
                    listing_ids: Some(vec![a.0, c.0]),
                    ..all()
                }),
                [ma, mc]
            );
            assert_eq!(
                by(QueueFilter {
                    network: Some(network),
                    ..all()
                }),
                [ma, mc]
            );
            assert_eq!(
                by(QueueFilter {
                    product: Some("ORV-2".into()),
                    ..all()
                }),
                []
            );
            assert_eq!(store.queue(StatusFilter::Pending).unwrap().len(), 1);

            let entry = store.review_entry(ma).unwrap().unwrap();
            assert_eq!(
                (entry.seller_confirmed, entry.takedown.as_deref()),
                (1, Some("submitted"))
            );
            let summary = entry.network.unwrap();
            assert_eq!(
                (summary.accounts, summary.marketplaces, summary.confirmed),
                (2, 2, 1)
            );
            assert_eq!(entry.images, ["http://img/1"]);

            // Decisions taken back, and a match opened by hand.
            assert_eq!(
                store.last_decision("rita").unwrap(),
                Some((mb, MatchStatus::Dismissed))
            );
            assert_eq!(
                store.undo_decision(mb, "rita").unwrap(),
                MatchStatus::Dismissed
            );
            let refused = store.undo_decision(ma, "rita").unwrap_err();
            assert!(refused.to_string().contains("has gone out"), "{refused}");
            let opened = store
                .open_match(
                    b,
                    "ORV-2",
                    0.4,
                    &Signals::default(),
                    "m",
                    "ana",
                    "same mould",
                )
                .unwrap();
            let again = store
                .open_match(b, "ORV-2", 0.4, &Signals::default(), "m", "ana", "twice")
                .unwrap_err();
            assert!(
                again.to_string().contains(&format!("#{}", opened.0)),
                "{again}"
            );
            store
                .record_event("web", "sign-in refused", "mallory")
                .unwrap();
            store
                .record_match_event(ma, "rita", "exported", "bundle")
                .unwrap();
            let (rows, total) = store.audit_page(0, 3).unwrap();
            assert_eq!(total, 12);
            assert_eq!(
                rows.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
                ["exported", "sign-in refused", "opened by hand"]
            );

            // Runs and their per-marketplace figures.
            let runs = store.runs(5).unwrap();
            assert_eq!(runs[0].id, run.id.0);
            assert!(runs[0].running);
            assert_eq!((runs[0].done, runs[0].to_do), (0, 2));
            let per_target: Vec<(&str, u64, u64)> = runs[0]
                .per_target
                .iter()
                .map(|t| (t.target.as_str(), t.listings_new, t.queued))
                .collect();
            assert_eq!(per_target, [("bazaar", 1, 1), ("shop", 2, 2)]);

            // The report over all of it.
            let report = store.report(&ReportQuery::default()).unwrap();
            let t = &report.totals;
            assert_eq!(
                (
                    t.listings,
                    t.matches,
                    t.pending,
                    t.escalated,
                    t.confirmed,
                    t.submitted
                ),
                (3, 4, 3, 2, 1, 1)
            );
            assert_eq!(report.backlog.pending, 3);
            assert_eq!(report.backlog.by_age, [3, 0, 0, 0]);
            assert_eq!(report.backlog.oldest_days, Some(0.0));
            assert_eq!(report.top_networks.len(), 1);
            assert_eq!(
                (
                    report.top_networks[0].accounts,
                    report.top_networks[0].matches
                ),
                (2, 2)
            );
            let networks: Vec<(&str, Option<i64>)> = report
                .top_sellers
                .iter()
                .map(|s| (s.seller.as_str(), s.network))
                .collect();
            assert_eq!(
                networks,
                [
                    ("Bob", None),
                    ("Ann", Some(network)),
                    ("ann-b", Some(network))
                ]
            );
            let prices = report.prices.unwrap();
            assert_eq!(prices.product, "ORV-1");
            assert_eq!(
                (prices.buckets[2], prices.buckets[3], prices.buckets[12]),
                (1, 1, 1)
            );
            assert_eq!(prices.median_ratio, Some(0.3));
            let rita: u64 = report
                .reviewers
                .iter()
                .filter(|r| r.reviewer == "rita")
                .map(|r| r.confirmed + r.dismissed + r.undone)
                .sum();
            assert_eq!(rita, 3);
        });
    }

    #[test]
    fn a_queue_deeper_than_it_lists_says_so_and_pages_its_top_in_order() {
        on_both_stores(|store| {
            let run = store.start_run(&["shop".into()], None, &[]).unwrap();
            let past = QUEUE_DEPTH as i64 + 5;
            // One transaction: ten thousand listings through the API would
            // take a minute of commits on PostgreSQL.
            store
                .write(|db| {
                    db.exec(
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                         INSERT INTO listings (url, target, title, seller, images, content_hash,
                            first_seen, last_seen, last_changed, first_run, last_run, changed_run)
                         SELECT 'http://shop/' || i, 'shop', 'Orvane', 'seller-' || (i % 7), '[]', 'h',
                            '2026-11-01T10:00:00.000Z', '2026-11-01T10:00:00.000Z',
                            '2026-11-01T10:00:00.000Z', ?2, ?2, ?2
                         FROM n",
                        args![past, run.id.0],
                    )?;
                    db.exec(
                        "INSERT INTO matches (listing_id, product_id, status, score, signals,
                            material_key, first_queued, updated_at)
                         SELECT id, CASE WHEN id % 1000 = 0 THEN 'ORV-RARE' ELSE 'ORV-1' END,
                            'pending', (id % 997) / 997.0, '{}', 'k', first_seen, first_seen
                         FROM listings",
                        args![],
                    )?;
                    Ok(())
                })
                .unwrap();
            let pending = QueueFilter {
                status: StatusFilter::Pending,
                limit: 25,
                ..QueueFilter::default()
            };
            let top = store.queue_page(&pending).unwrap();
            assert_eq!((top.total, top.more), (QUEUE_DEPTH, true));
            let deepest = store
                .queue_page(&QueueFilter {
                    offset: QUEUE_DEPTH - 25,
                    ..pending.clone()
                })
                .unwrap();
            let scores = |page: &QueuePage| -> Vec<f64> {
                page.entries.iter().map(|e| e.entry.score).collect()
            };
            assert_eq!(deepest.entries.len(), 25);
            assert!(scores(&top).windows(2).all(|w| w[0] >= w[1]));
            assert!(scores(&top).last() >= scores(&deepest).first());
            // A narrower filter is counted exactly.
            let rare = store
                .queue_page(&QueueFilter {
                    product: Some("ORV-RARE".into()),
                    ..pending
                })
                .unwrap();
            assert_eq!((rare.total, rare.more, rare.entries.len()), (10, false, 10));
        });
    }
}
