//! The SQLite store: the ground truth of everything knockoff has seen.
//!
//! Owns the schema (versioned migrations in `migrations/`), WAL mode, and every
//! SQL statement in the program. Page bodies and image bytes are kept exactly
//! as received, content-addressed by SHA-256 and deflated when that helps,
//! because evidence bundles need the exact bytes later.
//!
//! Calls are blocking; async callers go through `tokio::task::spawn_blocking`.
//! Each frontier item is finished in one transaction together with what it
//! produced, which is what makes a killed crawl resumable without loss or
//! duplicates.
//!
//! A file per part of the schema: `frontier` (runs, the frontier,
//! exchanges, blobs, crawl errors), `listings` (reading what was stored),
//! `matches` (matches, decisions, the audit log, the photo cache), `review`
//! (escalation, notes, the review UI's pages), `accounts`, `takedown`,
//! `sellers`, `report`, `evidence`. This file opens the store and holds
//! the helpers every part uses.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::extract::Listing;
use crate::words::closed_set;

mod accounts;
pub(crate) mod db;
mod evidence;
mod frontier;
mod listings;
mod matches;
mod postgres;
mod report;
mod review;
mod sellers;
mod takedown;

pub use accounts::{Account, LastAdmin, NoSuchUser, Role, Session, SessionPolicy, User, UserId};
pub use evidence::Capture;
pub use frontier::*;
pub use listings::*;
pub use matches::{
    AuditRow, ListingToJudge, MatchId, NoSuchMatch, QueueChanges, QueueEntry, StoredVerdict,
    HIGH_SCORE, MATCHER,
};
pub use postgres::{Copied, PostgresUrl};
pub use report::{
    Backlog, MarketplaceFigures, PriceSpread, Report, ReportQuery, ReviewerWeek, TopNetwork,
    TopSeller, WeekFigures, PRICE_BUCKETS,
};
pub use review::{
    MatchExists, NetworkSummary, QueueFilter, QueuePage, ReviewEntry, RunRow, TargetRun,
    UndoRefused, QUEUE_DEPTH,
};
pub use sellers::{SellerFigures, SellerMatch, Shown, ShownOn};
pub use takedown::TakedownState;

/// The schema's migrations, oldest first: SQLite's dialect, which
/// [`db::postgres_ddl`] translates for PostgreSQL.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_crawl.sql"),
    include_str!("migrations/002_matching.sql"),
    include_str!("migrations/003_review.sql"),
    include_str!("migrations/004_takedown.sql"),
    include_str!("migrations/005_screenshots.sql"),
    include_str!("migrations/006_deferred.sql"),
    include_str!("migrations/007_cards.sql"),
    include_str!("migrations/008_networks.sql"),
    include_str!("migrations/009_seller_pages.sql"),
    include_str!("migrations/010_report.sql"),
    include_str!("migrations/011_photo_matches.sql"),
    include_str!("migrations/012_shared_frontier.sql"),
    include_str!("migrations/013_at_scale.sql"),
    include_str!("migrations/014_queue_orders.sql"),
];

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// A crawl run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RunId(pub i64);

/// A stored listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ListingId(pub i64);

/// A frontier item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub i64);

/// The store, on one of two engines. Cheap to share behind an `Arc`.
pub struct Store {
    engine: Engine,
    worker: Worker,
}

/// This process as one of the crawls that may work a run together: its
/// name on the frontier items it leases, and how long a lease lasts.
struct Worker {
    id: String,
    lease_ms: std::sync::atomic::AtomicI64,
}

