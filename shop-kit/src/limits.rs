//! The bounds of a service's HTTP server, read from the environment: what the server, its
//! layers and the configuration share.

use std::time::Duration;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The bounds of a service's HTTP server, so that no client, idle, slow or many, can exhaust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections open at once; beyond them a new one is answered 503 and closed
    /// (`SHOP_MAX_CONNECTIONS`, 1,000).
    pub max_connections: usize,
    /// How long a client has to send a request's head (`SHOP_HEADER_READ_TIMEOUT_MS`, 10 s).
    pub header_read_timeout: Duration,
    /// How long a connection may stay open without a byte either way
    /// (`SHOP_IDLE_TIMEOUT_MS`, 75 s: longer than the clients' and proxies' own idle times,
    /// 30 s for the services' clients and 60 s for ingress-nginx, so that they close first).
    pub idle_timeout: Duration,
    /// How long a client has to send a request's whole body; then 408
    /// (`SHOP_BODY_TIMEOUT_MS`, 10 s).
    pub body_timeout: Duration,
    /// Bytes of request bodies one service holds at once while they arrive; a body that does
    /// not fit waits a moment, then 503 (`SHOP_BODY_BUDGET_BYTES`, 16 MiB). Bodies up to 64 KiB,
    /// all the API expects, need no room of it.
    pub body_budget_bytes: usize,
    /// How long a request may take before it is answered 503 (`SHOP_REQUEST_TIMEOUT_MS`,
    /// 15 s); a stream's body is not counted.
    pub request_timeout: Duration,
    /// How long a starting service waits for its database to answer, with backoff, before it
    /// gives up (`SHOP_DATABASE_PATIENCE_SECS`, 120 s).
    pub database_patience: Duration,
    /// How long a service goes on serving after SIGTERM, with `/health/ready` answering 503,
    /// before it stops accepting: load balancers and the other services take that long to stop
    /// sending to it (`SHOP_SHUTDOWN_DELAY_SECS`, 5 s; the `shop` binary, run by hand, 0).
    pub shutdown_delay: Duration,
    /// On SQLite: below this many free bytes on the database's file system the service is not
    /// ready and refuses new work (`SHOP_DISK_RESERVE_MB`, 64 MiB); see [`crate::disk`].
    pub disk_reserve_bytes: u64,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 1000,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            body_timeout: Duration::from_secs(10),
            body_budget_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(15),
            disk_reserve_bytes: 64 * 1024 * 1024,
            shutdown_delay: Duration::from_secs(5),
            database_patience: Duration::from_secs(120),
        }
    }
}

impl ServerLimits {
    /// The limits from the environment (see each field), the defaults where unset.
    pub fn from_env() -> anyhow::Result<Self> {
        use crate::env::env_parse;
        let d = Self::default();
        let ms = |name: &str, default: Duration| -> anyhow::Result<Duration> {
            let value = crate::env::env_millis(name, default)?;
            if value.is_zero() {
                return Err(anyhow::anyhow!("{name} must be at least 1"));
            }
            Ok(value)
        };
        let limits = Self {
            max_connections: env_parse("SHOP_MAX_CONNECTIONS", d.max_connections)?,
            header_read_timeout: ms("SHOP_HEADER_READ_TIMEOUT_MS", d.header_read_timeout)?,
            idle_timeout: ms("SHOP_IDLE_TIMEOUT_MS", d.idle_timeout)?,
            body_timeout: ms("SHOP_BODY_TIMEOUT_MS", d.body_timeout)?,
            body_budget_bytes: env_parse("SHOP_BODY_BUDGET_BYTES", d.body_budget_bytes)?,
            request_timeout: ms("SHOP_REQUEST_TIMEOUT_MS", d.request_timeout)?,
            disk_reserve_bytes: env_parse("SHOP_DISK_RESERVE_MB", d.disk_reserve_bytes >> 20)?
                .saturating_mul(1024 * 1024),
            database_patience: Duration::from_secs(env_parse(
                "SHOP_DATABASE_PATIENCE_SECS",
                d.database_patience.as_secs(),
            )?),
            shutdown_delay: Duration::from_secs(env_parse(
                "SHOP_SHUTDOWN_DELAY_SECS",
                d.shutdown_delay.as_secs(),
            )?),
        };
        if limits.max_connections == 0 {
            return Err(anyhow::anyhow!("SHOP_MAX_CONNECTIONS must be at least 1"));
        }
        if limits.body_budget_bytes < MAX_BODY_BYTES {
            return Err(anyhow::anyhow!(
                "SHOP_BODY_BUDGET_BYTES must hold at least one largest body ({} bytes)",
                MAX_BODY_BYTES
            ));
        }
        Ok(limits)
    }
}
