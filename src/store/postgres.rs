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

use std::cell::RefCell;

use anyhow::{Context, Result};
use postgres::{Client, NoTls};

use super::db::{args, Bind, Db, Value};

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
    client.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version BIGINT NOT NULL)"
    ))?;
    let applied: i64 = client
        .query_opt(&format!("SELECT version FROM {VERSION_TABLE}"), &[])?
        .map(|row| row.get(0))
        .unwrap_or(0);
    let all = super::MIGRATIONS;
    if applied > all.len() as i64 {
        return Err(Refused::conflict(format!(
            "the PostgreSQL store {url} has schema version {applied}, newer than this \
             knockoff's {}: upgrade knockoff",
            all.len()
        ))
        .into());
    }
    for (version, sql) in all.iter().enumerate().skip(applied as usize) {
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
        let conn = self.conn();
        let tables = tables_in_copy_order(&conn)?;
        let source = Db::Sqlite(&conn);
        let target = Db::Postgres(RefCell::new(client.transaction()?));
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
        let Db::Postgres(tx) = target else {
            unreachable!("made above")
        };
        tx.into_inner()
            .commit()
            .with_context(|| format!("committing the copy to {url}"))?;
        Ok(Copied { tables: copied })
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
mod tests {
    use super::*;

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
