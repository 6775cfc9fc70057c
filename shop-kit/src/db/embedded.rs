//! The embedded SQLite database, run on the task that uses it.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands it every statement, a
//! `BEGIN` and a `COMMIT` included, then waits for the answer to be handed back: a thread woken
//! twice per statement, some fifty statements per order (the README's performance section has
//! the figures). Here a service's one writing connection sits behind an async lock, and whoever
//! holds the lock runs its statements inline: a transaction costs one lock, however many
//! statements it has. A statement takes microseconds, and a commit does not wait for the disk (WAL with
//! `synchronous = NORMAL`: a crash of the process loses nothing committed).
//!
//! Statements are sea-orm's, built for SQLite; values are bound as sqlx binds them, so the
//! files stay the same (a uuid a 16-byte blob, a time RFC 3339 text, a date `YYYY-MM-DD`).
//! SQLite's storage classes do not say which Rust type a column holds (`integer` is an `i32`
//! in one table and an `i64` in the next), so rows are read by a service's [`Columns`], which
//! its entities declare.
//!
//! A row is sea-orm's `ProxyRow`, its columns kept by name: models read them by name, but a
//! read by position (`into_tuple` of more than one column) would see them in the names' order,
//! not the statement's. Select into a model, or a tuple of one column.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex as SyncMutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::types::{Value as Lite, ValueRef};
use rusqlite::{Connection, OpenFlags};
use sea_orm::sea_query::{OptionEnum, Value};
use sea_orm::{
    ColumnTrait, ColumnType, ConnAcquireErr, Database, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, ExecResult, IdenStatic, Iterable, ProxyDatabaseTrait, ProxyExecResult, ProxyRow,
    RuntimeErr, Statement,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// How long a request waits for the connection before it fails (503).
const ACQUIRE_TIMEOUT: Duration = super::ACQUIRE_TIMEOUT;

/// Prepared statements kept per connection: every statement the services run, with room.
const STATEMENT_CACHE: usize = 128;

/// What a column holds, as the models read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    BigInt,
    Bool,
    Text,
    Uuid,
    Time,
    Date,
    Json,
    Real,
    Bytes,
}

impl Kind {
    fn of(column: &ColumnType) -> Self {
        match column {
            ColumnType::Integer | ColumnType::SmallInteger | ColumnType::TinyInteger => Self::Int,
            ColumnType::BigInteger => Self::BigInt,
            ColumnType::Boolean => Self::Bool,
            ColumnType::Uuid => Self::Uuid,
            ColumnType::TimestampWithTimeZone => Self::Time,
            ColumnType::Date => Self::Date,
            ColumnType::Json | ColumnType::JsonBinary => Self::Json,
            ColumnType::Float | ColumnType::Double => Self::Real,
            ColumnType::Binary(_) | ColumnType::VarBinary(_) | ColumnType::Blob => Self::Bytes,
            _ => Self::Text,
        }
    }

    fn null(self) -> Value {
        match self {
            Self::Int => Value::Int(None),
            Self::BigInt => Value::BigInt(None),
            Self::Bool => Value::Bool(None),
            Self::Text => Value::String(None),
            Self::Uuid => Value::Uuid(None),
            Self::Time => Value::ChronoDateTimeUtc(None),
            Self::Date => Value::ChronoDate(None),
            Self::Json => Value::Json(None),
            Self::Real => Value::Double(None),
            Self::Bytes => Value::Bytes(None),
        }
    }
}

/// The type of every column of a service's tables, by column name, so that a row read from
/// SQLite comes back as the values its model takes. A name that is no column (`COUNT(*) AS
/// num_items`) is read by its storage class: an integer as an `i64`, text as a string.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    kinds: HashMap<String, Kind>,
    clashes: Vec<String>,
}

