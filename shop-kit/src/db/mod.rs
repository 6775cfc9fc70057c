//! Database connection helpers: the embedded SQLite default and PostgreSQL behind one URL.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseBackend,
    DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, ExecResult, IntoActiveModel,
    ProxyExecResult, QueryResult, RuntimeErr, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::health::ReadinessCheck;

mod embedded;

pub use embedded::{Columns, Embedded, copy_into};

/// A service's migrations, and the columns of the tables they make (the embedded database reads
/// rows by them: see [`Columns`]).
pub trait Schema: MigratorTrait {
    /// Every entity of the service's tables.
    fn columns() -> Columns;
}

/// A service's database: PostgreSQL through sqlx's pool, or the embedded SQLite file, whose
/// statements run on the task that holds its one connection (see [`Embedded`]). Every
/// statement sea-orm builds runs on either (`ConnectionTrait`); [`Db::begin`] starts a
/// transaction.
#[derive(Debug, Clone)]
pub enum Db {
    /// A pool of sqlx connections.
    Pooled(DatabaseConnection),
    /// The embedded SQLite file.
    Embedded(Arc<Embedded>),
}

/// A transaction of a [`Db`]: commit it with [`Txn::commit`]; dropped before, it rolls back.
#[derive(Debug)]
pub enum Txn {
    /// On a pooled connection.
    Pooled(DatabaseTransaction),
    /// Holding the embedded connection.
    Embedded(embedded::Txn),
}

impl Db {
    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Txn, DbErr> {
        match self {
            Self::Pooled(db) => db.begin().await.map(Txn::Pooled),
            Self::Embedded(db) => db.begin().await.map(Txn::Embedded),
        }
    }

    /// Closes the pool (the embedded connection closes with its last handle).
    pub async fn close(self) -> Result<(), DbErr> {
        match self {
            Self::Pooled(db) => db.close().await,
            Self::Embedded(_) => Ok(()),
        }
    }

