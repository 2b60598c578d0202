//! Runs and the crawl frontier: starting or resuming a run, the items
//! to fetch, and finishing each item in one transaction together with
//! what it produced (listings, cards, images, the next items, every HTTP
//! exchange and the exact bytes), or its failure.

use super::db::{args, Db};
use super::*;

/// A run as recorded.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: RunId,
    pub targets: Vec<String>,
    pub max_pages: Option<u32>,
    pub started_at: DateTime<Utc>,
}

closed_set! {
    /// What a frontier item asks for.
    pub enum ItemKind("frontier item kind") {
        Search = "search",
        Listing = "listing",
        Image = "image",
        /// A seller's profile page, read for the contacts its bio gives away.
        Seller = "seller",
    }
}

/// A unit of crawl work to add to the frontier.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    pub target: String,
    pub kind: ItemKind,
    pub url: String,
    pub query: Option<String>,
    pub page: Option<u32>,
}

/// A unit of crawl work, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontierItem {
    pub id: ItemId,
    pub target: String,
    pub kind: ItemKind,
    pub url: String,
    pub query: Option<String>,
    pub page: Option<u32>,
}

/// One HTTP exchange as it happened.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    pub url: String,
    pub method: String,
    pub status: Option<u16>,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Option<Vec<(String, String)>>,
    pub remote_addr: Option<String>,
    pub started_at: DateTime<Utc>,
    pub elapsed_ms: u64,
    /// The body exactly as received, when it was kept.
    pub body: Option<Vec<u8>>,
    pub error: Option<String>,
}

closed_set! {
    /// Why a crawl item failed, or what a page's note says: counted by kind
    /// in run summaries, stored as its word.
    pub enum FailureKind("crawl failure kind") {
        RobotsDenied = "robots_denied",
        RobotsUnavailable = "robots_unavailable",
        /// The address guard refused the host (a private, loopback or
        /// confined address).
        BlockedAddress = "blocked_address",
        /// The host asked for a pause longer than the run waits: tried again
        /// next run.
        Deferred = "deferred",
        Http5xx = "http_5xx",
        Http4xx = "http_4xx",
        GaveUp = "gave_up",
        RetryAfterTooLong = "retry_after_too_long",
        TooLarge = "too_large",
        RedirectLoop = "redirect_loop",
        TooManyRedirects = "too_many_redirects",
        BadRedirect = "bad_redirect",
        Timeout = "timeout",
        Connection = "connection",
        BadUrl = "bad_url",
        Render = "render",
        /// An API's answer is not what it documents.
        BadResponse = "bad_response",
        /// Processing the item panicked; the run went on.
        Panic = "panic",
        /// A reference photo named by an image search is not in the workspace.
        BadReference = "bad_reference",
        BadImage = "bad_image",
        /// A search page showed more cards than are read.
        TooManyCards = "too_many_cards",
        /// A search page's selectors found no card while the automatic
        /// reading found some (a note).
        SelectorsMissed = "selectors_found_no_cards",
        /// A listing page yielded no title and no price.
        NoFields = "no_fields",
        /// Listings beyond the target's `max_listings` for the run.
        ListingCap = "listing_cap",
        /// A listing page whose URL another target's listing holds.
        OtherTarget = "other_target",
    }
}

/// A recorded failure: its kind (for the summary) and a sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct CrawlError {
    pub kind: FailureKind,
    pub message: String,
}

/// What a search page yielded, for [`Store::complete_search`].
pub(crate) struct SearchFound<'a> {
    pub cards: &'a [CardListing],
    pub links: &'a [NewItem],
    pub next_page: Option<&'a NewItem>,
    /// The target's `max_listings` per run.
    pub max_listings: usize,
    /// Problems of the page to record with it.
    pub notes: &'a [CrawlError],
}

/// What a stored image is.
#[derive(Debug, Clone, Default)]
pub struct ImageInfo {
    pub format: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// How a listing compares with what was stored before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListingChange {
    New,
    Changed,
    /// Also what finishing an item already finished reports.
    #[default]
    Unchanged,
}

/// A listing as a search results card shows it (two-stage crawls).
#[derive(Debug, Clone)]
pub(crate) struct CardListing {
    /// The listing page's canonical URL.
    pub url: String,
    /// The card's fields; its images are the card's thumbnail.
    pub listing: Listing,
    /// Fetch the item page whenever the card is new or changed, whatever
    /// the judge makes of the card (`[crawl] item_pages = "all"`).
    pub always_fetch_item: bool,
}

/// A finished run in numbers, computed from the store so it stays right
/// across an interrupted and resumed run.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct RunSummary {
    pub run_id: i64,
    pub requests: u64,
    pub pages: u64,
    pub listings_new: u64,
    pub listings_changed: u64,
    pub listings_unchanged: u64,
    pub images: u64,
    pub throttled: u64,
    pub errors: BTreeMap<FailureKind, u64>,
    pub seconds: f64,
}

impl Store {
    /// The newest run that never finished, if any: the one to resume.
    pub fn unfinished_run(&self) -> Result<Option<Run>> {
        self.scan(unfinished_run)
            .context("looking for an unfinished run")
    }

    /// The unfinished run to join (resume, or work with the crawls already
    /// on it), else a new one as [`Store::start_run`] starts it: one
    /// decision however many crawls start at once.
    pub fn join_or_start_run(
        &self,
        targets: &[String],
        max_pages: Option<u32>,
        seeds: &[NewItem],
    ) -> Result<(Run, Joined)> {
        self.write(|db| {
            db.serialize_on(&["knockoff run"])?;
            match unfinished_run(db)? {
                Some(run) => Ok((run, Joined::Unfinished)),
                None => Ok((start_run(db, targets, max_pages, seeds)?, Joined::Started)),
            }
        })
    }

