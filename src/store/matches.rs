//! The review queue: matches, decisions, the audit log, what
//! each listing was last judged on, and cached photo prints.

use anyhow::{Context, Result};
use serde::Serialize;

use super::db::{args, Bind, Db, Row};
use super::{now, ListingId, Store, StoredListing};
use crate::matching::verdict::Signals;
use crate::refusal::{Refusal, RefusalKind};
use crate::status::{transition, Decision, MatchStatus, Transition};

/// A queue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MatchId(pub i64);

/// A listing with what judging it needs.
#[derive(Debug, Clone)]
pub struct ListingToJudge {
    /// The listing as stored.
    pub stored: StoredListing,
    pub content_hash: String,
    /// Digest of each photo's last capture, in page order; `None` where it failed.
    pub photo_digests: Vec<Option<String>>,
    /// Confirmed infringements of the seller (the account and its network)
    /// on other listings.
    pub seller_confirmed: u32,
    /// The network the last judging pass put the seller in.
    pub network: Option<i64>,
    /// The key it was last judged with.
    pub judged_key: Option<String>,
}

/// One product's verdict, as the store keeps it.
#[derive(Debug, Clone)]
pub struct StoredVerdict {
    pub product_id: String,
    pub score: f64,
    /// Whether a queue rule fired (the matching policy's decision).
    pub queued: bool,
    pub signals: Signals,
}

/// What recording a listing's verdicts changed in the queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueChanges {
    pub queued: u32,
    /// Of those queued, how many scored [`HIGH_SCORE`] or more.
    pub queued_high: u32,
    pub updated: u32,
    pub reopened: u32,
    pub withdrawn: u32,
}

impl std::ops::AddAssign for QueueChanges {
    fn add_assign(&mut self, other: QueueChanges) {
        self.queued += other.queued;
        self.queued_high += other.queued_high;
        self.updated += other.updated;
        self.reopened += other.reopened;
        self.withdrawn += other.withdrawn;
    }
}

/// A queue entry with its listing, as `queue list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct QueueEntry {
    pub id: i64,
    pub status: MatchStatus,
    pub score: f64,
    pub product_id: String,
    pub target: String,
    pub listing_url: String,
    pub title: Option<String>,
    pub price: Option<f64>,
    pub currency: Option<String>,
    pub seller: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// The signals behind the score; `None` for a row whose stored JSON
    /// no longer reads as [`Signals`] (logged once per read, never guessed).
    pub signals: Option<Signals>,
    pub first_queued: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
    /// What the verdict was judged from: the search card only, or the
    /// listing's own page.
    pub stage: super::Stage,
}

/// One audit log row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub match_id: Option<i64>,
    pub detail: Option<String>,
}

/// There is no match with this id: the caller's mistake, not the store's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("there is no match with id {0}")]
pub struct NoSuchMatch(pub i64);

impl Refusal for NoSuchMatch {
    fn kind(&self) -> RefusalKind {
        RefusalKind::NotFound
    }
}

/// A listing's match as `record_verdicts` finds it before the new
/// verdicts: what the state machine needs.
struct Held {
    id: i64,
    product_id: String,
    status: MatchStatus,
    /// The material key when a person (or the matcher) last decided it.
    decided_key: Option<String>,
    escalated: bool,
}

/// Which matches a decision may change.
enum Guard {
    Any,
    Pending,
}

/// The columns [`queue_entry`] reads, in its order (`m` matches, `l` listings).
pub(super) const QUEUE_COLUMNS: &str = "m.id, m.status, m.score, m.product_id, l.target, l.url,
    l.title, l.price, l.currency, l.seller, l.first_seen, l.last_seen, m.signals, m.first_queued,
    m.decided_at, m.decided_by, m.note, l.stage";