    /// A sea-orm connection to apply migrations through (sea-orm-migration takes one): the pool,
    /// or statements one by one in autocommit on the embedded connection.
    pub async fn schema_connection(&self) -> Result<DatabaseConnection, DbErr> {
        match self {
            Self::Pooled(db) => Ok(db.clone()),
            Self::Embedded(db) => db.schema_connection().await,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        match self {
            Self::Pooled(db) => db.ping().await,
            Self::Embedded(db) => db.batch("SELECT 1").await,
        }
    }
}

impl Txn {
    /// Commits; an error means nothing the transaction wrote is stored.
    pub async fn commit(self) -> Result<(), DbErr> {
        match self {
            Self::Pooled(txn) => txn.commit().await,
            Self::Embedded(txn) => txn.commit(),
        }
    }
}

fn rows(ran: embedded::Ran) -> Vec<QueryResult> {
    ran.rows.into_iter().map(Into::into).collect()
}

fn no_rows() -> ExecResult {
    ProxyExecResult::default().into()
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DatabaseBackend {
        match self {
            Self::Pooled(db) => db.get_database_backend(),
            Self::Embedded(_) => DatabaseBackend::Sqlite,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pooled(db) => db.execute_raw(stmt).await,
            Self::Embedded(db) => db.run(&stmt).await.map(Into::into),
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pooled(db) => db.execute_unprepared(sql).await,
            Self::Embedded(db) => db.batch(sql).await.map(|()| no_rows()),
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Self::Pooled(db) => db.query_one_raw(stmt).await,
            Self::Embedded(db) => Ok(db.run(&stmt).await?.rows.into_iter().next().map(Into::into)),
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Pooled(db) => db.query_all_raw(stmt).await,
            Self::Embedded(db) => Ok(rows(db.run(&stmt).await?)),
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Txn {
    fn get_database_backend(&self) -> DatabaseBackend {
        match self {
            Self::Pooled(txn) => txn.get_database_backend(),
            Self::Embedded(_) => DatabaseBackend::Sqlite,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pooled(txn) => txn.execute_raw(stmt).await,
            Self::Embedded(txn) => txn.run(&stmt).map(Into::into),
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pooled(txn) => txn.execute_unprepared(sql).await,
            Self::Embedded(txn) => txn.batch(sql).map(|()| no_rows()),
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Self::Pooled(txn) => txn.query_one_raw(stmt).await,
            Self::Embedded(txn) => Ok(txn.run(&stmt)?.rows.into_iter().next().map(Into::into)),
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Pooled(txn) => txn.query_all_raw(stmt).await,
            Self::Embedded(txn) => Ok(rows(txn.run(&stmt)?)),
        }
    }
}

/// How many connections a service keeps to PostgreSQL unless told otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 10;

/// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) with the default pool, the
/// rows read by the columns of `M`'s tables, without migrating (tools and tests).
pub async fn connect<M: Schema>(url: &str) -> Result<Db, DbErr> {
    connect_as::<M>(url, DEFAULT_POOL_SIZE).await
}

/// Connects to `url`: a SQLite file embedded (see [`Embedded`]), PostgreSQL through a pool of at
/// most `pool_size` connections.
async fn connect_as<M: Schema>(url: &str, pool_size: u32) -> Result<Db, DbErr> {
    if url.starts_with("sqlite:") {
        let path = crate::disk::sqlite_file(url)
            .ok_or_else(|| DbErr::Custom(format!("{url} names no SQLite file")))?;
        let columns = M::columns().of_service()?;
        return Ok(Db::Embedded(Arc::new(Embedded::open(path, columns)?)));
    }
    connect_pooled(url, pool_size).await.map(Db::Pooled)
}

/// Connects to PostgreSQL at `url` with at most `pool_size` connections.
pub async fn connect_pooled(url: &str, pool_size: u32) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false).acquire_timeout(ACQUIRE_TIMEOUT);
    // A connection whose transaction state is unknown is retired, never handed out again: sqlx
    // counts a connection's transaction depth itself, from the moment a BEGIN is sent (0.9.1 and
    // later: before, a BEGIN dropped in flight left the server inside a transaction the count
    // did not know, and the next borrower's single-statement writes were never committed). A
    // dropped transaction's rollback is sent ahead of the connection's next statement and its
    // depth drops at once.
    opts.map_sqlx_postgres_before_acquire(|conn, _| Box::pin(async move { Ok(settled(conn)) }));
    // A connection in use is known to be alive; one idle for a while is checked first (a
    // restarted server or a dropped NAT entry). Pinging every connection handed out cost a
    // round trip to the server per statement; a connection that dies under load fails its
    // statement (503) and the pool replaces it.
    opts.max_connections(pool_size.max(1))
        .min_connections(1)
        .test_before_acquire_if_idle_for(PING_WHEN_IDLE_FOR);
    Database::connect(opts).await
}

/// The size a SQLite write-ahead log is cut back to after a checkpoint. The log itself is
/// checkpointed every 1,000 pages (SQLite's default, ~4 MiB) as it grows.
pub const WAL_SIZE_LIMIT: u64 = 8 * 1024 * 1024;

/// How long a pooled PostgreSQL connection may sit idle before it is pinged on its way out.
pub const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(10);

/// How long a request waits for a pooled connection before it fails (503): well inside the
/// deadlines callers keep (order-svc answers `POST /orders` within 5 s).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether a pooled connection is outside any transaction and can be handed out; a connection
/// still inside one (see [`connect_pooled`]) is retired, with a warning.
fn settled(conn: &mut impl sea_orm::sqlx::Connection) -> bool {
    let in_transaction = conn.is_in_transaction();
    if in_transaction {
        tracing::warn!(
            "retiring a database connection left inside a transaction (a failed write, commit \
             or rollback): a fresh connection replaces it"
        );
    }
    !in_transaction
}

/// Connects and applies every pending migration of `M`. On PostgreSQL the migrations run under
/// an advisory lock, so that replicas starting together on an empty database take turns: the
/// first applies them, the others find nothing pending. A database already migrated by a newer
/// release is served as it is.
pub async fn connect_and_migrate<M: Schema>(url: &str, pool_size: u32) -> Result<Db, DbErr> {
    connect_with_schema::<M>(url, pool_size, true).await
}

/// Connects, and applies this release's pending migrations when `apply`; without it, a
/// pending one refuses the connection (its migrations are another step's to apply).
async fn connect_with_schema<M: Schema>(
    url: &str,
    pool_size: u32,
    apply: bool,
) -> Result<Db, DbErr> {
    let db = connect_as::<M>(url, pool_size).await?;
    let schema_db = db.schema_connection().await?;
    if !apply {
        let pending = schema::<M>(&schema_db).await?.pending;
        if !pending.is_empty() {
            return Err(DbErr::Custom(format!(
                "this release's migrations {pending:?} are not applied (SHOP_MIGRATE_AT_START \
                 is false): run the binary with `migrate` first (the chart's migrate Job)"
            )));
        }
        return Ok(db);
    }
    if schema_db.get_database_backend() == DatabaseBackend::Postgres {
        let pool = schema_db.get_postgres_connection_pool();
        let mut lock = pool.acquire().await.map_err(sqlx_err)?;
        sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *lock)
            .await
            .map_err(sqlx_err)?;
        let migrated = migrate::<M>(&schema_db).await;
        let unlocked = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *lock)
            .await;
        migrated?;
        unlocked.map_err(sqlx_err)?;
    } else {
        migrate::<M>(&schema_db).await?;
    }
    Ok(db)
}

