//! The review side of the store: escalations and notes, opening a match by
//! hand and taking a decision back, the queue as the review UI pages
//! through it, runs and the audit log as pages.

use anyhow::{Context, Result};
use rusqlite::{params, params_from_iter, OptionalExtension};
use serde::Serialize;

use super::db::Db;
use super::matches::{
    audit, audit_row, match_exists, queue_entry, MatchId, QueueEntry, QUEUE_COLUMNS,
};
use super::{exec, now, one, ListingId, RunSummary, Store};
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

/// A page of the queue and how many entries the filter matches in all.
#[derive(Debug, Clone)]
pub struct QueuePage {
    pub entries: Vec<ReviewEntry>,
    pub total: usize,
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
/// not). Its CROSS JOIN fixes the join order: from the seller's listings
/// (few) to their matches, never from every confirmed match to its listing.
const REVIEW_COLUMNS: &str = "l.id, l.images, m.escalated_at, m.escalated_by,
    (SELECT COUNT(*) FROM listings cl CROSS JOIN matches cm ON cm.listing_id = cl.id
      WHERE cl.seller = l.seller AND cl.target = l.target AND cm.status = 'confirmed'),
    m.takedown,
    (SELECT s.network FROM sellers s WHERE s.target = l.target AND s.name = l.seller)";

fn review_entry(r: &rusqlite::Row) -> rusqlite::Result<ReviewEntry> {
    let images: String = r.get(19)?;
    Ok(ReviewEntry {
        entry: queue_entry(r)?,
        listing_id: r.get(18)?,
        images: serde_json::from_str(&images).unwrap_or_default(),
        escalated_at: r.get(20)?,
        escalated_by: r.get(21)?,
        seller_confirmed: r.get::<_, i64>(22)? as u64,
        takedown: r.get(23)?,
        network: r.get::<_, Option<i64>>(24)?.map(|id| NetworkSummary {
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
/// and `listings l`, and the clause's values in order.
fn queue_where(
    filter: &QueueFilter,
    escalated: Escalated,
) -> Result<(String, Vec<rusqlite::types::Value>)> {
    use rusqlite::types::Value;
    let mut clauses: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(status) = filter.status.status() {
        clauses.push("m.status = ?");
        values.push(Value::Text(status.as_str().into()));
    }
    match (filter.status, escalated) {
        (StatusFilter::Escalated, _) => clauses.push("m.escalated_at IS NOT NULL"),
        (StatusFilter::Pending, Escalated::Apart) => clauses.push("m.escalated_at IS NULL"),
        _ => {}
    }
    let mut text = |clause: &'static str, value: &Option<String>| {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            clauses.push(clause);
            values.push(Value::Text(v.clone()));
        }
    };
    text("m.product_id = ?", &filter.product);
    text("l.target = ?", &filter.target);
    text("l.seller = ?", &filter.seller);
    text("l.first_seen >= ?", &filter.seen_since);
    if let Some(min) = filter.min_score {
        clauses.push("m.score >= ?");
        values.push(Value::Real(min));
    }
    if let Some(max) = filter.max_score {
        clauses.push("m.score <= ?");
        values.push(Value::Real(max));
    }
    if let Some(ids) = &filter.listing_ids {
        clauses.push("l.id IN (SELECT value FROM json_each(?))");
        values.push(Value::Text(serde_json::to_string(ids)?));
    }
    if let Some(network) = filter.network {
        clauses.push(
            "EXISTS (SELECT 1 FROM sellers s
                     WHERE s.network = ? AND s.target = l.target AND s.name = l.seller)",
        );
        values.push(Value::Integer(network));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    Ok((where_sql, values))
}

/// Fills in the figures of the networks `entries` name (read as ids only).
fn network_figures(conn: &rusqlite::Connection, entries: &mut [ReviewEntry]) -> Result<()> {
    let mut accounts = conn.prepare_cached(
        "SELECT COUNT(*), COUNT(DISTINCT target) FROM sellers WHERE network = ?1",
    )?;
    let mut confirmed = conn.prepare_cached(
        "SELECT COUNT(*) FROM sellers s
         JOIN listings l ON l.seller = s.name AND l.target = s.target
         JOIN matches m ON m.listing_id = l.id
         WHERE s.network = ?1 AND m.status = 'confirmed'",
    )?;
    let mut known: std::collections::HashMap<i64, NetworkSummary> = Default::default();
    for entry in entries {
        let Some(network) = entry.network.as_mut() else {
            continue;
        };
        if let Some(summary) = known.get(&network.id) {
            *network = *summary;
            continue;
        }
        let (n, sites): (i64, i64) =
            accounts.query_row([network.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let c: i64 = confirmed.query_row([network.id], |r| r.get(0))?;
        (network.accounts, network.marketplaces, network.confirmed) =
            (n as u64, sites as u64, c as u64);
        known.insert(network.id, *network);
    }
    Ok(())
}

impl Store {
    /// Appends an audit row that concerns no match (a refused sign-in, say).
    pub(crate) fn record_event(&self, actor: &str, action: &str, detail: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        audit(&Db::Sqlite(&tx), actor, action, None, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Appends an audit row about match `id` (an evidence export, say).
    pub(crate) fn record_match_event(
        &self,
        id: MatchId,
        actor: &str,
        action: &str,
        detail: &str,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        audit(&Db::Sqlite(&tx), actor, action, Some(id.0), detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Flags pending match `id` for a senior look; it stays pending.
    pub fn escalate(&self, id: MatchId, actor: &str, note: Option<&str>) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let at = now();
        let changed = exec(
            &tx,
            "UPDATE matches SET escalated_at = ?2, escalated_by = ?3, updated_at = ?2
             WHERE id = ?1 AND status = 'pending' AND escalated_at IS NULL",
            params![id.0, at, actor],
        )?;
        if changed == 1 {
            audit(
                &Db::Sqlite(&tx),
                actor,
                "escalated",
                Some(id.0),
                note.unwrap_or(""),
            )?;
        } else {
            match_exists(&tx, id)?;
        }
        tx.commit()?;
        Ok(changed == 1)
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
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let held: Option<i64> = one(
            &tx,
            "SELECT id FROM matches WHERE listing_id = ?1 AND product_id = ?2",
            params![listing.0, product_id],
            |r| r.get(0),
        )
        .optional()?;
        if let Some(id) = held {
            return Err(MatchExists(MatchId(id)).refused().into());
        }
        let at = now();
        exec(
            &tx,
            "INSERT INTO matches (listing_id, product_id, status, score, signals, material_key,
                first_queued, updated_at, escalated_at, escalated_by)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?6, ?6, ?7)",
            params![
                listing.0,
                product_id,
                score,
                serde_json::to_string(signals)?,
                material_key,
                at,
                actor
            ],
        )?;
        let id = MatchId(tx.last_insert_rowid());
        audit(
            &Db::Sqlite(&tx),
            actor,
            "opened by hand",
            Some(id.0),
            reason,
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Takes back `actor`'s decision on match `id`: pending again, as
    /// before it, audited as `undone`. Only the person who decided may, and
    /// only until its takedown goes out ([`UndoRefused`]).
    pub(crate) fn undo_decision(&self, id: MatchId, actor: &str) -> Result<MatchStatus> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let row: Option<(String, Option<String>, Option<String>)> = one(
            &tx,
            "SELECT status, decided_by, takedown FROM matches WHERE id = ?1",
            [id.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
        let Some((status, decided_by, takedown)) = row else {
            return Err(super::NoSuchMatch(id.0).refused().into());
        };
        let status: MatchStatus = status.parse()?;
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
        exec(
            &tx,
            "UPDATE matches SET status = 'pending', decided_at = NULL, decided_by = NULL,
                note = NULL, decided_key = NULL, takedown = NULL, takedown_at = NULL,
                updated_at = ?2
             WHERE id = ?1",
            params![id.0, now()],
        )?;
        audit(
            &Db::Sqlite(&tx),
            actor,
            "undone",
            Some(id.0),
            &format!("{status} → pending"),
        )?;
        tx.commit()?;
        Ok(status)
    }

    /// The newest decision `actor` made that still stands and may be
    /// undone: the match and what it became.
    pub(crate) fn last_decision(&self, actor: &str) -> Result<Option<(MatchId, MatchStatus)>> {
        let row: Option<(i64, String)> = one(
            &self.reader(),
            "SELECT m.id, m.status FROM matches m
                 WHERE m.decided_by = ?1 AND m.status != 'pending'
                   AND (m.takedown IS NULL OR m.takedown = 'drafted')
                 ORDER BY m.decided_at DESC, m.id DESC LIMIT 1",
            [actor],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
        row.map(|(id, status)| Ok((MatchId(id), status.parse()?)))
            .transpose()
    }

    /// Adds a reviewer's note to match `id` (the audit log is where notes live).
    pub(crate) fn add_note(&self, id: MatchId, actor: &str, note: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        match_exists(&tx, id)?;
        audit(&Db::Sqlite(&tx), actor, "note", Some(id.0), note)?;
        tx.commit()?;
        Ok(())
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
        let (where_sql, values) = queue_where(&filter, Escalated::Included)?;
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {QUEUE_COLUMNS} FROM matches m JOIN listings l ON l.id = m.listing_id
             {where_sql} ORDER BY m.score DESC, m.id DESC"
        ))?;
        let rows = stmt.query_map(params_from_iter(values.iter()), queue_entry)?;
        rows.collect::<rusqlite::Result<_>>()
            .context("reading the queue")
    }

    /// One page of the queue under `filter`, highest score first.
    pub(crate) fn queue_page(&self, filter: &QueueFilter) -> Result<QueuePage> {
        let (where_sql, values) = queue_where(filter, Escalated::Apart)?;
        let order = match filter.sort {
            QueueSort::Score => "m.score DESC, m.id DESC",
            QueueSort::FirstSeen => "l.first_seen DESC, m.id DESC",
            QueueSort::Price => "l.price IS NULL, l.price, m.id",
            QueueSort::Seller => {
                "l.seller IS NULL, l.seller COLLATE NOCASE, m.score DESC, m.id DESC"
            }
        };
        // Only filters and orders on the listing need the join; without it,
        // counting and skipping to a deep page walk the (status, score)
        // index alone.
        let from = if where_sql.contains("l.") || order.contains("l.") {
            "matches m JOIN listings l ON l.id = m.listing_id"
        } else {
            "matches m"
        };
        let conn = self.reader();
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM {from} {where_sql}"),
            params_from_iter(values.iter()),
            |r| r.get(0),
        )?;
        let mut page_values = values.clone();
        page_values.push(rusqlite::types::Value::Integer(filter.limit as i64));
        page_values.push(rusqlite::types::Value::Integer(filter.offset as i64));
        let ids: Vec<i64> = conn
            .prepare_cached(&format!(
                "SELECT m.id FROM {from} {where_sql} ORDER BY {order} LIMIT ? OFFSET ?"
            ))?
            .query_map(params_from_iter(page_values.iter()), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut entries = conn
            .prepare_cached(&format!(
                "SELECT {QUEUE_COLUMNS}, {REVIEW_COLUMNS} FROM matches m JOIN listings l ON l.id = m.listing_id
                 WHERE m.id IN (SELECT value FROM json_each(?1))"
            ))?
            .query_map([serde_json::to_string(&ids)?], review_entry)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading the queue")?;
        // In the page's order, which the ids are in.
        entries.sort_by_key(|e| ids.iter().position(|&id| id == e.entry.id));
        network_figures(&conn, &mut entries)?;
        Ok(QueuePage {
            entries,
            total: total as usize,
        })
    }

    /// One match with its review details.
    pub fn review_entry(&self, id: MatchId) -> Result<Option<ReviewEntry>> {
        let conn = self.reader();
        let entry = conn
            .query_row(
                &format!(
                    "SELECT {QUEUE_COLUMNS}, {REVIEW_COLUMNS} FROM matches m JOIN listings l ON l.id = m.listing_id
                     WHERE m.id = ?1"
                ),
                [id.0],
                review_entry,
            )
            .optional()
            .context("reading a match")?;
        let mut entries: Vec<ReviewEntry> = entry.into_iter().collect();
        network_figures(&conn, &mut entries)?;
        Ok(entries.pop())
    }

    /// The newest `limit` runs, newest first, with their per-target numbers.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT id, started_at, finished_at, status, summary FROM runs
             ORDER BY id DESC LIMIT ?1",
        )?;
        let mut runs: Vec<RunRow> = stmt
            .query_map([limit as i64], |r| {
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
            })?
            .collect::<rusqlite::Result<_>>()?;
        for run in &mut runs {
            let mut per_target = conn.prepare_cached(
                "SELECT f.target,
                    (SELECT COUNT(*) FROM listings l WHERE l.first_run = ?1 AND l.target = f.target),
                    (SELECT COUNT(*) FROM listings l WHERE l.changed_run = ?1 AND l.first_run != ?1
                        AND l.target = f.target),
                    SUM(f.kind != 'image' AND f.state = 'done'),
                    (SELECT COUNT(*) FROM audit_log a JOIN matches m ON m.id = a.match_id
                        JOIN listings l ON l.id = m.listing_id
                      WHERE a.action = 'queued' AND l.target = f.target AND a.at >= ?2
                        AND (?3 IS NULL OR a.at <= strftime('%Y-%m-%dT%H:%M:%fZ', ?3, '+10 minutes')))
                 FROM frontier f WHERE f.run_id = ?1 GROUP BY f.target ORDER BY f.target",
            )?;
            run.per_target = per_target
                .query_map(params![run.id, run.started_at, run.finished_at], |r| {
                    Ok(TargetRun {
                        target: r.get(0)?,
                        listings_new: r.get::<_, i64>(1)? as u64,
                        listings_changed: r.get::<_, i64>(2)? as u64,
                        pages: r.get::<_, Option<i64>>(3)?.unwrap_or(0) as u64,
                        queued: r.get::<_, i64>(4)? as u64,
                        errors: Default::default(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut errors = conn.prepare_cached(
                "SELECT target, kind, COUNT(*) FROM crawl_errors WHERE run_id = ?1
                 GROUP BY target, kind",
            )?;
            let rows = errors.query_map([run.id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (target, kind, n) = row?;
                if let Some(t) = run.per_target.iter_mut().find(|t| t.target == target) {
                    t.errors.insert(kind, n as u64);
                }
            }
            let (done, to_do): (i64, i64) = one(
                &conn,
                "SELECT COALESCE(SUM(state = 'done' OR state = 'failed'), 0),
                        COALESCE(SUM(state != 'done' AND state != 'failed'), 0)
                 FROM frontier WHERE run_id = ?1",
                [run.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            (run.done, run.to_do) = (done as u64, to_do as u64);
        }
        Ok(runs)
    }

    /// The bytes of the listing page as last captured, and their URL.
    pub(crate) fn listing_capture(&self, listing_id: i64) -> Result<Option<(String, Vec<u8>)>> {
        let row: Option<(String, Option<String>)> = one(
            &self.reader(),
            "SELECT f.url, f.body_sha256 FROM listings l JOIN fetches f ON f.id = l.fetch_id
                 WHERE l.id = ?1",
            [listing_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
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
        let conn = self.reader();
        let total: i64 = one(&conn, "SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))?;
        let mut stmt = conn.prepare_cached(
            "SELECT at, actor, action, match_id, detail FROM audit_log
             ORDER BY id DESC LIMIT ?1 OFFSET ?2",
        )?;
        let rows = stmt
            .query_map([limit as i64, offset as i64], audit_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((rows, total as usize))
    }
}