impl Columns {
    /// These columns and those of `E`.
    pub fn with<E: EntityTrait>(mut self) -> Self {
        for column in E::Column::iter() {
            let kind = Kind::of(column.def().get_column_type());
            let name = column.as_str();
            match self.kinds.insert(name.to_owned(), kind) {
                Some(other) if other != kind => self.clashes.push(format!(
                    "`{}.{name}` is read as {kind:?}, another table's `{name}` as {other:?}",
                    E::default().table_name()
                )),
                _ => {}
            }
        }
        self
    }

    /// A service's columns and those of the migrations' own table.
    pub fn of_service(self) -> Result<Self, DbErr> {
        let columns = self.with::<sea_orm_migration::seaql_migrations::Entity>();
        if columns.clashes.is_empty() {
            Ok(columns)
        } else {
            Err(DbErr::Custom(format!(
                "columns of one name must hold one type in a service's tables: {}",
                columns.clashes.join("; ")
            )))
        }
    }

    fn kind(&self, name: &str) -> Option<Kind> {
        self.kinds.get(name).copied()
    }
}

/// A service's SQLite file and its one connection.
pub struct Embedded {
    path: PathBuf,
    columns: Arc<Columns>,
    slot: Arc<Mutex<Slot>>,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("path", &self.path)
            .finish()
    }
}

/// The connection, absent after it was retired (reopened on the next use).
struct Slot(Option<Connection>);

type Held = OwnedMutexGuard<Slot>;

impl Embedded {
    /// Opens the SQLite file at `path` (created when missing; its schema is the migrations').
    pub fn open(path: PathBuf, columns: Columns) -> Result<Self, DbErr> {
        let conn = open(&path)?;
        Ok(Self {
            path,
            columns: Arc::new(columns),
            slot: Arc::new(Mutex::new(Slot(Some(conn)))),
        })
    }

    /// A sea-orm connection for sea-orm-migration, which takes one: its statements run one by
    /// one in autocommit on this connection, as sqlx ran them on SQLite (migrations run in a
    /// transaction on PostgreSQL only). Never used for a transaction: [`Embedded::begin`] is.
    pub async fn schema_connection(self: &Arc<Self>) -> Result<DatabaseConnection, DbErr> {
        Database::connect_proxy(
            DbBackend::Sqlite,
            Arc::new(Box::new(Migrations(self.clone()))),
        )
        .await
    }

    /// Whether a task holds the connection now.
    pub fn in_use(&self) -> bool {
        self.slot.try_lock().is_err()
    }

    /// Waits for the connection (up to [`ACQUIRE_TIMEOUT`], then fails as a pool would) and
    /// opens it again when it was retired.
    async fn acquire(&self) -> Result<Held, DbErr> {
        let mut held = tokio::time::timeout(ACQUIRE_TIMEOUT, self.slot.clone().lock_owned())
            .await
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?;
        if held.0.is_none() {
            held.0 = Some(open(&self.path)?);
        }
        Ok(held)
    }

    /// Runs one statement in autocommit, its rows read to the statement's end (which reports
    /// its commit).
    pub(super) async fn run(&self, stmt: &Statement) -> Result<Ran, DbErr> {
        let mut held = self.acquire().await?;
        let ran = with_conn(&held, |conn| run(conn, &self.columns, stmt));
        settle(&mut held);
        ran
    }

    /// Runs a batch of statements without values, in autocommit.
    pub(super) async fn batch(&self, sql: &str) -> Result<(), DbErr> {
        let mut held = self.acquire().await?;
        let ran = with_conn(&held, |conn| conn.execute_batch(sql).map_err(exec_err));
        settle(&mut held);
        ran
    }