impl Worker {
    fn new() -> Worker {
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".into());
        Worker {
            id: format!(
                "{host}:{}:{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            lease_ms: std::sync::atomic::AtomicI64::new(DEFAULT_LEASE_MS),
        }
    }
}

/// How long a lease lasts unless the crawl says otherwise (`[store] lease_secs`).
const DEFAULT_LEASE_MS: i64 = 120_000;

enum Engine {
    /// A SQLite file: one connection for writes, serialised, and (for a
    /// file) a few read-only connections, so the review UI's many readers
    /// do not queue behind each other (WAL lets them read while a write
    /// goes on).
    Sqlite {
        conn: Mutex<Connection>,
        readers: Vec<Mutex<Connection>>,
        next_reader: std::sync::atomic::AtomicUsize,
    },
    /// A PostgreSQL database that several processes and machines share.
    Postgres(postgres::Pool),
}

/// Read-only connections of a store file.
const READERS: usize = 4;

/// Connections one process keeps to a PostgreSQL store: its crawl's
/// writer and judging workers and the review UI's readers.
const POSTGRES_CONNECTIONS: usize = 8;

/// A connection's lock. A panic while holding it leaves SQLite itself
/// consistent (the transaction rolls back), so the poison flag carries no
/// meaning.
fn locked(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(|e| e.into_inner())
}

/// Current time as stored: RFC 3339, UTC, milliseconds.
pub fn now() -> String {
    timestamp(Utc::now())
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Statements a connection keeps compiled: more than the store's distinct
/// statements, so none is compiled twice.
const STATEMENT_CACHE: usize = 256;

/// How long a write waits for another process's write to finish.
const WRITE_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Store {
    /// Opens (creating if needed) the store at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening the store {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let mut readers = Vec::new();
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .with_context(|| format!("opening the store {} for reading", path.display()))?;
            reader.busy_timeout(std::time::Duration::from_secs(10))?;
            reader.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            // Pages through a memory map, not a copy per read() call: most
            // of a busy review UI's time was the kernel copying pages.
            reader.pragma_update(None, "mmap_size", 256i64 << 20)?;
            reader.pragma_update(None, "cache_size", -16_000i64)?;
            readers.push(Mutex::new(reader));
        }
        Store::init(conn, readers)
            .with_context(|| format!("migrating the store {}", path.display()))
    }

    /// Opens (migrating if needed) the PostgreSQL store `url`.
    pub fn open_postgres(url: &PostgresUrl) -> Result<Store> {
        Ok(Store {
            engine: Engine::Postgres(postgres::Pool::open(url.clone(), POSTGRES_CONNECTIONS)?),
            worker: Worker::new(),
        })
    }

