//! PostgreSQL's own count of the shop's transactions: `pg_stat_database.xact_commit` summed
//! over the shop's databases (`<prefix>_user`, `<prefix>_order`, …), read before and after the
//! orders phase, so that a run reports the commits each order cost. A read in autocommit counts
//! as one. The server publishes a backend's counts when its transaction ends, at most about a
//! second late, so the second reading waits that long.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// How long PostgreSQL may take to publish a backend's transaction counts.
const PUBLISHED_WITHIN: Duration = Duration::from_millis(1500);

/// The shop's databases on one PostgreSQL server.
#[derive(Debug, Clone)]
pub struct ShopDatabases {
    /// A URL of the server (any database on it), e.g. `postgres://postgres@127.0.0.1:5432`.
    pub server: String,
    /// The prefix of the shop's databases' names (`shop` for `shop_user`, `shop_order`, …).
    pub prefix: String,
}

/// A connection to the server, to read the counts with.
pub struct Counter {
    db: DatabaseConnection,
    prefix: String,
}

impl Counter {
    /// Connects to the server of `dbs`.
    pub async fn connect(dbs: &ShopDatabases) -> anyhow::Result<Self> {
        let db = shop_kit::db::connect_server(&dbs.server)
            .await
            .map_err(|e| anyhow::anyhow!("PostgreSQL at --postgres: {e}"))?;
        Ok(Self {
            db,
            prefix: dbs.prefix.clone(),
        })
    }

    /// The commits of the shop's databases so far (its own reading's excluded).
    pub async fn commits(&self) -> anyhow::Result<i64> {
        let sql = "SELECT coalesce(sum(xact_commit), 0)::bigint AS commits \
                   FROM pg_stat_database WHERE datname LIKE $1 || '\\_%'";
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                sql,
                [self.prefix.clone().into()],
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("pg_stat_database answered no row"))?;
        Ok(row.try_get::<i64>("", "commits")?)
    }

    /// The commits after a phase that just ended, once the server has published them.
    pub async fn commits_after(&self) -> anyhow::Result<i64> {
        tokio::time::sleep(PUBLISHED_WITHIN).await;
        self.commits().await
    }
}