    /// How long a lease on a frontier item lasts before another crawl may
    /// take the item over (`[store] lease_secs`).
    pub fn set_lease(&self, lease: std::time::Duration) {
        let ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        self.worker
            .lease_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long this crawl's leases last.
    pub(crate) fn lease_term(&self) -> std::time::Duration {
        let ms = self
            .worker
            .lease_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// A lease for this crawl from now.
    pub(super) fn lease(&self) -> Lease {
        let ms = self
            .worker
            .lease_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        Lease {
            owner: self.worker.id.clone(),
            until: Utc::now().timestamp_millis().saturating_add(ms),
        }
    }

    /// Leases to this crawl the run's unfinished items: with `per_group`,
    /// up to that many of each target and kind that no crawl holds a live
    /// lease on (so crawls sharing the run share it, and one slow host's
    /// items never fill a crawl's hands); without, every one, leased or
    /// not (the run's only crawl: a SQLite store's lock says so, and a
    /// crawl resuming after a kill takes its own old leases back). Returns
    /// them, oldest first. Two crawls never lease one item, and one never
    /// waits for another's claim: the rows are chosen under their row
    /// locks, skipping those another crawl is claiming (PostgreSQL's
    /// `SKIP LOCKED`; SQLite's writes take turns).
    pub fn claim_items(&self, run: RunId, per_group: Option<usize>) -> Result<Vec<FrontierItem>> {
        let lease = self.lease();
        let returning = "RETURNING id, target, kind, url, query, page";
        let mut items = self
            .write(|db| match per_group {
                None => db.all(
                    &format!(
                        "UPDATE frontier SET lease_owner = ?2, lease_until = ?3
                         WHERE run_id = ?1 AND state = 'pending' {returning}"
                    ),
                    args![run.0, lease.owner, lease.until],
                    frontier_item,
                ),
                Some(n) => {
                    let now = Utc::now().timestamp_millis();
                    let groups: Vec<(String, String)> = db.all(
                        "SELECT DISTINCT target, kind FROM frontier
                         WHERE run_id = ?1 AND state = 'pending'
                           AND (lease_until IS NULL OR lease_until < ?2)",
                        args![run.0, now],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    let mut ids: Vec<i64> = Vec::new();
                    for (target, kind) in groups {
                        ids.extend(db.all(
                            &format!(
                                "SELECT id FROM frontier
                                 WHERE run_id = ?1 AND state = 'pending' AND target = ?2 AND kind = ?3
                                   AND (lease_until IS NULL OR lease_until < ?4)
                                 ORDER BY id LIMIT ?5{}",
                                db.skip_locked()
                            ),
                            args![run.0, target, kind, now, n],
                            |r| r.get::<i64>(0),
                        )?);
                    }
                    db.all(
                        &format!(
                            "UPDATE frontier SET lease_owner = ?2, lease_until = ?3
                             WHERE id IN ({}) {returning}",
                            db.json_integers(1)
                        ),
                        args![serde_json::to_string(&ids)?, lease.owner, lease.until],
                        frontier_item,
                    )
                }
            })
            .context("leasing frontier items")?;
        items.sort_by_key(|item| item.id);
        Ok(items)
    }

    /// Extends this crawl's leases on the run's unfinished items: a crawl
    /// that still works keeps them however long a host makes it wait.
    pub fn renew_leases(&self, run: RunId) -> Result<u64> {
        let lease = self.lease();
        self.write(|db| {
            db.exec(
                "UPDATE frontier SET lease_until = ?3
                 WHERE run_id = ?1 AND lease_owner = ?2 AND state = 'pending'",
                args![run.0, lease.owner, lease.until],
            )
        })
        .context("renewing frontier leases")
    }

    /// Gives back this crawl's leases on the run's unfinished items, so
    /// other crawls take them at once (a crawl stopping early).
    pub fn release_leases(&self, run: RunId) -> Result<()> {
        self.write(|db| {
            db.exec(
                "UPDATE frontier SET lease_owner = NULL, lease_until = NULL
                 WHERE run_id = ?1 AND lease_owner = ?2 AND state = 'pending'",
                args![run.0, self.worker.id],
            )
        })?;
        Ok(())
    }

    /// How many of the run's items are not finished (by any crawl).
    pub fn unfinished_items(&self, run: RunId) -> Result<u64> {
        let n: i64 = self.scan(|db| {
            db.one(
                "SELECT COUNT(*) FROM frontier WHERE run_id = ?1 AND state = 'pending'",
                args![run.0],
                |r| r.get(0),
            )
        })?;
        Ok(n as u64)
    }

    /// Records a send to `host` now if `rule` allows one, across every
    /// crawl sharing the store (on the database's clock); otherwise how
    /// long to wait before asking again.
    pub fn take_send_slot(
        &self,
        host: &str,
        rule: &SendRule,
    ) -> Result<Option<std::time::Duration>> {
        self.write(|db| {
            db.serialize_on(&[&format!("host {host}")])?;
            let now = db.clock_ms()?;
            let row: Option<(String, Option<i64>)> = db.optional(
                "SELECT sent, paused_until FROM host_gates WHERE host = ?1",
                args![host],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let (sent, paused) = row.unwrap_or_else(|| ("[]".into(), None));
            let mut sent: std::collections::VecDeque<i64> =
                serde_json::from_str(&sent).unwrap_or_default();
            let at = rule.earliest(&sent, paused, now);
            if at > now {
                return Ok(Some(std::time::Duration::from_millis((at - now) as u64)));
            }
            sent.push_back(now);
            while sent.len() > rule.kept() {
                sent.pop_front();
            }
            db.exec(
                "INSERT INTO host_gates (host, sent, paused_until) VALUES (?1, ?2, ?3)
                 ON CONFLICT (host) DO UPDATE SET sent = excluded.sent",
                args![host, serde_json::to_string(&sent)?, paused],
            )?;
            Ok(None)
        })
        .with_context(|| format!("taking a turn to send to {host}"))
    }

    /// Holds every crawl sharing the store off `host` for `wait` (a
    /// `Retry-After`), on the database's clock.
    pub fn pause_host(&self, host: &str, wait: std::time::Duration) -> Result<()> {
        let wait = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
        self.write(|db| {
            db.serialize_on(&[&format!("host {host}")])?;
            let until = db.clock_ms()?.saturating_add(wait);
            db.exec(
                "INSERT INTO host_gates (host, sent, paused_until) VALUES (?1, '[]', ?2)
                 ON CONFLICT (host) DO UPDATE SET paused_until =
                     CASE WHEN host_gates.paused_until > excluded.paused_until
                          THEN host_gates.paused_until ELSE excluded.paused_until END",
                args![host, until],
            )
        })
        .with_context(|| format!("pausing {host} for every crawl"))?;
        Ok(())
    }

    /// Marks a run finished and keeps its summary.
    pub fn finish_run(&self, run: RunId, summary: &RunSummary) -> Result<()> {
        let summary = serde_json::to_string(summary)?;
        self.write(|db| {
            db.exec(
                "UPDATE runs SET status = 'finished', finished_at = ?2, summary = ?3 WHERE id = ?1",
                args![run.0, now(), summary],
            )
        })?;
        Ok(())
    }

    /// Adds items to a run's frontier; ones already there are left alone.
    /// Returns how many were new.
    pub fn add_items(&self, run: RunId, items: &[NewItem]) -> Result<usize> {
        Ok(self.write(|db| insert_items(db, run, items))?.len())
    }

    /// The run's unfinished items, oldest first.
    pub fn pending_items(&self, run: RunId) -> Result<Vec<FrontierItem>> {
        self.scan(|db| {
            db.all(
                "SELECT id, target, kind, url, query, page FROM frontier
                 WHERE run_id = ?1 AND state = 'pending' ORDER BY id",
                args![run.0],
                frontier_item,
            )
        })
        .context("reading the frontier")
    }

    /// Finishes a search page in one transaction: records its exchanges
    /// and `notes`, stores its cards as listings (stage `card`, the search
    /// page as their capture), adds the pages it linked to and the items
    /// its cards need, and — only when a link or card was new to this run
    /// — the next page. Returns the items added and the next page item.
    ///
    /// Per card: a new one is stored and its thumbnail fetched; an
    /// unchanged one (same fields as last time) costs nothing more, so a
    /// re-crawl skips its item page; a changed one is stored again while it
    /// is only a card, and its item page is fetched when the listing was
    /// already read from it (stage `item`). A card or link naming a listing
    /// another target holds is left alone: a listing belongs to the target
    /// that first stored it, and no other target's page changes it. Past
    /// the target's `max_listings` for the run, the rest are recorded as
    /// one `listing_cap` error and not kept.
    pub(crate) fn complete_search(
        &self,
        run: RunId,
        item: &FrontierItem,
        exchanges: &[Exchange],
        found: &SearchFound,
    ) -> Result<(Vec<FrontierItem>, Option<FrontierItem>)> {
        self.finish_item(item.id, |db| {
            // Another crawl's page may show the same listings this moment.
            let cards: Vec<String> = found
                .cards
                .iter()
                .map(|c| format!("listing at {}", c.url))
                .collect();
            db.serialize_on(&cards.iter().map(String::as_str).collect::<Vec<_>>())?;
            let fetch_id = insert_exchanges(db, run, exchanges)?.last().copied();
            for note in found.notes {
                insert_error(db, run, &item.target, &item.url, note)?;
            }
            let held_elsewhere = |url: &str| -> Result<bool> {
                db.exists(
                    "SELECT 1 FROM listings WHERE url = ?1 AND target != ?2",
                    args![url, item.target],
                )
            };
            let mut budget =
                found
                    .max_listings
                    .saturating_sub(listings_of_run(db, run, &item.target)?);
            let mut over = 0usize;
            // Whether a listing fits the run's budget (one the run holds
            // already does), counting it in or over.
            let mut fits = |in_run: bool| {
                if in_run {
                    true
                } else if budget == 0 {
                    over += 1;
                    false
                } else {
                    budget -= 1;
                    true
                }
            };
            let mut links = Vec::new();
            for link in found.links {
                if held_elsewhere(&link.url)? {
                    continue;
                }
                let in_run = db.exists(
                    "SELECT 1 FROM frontier WHERE run_id = ?1 AND kind = 'listing' AND url = ?2",
                    args![run.0, link.url],
                )?;
                if fits(in_run) {
                    links.push(link.clone());
                }
            }
            let mut added = insert_items(db, run, &links)?;
            let mut fresh = !added.is_empty();
            for card in found.cards {
                if held_elsewhere(&card.url)? {
                    continue;
                }
                let seen_in_run = db.exists(
                    "SELECT 1 FROM listings WHERE url = ?1 AND last_run = ?2",
                    args![card.url, run.0],
                )?;
                if !fits(seen_in_run) {
                    continue;
                }
                let (new_to_run, wanted) = upsert_card(db, run, &item.target, fetch_id, card)?;
                fresh |= new_to_run;
                added.extend(insert_items(db, run, &wanted)?);
            }
            if over > 0 {
                let note = CrawlError {
                    kind: FailureKind::ListingCap,
                    message: format!(
                        "target `{}` reached its max_listings ({}) for this run; {over} more \
                         listings on this page wait for the next run",
                        item.target, found.max_listings
                    ),
                };
                insert_error(db, run, &item.target, &item.url, &note)?;
            }
            let next = match found.next_page {
                Some(next) if fresh => insert_items(db, run, std::slice::from_ref(next))?.pop(),
                _ => None,
            };
            set_state(db, item.id, "done")?;
            Ok((added, next))
        })
    }

    /// Finishes a listing page: records its exchanges, upserts the listing
    /// (noticing whether it changed) and queues its images; returns the
    /// change and the image items added.
    pub fn complete_listing(
        &self,
        run: RunId,
        item: &FrontierItem,
        exchanges: &[Exchange],
        listing: &Listing,
        images: &[NewItem],
    ) -> Result<(ListingChange, Vec<FrontierItem>)> {
        let (url, target) = (item.url.as_str(), item.target.as_str());
        let hash = content_hash(listing);
        let images_json = serde_json::to_string(&listing.images)?;
        self.finish_item(item.id, |db| {
            db.serialize_on(&[&format!("listing at {url}")])?;
            let fetch_ids = insert_exchanges(db, run, exchanges)?;
            let fetch_id = fetch_ids.last().copied();
            let seen = now();
            let previous: Option<(String, String)> = db.optional(
                "SELECT content_hash, target FROM listings WHERE url = ?1",
                args![url],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            // A listing belongs to the target that first stored it: another
            // target's page never rewrites it (nor its matches or evidence).
            if let Some((_, holder)) = previous.as_ref().filter(|(_, t)| t != target) {
                let error = CrawlError {
                    kind: FailureKind::OtherTarget,
                    message: format!(
                        "{url} is a listing of target `{holder}`; target `{target}` leaves it alone"
                    ),
                };
                fail_in(db, run, item, exchanges, &error)?;
                return Ok((ListingChange::Unchanged, Vec::new()));
            }
            let previous = previous.map(|(hash, _)| hash);
            // Read from its own page now, whatever a card said before.
            db.exec(
                "UPDATE listings SET stage = 'item' WHERE url = ?1",
                args![url],
            )?;
            let fields = args![
                url,
                target,
                listing.title,
                listing.price,
                listing.currency,
                listing.seller,
                listing.description,
                images_json,
                hash,
                seen,
                run.0,
                fetch_id,
                listing.seller_url
            ];
            let change = match previous {
                None => {
                    db.exec(
                        "INSERT INTO listings (url, target, title, price, currency, seller, description,
                            images, content_hash, first_seen, last_seen, last_changed,
                            first_run, last_run, changed_run, fetch_id, seller_url)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?10, ?11, ?11, ?11, ?12, ?13)",
                        fields,
                    )?;
                    ListingChange::New
                }
                Some(old) if old == hash => {
                    db.exec(
                        "UPDATE listings SET last_seen = ?2, last_run = ?3, fetch_id = ?4 WHERE url = ?1",
                        args![url, seen, run.0, fetch_id],
                    )?;
                    ListingChange::Unchanged
                }
                Some(_) => {
                    // ?2 (the target) is unchanged: the listing is this target's.
                    db.exec(
                        "UPDATE listings SET title = ?3, price = ?4, currency = ?5,
                            seller = ?6, description = ?7, images = ?8, content_hash = ?9,
                            last_seen = ?10, last_changed = ?10, last_run = ?11, changed_run = ?11,
                            fetch_id = ?12, seller_url = ?13
                         WHERE url = ?1 AND target = ?2",
                        fields,
                    )?;
                    ListingChange::Changed
                }
            };
            let added = insert_items(db, run, images)?;
            set_state(db, item.id, "done")?;
            Ok((change, added))
        })
    }

    /// Finishes an image: records its exchanges and what the image is, or
    /// why it was refused (recorded as a run error too).
    pub fn complete_image(
        &self,
        run: RunId,
        item: &FrontierItem,
        exchanges: &[Exchange],
        info: &ImageInfo,
        error: Option<&CrawlError>,
    ) -> Result<()> {
        let body = exchanges.iter().rev().find_map(|e| e.body.as_ref());
        let sha = body.map(|b| hex::encode(Sha256::digest(b)));
        self.finish_item(item.id, |db| {
            let fetch_ids = insert_exchanges(db, run, exchanges)?;
            db.exec(
                "INSERT INTO images (url, sha256, bytes, format, width, height, fetch_id, run_id, fetched_at, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (url) DO UPDATE SET sha256 = excluded.sha256, bytes = excluded.bytes,
                    format = excluded.format, width = excluded.width, height = excluded.height,
                    fetch_id = excluded.fetch_id, run_id = excluded.run_id,
                    fetched_at = excluded.fetched_at, error = excluded.error",
                args![
                    item.url,
                    sha,
                    body.map(|b| b.len()),
                    info.format,
                    info.width,
                    info.height,
                    fetch_ids.last(),
                    run.0,
                    now(),
                    error.map(|e| e.message.as_str())
                ],
            )?;
            match error {
                Some(error) => {
                    insert_error(db, run, &item.target, &item.url, error)?;
                    set_state(db, item.id, "failed")
                }
                None => set_state(db, item.id, "done"),
            }
        })
    }

    /// Gives up on an item: records its exchanges and the error.
    pub(crate) fn fail_item(
        &self,
        run: RunId,
        item: &FrontierItem,
        exchanges: &[Exchange],
        error: &CrawlError,
    ) -> Result<()> {
        self.finish_item(item.id, |db| fail_in(db, run, item, exchanges, error))
    }

    /// Puts an item off to the next run (its host asked for a pause over
    /// `max_wait`): records its exchanges and why, and keeps a copy that
    /// [`Store::start_run`] gives the next run.
    pub(crate) fn defer_item(
        &self,
        run: RunId,
        item: &FrontierItem,
        exchanges: &[Exchange],
        error: &CrawlError,
    ) -> Result<()> {
        self.finish_item(item.id, |db| {
            fail_in(db, run, item, exchanges, error)?;
            db.exec(
                "INSERT INTO deferred_items (run_id, target, kind, url, query, page)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![
                    run.0,
                    item.target,
                    item.kind.as_str(),
                    item.url,
                    item.query,
                    item.page
                ],
            )?;
            Ok(())
        })
    }

    /// Starts a run seeded with `seeds` and every item earlier runs deferred
    /// for its targets, in one transaction: a crash leaves either no run or
    /// a seeded one, and a deferred item is handed over exactly once.
    pub fn start_run(
        &self,
        targets: &[String],
        max_pages: Option<u32>,
        seeds: &[NewItem],
    ) -> Result<Run> {
        self.write(|db| start_run(db, targets, max_pages, seeds))
    }

    /// Records exchanges that belong to no frontier item (robots.txt fetches).
    #[cfg(test)]
    pub(crate) fn record_exchanges(&self, run: RunId, exchanges: &[Exchange]) -> Result<()> {
        self.write(|db| insert_exchanges(db, run, exchanges))?;
        Ok(())
    }

    /// The run in numbers, from what the store holds.
    pub(crate) fn run_summary(&self, run: &Run) -> Result<RunSummary> {
        self.scan(|db| {
            let count = |sql: &str| -> Result<u64> {
                Ok(db.one(sql, args![run.id.0], |row| row.get::<i64>(0))? as u64)
            };
            let errors = db
                .all(
                    "SELECT kind, COUNT(*) FROM crawl_errors WHERE run_id = ?1 GROUP BY kind",
                    args![run.id.0],
                    |row| Ok((row.word::<FailureKind>(0)?, row.get::<i64>(1)? as u64)),
                )?
                .into_iter()
                .collect();
            Ok(RunSummary {
                run_id: run.id.0,
                // A rendered DOM is kept as an exchange but was never a request.
                requests: count(
                    "SELECT COUNT(*) FROM fetches WHERE run_id = ?1 AND method != 'RENDER'",
                )?,
                pages: count(
                    "SELECT COUNT(*) FROM frontier WHERE run_id = ?1 AND kind != 'image' AND state = 'done'",
                )?,
                listings_new: count("SELECT COUNT(*) FROM listings WHERE first_run = ?1")?,
                listings_changed: count(
                    "SELECT COUNT(*) FROM listings WHERE changed_run = ?1 AND first_run != ?1",
                )?,
                listings_unchanged: count(
                    "SELECT COUNT(*) FROM listings WHERE last_run = ?1 AND changed_run != ?1",
                )?,
                images: count(
                    "SELECT COUNT(*) FROM frontier WHERE run_id = ?1 AND kind = 'image' AND state = 'done'",
                )?,
                throttled: count(
                    "SELECT COUNT(*) FROM fetches WHERE run_id = ?1 AND status IN (429, 503)",
                )?,
                errors,
                seconds: (Utc::now() - run.started_at).num_milliseconds() as f64 / 1000.0,
            })
        })
    }

    /// The errors of a run: (kind, url, message), oldest first.
    pub fn run_errors(&self, run: RunId) -> Result<Vec<(FailureKind, String, String)>> {
        self.scan(|db| {
            db.all(
                "SELECT kind, url, message FROM crawl_errors WHERE run_id = ?1 ORDER BY id",
                args![run.0],
                |row| Ok((row.word(0)?, row.get(1)?, row.get(2)?)),
            )
        })
        .context("reading run errors")
    }
}

pub(super) fn headers_json(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).expect("string pairs always serialise")
}

/// Stores one search card (see [`Store::complete_search`]); returns
/// whether its listing is new to this run and the items it needs.
pub(super) fn upsert_card(
    db: &Db,
    run: RunId,
    target: &str,
    fetch_id: Option<i64>,
    card: &CardListing,
) -> Result<(bool, Vec<NewItem>)> {
    let hash = content_hash(&card.listing);
    let seen = now();
    let previous: Option<(i64, Stage, Option<String>)> = db.optional(
        "SELECT last_run, stage, card_hash FROM listings WHERE url = ?1",
        args![card.url],
        |r| Ok((r.get(0)?, r.word(1)?, r.get(2)?)),
    )?;
    let l = &card.listing;
    let images_json = serde_json::to_string(&l.images)?;
    let item_page = || NewItem {
        target: target.to_string(),
        kind: ItemKind::Listing,
        url: card.url.clone(),
        query: None,
        page: None,
    };
    let mut wanted = Vec::new();
    let new_to_run = previous.as_ref().is_none_or(|p| p.0 != run.0);
    let fields = args![
        card.url,
        target,
        l.title,
        l.price,
        l.currency,
        l.seller,
        images_json,
        hash,
        seen,
        run.0,
        fetch_id
    ];
    let stored_as_card = match &previous {
        None => {
            db.exec(
                "INSERT INTO listings (url, target, title, price, currency, seller, description,
                    images, content_hash, first_seen, last_seen, last_changed,
                    first_run, last_run, changed_run, fetch_id, stage, card_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?9, ?9, ?9, ?10, ?10, ?10, ?11, 'card', ?8)",
                fields,
            )?;
            true
        }
        Some((_, _, old)) if old.as_deref() == Some(hash.as_str()) => {
            db.exec(
                "UPDATE listings SET last_seen = ?2, last_run = ?3 WHERE url = ?1",
                args![card.url, seen, run.0],
            )?;
            return Ok((new_to_run, wanted));
        }
        Some((_, Stage::Card, _)) => {
            db.exec(
                "UPDATE listings SET target = ?2, title = ?3, price = ?4, currency = ?5, seller = ?6,
                    images = ?7, content_hash = ?8, card_hash = ?8, last_seen = ?9, last_changed = ?9,
                    last_run = ?10, changed_run = ?10, fetch_id = ?11
                 WHERE url = ?1",
                fields,
            )?;
            true
        }
        Some(_) => {
            // Read from its page before, and the card changed: read the
            // page again (the listing keeps the page's fields till then).
            db.exec(
                "UPDATE listings SET card_hash = ?2, last_seen = ?3, last_run = ?4 WHERE url = ?1",
                args![card.url, hash, seen, run.0],
            )?;
            wanted.push(item_page());
            false
        }
    };
    if stored_as_card {
        for url in &l.images {
            let have = db.exists(
                "SELECT 1 FROM images WHERE url = ?1 AND error IS NULL",
                args![url],
            )?;
            if !have {
                wanted.push(NewItem {
                    target: target.to_string(),
                    kind: ItemKind::Image,
                    url: url.clone(),
                    query: None,
                    page: None,
                });
            }
        }
        if card.always_fetch_item {
            wanted.push(item_page());
        }
    }
    Ok((new_to_run, wanted))
}