    /// Gives back the disk space the write-ahead log holds: checkpoints it whole into the
    /// database and cuts it to nothing (`wal_checkpoint(TRUNCATE)`), holding the connection, so
    /// no write of this service runs meanwhile. Answers the bytes the log held before; fails
    /// (the log kept) when the checkpoint cannot finish, e.g. when the database file cannot
    /// grow by the pages the log holds.
    pub async fn give_back_log(&self) -> Result<u64, DbErr> {
        let log = {
            let mut name = self.path.clone().into_os_string();
            name.push("-wal");
            PathBuf::from(name)
        };
        let held = self.acquire().await?;
        let before = std::fs::metadata(&log).map_or(0, |m| m.len());
        if before == 0 {
            return Ok(0);
        }
        let busy = with_conn(&held, |conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(exec_err)
        })?;
        if busy != 0 {
            return Err(DbErr::Custom(
                "the write-ahead log could not be checkpointed whole".into(),
            ));
        }
        Ok(before)
    }

    /// Starts a transaction on the connection, held until it commits or is dropped.
    pub(super) async fn begin(&self) -> Result<Txn, DbErr> {
        let mut held = self.acquire().await?;
        if let Err(e) = with_conn(&held, |conn| conn.execute_batch("BEGIN").map_err(exec_err)) {
            settle(&mut held);
            return Err(e);
        }
        Ok(Txn {
            held: SyncMutex::new(held),
            columns: self.columns.clone(),
            open: true,
        })
    }
}

/// A transaction on the embedded connection: it holds the connection until it commits, and
/// rolls back when dropped before.
pub struct Txn {
    held: SyncMutex<Held>,
    columns: Arc<Columns>,
    open: bool,
}

impl std::fmt::Debug for Txn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Txn").field("open", &self.open).finish()
    }
}

impl Txn {
    pub(super) fn run(&self, stmt: &Statement) -> Result<Ran, DbErr> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        with_conn(&held, |conn| run(conn, &self.columns, stmt))
    }

    pub(super) fn batch(&self, sql: &str) -> Result<(), DbErr> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        with_conn(&held, |conn| conn.execute_batch(sql).map_err(exec_err))
    }

    /// Commits. A failed commit (a full disk) is an error, and what the transaction wrote is
    /// rolled back.
    pub(super) fn commit(mut self) -> Result<(), DbErr> {
        let committed = self.batch("COMMIT");
        self.open = false;
        let held = self.held.get_mut().unwrap_or_else(PoisonError::into_inner);
        settle(held);
        committed
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        if self.open {
            let held = self.held.get_mut().unwrap_or_else(PoisonError::into_inner);
            settle(held);
        }
    }
}

/// Autocommit statements for sea-orm-migration (see [`Embedded::schema_connection`]).
#[derive(Debug)]
struct Migrations(Arc<Embedded>);

#[async_trait::async_trait]
impl ProxyDatabaseTrait for Migrations {
    async fn query(&self, stmt: Statement) -> Result<Vec<ProxyRow>, DbErr> {
        Ok(self.0.run(&stmt).await?.rows)
    }

    async fn execute(&self, stmt: Statement) -> Result<ProxyExecResult, DbErr> {
        if stmt.values.is_none() {
            // Raw SQL of a migration, which may hold several statements.
            self.0.batch(&stmt.sql).await?;
            return Ok(ProxyExecResult::default());
        }
        let ran = self.0.run(&stmt).await?;
        Ok(ProxyExecResult::new(ran.last_insert_id, ran.changed))
    }
}

/// What a statement answered: its rows, and how many rows it changed.
pub(super) struct Ran {
    pub rows: Vec<ProxyRow>,
    pub changed: u64,
    pub last_insert_id: u64,
}

impl From<Ran> for ExecResult {
    fn from(ran: Ran) -> Self {
        ProxyExecResult::new(ran.last_insert_id, ran.changed).into()
    }
}

fn with_conn<T>(held: &Held, f: impl FnOnce(&Connection) -> Result<T, DbErr>) -> Result<T, DbErr> {
    match &held.0 {
        Some(conn) => f(conn),
        None => Err(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)),
    }
}

