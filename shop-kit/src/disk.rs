//! Low disk as a state, not a surprise: a service on SQLite watches the free space of the file
//! system its database lives on (`shop_db_disk_free_bytes`), and below a reserve
//! (`SHOP_DISK_RESERVE_MB`, `shop_db_disk_reserve_bytes`) it is not ready and refuses new work
//! with 503, while what finishes or gives back work already taken (confirmations, releases,
//! refunds, the outbox's messages, an admin's re-drive) still gets the room the reserve kept.
//! Close to the reserve (or a full disk) it gives back what the write-ahead log holds
//! (`wal_checkpoint(TRUNCATE)`), so that a disk filled by the shop's own logs heals by itself,
//! without a restart.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the free space is read.
const EVERY: Duration = Duration::from_secs(1);

/// Within this much of the reserve, the write-ahead log's space is given back.
const CLOSE_TO_RESERVE: u64 = 2 * crate::db::WAL_SIZE_LIMIT;

/// How often, at most, the write-ahead log's space is given back.
const GIVE_BACK_EVERY: Duration = Duration::from_secs(5);

/// The free space under one database, and its reserve.
pub struct DiskGuard {
    dir: PathBuf,
    reserve: u64,
    free: AtomicU64,
    gauge: prometheus::IntGauge,
    /// The database whose write-ahead log gives its space back when the disk runs short.
    database: std::sync::OnceLock<Arc<crate::db::Embedded>>,
}

impl DiskGuard {
    /// A guard for the SQLite database of `url`, registered on `registry`; `None` for a
    /// database that is not a file here (PostgreSQL).
    pub fn for_database(
        url: &str,
        reserve_bytes: u64,
        registry: &prometheus::Registry,
    ) -> anyhow::Result<Option<Arc<Self>>> {
        let Some(file) = sqlite_file(url) else {
            return Ok(None);
        };
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let gauge = prometheus::IntGauge::new(
            "shop_db_disk_free_bytes",
            "Bytes free to this service on the file system of its SQLite database.",
        )?;
        let reserve = prometheus::IntGauge::new(
            "shop_db_disk_reserve_bytes",
            "Below this many free bytes the service is not ready and refuses new work \
             (SHOP_DISK_RESERVE_MB).",
        )?;
        reserve.set(i64::try_from(reserve_bytes).unwrap_or(i64::MAX));
        registry.register(Box::new(gauge.clone()))?;
        registry.register(Box::new(reserve))?;
        let guard = Arc::new(Self {
            dir,
            reserve: reserve_bytes,
            free: AtomicU64::new(u64::MAX),
            gauge,
            database: std::sync::OnceLock::new(),
        });
        guard.sample();
        Ok(Some(guard))
    }

    /// Reads the free space now.
    pub fn sample(&self) -> u64 {
        match rustix::fs::statvfs(&self.dir) {
            Ok(s) => {
                let free = s.f_bavail.saturating_mul(s.f_frsize);
                self.free.store(free, Ordering::Relaxed);
                self.gauge.set(i64::try_from(free).unwrap_or(i64::MAX));
                free
            }
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot read the free disk space");
                self.free.load(Ordering::Relaxed)
            }
        }
    }

    /// Whether the free space is below the reserve (as last read).
    pub fn is_low(&self) -> bool {
        self.free.load(Ordering::Relaxed) < self.reserve
    }

    /// The database whose write-ahead log the watch empties when the disk runs short.
    pub fn give_back_from(&self, database: Arc<crate::db::Embedded>) {
        let _ = self.database.set(database);
    }

    /// Empties the database's write-ahead log when the free space is within
    /// [`CLOSE_TO_RESERVE`] of the reserve; the free space after.
    async fn give_back(&self, free: u64) -> u64 {
        let Some(database) = self.database.get() else {
            return free;
        };
        if free >= self.reserve.saturating_add(CLOSE_TO_RESERVE) {
            return free;
        }
        match database.give_back_log().await {
            Ok(0) => free,
            Ok(bytes) => {
                let after = self.sample();
                tracing::info!(
                    dir = %self.dir.display(),
                    log_bytes = bytes,
                    free_bytes = after,
                    "the disk runs short: the write-ahead log gave its space back"
                );
                after
            }
            Err(e) => {
                tracing::warn!(error = %e, "the disk runs short, and the write-ahead log could not give its space back yet");
                free
            }
        }
    }

    /// Reads the free space every second while the guard is in use, says when it crosses the
    /// reserve, and gives the write-ahead log's space back (at most every few seconds) while the
    /// disk runs short.
    pub fn watch(self: &Arc<Self>) {
        let guard: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut was_low = false;
            let mut gave_back: Option<tokio::time::Instant> = None;
            loop {
                tokio::time::sleep(EVERY).await;
                let Some(guard) = guard.upgrade() else { return };
                let mut free = guard.sample();
                if gave_back.is_none_or(|t| t.elapsed() >= GIVE_BACK_EVERY)
                    && free < guard.reserve.saturating_add(CLOSE_TO_RESERVE)
                {
                    gave_back = Some(tokio::time::Instant::now());
                    free = guard.give_back(free).await;
                }
                let low = guard.is_low();
                if low != was_low {
                    if low {
                        tracing::error!(
                            dir = %guard.dir.display(),
                            free_bytes = free,
                            reserve_bytes = guard.reserve,
                            "the disk is almost full: not ready, new work refused until space is freed"
                        );
                    } else {
                        tracing::warn!(dir = %guard.dir.display(), free_bytes = free, "disk space is back: taking work again");
                    }
                    was_low = low;
                }
            }
        });
    }
}

/// The database file of a `sqlite:` URL, if it names one.
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path).to_owned())
}

/// Whether a request only finishes or gives back work already taken (or reads), and so may run
/// on the reserve: everything but new work.
pub fn may_use_reserve(method: &poem::http::Method, path: &str) -> bool {
    use poem::http::Method;
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || path.starts_with("/internal/reservations/") // confirm, release, cancel
        || path == "/internal/messages" // the outbox: one message per outcome
        || path.starts_with("/admin/") // an admin's re-drive
        || path == "/auth/login"
}

#[cfg(test)]
mod tests {
    use super::{may_use_reserve, sqlite_file};
    use poem::http::Method;

    #[test]
    fn the_database_file_of_a_url() {
        assert_eq!(
            sqlite_file("sqlite:///data/order.sqlite?mode=rwc").as_deref(),
            Some(std::path::Path::new("/data/order.sqlite"))
        );
        assert_eq!(
            sqlite_file("sqlite://shop-data/order.sqlite").as_deref(),
            Some(std::path::Path::new("shop-data/order.sqlite"))
        );
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }

    #[test]
    fn only_new_work_is_refused_on_the_reserve() {
        assert!(may_use_reserve(&Method::GET, "/orders"));
        assert!(may_use_reserve(
            &Method::POST,
            "/internal/reservations/x/release"
        ));
        assert!(may_use_reserve(&Method::POST, "/internal/messages"));
        assert!(may_use_reserve(&Method::POST, "/admin/orders/x/retry"));
        assert!(!may_use_reserve(&Method::POST, "/orders"));
        assert!(!may_use_reserve(&Method::POST, "/internal/reservations"));
        assert!(!may_use_reserve(&Method::POST, "/users"));
        assert!(!may_use_reserve(&Method::POST, "/balance/deposit"));
    }
}