/// How many listings `target`'s search pages have added in `run`: its
/// listing pages in the frontier and its cards, each URL once.
pub(super) fn listings_of_run(db: &Db, run: RunId, target: &str) -> Result<usize> {
    let n: i64 = db.one(
        "SELECT COUNT(*) FROM (
            SELECT url FROM frontier WHERE run_id = ?1 AND target = ?2 AND kind = 'listing'
            UNION
            SELECT url FROM listings WHERE last_run = ?1 AND target = ?2 AND stage = 'card') AS added",
        args![run.0, target],
        |row| row.get(0),
    )?;
    Ok(n as usize)
}

/// How a crawl came to its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    Started,
    /// An unfinished run: interrupted, or being worked by other crawls.
    Unfinished,
}

/// A crawl's claim on frontier items: who, and until when (ms since the epoch).
pub(super) struct Lease {
    pub(super) owner: String,
    pub(super) until: i64,
}

/// The rules a host's sends keep, in milliseconds: the same as
/// `crawl::limiter`'s per-process gate, applied to the sends of every
/// crawl sharing the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendRule {
    /// Spacing between sends after a burst.
    pub interval_ms: i64,
    pub burst: usize,
    /// Most sends in any window of `window_ms`.
    pub per_second: usize,
    /// One second and the margin the server's clock may need.
    pub window_ms: i64,
}