/// A queue entry from a row that starts with [`QUEUE_COLUMNS`].
pub(super) fn queue_entry(r: &Row) -> Result<QueueEntry> {
    let id: i64 = r.get(0)?;
    let signals: String = r.get(12)?;
    Ok(QueueEntry {
        id,
        status: r.word(1)?,
        score: r.get(2)?,
        product_id: r.get(3)?,
        target: r.get(4)?,
        listing_url: r.get(5)?,
        title: r.get(6)?,
        price: r.get(7)?,
        currency: r.get(8)?,
        seller: r.get(9)?,
        first_seen: r.get(10)?,
        last_seen: r.get(11)?,
        signals: read_signals(id, &signals),
        first_queued: r.get(13)?,
        decided_at: r.get(14)?,
        decided_by: r.get(15)?,
        note: r.get(16)?,
        stage: r.word(17)?,
    })
}

/// A match's stored signals. Signals stored before a field existed still
/// read (the fields they lack default); anything else is logged with the
/// match id and left out rather than shown wrong.
fn read_signals(match_id: i64, json: &str) -> Option<Signals> {
    serde_json::from_str(json)
        .map_err(|e| tracing::warn!(match_id, "the stored signals do not read: {e}"))
        .ok()
}

/// An audit row from `at, actor, action, match_id, detail`.
pub(super) fn audit_row(r: &Row) -> Result<AuditRow> {
    Ok(AuditRow {
        at: r.get(0)?,
        actor: r.get(1)?,
        action: r.get(2)?,
        match_id: r.get(3)?,
        detail: r.get(4)?,
    })
}

/// Errors with [`NoSuchMatch`] when there is no match `id`.
pub(super) fn match_exists(db: &Db, id: MatchId) -> Result<()> {
    if db.exists("SELECT id FROM matches WHERE id = ?1", args![id.0])? {
        Ok(())
    } else {
        Err(NoSuchMatch(id.0).refused().into())
    }
}

/// A score this high is what the nightly report calls a high-score match.
pub const HIGH_SCORE: f64 = 0.9;

/// The actor of automatic queue changes in the audit log.
pub const MATCHER: &str = "matcher";

/// Listings [`Store::take_judging`] leases in one statement (two
/// parameters each; PostgreSQL takes at most 65,535).
const TAKEN_AT_ONCE: usize = 500;

pub(super) fn audit(
    db: &Db,
    actor: &str,
    action: &str,
    match_id: Option<i64>,
    detail: &str,
) -> Result<()> {
    db.exec(
        "INSERT INTO audit_log (at, actor, action, match_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![now(), actor, action, match_id, detail],
    )?;
    Ok(())
}

impl Store {
    /// One listing, by id or by its canonical URL, as the judge sees it.
    pub(crate) fn listing_to_judge(&self, id_or_url: &str) -> Result<Option<ListingToJudge>> {
        let Some(listing) = self.listing_by_id_or_url(id_or_url)? else {
            return Ok(None);
        };
        Ok(self.judge_inputs(vec![listing])?.pop())
    }

    /// Every match a person decided (not the matcher's withdrawals):
    /// (confirmed, score, signals), oldest decision first; a match whose
    /// signals no longer read is left out (and logged).
    pub fn decisions(&self) -> Result<Vec<(bool, f64, Signals)>> {
        let rows = self
            .scan(|db| {
                db.all(
                    "SELECT status = 'confirmed', score, signals, id FROM matches
                     WHERE status IN ('confirmed', 'dismissed') AND decided_by IS NOT NULL
                       AND decided_by != ?1
                     ORDER BY decided_at, id",
                    args![MATCHER],
                    |r| {
                        let (confirmed, score, json, id): (bool, f64, String, i64) =
                            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                        Ok(read_signals(id, &json).map(|s| (confirmed, score, s)))
                    },
                )
            })
            .context("reading the reviewers' decisions")?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// The stored matches of a listing: (product id, match id, status).
    pub fn listing_matches(&self, listing: ListingId) -> Result<Vec<(String, i64, MatchStatus)>> {
        self.scan(|db| {
            db.all(
                "SELECT product_id, id, status FROM matches WHERE listing_id = ?1 ORDER BY id",
                args![listing.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.word(2)?)),
            )
        })
        .context("reading a listing's matches")
    }