/// Leaves the connection outside any transaction, or retires it. A transaction dropped
/// before its commit, or whose commit failed, is rolled back here, before anyone else takes
/// the connection. SQLite rolls a transaction back by itself on some errors (a full disk), and
/// its own word is asked (`sqlite3_get_autocommit`) rather than a count kept beside it; a
/// connection still inside a transaction after a `ROLLBACK` is closed (which rolls back
/// whatever it held) and a fresh one is opened for the next use: left open, every later write
/// would join a transaction nobody commits, and be lost at the next restart.
fn settle(held: &mut Held) {
    let Some(conn) = &held.0 else {
        return;
    };
    if conn.is_autocommit() {
        return;
    }
    if conn.execute_batch("ROLLBACK").is_ok() && conn.is_autocommit() {
        return;
    }
    tracing::warn!(
        "retiring the SQLite connection left inside a transaction (a failed write, commit or \
         rollback): a fresh connection replaces it"
    );
    held.0 = None;
}

/// Copies the SQLite database at `path` into a new file `into` while others read and write it:
/// `VACUUM INTO` writes one consistent snapshot (the last commit before it began), compacted.
pub fn copy_into(path: &std::path::Path, into: &std::path::Path) -> Result<(), DbErr> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(conn_err)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(conn_err)?;
    let target = into
        .to_str()
        .ok_or_else(|| DbErr::Custom(format!("{} is not UTF-8", into.display())))?;
    conn.execute("VACUUM INTO ?1", [target]).map_err(exec_err)?;
    Ok(())
}

fn open(path: &std::path::Path) -> Result<Connection, DbErr> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(conn_err)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(conn_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // WAL: readers beside the writer, and a commit is an append to the log. Foreign keys
    // checked. After a checkpoint the log is cut back to the limit, so a burst does not leave
    // a large file behind.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA journal_size_limit = {};",
        super::WAL_SIZE_LIMIT
    ))
    .map_err(conn_err)?;
    Ok(conn)
}

/// Prepares (or takes from the cache), binds and steps `stmt` to its end.
fn run(conn: &Connection, columns: &Columns, stmt: &Statement) -> Result<Ran, DbErr> {
    let mut prepared = conn.prepare_cached(&stmt.sql).map_err(exec_err)?;
    if let Some(values) = &stmt.values {
        for (i, value) in values.0.iter().enumerate() {
            prepared
                .raw_bind_parameter(i + 1, bind(value)?)
                .map_err(exec_err)?;
        }
    }
    let names: Vec<(String, Option<Kind>)> = prepared
        .column_names()
        .into_iter()
        .map(|n| (n.to_owned(), columns.kind(n)))
        .collect();
    let mut rows = Vec::new();
    let mut stepping = prepared.raw_query();
    while let Some(row) = stepping.next().map_err(exec_err)? {
        let mut values = BTreeMap::new();
        for (i, (name, kind)) in names.iter().enumerate() {
            let raw = row.get_ref(i).map_err(exec_err)?;
            values.insert(name.clone(), read(name, *kind, raw)?);
        }
        rows.push(ProxyRow::new(values));
    }
    drop(stepping);
    Ok(Ran {
        rows,
        changed: conn.changes(),
        last_insert_id: u64::try_from(conn.last_insert_rowid()).unwrap_or_default(),
    })
}

