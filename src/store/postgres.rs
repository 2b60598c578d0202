//! The store's second engine: PostgreSQL, for a store that several
//! machines share. Its schema is made by the same migrations as SQLite's
//! ([`super::migrations`]), translated to PostgreSQL's dialect when they
//! are applied ([`super::db::postgres_ddl`]), and versioned alike;
//! `knockoff store copy` moves a SQLite store into it, every table and
//! blob.
//!
//! A password never travels in a URL (it would land in shell history,
//! `knockoff.toml` and logs): it comes from `PGPASSWORD` or the password
//! file (`PGPASSFILE`, else `~/.pgpass`), as for `psql`.
//!
//! The synchronous `postgres` client, like rusqlite: store calls already
//! block (async callers go through `spawn_blocking`), so the store needs
//! no async client. It must not be called from inside an async task.

use std::path::PathBuf;

use anyhow::{Context, Result};
use postgres::{Client, NoTls};

use super::db::{args, Access, Bind, Db, PgConnection, Value};

use crate::refusal::Refused;

/// A PostgreSQL store's address, as the user wrote it (never with a
/// password, so it can be shown anywhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl std::fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for PostgresUrl {
    type Err = Refused;

    fn from_str(url: &str) -> Result<PostgresUrl, Refused> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Refused::invalid(format!(
                "`{url}` is not a PostgreSQL URL (postgres://user@host:port/database)"
            )));
        }
        let config: postgres::Config = url
            .parse()
            .map_err(|e| Refused::invalid(format!("the PostgreSQL URL `{url}`: {e}")))?;
        if config.get_password().is_some() {
            // Not echoed: the URL holds the password.
            return Err(Refused::invalid(
                "a PostgreSQL URL must not hold a password (it would be kept in shell \
                 history, files and logs): set PGPASSWORD or put it in ~/.pgpass",
            ));
        }
        if config.get_user().is_none() {
            return Err(Refused::invalid(format!(
                "the PostgreSQL URL `{url}` names no user (postgres://user@host:port/database)"
            )));
        }
        Ok(PostgresUrl(url.to_string()))
    }
}

impl PostgresUrl {
    /// Connects, with the password from the environment or the password
    /// file when one is needed.
    pub fn connect(&self) -> Result<Client> {
        let mut config: postgres::Config = self.0.parse().expect("checked when parsed");
        if let Some(password) = password_for(&config) {
            config.password(password);
        }
        config.application_name("knockoff");
        config.connect_timeout(std::time::Duration::from_secs(10));
        config
            .connect(NoTls)
            .with_context(|| format!("connecting to the PostgreSQL store {self}"))
    }
}

/// `PGPASSWORD`, else the first line of the password file that matches
/// the connection (libpq's rules: `host:port:database:user:password`, `*`
/// matching anything, `\` escaping `:` and `\`).
fn password_for(config: &postgres::Config) -> Option<String> {
    if let Some(password) = std::env::var_os("PGPASSWORD") {
        return Some(password.to_string_lossy().into_owned());
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pgpass")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let database = config.get_dbname().unwrap_or(user);
    pgpass_lookup(&text, [&host, &port, database, user])
}

/// The password of the first password-file line matching `wanted` (host,
/// port, database, user).
fn pgpass_lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = pgpass_fields(line);
            if fields.len() != 5 {
                return None;
            }
            let matches = fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field == "*" || field == want);
            matches.then(|| fields[4].clone())
        })
}

fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().expect("never empty").extend(chars.next()),
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

/// The table that records which migrations a PostgreSQL store has had
/// (SQLite keeps it in `PRAGMA user_version`).
const VERSION_TABLE: &str = "knockoff_schema";

/// Brings the schema of the database `url` names up to this build's,
/// each migration in its own transaction. A schema from a newer knockoff
/// is refused by name.
pub(crate) fn migrate(client: &mut Client, url: &PostgresUrl) -> Result<()> {
    // One process migrates at a time: crawls started together on a new
    // store would otherwise race to create the same tables.
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let migrated = apply_migrations(client, url);
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    migrated
}

