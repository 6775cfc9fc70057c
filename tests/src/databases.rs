//! One fresh database per service per test.

use std::sync::OnceLock;

use tokio::sync::OnceCell;

/// Where a test's databases live.
pub enum Databases {
    /// SQLite files in a directory removed with the test.
    Sqlite(tempfile::TempDir),
    /// Databases on a PostgreSQL server, named after the test run.
    Postgres { server: String, prefix: String },
}

const PREFIX: &str = "shoptest_";

/// Drops the databases earlier runs left behind, once per test binary.
async fn sweep(server: &str) {
    static SWEPT: OnceCell<()> = OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            use sea_orm::ConnectionTrait;
            let Ok(admin) = shop_kit::db::connect_server(server).await else {
                return;
            };
            let sql = format!("SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'");
            let rows = admin
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    sql,
                ))
                .await
                .unwrap_or_default();
            for row in rows {
                if let Ok(name) = row.try_get::<String>("", "datname") {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                }
            }
        })
        .await;
}

fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| format!("{}", std::process::id()))
}

impl Databases {
    /// SQLite unless `SHOP_TEST_DATABASE_URL` is set.
    pub async fn fresh() -> Self {
        match std::env::var("SHOP_TEST_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty())
        {
            Some(server) => {
                sweep(&server).await;
                let unique = uuid::Uuid::now_v7().simple().to_string();
                let prefix = format!("{PREFIX}{}_{}", run_id(), &unique[unique.len() - 12..]);
                Self::Postgres { server, prefix }
            }
            None => Self::Sqlite(tempfile::tempdir().expect("temporary directory")),
        }
    }

    /// The URL of `service`'s database, created if needed.
    pub async fn url(&self, service: &str) -> String {
        match self {
            Self::Sqlite(dir) => format!(
                "sqlite://{}?mode=rwc",
                dir.path().join(format!("{service}.sqlite")).display()
            ),
            Self::Postgres { server, prefix } => {
                shop_kit::db::ensure_postgres_database(server, &format!("{prefix}_{service}"))
                    .await
                    .expect("test database")
            }
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }
}