impl SendRule {
    /// The earliest time (ms) a send may go, given the latest sends
    /// (`sent`, oldest first) and a pause.
    pub fn earliest(
        &self,
        sent: &std::collections::VecDeque<i64>,
        paused: Option<i64>,
        now: i64,
    ) -> i64 {
        let mut at = now.max(paused.unwrap_or(i64::MIN));
        let n = sent.len();
        if self.burst > 0 && n >= self.burst {
            at = at.max(
                sent[n - self.burst]
                    .saturating_add(self.interval_ms.saturating_mul(self.burst as i64)),
            );
        }
        if self.per_second > 0 && n >= self.per_second {
            at = at.max(sent[n - self.per_second].saturating_add(self.window_ms));
        }
        at
    }

    /// How many of the latest sends the rules look at.
    pub fn kept(&self) -> usize {
        self.burst.max(self.per_second).max(1)
    }
}

fn unfinished_run(db: &Db) -> Result<Option<Run>> {
    db.optional(
        "SELECT id, targets, max_pages, started_at FROM runs
         WHERE status = 'running' ORDER BY id DESC LIMIT 1",
        args![],
        |row| {
            let targets: String = row.get(1)?;
            let started: String = row.get(3)?;
            Ok(Run {
                id: RunId(row.get(0)?),
                targets: serde_json::from_str(&targets).unwrap_or_default(),
                max_pages: row.get(2)?,
                started_at: DateTime::parse_from_rfc3339(&started)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_else(|_| Utc::now()),
            })
        },
    )
}

