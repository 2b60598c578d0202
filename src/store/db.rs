//! One way to run a statement on either engine, SQLite or PostgreSQL, so
//! each of the store's statements is written once.
//!
//! Statements are written in the dialect both engines share, with `?1`,
//! `?2`… parameters (rewritten to `$1`, `$2`… for PostgreSQL). Where
//! nothing else gives a parameter its type (`?1 IS NULL`), it is cast
//! (`CAST(?1 AS TEXT) IS NULL`): PostgreSQL must know it. Values are
//! SQLite's five kinds ([`Arg`] in, [`Column`] out); on PostgreSQL they
//! are converted to and from the column's own type, as SQLite's loose
//! typing would, so a statement reads the same on both.
//!
//! The store's parts move onto this layer one at a time (`accounts.rs`
//! first); a part not yet moved wraps its rusqlite connection as
//! [`Db::Sqlite`] to call one that has.

use std::cell::RefCell;
use std::collections::HashMap;

use anyhow::{anyhow, Context, Result};
use postgres::types::{FromSql, IsNull, ToSql, Type};
use postgres::Statement;

/// A connection (or a transaction on one) to run statements on.
pub(crate) enum Db<'c> {
    Sqlite(&'c rusqlite::Connection),
    /// Inside a transaction: PostgreSQL's statements run in one (a write's,
    /// or a read's, which sees one snapshot), each prepared once per
    /// connection.
    Postgres {
        tx: RefCell<postgres::Transaction<'c>>,
        statements: RefCell<&'c mut Statements>,
    },
}

/// The statements a PostgreSQL connection has prepared, by their SQL.
pub(crate) type Statements = HashMap<String, Statement>;

/// Statements a PostgreSQL connection keeps prepared; past it, the cache
/// starts again (SQL built at run time, such as a copy's batches, would
/// otherwise grow it without end).
const PREPARED_STATEMENTS: usize = 512;

/// A PostgreSQL connection and the statements prepared on it.
pub(crate) struct PgConnection {
    pub(crate) client: postgres::Client,
    statements: Statements,
}

/// What a PostgreSQL transaction may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    ReadWrite,
    /// Reads of one snapshot.
    ReadOnly,
}

impl PgConnection {
    pub(crate) fn new(client: postgres::Client) -> PgConnection {
        PgConnection {
            client,
            statements: Statements::new(),
        }
    }

    /// Runs `work` in one transaction, committed when it returns `Ok`.
    pub(crate) fn transaction<T>(
        &mut self,
        access: Access,
        work: impl FnOnce(&Db) -> Result<T>,
    ) -> Result<T> {
        self.transaction_once_begun(access, &mut Some(work))
    }

    /// Runs `work` (taken out of its `Option` only once the transaction
    /// has begun) in one transaction, committed when it returns `Ok`. An
    /// error with `work` still there means the transaction never began:
    /// nothing reached the server.
    pub(crate) fn transaction_once_begun<T>(
        &mut self,
        access: Access,
        work: &mut Option<impl FnOnce(&Db) -> Result<T>>,
    ) -> Result<T> {
        let PgConnection { client, statements } = self;
        let tx = match access {
            Access::ReadWrite => client.transaction()?,
            Access::ReadOnly => client
                .build_transaction()
                .read_only(true)
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .start()?,
        };
        let Some(work) = work.take() else {
            anyhow::bail!("a transaction's work was run already")
        };
        let db = Db::Postgres {
            tx: RefCell::new(tx),
            statements: RefCell::new(statements),
        };
        let out = work(&db)?;
        let Db::Postgres { tx, .. } = db else {
            unreachable!("made above")
        };
        tx.into_inner().commit()?;
        Ok(out)
    }
}

/// A value bound to a statement parameter, borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Arg<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What may be bound to a parameter.
pub(crate) trait Bind {
    fn arg(&self) -> Arg<'_>;
}

macro_rules! bind_integer {
    ($($t:ty),*) => {$(
        impl Bind for $t {
            fn arg(&self) -> Arg<'_> {
                Arg::Integer(*self as i64)
            }
        }
    )*};
}
bind_integer!(i64, i32, u16, u32, usize, u64, bool);