/// A value bound as sqlx binds it for SQLite, so that what is stored, compared and sorted is
/// what it always was.
fn bind(value: &Value) -> Result<Lite, DbErr> {
    fn int(v: Option<impl Into<i64>>) -> Lite {
        v.map_or(Lite::Null, |v| Lite::Integer(v.into()))
    }
    fn text(v: Option<String>) -> Lite {
        v.map_or(Lite::Null, Lite::Text)
    }
    Ok(match value {
        Value::Bool(v) => int(*v),
        Value::TinyInt(v) => int(*v),
        Value::SmallInt(v) => int(*v),
        Value::Int(v) => int(*v),
        Value::BigInt(v) => int(*v),
        Value::TinyUnsigned(v) => int(*v),
        Value::SmallUnsigned(v) => int(*v),
        Value::Unsigned(v) => int(*v),
        Value::BigUnsigned(v) => match v {
            Some(v) => Lite::Integer(
                i64::try_from(*v).map_err(|_| DbErr::Type(format!("{v} exceeds an i64")))?,
            ),
            None => Lite::Null,
        },
        Value::Float(v) => v.map_or(Lite::Null, |v| Lite::Real(f64::from(v))),
        Value::Double(v) => v.map_or(Lite::Null, Lite::Real),
        Value::String(v) => text(v.clone()),
        Value::Char(v) => text(v.map(String::from)),
        Value::Enum(OptionEnum::Some(v)) => Lite::Text(v.value.to_string()),
        Value::Enum(OptionEnum::None(_)) => Lite::Null,
        Value::Bytes(v) => v.clone().map_or(Lite::Null, Lite::Blob),
        Value::Json(v) => text(v.as_ref().map(|j| j.to_string())),
        Value::ChronoDate(v) => text(v.map(|d| d.format("%F").to_string())),
        Value::ChronoDateTime(v) => text(v.map(|t| t.format("%F %T%.f").to_string())),
        Value::ChronoDateTimeUtc(v) => text(v.map(rfc3339)),
        Value::ChronoDateTimeLocal(v) => text(v.map(rfc3339)),
        Value::ChronoDateTimeWithTimeZone(v) => text(v.map(rfc3339)),
        Value::Uuid(v) => v.map_or(Lite::Null, |u| Lite::Blob(u.as_bytes().to_vec())),
        other => {
            return Err(DbErr::Type(format!(
                "{other:?} is not a value the embedded database stores"
            )));
        }
    })
}