/// A frontier item from `id, target, kind, url, query, page`.
fn frontier_item(row: &super::db::Row) -> Result<FrontierItem> {
    Ok(FrontierItem {
        id: ItemId(row.get(0)?),
        target: row.get(1)?,
        kind: row.word(2)?,
        url: row.get(3)?,
        query: row.get(4)?,
        page: row.get(5)?,
    })
}

fn start_run(
    db: &Db,
    targets: &[String],
    max_pages: Option<u32>,
    seeds: &[NewItem],
) -> Result<Run> {
    let started_at = Utc::now();
    let targets_json = serde_json::to_string(targets)?;
    let id = db.one(
        "INSERT INTO runs (started_at, status, targets, max_pages)
         VALUES (?1, 'running', ?2, ?3) RETURNING id",
        args![timestamp(started_at), targets_json, max_pages],
        |row| row.get(0),
    )?;
    let run = Run {
        id: RunId(id),
        targets: targets.to_vec(),
        max_pages,
        started_at,
    };
    let mut items: Vec<NewItem> = seeds.to_vec();
    for target in targets {
        items.extend(db.all(
            "DELETE FROM deferred_items WHERE target = ?1
             RETURNING target, kind, url, query, page",
            args![target],
            |row| {
                Ok(NewItem {
                    target: row.get(0)?,
                    kind: row.word(1)?,
                    url: row.get(2)?,
                    query: row.get(3)?,
                    page: row.get(4)?,
                })
            },
        )?);
    }
    insert_items(db, run.id, &items)?;
    Ok(run)
}