/// [`connect_and_migrate`], waiting for a database that does not answer yet (on a first
/// install PostgreSQL comes up after the services) with backoff, up to `patience`, and saying
/// so in the log; any other failure (a refused migration, a wrong password) at once.
pub async fn connect_and_migrate_patiently<M: Schema>(
    service: &str,
    url: &str,
    pool_size: u32,
    patience: Duration,
) -> Result<Db, DbErr> {
    connect_patiently::<M>(service, url, pool_size, patience, true).await
}

/// [`connect_and_migrate_patiently`], applying the pending migrations only when `apply` (see
/// the configuration's `migrate_at_start`).
pub async fn connect_patiently<M: Schema>(
    service: &str,
    url: &str,
    pool_size: u32,
    patience: Duration,
    apply: bool,
) -> Result<Db, DbErr> {
    let started = std::time::Instant::now();
    let mut wait = Duration::from_millis(250);
    loop {
        match connect_with_schema::<M>(url, pool_size, apply).await {
            Err(e) if is_unreachable(&e) && started.elapsed() + wait < patience => {
                tracing::warn!(
                    service,
                    error = %e,
                    retry_in_ms = wait.as_millis(),
                    waited_s = started.elapsed().as_secs(),
                    "the database does not answer yet; waiting for it"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            answer => return answer,
        }
    }
}

/// Whether a failure means the database cannot take us yet (rather than refused us): not
/// reachable, still starting up (PostgreSQL's 57P03), or out of connections (53300).
fn is_unreachable(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error;
    match e {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)) => match e.as_ref() {
            Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
            Error::Database(e) => matches!(e.code().as_deref(), Some("57P03" | "53300")),
            _ => false,
        },
        _ => false,
    }
}

/// What the database holds of the migrations, against this release's own.
struct Applied {
    /// This release's migrations the database has not applied.
    pending: Vec<String>,
    /// Migrations the database has applied that this release does not know: a newer
    /// release's, written so that this one runs on the schema they leave (expand, then
    /// contract in a later release).
    newer: Vec<String>,
}

async fn schema<M: MigratorTrait>(db: &impl ConnectionTrait) -> Result<Applied, DbErr> {
    let applied: std::collections::BTreeSet<String> = M::get_migration_models(db)
        .await?
        .into_iter()
        .map(|m| m.version)
        .collect();
    let own: Vec<String> = M::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Ok(Applied {
        pending: own
            .iter()
            .filter(|v| !applied.contains(*v))
            .cloned()
            .collect(),
        newer: applied
            .iter()
            .filter(|v| !own.contains(v))
            .cloned()
            .collect(),
    })
}

/// Applies this release's pending migrations. A database that also holds a newer release's
/// migrations is served as it is when none of this release's is pending (a rollout or a
/// rollback in progress); this release's migrations missing under a newer one's cannot be
/// applied in order, and are refused with a message saying so.
async fn migrate<M: MigratorTrait>(db: &DatabaseConnection) -> Result<(), DbErr> {
    let Applied { pending, newer } = schema::<M>(db).await?;
    match (pending.is_empty(), newer.is_empty()) {
        (true, true) => Ok(()),
        (true, false) => {
            tracing::info!(
                newer = ?newer,
                "the database holds migrations of a newer release: serving on its schema"
            );
            Ok(())
        }
        (false, true) => M::up(db, None).await,
        (false, false) => Err(DbErr::Custom(format!(
            "this release's migrations {pending:?} are not applied, but the database holds a \
             newer release's {newer:?}: they cannot be applied in order"
        ))),
    }
}