    /// An in-memory store, for unit tests.
    #[cfg(test)]
    pub(crate) fn open_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?, Vec::new())
    }

    fn init(mut conn: Connection, readers: Vec<Mutex<Connection>>) -> Result<Store> {
        // Writers from two processes (a crawl and the review UI) take turns:
        // every transaction takes the write lock when it begins, so none
        // has to upgrade a read lock (which SQLite refuses at once, busy
        // handler or not), and a writer that finds the lock taken retries
        // with SQLite's back-off (1 ms growing to 100 ms) for up to 30 s.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        conn.busy_timeout(WRITE_BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations().to_latest(&mut conn)?;
        Ok(Store {
            engine: Engine::Sqlite {
                conn: Mutex::new(conn),
                readers,
                next_reader: Default::default(),
            },
            worker: Worker::new(),
        })
    }

    /// A connection for reads only: a free reader if there is one, else the
    /// next in turn; the write connection for an in-memory store.
    fn reader<'s>(
        conn: &'s Mutex<Connection>,
        readers: &'s [Mutex<Connection>],
        next_reader: &std::sync::atomic::AtomicUsize,
    ) -> MutexGuard<'s, Connection> {
        if readers.is_empty() {
            return locked(conn);
        }
        for reader in readers {
            if let Ok(guard) = reader.try_lock() {
                return guard;
            }
        }
        let turn = next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        locked(&readers[turn % readers.len()])
    }

    /// Runs `work` in one write transaction (IMMEDIATE on SQLite: see
    /// [`Store::init`]).
    fn write<T>(&self, work: impl FnOnce(&db::Db) -> Result<T>) -> Result<T> {
        match &self.engine {
            Engine::Sqlite { conn, .. } => {
                let mut conn = locked(conn);
                let tx = conn.transaction()?;
                let out = work(&db::Db::Sqlite(&tx))?;
                tx.commit()?;
                Ok(out)
            }
            Engine::Postgres(pool) => pool.transaction(db::Access::ReadWrite, work),
        }
    }

    /// Finishes frontier item `item` in one write transaction with what
    /// `work` stores — once. An item finished already is left as it is
    /// (`T::default()`): another crawl took it over when this one's lease
    /// lapsed, or this transaction's own commit landed before the
    /// connection to a PostgreSQL store was lost. So on PostgreSQL a
    /// transaction cut off by a lost connection is run again.
    fn finish_item<T: Default>(
        &self,
        item: ItemId,
        work: impl Fn(&db::Db) -> Result<T>,
    ) -> Result<T> {
        let once = |db: &db::Db| {
            db.serialize_on(&[&format!("frontier item {}", item.0)])?;
            let pending = db.exists(
                "SELECT 1 FROM frontier WHERE id = ?1 AND state = 'pending'",
                db::args![item.0],
            )?;
            match pending {
                true => work(db),
                false => Ok(T::default()),
            }
        };
        self.write_again_if_lost(once)
    }

    /// [`Store::write`] for work that leaves the store the same however
    /// often it runs: on PostgreSQL, run again when the connection is lost
    /// in its middle (whether the first commit landed is unknown).
    fn write_again_if_lost<T>(&self, work: impl Fn(&db::Db) -> Result<T>) -> Result<T> {
        match &self.engine {
            Engine::Sqlite { .. } => self.write(work),
            Engine::Postgres(pool) => pool.transaction_again_if_lost(db::Access::ReadWrite, work),
        }
    }

    /// Runs `work` on SQLite's write connection, outside a transaction:
    /// reads that pass over much of the store (a reader's memory map would
    /// keep every page they touch resident) or must see this connection's
    /// last write. On PostgreSQL, a transaction of its own.
    fn scan<T>(&self, work: impl FnOnce(&db::Db) -> Result<T>) -> Result<T> {
        match &self.engine {
            Engine::Sqlite { conn, .. } => work(&db::Db::Sqlite(&locked(conn))),
            Engine::Postgres(pool) => pool.transaction(db::Access::ReadWrite, work),
        }
    }

    /// Runs `work` on a read connection ([`Store::reader`]); on PostgreSQL,
    /// in a read-only transaction that sees one snapshot, run again when
    /// the connection is lost in its middle (a read stores nothing, so
    /// running it twice is always safe).
    fn read<T>(&self, work: impl Fn(&db::Db) -> Result<T>) -> Result<T> {
        match &self.engine {
            Engine::Sqlite {
                conn,
                readers,
                next_reader,
            } => work(&db::Db::Sqlite(&Store::reader(conn, readers, next_reader))),
            Engine::Postgres(pool) => pool.transaction_again_if_lost(db::Access::ReadOnly, work),
        }
    }

    /// Whether other processes, on other machines too, may share this
    /// store at once (PostgreSQL): their crawls then hold each host's rate
    /// together through the store.
    pub fn is_shared(&self) -> bool {
        matches!(self.engine, Engine::Postgres(_))
    }

    /// SQLite's write connection, for what only SQLite does (copying a
    /// store out of it); on PostgreSQL, an error saying so.
    fn sqlite(&self, what: &str) -> Result<MutexGuard<'_, Connection>> {
        match &self.engine {
            Engine::Sqlite { conn, .. } => Ok(locked(conn)),
            Engine::Postgres(pool) => Err(crate::refusal::Refused::invalid(format!(
                "{what} needs a SQLite store; this workspace's store is {}",
                pool.url()
            ))
            .into()),
        }
    }

    /// Runs a read-only query and returns the first column of every row as
    /// text; for tests that check what was written. A statement that would
    /// write is refused.
    pub fn query_strings(&self, sql: &str) -> Result<Vec<String>> {
        let conn = self.sqlite("a test query")?;
        let mut stmt = conn.prepare(sql)?;
        anyhow::ensure!(stmt.readonly(), "not a read-only query: {sql}");
        let rows = stmt.query_map([], |row| {
            let value: rusqlite::types::Value = row.get(0)?;
            Ok(match value {
                rusqlite::types::Value::Null => String::new(),
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Real(f) => f.to_string(),
                rusqlite::types::Value::Text(t) => t,
                rusqlite::types::Value::Blob(b) => hex::encode(b),
            })
        })?;
        rows.collect::<rusqlite::Result<_>>()
            .context("running a query")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn a_read_whose_connection_the_server_ends_is_read_again() {
        // A restart or failover in the middle of a review page's reads:
        // the page is read again on a new connection, not failed.
        let Some(server) = db::tests::postgres_server() else {
            return;
        };
        db::tests::with_database(&server, |url| {
            let store = Store::open_postgres(&url.parse().unwrap()).unwrap();
            let mut admin = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
            let admin = Mutex::new(&mut admin);
            let runs = std::cell::Cell::new(0);
            let read = store.read(|db| {
                runs.set(runs.get() + 1);
                if runs.get() == 1 {
                    postgres::tests::end_connection(db, &admin)?;
                }
                db.one("SELECT COUNT(*) FROM matches", db::args![], |r| {
                    r.get::<i64>(0)
                })
            });
            assert_eq!(read.unwrap(), 0);
            assert_eq!(runs.get(), 2, "read again once");
        });
    }

    #[test]
    fn blobs_round_trip_exact_bytes_compressed_or_not() {
        let store = Store::open_in_memory().unwrap();
        let run = store.start_run(&["t".into()], None, &[]).unwrap();
        let page = b"<html>".repeat(1000);
        // Incompressible bytes, like a JPEG's.
        let noise: Vec<u8> = (0..200u32)
            .flat_map(|i| Sha256::digest(i.to_le_bytes()))
            .collect();
        let exchanges = [page.clone(), noise.clone()].map(|body| Exchange {
            url: "http://x/".into(),
            method: "GET".into(),
            body: Some(body),
            started_at: Utc::now(),
            ..Exchange::default()
        });
        store.record_exchanges(run.id, &exchanges).unwrap();
        for body in [page, noise] {
            let sha = hex::encode(Sha256::digest(&body));
            assert_eq!(store.blob(&sha).unwrap().unwrap(), body);
        }
        let kinds = store
            .query_strings("SELECT compression FROM blobs ORDER BY bytes")
            .unwrap();
        assert_eq!(kinds, ["deflate", "none"]);
    }

    #[test]
    fn the_test_query_reads_only() {
        let store = Store::open_in_memory().unwrap();
        store.start_run(&["t".into()], None, &[]).unwrap();
        assert_eq!(
            store.query_strings("SELECT COUNT(*) FROM runs").unwrap(),
            ["1"]
        );
        let write = store.query_strings("DELETE FROM runs RETURNING id");
        assert!(write.is_err_and(|e| e.to_string().starts_with("not a read-only query")));
        assert_eq!(
            store.query_strings("SELECT COUNT(*) FROM runs").unwrap(),
            ["1"]
        );
    }

    /// Finishes a search page of target `t` in run `run` showing `cards`;
    /// returns the kinds and URLs of the items it added.
    fn search_with(store: &Store, run: &Run, cards: &[CardListing]) -> Vec<(ItemKind, String)> {
        search_of("t", store, run, cards, 10_000)
    }

    /// The same for `target`, with its `max_listings`.
    fn search_of(
        target: &str,
        store: &Store,
        run: &Run,
        cards: &[CardListing],
        max_listings: usize,
    ) -> Vec<(ItemKind, String)> {
        static PAGES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = PAGES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let page = NewItem {
            target: target.into(),
            kind: ItemKind::Search,
            url: format!("http://x/s?run={}&page={n}", run.id.0),
            query: None,
            page: Some(1),
        };
        let item = store
            .add_items(run.id, std::slice::from_ref(&page))
            .unwrap();
        assert_eq!(item, 1);
        let item = store.pending_items(run.id).unwrap().pop().unwrap();
        let found = SearchFound {
            cards,
            links: &[],
            next_page: None,
            max_listings,
            notes: &[],
        };
        let (added, _) = store.complete_search(run.id, &item, &[], &found).unwrap();
        added.into_iter().map(|i| (i.kind, i.url)).collect()
    }

    fn card_of(url: &str, title: &str, price: f64) -> CardListing {
        CardListing {
            url: url.into(),
            listing: Listing {
                title: Some(title.into()),
                price: Some(price),
                images: vec![format!("{url}.jpg")],
                ..Listing::default()
            },
            always_fetch_item: false,
        }
    }

    #[test]
    fn sellers_are_grouped_alike_from_their_first_listings_or_every_one() {
        use crate::matching::contacts::{Contact, ContactKind};
        let store = Store::open_in_memory().unwrap();
        let run = store.start_run(&["t".into()], None, &[]).unwrap();
        // Three accounts; a and b share a phone on many relistings, c shows
        // an email of its own twice.
        let cards: Vec<CardListing> = (0..12)
            .map(|i| {
                let mut card = card_of(&format!("http://x/item/{i}"), "Cloudrunner", 30.0);
                card.listing.seller = Some(["a", "b", "c"][i % 3].into());
                card
            })
            .collect();
        search_with(&store, &run, &cards);
        for listing in store.listings(None).unwrap() {
            let (kind, value) = match listing.listing.seller.as_deref() {
                Some("c") => (ContactKind::Email, "c@mail.example"),
                _ => (ContactKind::Phone, "+4915123456789"),
            };
            let contact = Contact {
                kind,
                value: value.into(),
            };
            store.record_contacts(listing.id, &[contact]).unwrap();
        }
        let every = store.shown_by_sellers(ShownOn::Every).unwrap();
        let first = store.shown_by_sellers(ShownOn::First).unwrap();
        assert_eq!(every.len(), 12);
        assert_eq!(first.len(), 3, "{first:#?}");
        for row in &first {
            let earliest = every
                .iter()
                .filter(|e| {
                    (&e.target, &e.seller, &e.value) == (&row.target, &row.seller, &row.value)
                })
                .map(|e| e.listing.0)
                .min();
            assert_eq!(Some(row.listing.0), earliest);
        }
        let members = |rows: &[Shown]| -> Vec<_> {
            crate::networks::group(rows, 10)
                .networks
                .into_iter()
                .map(|n| n.members)
                .collect()
        };
        assert_eq!(members(&first), members(&every));
        assert_eq!(members(&first).len(), 1);
    }

    #[test]
    fn another_targets_card_or_page_never_changes_a_listing() {
        let store = Store::open_in_memory().unwrap();
        let run = store
            .start_run(&["a".into(), "b".into()], None, &[])
            .unwrap();
        search_of(
            "a",
            &store,
            &run,
            &[card_of("http://a/1", "A's", 10.0)],
            100,
        );
        // Target b shows a card for a's listing, with other fields.
        let added = search_of("b", &store, &run, &[card_of("http://a/1", "B's", 1.0)], 100);
        assert!(added.is_empty(), "{added:?}");
        let held = &store.listings(None).unwrap()[0];
        assert_eq!(
            (held.target.as_str(), held.listing.title.as_deref()),
            ("a", Some("A's"))
        );
        // And b's item for that page is refused, by kind, leaving it as it was.
        let page = NewItem {
            target: "b".into(),
            kind: ItemKind::Listing,
            url: "http://a/1".into(),
            query: None,
            page: None,
        };
        store.add_items(run.id, &[page]).unwrap();
        let item = store.pending_items(run.id).unwrap().pop().unwrap();
        let other = card_of("http://a/1", "B's page", 2.0).listing;
        store
            .complete_listing(run.id, &item, &[], &other, &[])
            .unwrap();
        let held = &store.listings(None).unwrap()[0];
        assert_eq!(
            (held.target.as_str(), held.listing.title.as_deref()),
            ("a", Some("A's"))
        );
        let errors = store.run_errors(run.id).unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].0, errors[0].1.as_str()),
            (FailureKind::OtherTarget, "http://a/1")
        );
    }

    #[test]
    fn a_run_keeps_at_most_max_listings_of_a_target_and_says_so() {
        let store = Store::open_in_memory().unwrap();
        let run = store.start_run(&["t".into()], None, &[]).unwrap();
        let cards: Vec<CardListing> = (0..5)
            .map(|i| card_of(&format!("http://x/{i}"), "Tidewatch", 10.0))
            .collect();
        search_of("t", &store, &run, &cards[..2], 3);
        // The same two again cost nothing; one new fits, two do not.
        search_of("t", &store, &run, &cards, 3);
        assert_eq!(store.listings(None).unwrap().len(), 3);
        let errors = store.run_errors(run.id).unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, FailureKind::ListingCap);
        assert!(errors[0].2.contains("2 more listings"), "{}", errors[0].2);
    }

    #[test]
    fn cards_cost_their_item_page_only_when_new_to_it_or_changed_after_it() {
        let store = Store::open_in_memory().unwrap();
        let card = |price: f64| CardListing {
            url: "http://x/item/1".into(),
            listing: Listing {
                title: Some("Tidewatch".into()),
                price: Some(price),
                images: vec!["http://x/thumb/1.jpg".into()],
                ..Listing::default()
            },
            always_fetch_item: false,
        };
        let run = store.start_run(&["t".into()], None, &[]).unwrap();
        // New: stored as a card; only its thumbnail is asked for.
        assert_eq!(
            search_with(&store, &run, &[card(10.0)]),
            [(ItemKind::Image, "http://x/thumb/1.jpg".to_string())]
        );
        assert_eq!(store.listings(None).unwrap()[0].stage, Stage::Card);
        // Its item page is read (as the judge asks, after stage one).
        let page = NewItem {
            target: "t".into(),
            kind: ItemKind::Listing,
            url: "http://x/item/1".into(),
            query: None,
            page: None,
        };
        store.add_items(run.id, &[page]).unwrap();
        let item = store.pending_items(run.id).unwrap().pop().unwrap();
        let full = Listing {
            description: Some("From its page".into()),
            ..card(10.0).listing
        };
        store
            .complete_listing(run.id, &item, &[], &full, &[])
            .unwrap();
        assert_eq!(store.listings(None).unwrap()[0].stage, Stage::Item);

        // Next night, the same card: nothing to fetch, the page's fields kept.
        let run = store.start_run(&["t".into()], None, &[]).unwrap();
        assert!(search_with(&store, &run, &[card(10.0)]).is_empty());
        let stored = &store.listings(None).unwrap()[0];
        assert_eq!(stored.listing.description.as_deref(), Some("From its page"));
        // The card changed: its item page is read again.
        let run = store.start_run(&["t".into()], None, &[]).unwrap();
        assert_eq!(
            search_with(&store, &run, &[card(12.0)]),
            [(ItemKind::Listing, "http://x/item/1".to_string())]
        );
        assert_eq!(store.listings(None).unwrap()[0].stage, Stage::Item);
    }
}