/// Inserts items not yet in the run's frontier, leased to no crawl (any
/// crawl working the run may take them); returns those it inserted.
pub(super) fn insert_items(db: &Db, run: RunId, items: &[NewItem]) -> Result<Vec<FrontierItem>> {
    let mut added = Vec::new();
    for item in items {
        let inserted: Option<i64> = db.optional(
            "INSERT INTO frontier (run_id, target, kind, url, query, page)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO NOTHING RETURNING id",
            args![
                run.0,
                item.target,
                item.kind.as_str(),
                item.url,
                item.query,
                item.page
            ],
            |row| row.get(0),
        )?;
        if let Some(id) = inserted {
            added.push(FrontierItem {
                id: ItemId(id),
                target: item.target.clone(),
                kind: item.kind,
                url: item.url.clone(),
                query: item.query.clone(),
                page: item.page,
            });
        }
    }
    Ok(added)
}

/// Gives up on `item` inside a transaction: its exchanges, the error,
/// state failed.
pub(super) fn fail_in(
    db: &Db,
    run: RunId,
    item: &FrontierItem,
    exchanges: &[Exchange],
    error: &CrawlError,
) -> Result<()> {
    insert_exchanges(db, run, exchanges)?;
    insert_error(db, run, &item.target, &item.url, error)?;
    set_state(db, item.id, "failed")
}

pub(super) fn set_state(db: &Db, item: ItemId, state: &str) -> Result<()> {
    db.exec(
        "UPDATE frontier SET state = ?2 WHERE id = ?1",
        args![item.0, state],
    )?;
    Ok(())
}

pub(super) fn insert_error(
    db: &Db,
    run: RunId,
    target: &str,
    url: &str,
    error: &CrawlError,
) -> Result<()> {
    db.exec(
        "INSERT INTO crawl_errors (run_id, target, url, kind, message, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![run.0, target, url, error.kind.as_str(), error.message, now()],
    )?;
    Ok(())
}

pub(super) fn insert_exchanges(db: &Db, run: RunId, exchanges: &[Exchange]) -> Result<Vec<i64>> {
    // The bodies first, in digest order: two transactions storing the same
    // two bodies then wait for each other in one order, never in a circle.
    let shas: Vec<Option<String>> = exchanges
        .iter()
        .map(|e| {
            e.body
                .as_deref()
                .map(|body| hex::encode(Sha256::digest(body)))
        })
        .collect();
    let mut bodies: Vec<(&String, &[u8])> = shas
        .iter()
        .zip(exchanges)
        .filter_map(|(sha, e)| Some((sha.as_ref()?, e.body.as_deref()?)))
        .collect();
    bodies.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (sha, body) in bodies {
        insert_blob_as(db, sha, body)?;
    }
    let mut ids = Vec::with_capacity(exchanges.len());
    for (exchange, sha) in exchanges.iter().zip(shas) {
        ids.push(db.one(
            "INSERT INTO fetches (run_id, url, method, status, request_headers, response_headers,
                remote_addr, started_at, elapsed_ms, body_sha256, body_bytes, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
            args![
                run.0,
                exchange.url,
                exchange.method,
                exchange.status,
                headers_json(&exchange.request_headers),
                exchange.response_headers.as_deref().map(headers_json),
                exchange.remote_addr,
                timestamp(exchange.started_at),
                exchange.elapsed_ms,
                sha,
                exchange.body.as_ref().map(|b| b.len()),
                exchange.error
            ],
            |row| row.get(0),
        )?);
    }
    Ok(ids)
}

/// Stores `bytes` under their SHA-256 (once) and returns the hex digest.
pub(crate) fn insert_blob(db: &Db, bytes: &[u8]) -> Result<String> {
    let sha = hex::encode(Sha256::digest(bytes));
    insert_blob_as(db, &sha, bytes)?;
    Ok(sha)
}

/// Stores `bytes` under `sha`, their SHA-256 in hex, unless stored already.
fn insert_blob_as(db: &Db, sha: &str, bytes: &[u8]) -> Result<()> {
    if !db.exists("SELECT 1 FROM blobs WHERE sha256 = ?1", args![sha])? {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes)?;
        let deflated = encoder.finish()?;
        // Images are already compressed; keep them as they are when deflate
        // cannot shrink them by a tenth.
        let (compression, data) = if deflated.len() < bytes.len() * 9 / 10 {
            ("deflate", &deflated[..])
        } else {
            ("none", bytes)
        };
        db.exec(
            // Another crawl may be storing the same bytes this moment.
            "INSERT INTO blobs (sha256, bytes, compression, data) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sha256) DO NOTHING",
            args![sha, bytes.len(), compression, data],
        )?;
    }
    Ok(())
}