/// The advisory lock key of schema migrations (each service has a database of its own).
const MIGRATION_LOCK: i64 = 0x5348_4f50_4d49_4752; // "SHOPMIGR"

fn sqlx_err(e: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into()))
}

/// Ready when the database answers and none of this release's migrations is pending (a newer
/// release's applied migrations do not count: see [`connect_and_migrate`]). Once they were all
/// found applied, a ping is enough: migrations are never taken back under a running service,
/// and reading them again at every probe and scrape would log the migration table's "already
/// exists" notice each time.
pub fn readiness<M: MigratorTrait + 'static>(db: Db) -> ReadinessCheck {
    let migrated = Arc::new(std::sync::atomic::AtomicBool::new(false));
    Arc::new(move || {
        let (db, migrated) = (db.clone(), migrated.clone());
        Box::pin(async move {
            use std::sync::atomic::Ordering;
            if db.ping().await.is_err() {
                return false;
            }
            if migrated.load(Ordering::Relaxed) {
                return true;
            }
            let applied = schema::<M>(&db).await.is_ok_and(|s| s.pending.is_empty());
            migrated.store(applied, Ordering::Relaxed);
            applied
        })
    })
}

/// Inserts `row`, every column of which is set, and answers it as the model it now is.
///
/// Never a lone statement with `RETURNING` in autocommit: the driver takes its one row and resets
/// the statement, and the commit that follows (SQLite commits at that reset) can fail — a full
/// disk, a lost server — with nobody told, leaving the caller holding a row the database does
/// not have. A plain INSERT runs to its end and reports its commit; the row is what was sent.
pub async fn insert_returning<A>(
    db: &impl ConnectionTrait,
    row: A,
) -> Result<<A::Entity as EntityTrait>::Model, DbErr>
where
    A: ActiveModelTrait + sea_orm::TryIntoModel<<A::Entity as EntityTrait>::Model> + Send,
{
    let model = row.clone().try_into_model()?;
    A::Entity::insert(row).exec_without_returning(db).await?;
    Ok(model)
}

/// Updates `row` (some columns set) and answers the whole row as stored, inside an explicit
/// transaction whose COMMIT reports (see [`insert_returning`]).
pub async fn update_returning<A>(
    db: &Db,
    row: A,
) -> Result<<A::Entity as EntityTrait>::Model, DbErr>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let txn = db.begin().await?;
    let stored = A::Entity::update(row).exec(&txn).await?;
    txn.commit().await?;
    Ok(stored)
}

/// Whether `err` is a unique or primary-key violation (sqlx's and the embedded database's
/// errors alike).
pub fn is_unique_violation(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(e.as_ref(), sea_orm::sqlx::Error::Database(e) if e.is_unique_violation())
        }
        _ => false,
    }
}

/// The current time, truncated to microseconds so that it round-trips through both engines.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1)).unwrap_or(now)
}

/// Runs a statement that must succeed on both engines (used by tests and tools).
pub async fn execute(db: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
    db.execute_unprepared(sql).await.map(|_| ())
}

/// Creates database `name` on the PostgreSQL server of `server_url` unless it exists, and
/// returns the URL of that database.
pub async fn ensure_postgres_database(server_url: &str, name: &str) -> Result<String, DbErr> {
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(DbErr::Custom(format!("invalid database name {name:?}")));
    }
    let admin = connect_server(server_url).await?;
    let exists = admin
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
        ))
        .await?
        .is_some();
    if !exists {
        match admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
        {
            Ok(_) => {}
            // Another process created it between the check and the create.
            Err(e) if e.to_string().contains("already exists") => {}
            Err(e) => return Err(e),
        }
    }
    admin.close().await?;
    Ok(database_url(server_url, name))
}

/// Connects to the server's maintenance database with a single connection.
pub async fn connect_server(server_url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(database_url(server_url, "postgres"));
    opts.sqlx_logging(false)
        .max_connections(1)
        .min_connections(0);
    Database::connect(opts).await
}

/// The URL of database `name` on the server of `server_url` (any path of it is replaced).
pub fn database_url(server_url: &str, name: &str) -> String {
    let (base, query) = server_url
        .split_once('?')
        .map_or((server_url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn database_url_replaces_the_path() {
        assert_eq!(
            database_url("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            database_url("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            database_url("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
    }
}