/// The advisory lock key held while migrating ("knockoff" in ASCII).
const MIGRATION_LOCK: i64 = 0x6b6e_6f63_6b6f_6666;

fn apply_migrations(client: &mut Client, url: &PostgresUrl) -> Result<()> {
    client.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version BIGINT NOT NULL)"
    ))?;
    let applied = schema_version(client, url)?.unwrap_or(0);
    for (version, sql) in super::MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let mut tx = client.transaction()?;
        tx.batch_execute(&super::db::postgres_ddl(sql))
            .with_context(|| format!("migration {} on {url}", version + 1))?;
        tx.execute(&format!("DELETE FROM {VERSION_TABLE}"), &[])?;
        tx.execute(
            &format!("INSERT INTO {VERSION_TABLE} (version) VALUES ($1)"),
            &[&(version as i64 + 1)],
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// The store's schema version (`None` before knockoff made one there);
/// a version newer than this knockoff's is refused by name.
fn schema_version(client: &mut Client, url: &PostgresUrl) -> Result<Option<i64>> {
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&VERSION_TABLE])?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let applied: i64 = client
        .query_opt(&format!("SELECT version FROM {VERSION_TABLE}"), &[])?
        .map(|row| row.get(0))
        .unwrap_or(0);
    let known = super::MIGRATIONS.len();
    if applied > known as i64 {
        return Err(Refused::conflict(format!(
            "the PostgreSQL store {url} has schema version {applied}, newer than this \
             knockoff's {known}: upgrade knockoff"
        ))
        .into());
    }
    Ok(Some(applied))
}

impl PostgresUrl {
    /// What `knockoff check` says of the store, without changing it: that
    /// it answers, and its schema's version against this knockoff's.
    pub fn check(&self) -> Result<String> {
        let mut client = self.connect()?;
        let known = super::MIGRATIONS.len();
        Ok(match schema_version(&mut client, self)? {
            None => format!("store {self}: reachable, empty (the first crawl makes the schema)"),
            Some(v) if v as usize == known => format!("store {self}: reachable, schema version {v}"),
            Some(v) => format!(
                "store {self}: reachable, schema version {v} (the next crawl or serve brings it to {known})"
            ),
        })
    }
}

/// Connections to one PostgreSQL store, opened as they are needed up to
/// a limit and kept for reuse with the statements prepared on them. A
/// connection the server closed (a restart, a network cut) is dropped,
/// not reused, so the next call connects again.
///
/// Written here rather than taken from r2d2: what is pooled is a client
/// together with its prepared statements ([`PgConnection`]), and the
/// pool needs no reaper thread — a few dozen lines over a mutex and a
/// condition variable.
pub(crate) struct Pool {
    url: PostgresUrl,
    max: usize,
    state: std::sync::Mutex<PoolState>,
}

struct PoolState {
    idle: Vec<PgConnection>,
    /// Connections open, idle or in use, or being opened.
    open: usize,
    /// Callers waiting for a connection, first come first served: a
    /// connection given back goes to the first of them, not to whoever
    /// asks next (under load a caller that just gave one back would take
    /// it again and a waiter starve for seconds), and only that one is
    /// woken (waking every waiter on each return cost more CPU than the
    /// statements did with fifty of them).
    waiting: std::collections::VecDeque<std::sync::Arc<Waiter>>,
}

/// One caller waiting for a connection.
#[derive(Default)]
struct Waiter {
    handed: std::sync::Mutex<Option<Handed>>,
    ready: std::sync::Condvar,
}

/// What a waiter is handed. (Moved once per hand-off: not worth a box.)
#[allow(clippy::large_enum_variant)]
enum Handed {
    /// A connection another caller gave back.
    Connection(PgConnection),
    /// Room to open one (a connection was closed): counted as open.
    Room,
}

impl Drop for Pool {
    /// Closes the idle connections on a thread of their own: closing one
    /// blocks on the client's runtime, which panics on an async runtime's
    /// thread (where the review UI's last handle on the store goes).
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        let idle = std::mem::take(&mut state.idle);
        let _ = std::thread::spawn(move || drop(idle)).join();
    }
}