    /// `listings` as the judge sees them.
    pub(crate) fn judge_inputs(&self, listings: Vec<StoredListing>) -> Result<Vec<ListingToJudge>> {
        self.scan(|db| {
            let mut out = Vec::with_capacity(listings.len());
            for listing in listings {
                let id = listing.id.0;
                let content_hash: String = db.one(
                    "SELECT content_hash FROM listings WHERE id = ?1",
                    args![id],
                    |r| r.get(0),
                )?;
                let photo_digests = listing
                    .listing
                    .images
                    .iter()
                    .map(|url| {
                        db.optional(
                            "SELECT sha256 FROM images WHERE url = ?1 AND error IS NULL",
                            args![url],
                            |r| r.get::<Option<String>>(0),
                        )
                        .map(Option::flatten)
                    })
                    .collect::<Result<Vec<_>>>()?;
                let judged_key = db.optional(
                    "SELECT judge_key FROM judged WHERE listing_id = ?1",
                    args![id],
                    |r| r.get(0),
                )?;
                let (seller_confirmed, network) = match &listing.listing.seller {
                    // The seller's record is its network's: every account
                    // the last judging pass linked to it, itself included.
                    Some(seller) => (
                        db.one(
                            "WITH accounts(target, name) AS (
                                 SELECT CAST(?1 AS TEXT), CAST(?2 AS TEXT)
                                 UNION
                                 SELECT other.target, other.name FROM sellers me
                                 JOIN sellers other ON other.network = me.network
                                 WHERE me.target = ?1 AND me.name = ?2
                             )
                             SELECT COUNT(*) FROM accounts a
                             JOIN listings l ON l.seller = a.name AND l.target = a.target
                             JOIN matches m ON m.listing_id = l.id
                             WHERE m.status = 'confirmed' AND l.id != ?3",
                            args![listing.target, seller, id],
                            |r| r.get::<u32>(0),
                        )?,
                        db.optional(
                            "SELECT network FROM sellers WHERE target = ?1 AND name = ?2",
                            args![listing.target, seller],
                            |r| r.get::<Option<i64>>(0),
                        )?
                        .flatten(),
                    ),
                    None => (0, None),
                };
                out.push(ListingToJudge {
                    stored: listing,
                    content_hash,
                    photo_digests,
                    seller_confirmed,
                    network,
                    judged_key,
                });
            }
            Ok(out)
        })
    }

    /// Number of stored listings.
    pub(crate) fn listing_count(&self) -> Result<u64> {
        let n: i64 =
            self.scan(|db| db.one("SELECT COUNT(*) FROM listings", args![], |r| r.get(0)))?;
        Ok(n as u64)
    }

    /// Cached prints of a photo, when computed by print `version`.
    pub(crate) fn photo_prints(&self, sha256: &str, version: u32) -> Result<Option<String>> {
        self.scan(|db| {
            db.optional(
                "SELECT prints FROM photo_prints WHERE sha256 = ?1 AND version = ?2",
                args![sha256, version],
                |r| r.get(0),
            )
        })
    }

    /// Caches a photo's prints.
    pub(crate) fn put_photo_prints(&self, sha256: &str, version: u32, prints: &str) -> Result<()> {
        self.scan(|db| {
            db.exec(
                "INSERT INTO photo_prints (sha256, version, prints) VALUES (?1, ?2, ?3)
                 ON CONFLICT (sha256) DO UPDATE SET version = excluded.version, prints = excluded.prints,
                     matches_key = NULL, matches = NULL",
                args![sha256, version, prints],
            )
        })?;
        Ok(())
    }

    /// A photo's cached reference matches, when computed under `key`.
    pub(crate) fn photo_matches(&self, sha256: &str, key: &str) -> Result<Option<String>> {
        let found = self.scan(|db| {
            db.optional(
                "SELECT matches FROM photo_prints WHERE sha256 = ?1 AND matches_key = ?2",
                args![sha256, key],
                |r| r.get::<Option<String>>(0),
            )
        })?;
        Ok(found.flatten())
    }

    /// Caches a photo's reference matches (its prints are cached first).
    pub(crate) fn put_photo_matches(&self, sha256: &str, key: &str, matches: &str) -> Result<()> {
        self.scan(|db| {
            db.exec(
                "UPDATE photo_prints SET matches_key = ?2, matches = ?3 WHERE sha256 = ?1",
                args![sha256, key, matches],
            )
        })?;
        Ok(())
    }

    /// Which of `wanted` (listings, each with the judge key it would be
    /// judged under) this crawl is the one to judge now, on a store other
    /// crawls share: not one judged under its key already, nor one
    /// another crawl's lease to judge under that key holds; the others
    /// are leased to this crawl, in one statement per few hundred (a
    /// listing that changed since another crawl leased it has a new key,
    /// and goes to whoever judges the change).
    pub(crate) fn take_judging(&self, wanted: &[(ListingId, &str)]) -> Result<Vec<ListingId>> {
        let lease = self.lease();
        let now = chrono::Utc::now().timestamp_millis();
        let mut taken = Vec::new();
        for chunk in wanted.chunks(TAKEN_AT_ONCE) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(CAST(?{} AS BIGINT), CAST(?{} AS TEXT))",
                        4 + 2 * i,
                        5 + 2 * i
                    )
                })
                .collect();
            let sql = format!(
                "WITH wanted (listing_id, judge_key) AS (VALUES {})
                 INSERT INTO judging (listing_id, judge_key, lease_owner, lease_until)
                 SELECT w.listing_id, w.judge_key, ?1, ?2 FROM wanted w
                 WHERE NOT EXISTS (SELECT 1 FROM judged j
                     WHERE j.listing_id = w.listing_id AND j.judge_key = w.judge_key)
                 ON CONFLICT (listing_id) DO UPDATE SET judge_key = excluded.judge_key,
                     lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
                 WHERE judging.lease_until < ?3 OR judging.lease_owner = excluded.lease_owner
                    OR judging.judge_key != excluded.judge_key
                 RETURNING listing_id",
                values.join(", ")
            );
            let mut args: Vec<&dyn Bind> = vec![&lease.owner, &lease.until, &now];
            for (listing, key) in chunk {
                args.push(&listing.0);
                args.push(key);
            }
            let leased = self
                .write(|db| db.all(&sql, &args, |r| Ok(ListingId(r.get(0)?))))
                .context("leasing listings to judge")?;
            taken.extend(leased);
        }
        Ok(taken)
    }

    /// Records a listing's verdicts in one transaction: new matches that a
    /// queue rule queued (`StoredVerdict::queued`) are queued; existing ones
    /// get the new score and signals; a pending match no rule queues any
    /// more (or not judged again) is withdrawn unless escalated; a
    /// dismissed one is reopened only when the listing changed materially
    /// since the decision.
    pub fn record_verdicts(
        &self,
        listing: ListingId,
        judge_key: &str,
        material_key: &str,
        verdicts: &[StoredVerdict],
    ) -> Result<QueueChanges> {
        self.write(|db| record_verdicts(db, listing, judge_key, material_key, verdicts))
    }

    /// [`Store::record_verdicts`] and [`Store::record_contacts`] for one
    /// judged listing, in one transaction. Recording the same judgement
    /// again changes nothing (the matches stay as they are, the contacts
    /// are replaced by themselves), so on PostgreSQL a transaction cut off
    /// by a lost connection is run again.
    pub(crate) fn record_judgement(
        &self,
        listing: ListingId,
        judge_key: &str,
        material_key: &str,
        verdicts: &[StoredVerdict],
        contacts: &[crate::matching::contacts::Contact],
    ) -> Result<QueueChanges> {
        self.write_again_if_lost(|db| {
            let changes = record_verdicts(db, listing, judge_key, material_key, verdicts)?;
            super::sellers::replace_contacts(db, listing, contacts)?;
            Ok(changes)
        })
    }

    /// Number of pending matches.
    pub fn pending_count(&self) -> Result<usize> {
        let n: i64 = self.scan(|db| {
            db.one(
                "SELECT COUNT(*) FROM matches WHERE status = 'pending'",
                args![],
                |r| r.get(0),
            )
        })?;
        Ok(n as usize)
    }

    /// Confirms or dismisses match `id` for `actor`, with an audit row,
    /// whatever its status (a reviewer on the command line may change a
    /// decision). Errors with [`NoSuchMatch`] when there is no such match.
    pub fn decide(
        &self,
        id: MatchId,
        decision: Decision,
        actor: &str,
        note: Option<&str>,
    ) -> Result<()> {
        self.write_decision(id, decision, actor, note, Guard::Any)
            .map(|_| ())
    }

    /// Decides match `id` only while it is pending: `Ok(false)` when
    /// someone decided it first, so two reviewers never both decide it.
    pub(crate) fn decide_pending(
        &self,
        id: MatchId,
        decision: Decision,
        actor: &str,
        note: Option<&str>,
    ) -> Result<bool> {
        self.write_decision(id, decision, actor, note, Guard::Pending)
    }

    fn write_decision(
        &self,
        id: MatchId,
        decision: Decision,
        actor: &str,
        note: Option<&str>,
        guard: Guard,
    ) -> Result<bool> {
        self.write(|db| {
            let status = decision.status().as_str();
            let only_pending = matches!(guard, Guard::Pending);
            let changed = db.exec(
                "UPDATE matches SET status = ?2, decided_at = ?3, decided_by = ?4, note = ?5,
                    decided_key = material_key, updated_at = ?3
                 WHERE id = ?1 AND (NOT ?6 OR status = 'pending')",
                args![id.0, status, now(), actor, note, only_pending],
            )?;
            if changed == 1 {
                audit(db, actor, status, Some(id.0), note.unwrap_or(""))?;
            } else {
                match_exists(db, id)?;
            }
            Ok(changed == 1)
        })
    }

    /// The audit log of match `id` (every match when `None`), oldest first.
    pub fn audit_log(&self, id: Option<MatchId>) -> Result<Vec<AuditRow>> {
        self.scan(|db| {
            db.all(
                "SELECT at, actor, action, match_id, detail FROM audit_log
                 WHERE CAST(?1 AS BIGINT) IS NULL OR match_id = ?1 ORDER BY id",
                args![id.map(|i| i.0)],
                audit_row,
            )
        })
        .context("reading the audit log")
    }
}