impl Bind for f64 {
    fn arg(&self) -> Arg<'_> {
        Arg::Real(*self)
    }
}

impl Bind for str {
    fn arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}

impl Bind for String {
    fn arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}

impl Bind for [u8] {
    fn arg(&self) -> Arg<'_> {
        Arg::Blob(self)
    }
}

impl Bind for Vec<u8> {
    fn arg(&self) -> Arg<'_> {
        Arg::Blob(self)
    }
}

impl<T: Bind + ?Sized> Bind for &T {
    fn arg(&self) -> Arg<'_> {
        (**self).arg()
    }
}

impl Bind for Value {
    fn arg(&self) -> Arg<'_> {
        match self {
            Value::Null => Arg::Null,
            Value::Integer(i) => Arg::Integer(*i),
            Value::Real(f) => Arg::Real(*f),
            Value::Text(s) => Arg::Text(s),
            Value::Blob(b) => Arg::Blob(b),
        }
    }
}

impl<T: Bind> Bind for Option<T> {
    fn arg(&self) -> Arg<'_> {
        match self {
            Some(value) => value.arg(),
            None => Arg::Null,
        }
    }
}

/// The parameters of a statement: `args![a, b]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$(&$value as &dyn $crate::store::db::Bind),*] as &[&dyn $crate::store::db::Bind]
    };
}
pub(crate) use args;

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ValueRef;
        Ok(rusqlite::types::ToSqlOutput::Borrowed(match *self {
            Arg::Null => ValueRef::Null,
            Arg::Integer(i) => ValueRef::Integer(i),
            Arg::Real(f) => ValueRef::Real(f),
            Arg::Text(s) => ValueRef::Text(s.as_bytes()),
            Arg::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Integer(i) if *ty == Type::INT8 => i.to_sql(ty, out),
            Arg::Integer(i) if *ty == Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
            Arg::Integer(i) if *ty == Type::FLOAT8 => (i as f64).to_sql(ty, out),
            Arg::Integer(i) if *ty == Type::BOOL => (i != 0).to_sql(ty, out),
            Arg::Integer(i) if *ty == Type::TEXT => i.to_string().to_sql(ty, out),
            Arg::Real(f) if *ty == Type::FLOAT8 => f.to_sql(ty, out),
            Arg::Real(f) if *ty == Type::TEXT => f.to_string().to_sql(ty, out),
            Arg::Text(s) if <&str as ToSql>::accepts(ty) => s.to_sql(ty, out),
            Arg::Blob(b) if *ty == Type::BYTEA => b.to_sql(ty, out),
            arg => Err(format!("{arg:?} cannot be bound to a {ty} parameter").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A value as read, in SQLite's five kinds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Value, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(Vec::<u8>::from_sql(ty, raw)?),
            _ => Value::Text(String::from_sql(ty, raw)?),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INT8
            || *ty == Type::INT4
            || *ty == Type::INT2
            || *ty == Type::BOOL
            || *ty == Type::FLOAT8
            || *ty == Type::FLOAT4
            || *ty == Type::BYTEA
            || <String as FromSql>::accepts(ty)
    }
}

/// What a column may be read as.
pub(crate) trait Column: Sized {
    fn from_value(value: Value) -> Result<Self, String>;
}

impl Column for Value {
    fn from_value(value: Value) -> Result<Value, String> {
        Ok(value)
    }
}

impl Column for i64 {
    fn from_value(value: Value) -> Result<i64, String> {
        match value {
            Value::Integer(i) => Ok(i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

impl Column for u32 {
    fn from_value(value: Value) -> Result<u32, String> {
        let n = i64::from_value(value)?;
        u32::try_from(n).map_err(|_| format!("{n} is out of range"))
    }
}

impl Column for f64 {
    fn from_value(value: Value) -> Result<f64, String> {
        match value {
            Value::Real(f) => Ok(f),
            Value::Integer(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}

impl Column for bool {
    fn from_value(value: Value) -> Result<bool, String> {
        i64::from_value(value).map(|i| i != 0)
    }
}

impl Column for String {
    fn from_value(value: Value) -> Result<String, String> {
        match value {
            Value::Text(s) => Ok(s),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl Column for Vec<u8> {
    fn from_value(value: Value) -> Result<Vec<u8>, String> {
        match value {
            Value::Blob(b) => Ok(b),
            other => Err(format!("expected bytes, found {other:?}")),
        }
    }
}

impl<T: Column> Column for Option<T> {
    fn from_value(value: Value) -> Result<Option<T>, String> {
        match value {
            Value::Null => Ok(None),
            value => T::from_value(value).map(Some),
        }
    }
}

/// One row of a result.
pub(crate) enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    /// Column `i` (from 0).
    pub(crate) fn get<T: Column>(&self, i: usize) -> Result<T> {
        let value = match self {
            Row::Sqlite(row) => match row.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(n) => Value::Integer(n),
                rusqlite::types::ValueRef::Real(f) => Value::Real(f),
                rusqlite::types::ValueRef::Text(t) => {
                    Value::Text(String::from_utf8_lossy(t).into_owned())
                }
                rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            },
            Row::Postgres(row) => row.try_get(i)?,
        };
        T::from_value(value).map_err(|e| anyhow!("column {i}: {e}"))
    }

    /// Column `i` read as a member of its closed set ([`crate::words`]):
    /// a word the store does not know is an error naming the set and the
    /// choices, never a default.
    pub(crate) fn word<T>(&self, i: usize) -> Result<T>
    where
        T: std::str::FromStr<Err = crate::words::UnknownWord>,
    {
        let text: String = self.get(i)?;
        text.parse().map_err(|e| anyhow!("column {i}: {e}"))
    }

    /// As [`Row::word`], for a column that may be NULL.
    pub(crate) fn optional_word<T>(&self, i: usize) -> Result<Option<T>>
    where
        T: std::str::FromStr<Err = crate::words::UnknownWord>,
    {
        let text: Option<String> = self.get(i)?;
        text.map(|text| text.parse().map_err(|e| anyhow!("column {i}: {e}")))
            .transpose()
    }
}

/// `sql` with SQLite's numbered parameters (`?1`) as PostgreSQL's (`$1`),
/// outside quoted strings and names.
pub(crate) fn numbered_for_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '?') => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A SQLite migration in PostgreSQL's dialect: 64-bit integers, a rowid
/// key as an identity column, bytea for blobs, and the append-only
/// triggers as PL/pgSQL.
pub(crate) fn postgres_ddl(sqlite: &str) -> String {
    use std::sync::OnceLock;
    static RULES: OnceLock<Vec<(regex::Regex, &str)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            // A rowid key of its own (not one borrowed from another table).
            (
                r"(?m)^(\s*id\s+)INTEGER PRIMARY KEY\s*,",
                "${1}BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,",
            ),
            (r"\bINTEGER\b", "BIGINT"),
            (r"\bREAL\b", "DOUBLE PRECISION"),
            (r"\bBLOB\b", "BYTEA"),
            (r"\)\s*WITHOUT ROWID\s*;", ");"),
            (
                r"(?s)CREATE TRIGGER (\w+) BEFORE (UPDATE|DELETE) ON (\w+)\s*BEGIN SELECT RAISE\(ABORT, '([^']*)'\); END;",
                "CREATE FUNCTION ${1}() RETURNS trigger LANGUAGE plpgsql AS \
                 $$$$ BEGIN RAISE EXCEPTION '${4}'; END $$$$;\n\
                 CREATE TRIGGER ${1} BEFORE ${2} ON ${3} FOR EACH ROW EXECUTE FUNCTION ${1}();",
            ),
        ]
        .into_iter()
        .map(|(pattern, replacement)| {
            (
                regex::Regex::new(pattern).expect("a valid pattern"),
                replacement,
            )
        })
        .collect()
    });
    rules
        .iter()
        .fold(sqlite.to_string(), |sql, (pattern, replacement)| {
            pattern.replace_all(&sql, *replacement).into_owned()
        })
}

impl Db<'_> {
    /// The integers of the JSON array bound to parameter `param`, as a
    /// subquery (`l.id IN (…)`): one parameter however many there are,
    /// so the statement is compiled once.
    pub(crate) fn json_integers(&self, param: usize) -> String {
        match self {
            Db::Sqlite(_) => format!("SELECT value FROM json_each(?{param})"),
            Db::Postgres { .. } => format!(
                "SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(CAST(?{param} AS TEXT) AS JSON))"
            ),
        }
    }

    /// What ends a `SELECT` whose rows the transaction goes on to claim:
    /// on PostgreSQL, rows another transaction is claiming are skipped,
    /// not waited for (and rows changed since the snapshot are checked
    /// again); SQLite's write transactions run one at a time already.
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "",
            Db::Postgres { .. } => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Runs a statement; the number of rows it changed.
    pub(crate) fn exec(&self, sql: &str, args: &[&dyn Bind]) -> Result<u64> {
        match self {
            Db::Sqlite(conn) => {
                let n = conn
                    .prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(args.iter().map(|a| a.arg())))?;
                Ok(n as u64)
            }
            Db::Postgres { tx, .. } => {
                let bound: Vec<Arg> = args.iter().map(|a| a.arg()).collect();
                let params: Vec<&(dyn ToSql + Sync)> =
                    bound.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
                let statement = self.prepared(sql)?;
                Ok(tx.borrow_mut().execute(&statement, &params)?)
            }
        }
    }

    /// Hands each row of a query to `read`, one at a time (SQLite reads
    /// them as they are asked for).
    pub(crate) fn each(
        &self,
        sql: &str,
        args: &[&dyn Bind],
        mut read: impl FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        match self {
            Db::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows =
                    statement.query(rusqlite::params_from_iter(args.iter().map(|a| a.arg())))?;
                while let Some(row) = rows.next()? {
                    read(&Row::Sqlite(row))?;
                }
                Ok(())
            }
            Db::Postgres { tx, .. } => {
                let bound: Vec<Arg> = args.iter().map(|a| a.arg()).collect();
                let params: Vec<&(dyn ToSql + Sync)> =
                    bound.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
                // Read whole, so `read` may run statements of its own.
                let statement = self.prepared(sql)?;
                let rows = tx.borrow_mut().query(&statement, &params)?;
                for row in &rows {
                    read(&Row::Postgres(row))?;
                }
                Ok(())
            }
        }
    }

    /// Every row of a query, each read by `read`.
    pub(crate) fn all<T>(
        &self,
        sql: &str,
        args: &[&dyn Bind],
        mut read: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, args, |row| {
            out.push(read(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, if there is one.
    pub(crate) fn optional<T>(
        &self,
        sql: &str,
        args: &[&dyn Bind],
        read: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut read = Some(read);
        let mut first = self.all(sql, args, |row| match read.take() {
            Some(read) => read(row).map(Some),
            None => Ok(None),
        })?;
        Ok(if first.is_empty() {
            None
        } else {
            first.swap_remove(0)
        })
    }

    /// Whether a query finds a row.
    pub(crate) fn exists(&self, sql: &str, args: &[&dyn Bind]) -> Result<bool> {
        Ok(self.optional(sql, args, |_| Ok(()))?.is_some())
    }

    /// Makes every other transaction that calls this with one of the same
    /// `keys` wait until this one ends: what reading a thing and then
    /// writing it needs when other processes may write it at once.
    /// SQLite needs nothing: its transactions take the write lock when
    /// they begin; PostgreSQL takes an advisory lock per key, held to the
    /// end of the transaction, all of them in one order (by lock id), so
    /// two transactions locking overlapping sets never wait on each other
    /// in a circle. Call it before the transaction writes anything else.
    pub(crate) fn serialize_on(&self, keys: &[&str]) -> Result<()> {
        if matches!(self, Db::Sqlite(_)) || keys.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<i64> = keys
            .iter()
            .map(|key| {
                let digest = <sha2::Sha256 as sha2::Digest>::digest(key.as_bytes());
                i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        // One round trip; the locks are taken in the array's order.
        self.each(
            "SELECT CAST(pg_advisory_xact_lock(k) AS TEXT)
             FROM unnest(CAST(string_to_array(?1, ',') AS BIGINT[])) AS t(k)",
            args![ids.join(",")],
            |_| Ok(()),
        )
    }

    /// The time now in milliseconds since the epoch: the database
    /// server's clock on PostgreSQL (one clock for every machine sharing
    /// it), this machine's on SQLite.
    pub(crate) fn clock_ms(&self) -> Result<i64> {
        match self {
            Db::Sqlite(_) => Ok(chrono::Utc::now().timestamp_millis()),
            Db::Postgres { .. } => self.one(
                "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
                args![],
                |r| r.get(0),
            ),
        }
    }

    /// `sql` prepared on this PostgreSQL connection, once.
    fn prepared(&self, sql: &str) -> Result<Statement> {
        let Db::Postgres { tx, statements } = self else {
            unreachable!("only PostgreSQL prepares statements here")
        };
        let mut statements = statements.borrow_mut();
        if let Some(statement) = statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = tx.borrow_mut().prepare(&numbered_for_postgres(sql))?;
        if statements.len() >= PREPARED_STATEMENTS {
            statements.clear();
        }
        statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    /// The first row of a query, which must have one.
    pub(crate) fn one<T>(
        &self,
        sql: &str,
        args: &[&dyn Bind],
        read: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        self.optional(sql, args, read)?.with_context(|| {
            format!(
                "no row from: {}",
                sql.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PostgreSQL server for the store's unit tests, as for the
    /// integration tests: `KNOCKOFF_TEST_POSTGRES`; without it the test
    /// says so loudly and passes, unless `KNOCKOFF_REQUIRE_EXTERNAL` is set.
    pub(crate) fn postgres_server() -> Option<String> {
        let url = std::env::var("KNOCKOFF_TEST_POSTGRES").ok();
        if url.is_none() {
            let message = "A PostgreSQL server is not running (set KNOCKOFF_TEST_POSTGRES=\
                           postgres://postgres@127.0.0.1:PORT/postgres; .ci/run does)";
            assert!(
                std::env::var_os("KNOCKOFF_REQUIRE_EXTERNAL").is_none(),
                "{message}, and KNOCKOFF_REQUIRE_EXTERNAL makes it required"
            );
            eprintln!("\n*** SKIPPED: {message} ***\n");
        }
        url
    }

    /// Runs `work` with the URL of a new database on the test server,
    /// dropped after.
    pub(crate) fn with_database(server: &str, work: impl FnOnce(&str)) {
        let mut admin = postgres::Client::connect(server, postgres::NoTls).unwrap();
        let name = format!("knockoff_unit_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        work(&format!("{}/{name}", server.rsplit_once('/').unwrap().0));
        admin
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .unwrap();
    }

    /// Runs `check` on a fresh SQLite database and, when a server is at
    /// hand, on a fresh PostgreSQL one, each holding `schema` (SQLite's
    /// dialect, translated as migrations are).
    pub(crate) fn on_both(schema: &str, check: impl Fn(&Db)) {
        let sqlite = rusqlite::Connection::open_in_memory().unwrap();
        sqlite.execute_batch(schema).unwrap();
        check(&Db::Sqlite(&sqlite));
        let Some(server) = postgres_server() else {
            return;
        };
        with_database(&server, |url| {
            let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
            client.batch_execute(&postgres_ddl(schema)).unwrap();
            PgConnection::new(client)
                .transaction(Access::ReadWrite, |db| {
                    check(db);
                    Ok(())
                })
                .unwrap();
        });
    }

    /// Runs `check` on a fresh in-memory store and, when a server is at
    /// hand, on a fresh PostgreSQL store.
    pub(crate) fn on_both_stores(check: impl Fn(&crate::store::Store)) {
        check(&crate::store::Store::open_in_memory().unwrap());
        let Some(server) = postgres_server() else {
            return;
        };
        with_database(&server, |url| {
            check(&crate::store::Store::open_postgres(&url.parse().unwrap()).unwrap());
        });
    }

    /// Runs `check` with two stores on one database — two crawls sharing
    /// it: a SQLite file, and when a server is at hand a PostgreSQL
    /// database.
    pub(crate) fn on_both_shared(check: impl Fn(&crate::store::Store, &crate::store::Store)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("knockoff.db");
        let first = crate::store::Store::open(&path).unwrap();
        check(&first, &crate::store::Store::open(&path).unwrap());
        let Some(server) = postgres_server() else {
            return;
        };
        with_database(&server, |url| {
            let url: crate::store::PostgresUrl = url.parse().unwrap();
            let first = crate::store::Store::open_postgres(&url).unwrap();
            check(&first, &crate::store::Store::open_postgres(&url).unwrap());
        });
    }

    #[test]
    fn migrations_read_in_postgresql_dialect() {
        let sql = "CREATE TABLE t (\n    id  INTEGER PRIMARY KEY,\n    n INTEGER, price REAL,\n    data BLOB NOT NULL\n);\n\
                   CREATE TABLE k (\n    listing_id  INTEGER PRIMARY KEY REFERENCES t(id)\n) WITHOUT ROWID;\n\
                   CREATE TRIGGER t_no_update BEFORE UPDATE ON t\nBEGIN SELECT RAISE(ABORT, 'append-only'); END;";
        let pg = postgres_ddl(sql);
        assert!(
            pg.contains("id  BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"),
            "{pg}"
        );
        assert!(pg.contains("n BIGINT, price DOUBLE PRECISION"), "{pg}");
        assert!(pg.contains("data BYTEA NOT NULL"), "{pg}");
        assert!(
            pg.contains("listing_id  BIGINT PRIMARY KEY REFERENCES t(id)\n);"),
            "{pg}"
        );
        assert!(pg.contains("RAISE EXCEPTION 'append-only'"), "{pg}");
        assert!(
            pg.contains("CREATE TRIGGER t_no_update BEFORE UPDATE ON t FOR EACH ROW"),
            "{pg}"
        );
        assert!(!pg.contains("INTEGER") && !pg.contains("ROWID") && !pg.contains("RAISE(ABORT"));
    }

    #[test]
    fn numbered_parameters_are_rewritten_outside_quotes() {
        assert_eq!(
            numbered_for_postgres("SELECT '?1', \"a?\" FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', \"a?\" FROM t WHERE a = $1 AND b = $12"
        );
    }

    #[test]
    fn values_round_trip_alike_on_both_engines() {
        let schema = "CREATE TABLE t (
            id INTEGER PRIMARY KEY,
            n INTEGER, x REAL, s TEXT, b BLOB
        );";
        on_both(schema, |db| {
            let bytes = vec![0u8, 159, 255, 7];
            for (n, x, s) in [(i64::MAX, 1.5, "é ✓"), (-3, -0.25, "")] {
                db.exec(
                    "INSERT INTO t (n, x, s, b) VALUES (?1, ?2, ?3, ?4)",
                    args![n, x, s, bytes],
                )
                .unwrap();
            }
            db.exec(
                "INSERT INTO t (n, x, s, b) VALUES (?1, ?2, ?3, ?4)",
                args![None::<i64>, 2i64, None::<&str>, None::<Vec<u8>>],
            )
            .unwrap();
            let rows = db
                .all("SELECT id, n, x, s, b FROM t ORDER BY id", args![], |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        r.get::<Option<i64>>(1)?,
                        r.get::<f64>(2)?,
                        r.get::<Option<String>>(3)?,
                        r.get::<Option<Vec<u8>>>(4)?,
                    ))
                })
                .unwrap();
            assert_eq!(
                rows,
                [
                    (
                        1,
                        Some(i64::MAX),
                        1.5,
                        Some("é ✓".to_string()),
                        Some(bytes.clone())
                    ),
                    (2, Some(-3), -0.25, Some(String::new()), Some(bytes.clone())),
                    (3, None, 2.0, None, None),
                ]
            );
            // A parameter used twice, and a count.
            let n: i64 = db
                .one(
                    "SELECT COUNT(*) FROM t WHERE x > ?1 OR n = ?1",
                    args![0i64],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 2);
            let none = db
                .optional("SELECT s FROM t WHERE id = ?1", args![99i64], |r| {
                    r.get::<String>(0)
                })
                .unwrap();
            assert_eq!(none, None);
            let changed = db.exec("DELETE FROM t WHERE n IS NULL", args![]).unwrap();
            assert_eq!(changed, 1);
            // Reading a column as the wrong kind is an error naming it.
            let wrong = db
                .one("SELECT s FROM t WHERE id = 1", args![], |r| r.get::<i64>(0))
                .unwrap_err();
            assert!(
                wrong.to_string().contains("column 0: expected an integer"),
                "{wrong}"
            );
        });
    }
}