/// Times [`Pool::transaction_again_if_lost`] runs a transaction again.
const LOST_TRIES: u32 = 3;

/// Whether `error` says the connection to the server was lost (closed,
/// cut, or ended by the server's shutdown), not that a statement failed.
fn connection_lost(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<postgres::Error>())
        .any(|e| {
            e.is_closed()
                || e.code().is_some_and(|c| c.code().starts_with("57P"))
                || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        })
}

/// How long a call waits for a connection when all are in use.
const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

impl Pool {
    /// A pool of at most `max` connections to `url`; one is opened (and
    /// the schema migrated on it) at once, so an unreachable server or a
    /// store from a newer knockoff is reported when the store is opened.
    pub(crate) fn open(url: PostgresUrl, max: usize) -> Result<Pool> {
        let mut client = url.connect()?;
        migrate(&mut client, &url)?;
        Ok(Pool {
            url,
            max: max.max(1),
            state: std::sync::Mutex::new(PoolState {
                idle: vec![PgConnection::new(client)],
                open: 1,
                waiting: Default::default(),
            }),
        })
    }

    pub(crate) fn url(&self) -> &PostgresUrl {
        &self.url
    }

    /// Runs `work` in one transaction on a pooled connection. A pooled
    /// connection the server closed while it sat idle (a restart, a
    /// failover, an idle timeout) fails as its transaction begins, before
    /// anything reached the server: it is dropped, the loss logged, and
    /// the transaction begun on another (a new one once the idle ones are
    /// spent). A connection lost after that fails the call: whether its
    /// commit landed is unknown, so it is not run again here (a crawl's
    /// leased item comes back when its lease lapses).
    pub(crate) fn transaction<T>(
        &self,
        access: Access,
        work: impl FnOnce(&Db) -> Result<T>,
    ) -> Result<T> {
        let mut work = Some(work);
        let mut lost = 0;
        loop {
            let mut conn = self.take()?;
            match conn.transaction_once_begun(access, &mut work) {
                Err(error) if work.is_some() && lost <= self.max => {
                    lost += 1;
                    tracing::warn!(
                        "a connection to the PostgreSQL store {} was lost ({error:#}); beginning again on another",
                        self.url
                    );
                    drop(conn);
                    self.forget_one();
                }
                out => {
                    self.give_back(conn);
                    return out;
                }
            }
        }
    }