/// [`Store::record_verdicts`] inside its transaction.
fn record_verdicts(
    db: &Db,
    listing: ListingId,
    judge_key: &str,
    material_key: &str,
    verdicts: &[StoredVerdict],
) -> Result<QueueChanges> {
    // Crawls sharing a store may judge one listing at once: one at a
    // time, each seeing the other's matches.
    db.serialize_on(&[&format!("listing {}", listing.0)])?;
    let mut changes = QueueChanges::default();
    let at = now();
    let existing: Vec<Held> = db.all(
        "SELECT id, product_id, status, decided_key, escalated_at IS NOT NULL
         FROM matches WHERE listing_id = ?1",
        args![listing.0],
        |r| {
            Ok(Held {
                id: r.get(0)?,
                product_id: r.get(1)?,
                status: r.word(2)?,
                decided_key: r.get(3)?,
                escalated: r.get(4)?,
            })
        },
    )?;
    for verdict in verdicts {
        let above = verdict.queued;
        let signals =
            serde_json::to_string(&verdict.signals).context("writing a verdict's signals")?;
        let current = existing.iter().find(|e| e.product_id == verdict.product_id);
        match current {
            None if above => {
                let id: i64 = db.one(
                    "INSERT INTO matches (listing_id, product_id, status, score, signals, material_key,
                        first_queued, updated_at)
                     VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?6) RETURNING id",
                    args![listing.0, verdict.product_id, verdict.score, signals, material_key, at],
                    |r| r.get(0),
                )?;
                audit(
                    db,
                    MATCHER,
                    "queued",
                    Some(id),
                    &format!("score {:.3}", verdict.score),
                )?;
                changes.queued += 1;
                changes.queued_high += (verdict.score >= HIGH_SCORE) as u32;
            }
            None => {}
            Some(held) => {
                let (id, status) = (held.id, held.status);
                let step = transition(
                    held.status,
                    held.escalated,
                    above,
                    held.decided_key.as_deref() != Some(material_key),
                );
                db.exec(
                    "UPDATE matches SET status = ?2, score = ?3, signals = ?4, material_key = ?5,
                        updated_at = ?6 WHERE id = ?1",
                    args![
                        id,
                        step.status_after(status).as_str(),
                        verdict.score,
                        signals,
                        material_key,
                        at
                    ],
                )?;
                match step {
                    Transition::Reopen => {
                        audit(
                            db,
                            MATCHER,
                            "reopened",
                            Some(id),
                            &format!(
                                "listing changed since it was dismissed; score {:.3}",
                                verdict.score
                            ),
                        )?;
                        changes.reopened += 1;
                    }
                    Transition::Withdraw => {
                        let why = format!("no queue rule fires now (score {:.3})", verdict.score);
                        db.exec(
                            "UPDATE matches SET decided_at = ?2, decided_by = ?3,
                                decided_key = material_key, note = ?4 WHERE id = ?1",
                            args![id, at, MATCHER, format!("withdrawn: {why}")],
                        )?;
                        audit(db, MATCHER, "withdrawn", Some(id), &why)?;
                        changes.withdrawn += 1;
                    }
                    Transition::Stay => changes.updated += 1,
                }
            }
        }
    }
    // Pending matches of products no longer judged for this listing.
    for held in &existing {
        let judged = verdicts.iter().any(|v| v.product_id == held.product_id);
        let step = transition(held.status, held.escalated, false, false);
        if !judged && step == Transition::Withdraw {
            db.exec(
                "UPDATE matches SET status = ?4, decided_at = ?2, decided_by = ?3,
                    decided_key = material_key, note = 'withdrawn: no longer matches', updated_at = ?2
                 WHERE id = ?1",
                args![held.id, at, MATCHER, step.status_after(held.status).as_str()],
            )?;
            audit(db, MATCHER, "withdrawn", Some(held.id), "no longer matches")?;
            changes.withdrawn += 1;
        }
    }
    db.exec(
        "INSERT INTO judged (listing_id, judge_key, judged_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (listing_id) DO UPDATE SET judge_key = excluded.judge_key, judged_at = excluded.judged_at",
        args![listing.0, judge_key, at],
    )?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::StatusFilter;
    use crate::store::db::tests::on_both_stores;

    /// Runs `check` on both engines' stores, each with one listing.
    fn with_listing(check: impl Fn(&Store, ListingId)) {
        on_both_stores(|store| {
            let run = store.start_run(&["t".into()], None, &[]).unwrap();
            let listing = store
                .write(|db| {
                    db.one(
                        "INSERT INTO listings (url, target, images, content_hash, first_seen, last_seen,
                            last_changed, first_run, last_run, changed_run)
                         VALUES ('http://m/1', 't', '[]', 'h', 'x', 'x', 'x', ?1, ?1, ?1) RETURNING id",
                        args![run.id.0],
                        |r| r.get(0),
                    )
                })
                .unwrap();
            check(store, ListingId(listing));
        });
    }

    #[test]
    fn crawls_sharing_a_store_judge_each_listing_once() {
        crate::store::db::tests::on_both_shared(|first, second| {
            let run = first.start_run(&["t".into()], None, &[]).unwrap();
            let insert = |url: &str| -> ListingId {
                ListingId(
                    first
                        .write(|db| {
                            db.one(
                                "INSERT INTO listings (url, target, images, content_hash, first_seen,
                                    last_seen, last_changed, first_run, last_run, changed_run)
                                 VALUES (?1, 't', '[]', 'h', 'x', 'x', 'x', ?2, ?2, ?2) RETURNING id",
                                args![url, run.id.0],
                                |r| r.get(0),
                            )
                        })
                        .unwrap(),
                )
            };
            let (one, two) = (insert("http://m/1"), insert("http://m/2"));
            let lease = std::time::Duration::from_millis(500);
            first.set_lease(lease);
            second.set_lease(lease);
            let takes = |store: &Store, listing: ListingId, key: &str| {
                store.take_judging(&[(listing, key)]).unwrap() == [listing]
            };
            assert!(takes(first, one, "k1"));
            assert!(!takes(second, one, "k1"), "leased to the first");
            assert!(takes(second, two, "k1"));
            // Judged under the key: nobody judges it again, lease or not.
            first.record_verdicts(one, "k1", "m", &[]).unwrap();
            std::thread::sleep(lease * 2);
            assert!(!takes(second, one, "k1"));
            // A new key (the listing or the settings changed): judged again.
            assert!(takes(second, one, "k2"));
            assert!(!takes(first, one, "k2"), "leased to the second");
            assert!(takes(first, one, "k3"), "changed again");
            // The second crawl's lease on `two` lapsed unjudged: taken over.
            assert!(takes(first, two, "k1"));
            // Many at once: only those free to take.
            let three = insert("http://m/3");
            let many = [(one, "k3"), (two, "k1"), (three, "k1")];
            assert_eq!(second.take_judging(&many).unwrap(), [three]);
        });
    }

    fn verdict(score: f64) -> StoredVerdict {
        StoredVerdict {
            product_id: "ORV-CS3".into(),
            score,
            queued: score >= 0.5,
            signals: Signals::default(),
        }
    }

    fn status(store: &Store) -> MatchStatus {
        store.queue(StatusFilter::All).unwrap()[0].status
    }

    #[test]
    fn recording_a_judgement_again_changes_nothing() {
        // What makes running it again safe after a lost connection, when
        // whether the first commit landed is unknown: queued, withdrawn
        // and reopened alike, no second match, audit row or contact.
        with_listing(|store, listing| {
            let contacts = [crate::matching::contacts::Contact {
                kind: crate::matching::contacts::ContactKind::Email,
                value: "deals@example.com".into(),
            }];
            let state = || {
                store
                    .read(|db| {
                        let rows = |sql: &str| {
                            db.all(sql, args![], |r| {
                                (0..4).map(|i| r.get::<String>(i)).collect::<Result<Vec<_>>>()
                            })
                        };
                        Ok((
                            rows("SELECT CAST(id AS TEXT), status, CAST(score AS TEXT),
                                      COALESCE(decided_key, '-') FROM matches ORDER BY id")?,
                            rows("SELECT action, CAST(match_id AS TEXT), COALESCE(detail, '-'), actor
                                  FROM audit_log ORDER BY id")?,
                            rows("SELECT kind, value, CAST(listing_id AS TEXT), '-' FROM contacts")?,
                        ))
                    })
                    .unwrap()
            };
            for (material, score) in [("m1", 0.9), ("m1", 0.1), ("m2", 0.9)] {
                let judge = || {
                    store
                        .record_judgement(listing, "k", material, &[verdict(score)], &contacts)
                        .unwrap()
                };
                judge();
                let once = state();
                judge();
                assert_eq!(state(), once, "{material} at {score}");
            }
            let (matches, audit, stored) = state();
            assert_eq!(matches.len(), 1);
            let actions: Vec<&str> = audit.iter().map(|row| row[0].as_str()).collect();
            assert_eq!(actions, ["queued", "withdrawn", "reopened"]);
            assert_eq!(stored.len(), 1);
        });
    }

    #[test]
    fn the_command_line_and_the_review_ui_read_one_queue() {
        with_listing(|store, listing| {
            store
                .record_verdicts(listing, "k1", "m1", &[verdict(0.9)])
                .unwrap();
            let id = MatchId(store.queue(StatusFilter::All).unwrap()[0].id);
            store.escalate(id, "ana", Some("brand counsel")).unwrap();
            let listed = |filter| -> Vec<i64> {
                store.queue(filter).unwrap().iter().map(|e| e.id).collect()
            };
            let paged = |status| -> Vec<i64> {
                let filter = crate::store::QueueFilter {
                    status,
                    limit: 50,
                    ..Default::default()
                };
                let page = store.queue_page(&filter).unwrap();
                page.entries.iter().map(|e| e.entry.id).collect()
            };
            // Escalated: in both escalated lists; the command line's pending is
            // everything waiting, the review UI's pending is the reviewers' own.
            assert_eq!(listed(StatusFilter::Escalated), [id.0]);
            assert_eq!(paged(StatusFilter::Escalated), [id.0]);
            assert_eq!(listed(StatusFilter::Pending), [id.0]);
            assert!(paged(StatusFilter::Pending).is_empty());
            assert!(listed(StatusFilter::Confirmed).is_empty());
            assert_eq!(paged(StatusFilter::All), listed(StatusFilter::All));
        });
    }

    #[test]
    fn a_dismissed_match_reopens_only_when_the_listing_changes_materially() {
        with_listing(|store, listing| {
            let queued = store
                .record_verdicts(listing, "k1", "price-band-3", &[verdict(0.9)])
                .unwrap();
            assert_eq!((queued.queued, queued.queued_high), (1, 1));
            let id = MatchId(store.queue(StatusFilter::All).unwrap()[0].id);
            store
                .decide(id, Decision::Dismiss, "cli:ana", Some("genuine"))
                .unwrap();
            // Re-judged, same material facts (a re-crawl): stays dismissed.
            let again = store
                .record_verdicts(listing, "k2", "price-band-3", &[verdict(0.95)])
                .unwrap();
            assert_eq!((again.reopened, again.queued), (0, 0));
            assert_eq!(status(store), MatchStatus::Dismissed);
            // The price moved to another band: back in the queue, once.
            let changed = store
                .record_verdicts(listing, "k3", "price-band-1", &[verdict(0.95)])
                .unwrap();
            assert_eq!(changed.reopened, 1);
            assert_eq!(status(store), MatchStatus::Pending);
            assert_eq!(store.queue(StatusFilter::All).unwrap().len(), 1);
            let actions: Vec<String> = store
                .audit_log(Some(id))
                .unwrap()
                .into_iter()
                .map(|row| row.action)
                .collect();
            assert_eq!(actions, ["queued", "dismissed", "reopened"]);
            // Falling below the threshold withdraws it, by the matcher.
            let below = store
                .record_verdicts(listing, "k4", "price-band-1", &[verdict(0.2)])
                .unwrap();
            assert_eq!(below.withdrawn, 1);
            assert_eq!(status(store), MatchStatus::Dismissed);
        });
    }

    #[test]
    fn an_escalated_match_stays_pending_when_its_score_falls() {
        with_listing(|store, listing| {
            store
                .record_verdicts(listing, "k1", "m1", &[verdict(0.9)])
                .unwrap();
            let id = MatchId(store.queue(StatusFilter::All).unwrap()[0].id);
            assert!(store.escalate(id, "rita", Some("ask legal")).unwrap());
            let below = store
                .record_verdicts(listing, "k2", "m1", &[verdict(0.2)])
                .unwrap();
            assert_eq!(below.withdrawn, 0);
            let gone = store.record_verdicts(listing, "k3", "m1", &[]).unwrap();
            assert_eq!(gone.withdrawn, 0);
            assert_eq!(status(store), MatchStatus::Pending);
        });
    }
}