/// Hash of the fields that make a listing what it is; a change means the
/// seller changed the listing.
pub(super) fn content_hash(listing: &Listing) -> String {
    let json = serde_json::to_vec(listing).expect("a listing always serialises");
    hex::encode(Sha256::digest(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crawls_sharing_a_store_lease_items_apart_and_take_over_lapsed_ones() {
        crate::store::db::tests::on_both_shared(|first, second| {
            let item = |n: u32| NewItem {
                target: "shop".into(),
                kind: ItemKind::Listing,
                url: format!("http://shop/{n}"),
                query: None,
                page: None,
            };
            let seeds: Vec<NewItem> = (0..5).map(item).collect();
            let (run, joined) = first
                .join_or_start_run(&["shop".into()], None, &seeds)
                .unwrap();
            assert_eq!(joined, Joined::Started);
            let (same, joined) = second
                .join_or_start_run(&["shop".into()], None, &[])
                .unwrap();
            assert_eq!((same.id, joined), (run.id, Joined::Unfinished));
            let lease = std::time::Duration::from_millis(1_000);
            first.set_lease(lease);
            second.set_lease(lease);
            // Three each at most; never one item twice.
            let mine = first.claim_items(run.id, Some(3)).unwrap();
            let theirs = second.claim_items(run.id, Some(3)).unwrap();
            assert_eq!((mine.len(), theirs.len()), (3, 2));
            assert!(mine.iter().all(|m| theirs.iter().all(|t| t.id != m.id)));
            assert!(second.claim_items(run.id, Some(3)).unwrap().is_empty());
            // Renewed leases hold past their first term; lapsed ones go over.
            std::thread::sleep(lease / 2);
            assert_eq!(first.renew_leases(run.id).unwrap(), 3);
            assert_eq!(second.renew_leases(run.id).unwrap(), 2);
            std::thread::sleep(lease * 3 / 4);
            assert!(second.claim_items(run.id, Some(3)).unwrap().is_empty());
            // The first crawl stops renewing (killed): its items go over.
            assert_eq!(second.renew_leases(run.id).unwrap(), 2);
            std::thread::sleep(lease * 3 / 4);
            let taken = second.claim_items(run.id, Some(5)).unwrap();
            assert_eq!(taken, mine, "the first crawl's lapsed items");
            second.release_leases(run.id).unwrap();
            assert_eq!(first.claim_items(run.id, Some(5)).unwrap().len(), 5);
            // The run's only crawl (a SQLite store's) takes every item back.
            assert_eq!(second.claim_items(run.id, None).unwrap().len(), 5);
            assert_eq!(first.unfinished_items(run.id).unwrap(), 5);
        });
    }

    #[test]
    fn crawls_storing_the_same_cards_and_bodies_at_once_store_each_once() {
        crate::store::db::tests::on_both_shared(|first, second| {
            let pages: Vec<NewItem> = (0..16)
                .map(|n| NewItem {
                    target: "shop".into(),
                    kind: ItemKind::Search,
                    url: format!("http://shop/s?q=x&p={n}"),
                    query: None,
                    page: None,
                })
                .collect();
            let (run, _) = first
                .join_or_start_run(&["shop".into()], None, &pages)
                .unwrap();
            second
                .join_or_start_run(&["shop".into()], None, &[])
                .unwrap();
            // Every page shows the same listings (in its own order) and
            // the same bytes: two crawls store them in the same moments.
            let cards: Vec<CardListing> = (0..30)
                .map(|n| CardListing {
                    url: format!("http://shop/item/{n}"),
                    listing: Listing {
                        title: Some(format!("Orvane bag {n}")),
                        ..Listing::default()
                    },
                    always_fetch_item: false,
                })
                .collect();
            std::thread::scope(|s| {
                for (k, store) in [first, second].into_iter().enumerate() {
                    let cards = &cards;
                    s.spawn(move || {
                        while let Some(page) = store.claim_items(run.id, Some(1)).unwrap().pop() {
                            let mut shown = cards.clone();
                            shown.rotate_left(page.id.0 as usize % cards.len());
                            if k == 1 {
                                shown.reverse();
                            }
                            let found = SearchFound {
                                cards: &shown,
                                links: &[],
                                next_page: None,
                                max_listings: 100,
                                notes: &[],
                            };
                            let body = exchange(&page.url, 200, b"<html>the same page</html>");
                            store
                                .complete_search(run.id, &page, &[body], &found)
                                .unwrap_or_else(|e| panic!("{}: {e:#}", page.url));
                        }
                    });
                }
            });
            assert_eq!(first.listings(None).unwrap().len(), cards.len());
            assert_eq!(first.unfinished_items(run.id).unwrap(), 0);
        });
    }

    #[test]
    fn crawls_sharing_a_store_hold_one_rate_and_one_pause_per_host() {
        crate::store::db::tests::on_both_shared(|first, second| {
            let rule = SendRule {
                interval_ms: 0,
                burst: 2,
                per_second: 2,
                window_ms: 1_020,
            };
            assert_eq!(first.take_send_slot("shop:80", &rule).unwrap(), None);
            assert_eq!(second.take_send_slot("shop:80", &rule).unwrap(), None);
            // A third send in the same second waits, whoever asks.
            let wait = first.take_send_slot("shop:80", &rule).unwrap().unwrap();
            assert!(wait > std::time::Duration::from_millis(900), "{wait:?}");
            assert!(second.take_send_slot("shop:80", &rule).unwrap().is_some());
            // Another host is not held by it; a pause holds every crawl.
            assert_eq!(second.take_send_slot("cdn:80", &rule).unwrap(), None);
            first
                .pause_host("cdn:80", std::time::Duration::from_secs(30))
                .unwrap();
            let paused = second.take_send_slot("cdn:80", &rule).unwrap().unwrap();
            assert!(paused > std::time::Duration::from_secs(29), "{paused:?}");
        });
    }
    use crate::store::db::tests::on_both_stores;

    fn item(kind: ItemKind, url: &str) -> NewItem {
        NewItem {
            target: "shop".into(),
            kind,
            url: url.into(),
            query: None,
            page: None,
        }
    }

    fn exchange(url: &str, status: u16, body: &[u8]) -> Exchange {
        Exchange {
            url: url.into(),
            method: "GET".into(),
            status: Some(status),
            request_headers: vec![("user-agent".into(), "knockoff".into())],
            response_headers: Some(vec![("content-type".into(), "text/html".into())]),
            started_at: Utc::now(),
            elapsed_ms: 12,
            body: Some(body.to_vec()),
            ..Exchange::default()
        }
    }

    #[test]
    fn a_run_goes_alike_on_both_engines() {
        on_both_stores(|store| {
            let targets = ["shop".to_string()];
            let run = store
                .start_run(
                    &targets,
                    Some(3),
                    &[item(ItemKind::Search, "http://shop/s?q=x")],
                )
                .unwrap();
            assert_eq!(store.unfinished_run().unwrap().unwrap().max_pages, Some(3));
            // An item already in the run is not added twice.
            assert_eq!(
                store
                    .add_items(run.id, &[item(ItemKind::Search, "http://shop/s?q=x")])
                    .unwrap(),
                0
            );
            let search = store.pending_items(run.id).unwrap().pop().unwrap();
            let card = CardListing {
                url: "http://shop/item/1".into(),
                listing: Listing {
                    title: Some("Orvane bag".into()),
                    price: Some(19.5),
                    images: vec!["http://cdn/1.jpg".into()],
                    ..Listing::default()
                },
                always_fetch_item: true,
            };
            let found = SearchFound {
                cards: std::slice::from_ref(&card),
                links: &[item(ItemKind::Listing, "http://shop/item/2")],
                next_page: Some(&item(ItemKind::Search, "http://shop/s?q=x&p=2")),
                max_listings: 10,
                notes: &[],
            };
            let page = exchange(&search.url, 200, b"<html>cards</html>");
            let (added, next) = store
                .complete_search(run.id, &search, &[page], &found)
                .unwrap();
            let kinds: Vec<(ItemKind, &str)> =
                added.iter().map(|i| (i.kind, i.url.as_str())).collect();
            assert_eq!(
                kinds,
                [
                    (ItemKind::Listing, "http://shop/item/2"),
                    (ItemKind::Image, "http://cdn/1.jpg"),
                    (ItemKind::Listing, "http://shop/item/1"),
                ]
            );
            assert_eq!(next.unwrap().url, "http://shop/s?q=x&p=2");

            // The item page: its fields change the card's, then stay, then change.
            let listing_item = added
                .iter()
                .find(|i| i.url == "http://shop/item/1")
                .unwrap();
            let mut listing = card.listing.clone();
            listing.description = Some("genuine".into());
            let body = exchange(&listing_item.url, 200, b"<html>item</html>");
            let (change, images) = store
                .complete_listing(
                    run.id,
                    listing_item,
                    std::slice::from_ref(&body),
                    &listing,
                    &[item(ItemKind::Image, "http://cdn/1.jpg")],
                )
                .unwrap();
            assert_eq!((change, images.len()), (ListingChange::Changed, 0));
            // Finished once: finishing it again (a crawl whose lease
            // lapsed, a transaction run again) stores nothing.
            let mut other = listing.clone();
            other.price = Some(1.0);
            let twice = store
                .complete_listing(run.id, listing_item, &[], &other, &[])
                .unwrap();
            assert_eq!(twice, (ListingChange::Unchanged, vec![]));
            let stored = store
                .listing_by_id_or_url(&listing_item.url)
                .unwrap()
                .unwrap();
            assert_eq!(stored.listing.price, listing.price);
            // Read again (pending once more): unchanged, then changed.
            let read_again = || store.write(|db| set_state(db, listing_item.id, "pending"));
            read_again().unwrap();
            let again = store
                .complete_listing(run.id, listing_item, &[], &listing, &[])
                .unwrap();
            assert_eq!(again.0, ListingChange::Unchanged);
            listing.price = Some(18.0);
            read_again().unwrap();
            let changed = store
                .complete_listing(run.id, listing_item, &[], &listing, &[])
                .unwrap();
            assert_eq!(changed.0, ListingChange::Changed);

            // An image, a failure and a deferral.
            let image = added.iter().find(|i| i.kind == ItemKind::Image).unwrap();
            let jpeg = exchange(&image.url, 200, &[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
            let info = ImageInfo {
                format: Some("jpeg".into()),
                width: Some(8),
                height: Some(8),
            };
            store
                .complete_image(run.id, image, &[jpeg], &info, None)
                .unwrap();
            let other = added
                .iter()
                .find(|i| i.url == "http://shop/item/2")
                .unwrap();
            let gone = CrawlError {
                kind: FailureKind::Http4xx,
                message: "404".into(),
            };
            store
                .fail_item(run.id, other, &[exchange(&other.url, 404, b"")], &gone)
                .unwrap();
            let paused = CrawlError {
                kind: FailureKind::Deferred,
                message: "Retry-After 1 h".into(),
            };
            let next_page = store.pending_items(run.id).unwrap().pop().unwrap();
            assert_eq!(next_page.url, "http://shop/s?q=x&p=2");
            store
                .defer_item(
                    run.id,
                    &next_page,
                    &[exchange(&next_page.url, 429, b"")],
                    &paused,
                )
                .unwrap();
            assert_eq!(store.pending_items(run.id).unwrap(), []);

            let summary = store.run_summary(&run).unwrap();
            assert_eq!(
                (
                    summary.requests,
                    summary.pages,
                    summary.listings_new,
                    summary.images,
                    summary.throttled
                ),
                (5, 2, 1, 1, 1)
            );
            assert_eq!(summary.errors.get(&FailureKind::Http4xx), Some(&1));
            let errors = store.run_errors(run.id).unwrap();
            assert_eq!(errors.len(), 2);
            assert_eq!(errors[0].0, FailureKind::Http4xx);
            store.finish_run(run.id, &summary).unwrap();
            assert!(store.unfinished_run().unwrap().is_none());

            // The next run is handed the deferred page, once.
            let second = store.start_run(&targets, None, &[]).unwrap();
            assert!(second.id.0 > run.id.0);
            let handed: Vec<String> = store
                .pending_items(second.id)
                .unwrap()
                .into_iter()
                .map(|i| i.url)
                .collect();
            assert_eq!(handed, ["http://shop/s?q=x&p=2"]);
            let third = store.start_run(&targets, None, &[]).unwrap();
            assert_eq!(store.pending_items(third.id).unwrap(), []);
        });
    }
}