    /// [`Pool::transaction`], run again when the connection was lost in
    /// its middle (a restart, a failover, a network cut): for work that
    /// cannot be stored twice, however often it runs — whether the first
    /// commit landed is unknown.
    pub(crate) fn transaction_again_if_lost<T>(
        &self,
        access: Access,
        work: impl Fn(&Db) -> Result<T>,
    ) -> Result<T> {
        let mut tries = 0;
        loop {
            match self.transaction(access, &work) {
                Err(error) if tries < LOST_TRIES && connection_lost(&error) => {
                    tries += 1;
                    tracing::warn!(
                        "the connection to the PostgreSQL store {} was lost in a transaction ({error:#}); running it again",
                        self.url
                    );
                    std::thread::sleep(std::time::Duration::from_millis(250) * tries);
                }
                out => return out,
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self) -> Result<PgConnection> {
        let mut state = self.lock();
        let handed = if !state.waiting.is_empty() {
            None
        } else if let Some(conn) = state.idle.pop() {
            Some(Handed::Connection(conn))
        } else if state.open < self.max {
            state.open += 1;
            Some(Handed::Room)
        } else {
            None
        };
        let handed = match handed {
            Some(handed) => handed,
            None => {
                let waiter = std::sync::Arc::new(Waiter::default());
                state.waiting.push_back(waiter.clone());
                drop(state);
                self.wait(&waiter)?
            }
        };
        match handed {
            Handed::Connection(conn) => Ok(conn),
            Handed::Room => self.url.connect().map(PgConnection::new).inspect_err(|_| {
                self.forget_one();
            }),
        }
    }

    /// Waits until `waiter` is handed a connection or room for one, for
    /// at most [`POOL_WAIT`].
    fn wait(&self, waiter: &std::sync::Arc<Waiter>) -> Result<Handed> {
        let deadline = std::time::Instant::now() + POOL_WAIT;
        let mut handed = waiter.handed.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(handed) = handed.take() {
                return Ok(handed);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            handed = waiter
                .ready
                .wait_timeout(handed, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(handed);
        // Handing happens under the pool's lock: with it held, either this
        // waiter is still queued (leave) or it was handed something.
        let mut state = self.lock();
        state.waiting.retain(|w| !std::sync::Arc::ptr_eq(w, waiter));
        drop(state);
        if let Some(handed) = waiter
            .handed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            return Ok(handed);
        }
        anyhow::bail!(
            "all {} connections to the PostgreSQL store {} stayed busy for {} s",
            self.max,
            self.url,
            POOL_WAIT.as_secs()
        )
    }

    /// Hands `handed` to the first waiter, if any; gives it back otherwise.
    fn hand_on(state: &mut PoolState, handed: Handed) -> Option<Handed> {
        let Some(waiter) = state.waiting.pop_front() else {
            return Some(handed);
        };
        *waiter.handed.lock().unwrap_or_else(|e| e.into_inner()) = Some(handed);
        waiter.ready.notify_one();
        None
    }

    fn give_back(&self, conn: PgConnection) {
        if conn.client.is_closed() {
            self.forget_one();
            return;
        }
        let mut state = self.lock();
        if let Some(Handed::Connection(conn)) = Pool::hand_on(&mut state, Handed::Connection(conn))
        {
            state.idle.push(conn);
        }
    }

    /// A connection closed or never opened: room for another.
    fn forget_one(&self) {
        let mut state = self.lock();
        if Pool::hand_on(&mut state, Handed::Room).is_some() {
            state.open -= 1;
        }
    }
}

/// What `knockoff store copy` copied: rows per table, in copy order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub tables: Vec<(String, u64)>,
}

/// Rows inserted per statement (PostgreSQL takes at most 65,535
/// parameters in one).
const ROWS_PER_INSERT: usize = 200;
/// …or fewer, once a statement's values reach this many bytes (blobs).
const BYTES_PER_INSERT: usize = 8 << 20;

impl super::Store {
    /// Copies every table of this (SQLite) store into the empty PostgreSQL
    /// store `url` — made there by the same migrations — in one
    /// transaction, then checks each table's row count on both sides.
    /// Nothing is written to `url` unless all of it is.
    pub fn copy_to_postgres(&self, url: &PostgresUrl) -> Result<Copied> {
        let mut client = url.connect()?;
        migrate(&mut client, url)?;
        let conn = self.sqlite("copying a store to PostgreSQL")?;
        let tables = tables_in_copy_order(&conn)?;
        let source = Db::Sqlite(&conn);
        PgConnection::new(client).transaction(Access::ReadWrite, |target| {
        let count = |table: &str| -> Result<u64> {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            Ok(target.one(&sql, args![], |r| r.get::<i64>(0))? as u64)
        };
        for table in &tables {
            let rows = count(table)?;
            if rows > 0 {
                return Err(Refused::conflict(format!(
                    "the PostgreSQL store {url} is not empty ({rows} rows in {table}): \
                     copy into a new database"
                ))
                .into());
            }
        }
        let mut copied = Vec::new();
        for table in &tables {
            let columns = columns_of(&conn, table)?;
            let list = columns.join(", ");
            let insert = |batch: &[Value]| -> Result<()> {
                let n = columns.len();
                let tuples: Vec<String> = (0..batch.len() / n)
                    .map(|row| {
                        let marks: Vec<String> =
                            (1..=n).map(|c| format!("?{}", row * n + c)).collect();
                        format!("({})", marks.join(", "))
                    })
                    .collect();
                let values: Vec<&dyn Bind> = batch.iter().map(|v| v as &dyn Bind).collect();
                target
                    .exec(
                        &format!("INSERT INTO {table} ({list}) VALUES {}", tuples.join(", ")),
                        &values,
                    )
                    .with_context(|| format!("copying table {table} to {url}"))?;
                Ok(())
            };
            let mut batch: Vec<Value> = Vec::new();
            let (mut batch_bytes, mut rows) = (0usize, 0u64);
            source.each(&format!("SELECT {list} FROM {table}"), args![], |row| {
                for c in 0..columns.len() {
                    let value: Value = row.get(c)?;
                    batch_bytes += match &value {
                        Value::Blob(b) => b.len(),
                        Value::Text(t) => t.len(),
                        _ => 8,
                    };
                    batch.push(value);
                }
                rows += 1;
                if batch.len() >= ROWS_PER_INSERT * columns.len() || batch_bytes >= BYTES_PER_INSERT
                {
                    insert(&batch)?;
                    batch.clear();
                    batch_bytes = 0;
                }
                Ok(())
            })?;
            if !batch.is_empty() {
                insert(&batch)?;
            }
            let identity: i64 = target.one(
                "SELECT COUNT(*) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = ?1 \
                 AND column_name = 'id' AND is_identity = 'YES'",
                args![table],
                |r| r.get(0),
            )?;
            if identity > 0 {
                // Rows keep their ids; new ones continue after them.
                target.one(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                         COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    ),
                    args![],
                    |_| Ok(()),
                )?;
            }
            copied.push((table.clone(), rows));
        }
        for (table, rows) in &copied {
            let there = count(table)?;
            anyhow::ensure!(
                there == *rows,
                "copying to {url}: table {table} has {there} rows there, {rows} here; nothing was kept"
            );
        }
        Ok(Copied { tables: copied })
        })
        .with_context(|| format!("copying the store to {url}"))
    }
}

/// The store's tables, each after every table it refers to.
fn tables_in_copy_order(conn: &rusqlite::Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let mut left: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut parents = std::collections::BTreeMap::new();
    for table in &left {
        let mut fk = conn.prepare("SELECT \"table\" FROM pragma_foreign_key_list(?1)")?;
        let refers: Vec<String> = fk
            .query_map([table], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        parents.insert(table.clone(), refers);
    }
    let mut order: Vec<String> = Vec::new();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|t| parents[t].iter().all(|p| p == t || order.contains(p)))
            .context("the store's tables refer to each other in a cycle")?;
        order.push(left.remove(ready));
    }
    Ok(order)
}