fn rfc3339<Tz: chrono::TimeZone>(t: DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// A stored value as the model of its column reads it.
fn read(name: &str, kind: Option<Kind>, raw: ValueRef<'_>) -> Result<Value, DbErr> {
    let mismatch = || {
        DbErr::Type(format!(
            "column `{name}` holds {:?}, not {}",
            raw.data_type(),
            kind.map_or(Cow::Borrowed("a value of its kind"), |k| {
                Cow::Owned(format!("{k:?}"))
            })
        ))
    };
    Ok(match (kind, raw) {
        (Some(kind), ValueRef::Null) => kind.null(),
        (None, ValueRef::Null) => Value::String(None),
        (Some(Kind::Int), ValueRef::Integer(i)) => {
            Value::Int(Some(i32::try_from(i).map_err(|_| mismatch())?))
        }
        (Some(Kind::BigInt) | None, ValueRef::Integer(i)) => Value::BigInt(Some(i)),
        (Some(Kind::Bool), ValueRef::Integer(i)) => Value::Bool(Some(i != 0)),
        (Some(Kind::Real), ValueRef::Integer(i)) => Value::Double(Some(i as f64)),
        (Some(Kind::Real) | None, ValueRef::Real(f)) => Value::Double(Some(f)),
        (Some(Kind::Bytes) | None, ValueRef::Blob(b)) => Value::Bytes(Some(b.to_vec())),
        (Some(Kind::Uuid), ValueRef::Blob(b)) => {
            Value::Uuid(Some(uuid::Uuid::from_slice(b).map_err(|_| mismatch())?))
        }
        (kind, ValueRef::Text(t)) => {
            let t = std::str::from_utf8(t).map_err(|_| mismatch())?;
            match kind {
                Some(Kind::Text) | None => Value::String(Some(t.to_owned())),
                Some(Kind::Uuid) => Value::Uuid(Some(t.parse().map_err(|_| mismatch())?)),
                Some(Kind::Time) => {
                    Value::ChronoDateTimeUtc(Some(parse_time(t).ok_or_else(mismatch)?))
                }
                Some(Kind::Date) => Value::ChronoDate(Some(
                    NaiveDate::parse_from_str(t, "%F").map_err(|_| mismatch())?,
                )),
                Some(Kind::Json) => Value::Json(Some(Box::new(
                    serde_json::from_str(t).map_err(|_| mismatch())?,
                ))),
                _ => return Err(mismatch()),
            }
        }
        _ => return Err(mismatch()),
    })
}

/// A stored time: RFC 3339 as sqlx writes it, or SQLite's own `YYYY-MM-DD HH:MM:SS[.f]`
/// (UTC), as sqlx reads both.
fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            DateTime::parse_from_str(t, "%F %T%.f%:z")
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
        .or_else(|| {
            NaiveDateTime::parse_from_str(t, "%F %T%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// SQLite's error, as sqlx reports one, so that callers (a unique violation told from a
/// failure) read it the same on both engines.
#[derive(Debug, thiserror::Error)]
#[error("{message} (SQLite code {code})")]
pub struct SqliteFailure {
    code: i32,
    message: String,
}

impl sea_orm::sqlx::error::DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sea_orm::sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sea_orm::sqlx::error::ErrorKind;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

fn sqlx_error(e: rusqlite::Error) -> RuntimeErr {
    let failure = match e {
        rusqlite::Error::SqliteFailure(code, message) => SqliteFailure {
            code: code.extended_code,
            message: message.unwrap_or_else(|| code.to_string()),
        },
        other => SqliteFailure {
            code: rusqlite::ffi::SQLITE_ERROR,
            message: other.to_string(),
        },
    };
    RuntimeErr::SqlxError(Arc::new(sea_orm::sqlx::Error::Database(Box::new(failure))))
}

fn exec_err(e: rusqlite::Error) -> DbErr {
    DbErr::Exec(sqlx_error(e))
}

fn conn_err(e: rusqlite::Error) -> DbErr {
    DbErr::Conn(sqlx_error(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bound_as_sqlx_binds_them() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T20:19:51.123456Z")
            .map(|t| t.with_timezone(&Utc))
            .ok();
        assert_eq!(
            bind(&Value::ChronoDateTimeUtc(at)).ok(),
            Some(Lite::Text("2026-12-04T20:19:51.123456+00:00".into()))
        );
        let id = uuid::Uuid::now_v7();
        assert_eq!(
            bind(&Value::Uuid(Some(id))).ok(),
            Some(Lite::Blob(id.as_bytes().to_vec()))
        );
        assert_eq!(bind(&Value::Bool(Some(true))).ok(), Some(Lite::Integer(1)));
        assert_eq!(
            bind(&Value::ChronoDate(NaiveDate::from_ymd_opt(2026, 1, 2))).ok(),
            Some(Lite::Text("2026-01-02".into()))
        );
    }

    #[test]
    fn stored_values_are_read_as_their_columns_hold_them() {
        let t = "2026-12-04T20:19:51.123456+00:00";
        let read_as = |kind, raw| read("c", Some(kind), raw).ok();
        assert_eq!(
            read_as(Kind::Time, ValueRef::Text(t.as_bytes())),
            Some(Value::ChronoDateTimeUtc(parse_time(t)))
        );
        assert_eq!(
            parse_time("2026-12-04 20:19:51"),
            parse_time("2026-12-04T20:19:51Z")
        );
        assert_eq!(
            read_as(Kind::Int, ValueRef::Integer(7)),
            Some(Value::Int(Some(7)))
        );
        assert_eq!(read_as(Kind::Int, ValueRef::Integer(1 << 40)), None);
        assert_eq!(
            read("num_items", None, ValueRef::Integer(7)).ok(),
            Some(Value::BigInt(Some(7)))
        );
        assert_eq!(read_as(Kind::Uuid, ValueRef::Null), Some(Value::Uuid(None)));
        assert_eq!(read_as(Kind::Uuid, ValueRef::Blob(&[1, 2, 3])), None);
    }
}