fn columns_of(conn: &rusqlite::Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
    let columns = stmt
        .query_map([table], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(columns)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::db::args;
    use crate::store::db::tests::{postgres_server, with_database};

    #[test]
    fn callers_share_a_small_pool_in_turn_and_each_is_served() {
        let Some(server) = postgres_server() else {
            return;
        };
        with_database(&server, |url| {
            let pool = Pool::open(url.parse().unwrap(), 2).unwrap();
            let served = std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|s| {
                for _ in 0..8 {
                    s.spawn(|| {
                        for _ in 0..20 {
                            let n: i64 = pool
                                .transaction(Access::ReadOnly, |db| {
                                    db.one("SELECT 1", args![], |r| r.get(0))
                                })
                                .unwrap();
                            served.fetch_add(n as usize, std::sync::atomic::Ordering::Relaxed);
                        }
                    });
                }
            });
            assert_eq!(served.into_inner(), 160);
            let state = pool.state.lock().unwrap();
            assert!(state.open <= 2 && state.waiting.is_empty());
        });
    }

    #[test]
    fn connections_the_server_closed_are_replaced_before_a_transaction_begins() {
        let Some(server) = postgres_server() else {
            return;
        };
        with_database(&server, |url| {
            let pool = Pool::open(url.parse().unwrap(), 3).unwrap();
            let one = |pool: &Pool| {
                pool.transaction(Access::ReadWrite, |db| {
                    db.one("SELECT 1", args![], |r| r.get::<i64>(0))
                })
            };
            // Three connections open and idle in the pool.
            let barrier = std::sync::Barrier::new(3);
            std::thread::scope(|s| {
                for _ in 0..3 {
                    s.spawn(|| {
                        pool.transaction(Access::ReadOnly, |_| {
                            barrier.wait();
                            Ok(())
                        })
                        .unwrap()
                    });
                }
            });
            assert_eq!(pool.lock().idle.len(), 3);
            // The server ends them, as a restart or failover would.
            let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
            let ended: i64 = admin
                .query_one(
                    "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
                    &[],
                )
                .unwrap()
                .get(0);
            assert_eq!(ended, 3);
            assert_eq!(one(&pool).unwrap(), 1, "begun again on a new connection");
            let state = pool.lock();
            assert!(
                state.open <= 3 && state.idle.len() == 1,
                "the lost ones are forgotten"
            );
        });
    }

    /// Ends `db`'s connection from `admin`'s, as a server restart or a
    /// failover would, between two of its statements.
    pub(crate) fn end_connection(db: &Db, admin: &std::sync::Mutex<&mut Client>) -> Result<()> {
        let pid: i64 = db.one("SELECT CAST(pg_backend_pid() AS BIGINT)", args![], |r| {
            r.get(0)
        })?;
        let pid = i32::try_from(pid).expect("a backend's pid");
        admin
            .lock()
            .unwrap()
            .execute("SELECT pg_terminate_backend($1)", &[&pid])?;
        Ok(())
    }

    #[test]
    fn a_transaction_cut_off_by_a_lost_connection_runs_again_when_asked() {
        let Some(server) = postgres_server() else {
            return;
        };
        with_database(&server, |url| {
            let pool = Pool::open(url.parse().unwrap(), 2).unwrap();
            let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
            let admin = std::sync::Mutex::new(&mut admin);
            let runs = std::cell::Cell::new(0);
            // The first run's connection is ended by the server between
            // its statements.
            let work = |db: &Db| {
                runs.set(runs.get() + 1);
                if runs.get() == 1 {
                    end_connection(db, &admin)?;
                }
                db.one("SELECT 7", args![], |r| r.get::<i64>(0))
            };
            assert_eq!(
                pool.transaction_again_if_lost(Access::ReadWrite, work)
                    .unwrap(),
                7
            );
            assert_eq!(runs.get(), 2);
            runs.set(0);
            let once = pool.transaction(Access::ReadWrite, work).unwrap_err();
            assert!(connection_lost(&once), "{once:#}");
            assert_eq!(runs.get(), 1, "run once when not asked");
        });
    }

    #[test]
    fn a_url_with_a_password_is_refused_without_echoing_it() {
        let refused = "postgres://alice:s3cret@db.example:5432/brand"
            .parse::<PostgresUrl>()
            .unwrap_err()
            .to_string();
        assert!(refused.contains("must not hold a password"), "{refused}");
        assert!(!refused.contains("s3cret"), "{refused}");
        assert!("postgres://alice@db.example:5432/brand"
            .parse::<PostgresUrl>()
            .is_ok());
        let not = "mysql://alice@db/brand".parse::<PostgresUrl>().unwrap_err();
        assert!(not.to_string().contains("not a PostgreSQL URL"), "{not}");
        let nobody = "postgres://db.example/brand"
            .parse::<PostgresUrl>()
            .unwrap_err();
        assert!(nobody.to_string().contains("names no user"), "{nobody}");
    }

    #[test]
    fn the_password_file_is_read_as_libpq_reads_it() {
        let file = "# comment\n\
                    other:5432:*:alice:wrong\n\
                    db.example:5432:brand:alice:pa\\:ss\\\\word\n\
                    *:*:*:*:fallback\n";
        let want = ["db.example", "5432", "brand", "alice"];
        assert_eq!(pgpass_lookup(file, want).as_deref(), Some("pa:ss\\word"));
        let other = ["db.example", "6543", "brand", "alice"];
        assert_eq!(pgpass_lookup(file, other).as_deref(), Some("fallback"));
        assert_eq!(pgpass_lookup("short:line\n", want), None);
    }
}
