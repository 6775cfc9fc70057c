//! The configuration every service shares, gathered from the settings of each part (auth, the
//! server's limits, the database, the topology). The environment helpers live in
//! [`crate::env`] and are re-exported here for the services.

pub use crate::env::{Secret, env_millis, env_opt, env_parse, env_required};

/// The configuration every service shares: where to listen, its database, and the secrets that
/// let it verify user tokens and internal calls.
#[derive(Clone, Debug)]
pub struct CommonConfig {
    /// Address to bind, e.g. `0.0.0.0`.
    pub host: String,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: Secret,
    /// The most connections this service holds to PostgreSQL (SQLite always uses one). Every
    /// replica of every service that shares a server counts against its `max_connections`.
    pub database_pool_size: u32,
    /// Token verification settings.
    pub auth: crate::auth::AuthConfig,
    /// Shared secret for `/internal/` calls.
    pub internal_token: Secret,
    /// The bounds of the HTTP server.
    pub limits: crate::limits::ServerLimits,
    /// Whether the service applies its pending migrations when it starts
    /// (`SHOP_MIGRATE_AT_START`, true). With false (a cluster whose migrate Job applies them
    /// before the rollout) a start that finds one pending is refused.
    pub migrate_at_start: bool,
    /// The protocol of this service's calls to the others (`SHOP_CALLS_HTTP2`, false: HTTP/1.1,
    /// so that the calls spread over a callee's replicas; true: HTTP/2, for a cluster whose
    /// services run one replica each). The `shop` binary, all six in one process, uses HTTP/2.
    pub calls: crate::client::Protocol,
    /// The proxies whose `X-Forwarded-For` names the client (`SHOP_TRUSTED_PROXIES`, none;
    /// `SHOP_FORWARDED_HEADER`): see [`crate::proxies`].
    pub proxies: crate::proxies::TrustedProxies,
}

impl CommonConfig {
    /// Reads `SHOP_HOST` (default `0.0.0.0`), `<PREFIX>_PORT` (default the service's port),
    /// `<PREFIX>_DATABASE_URL`, `SHOP_DATABASE_POOL_SIZE` (default
    /// [`DEFAULT_POOL_SIZE`](crate::db::DEFAULT_POOL_SIZE)), `SHOP_INTERNAL_TOKEN` and the token settings of
    /// [`AuthConfig::from_env`](crate::auth::AuthConfig::from_env), `<PREFIX>` being the
    /// service's `env_prefix`.
    pub fn from_env(service: &crate::topology::ServiceInfo) -> anyhow::Result<Self> {
        let prefix = service.env_prefix;
        Ok(Self {
            host: env_opt("SHOP_HOST").unwrap_or_else(|| "0.0.0.0".into()),
            port: env_parse(&format!("{prefix}_PORT"), service.default_port)?,
            database_url: with_password(
                env_required(&format!("{prefix}_DATABASE_URL"))?,
                env_opt(&format!("{prefix}_DATABASE_PASSWORD")),
            )?,
            database_pool_size: pool_size(env_parse(
                "SHOP_DATABASE_POOL_SIZE",
                crate::db::DEFAULT_POOL_SIZE,
            )?)?,
            auth: crate::auth::AuthConfig::from_env()?,
            internal_token: Secret::new(env_required("SHOP_INTERNAL_TOKEN")?),
            limits: crate::limits::ServerLimits::from_env()?,
            migrate_at_start: env_parse("SHOP_MIGRATE_AT_START", true)?,
            calls: crate::client::Protocol::chosen(env_parse("SHOP_CALLS_HTTP2", false)?),
            proxies: crate::proxies::TrustedProxies::from_env()?,
        })
    }
}

/// A database URL with `password` put in (percent-encoded), when one is given apart from it
/// (`<PREFIX>_DATABASE_PASSWORD`: the chart passes the password from its own Secret, so the URL
/// itself holds none and a Secret made outside the chart can provide it).
pub fn with_password(url: String, password: Option<String>) -> anyhow::Result<Secret> {
    let Some(password) = password else {
        return Ok(Secret::new(url));
    };
    let mut parsed = reqwest::Url::parse(&url)
        .map_err(|e| anyhow::anyhow!("the database URL is not a URL: {e}"))?;
    parsed
        .set_password(Some(&password))
        .map_err(|()| anyhow::anyhow!("the database URL cannot carry a password"))?;
    Ok(Secret::new(parsed.to_string()))
}

/// A database pool size from the configuration: 1 to 1,000 connections.
pub fn pool_size(size: u32) -> anyhow::Result<u32> {
    if (1..=1000).contains(&size) {
        Ok(size)
    } else {
        Err(anyhow::anyhow!(
            "the database pool size must be between 1 and 1000, not {size}"
        ))
    }
}

impl CommonConfig {
    /// The configuration of `service` when one process (the `shop` binary, the test harness)
    /// sets up all six: only user-svc gets the signing key, the others its public keys alone.
    pub fn in_process(
        service: &crate::topology::ServiceInfo,
        host: &str,
        port: u16,
        database_url: String,
        auth: &crate::auth::AuthConfig,
        internal_token: &Secret,
    ) -> Self {
        Self {
            host: host.to_owned(),
            port,
            database_url: Secret::new(database_url),
            database_pool_size: crate::db::DEFAULT_POOL_SIZE,
            auth: if *service == crate::topology::USER {
                auth.clone()
            } else {
                auth.verifying_only()
            },
            internal_token: internal_token.clone(),
            // Nothing routes to services in one process through endpoints that learn of a
            // shutdown late: no delay before they stop.
            limits: crate::limits::ServerLimits {
                shutdown_delay: std::time::Duration::ZERO,
                ..crate::limits::ServerLimits::default()
            },
            migrate_at_start: true,
            // One replica of each, on this machine: nothing to spread the calls over.
            calls: crate::client::Protocol::Http2,
            // The front door calls the services from this machine.
            proxies: crate::proxies::TrustedProxies::loopback(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{pool_size, with_password};

    #[test]
    fn a_password_given_apart_goes_into_the_url_encoded() {
        let url = "postgres://shop_user@db:5432/shop_user".to_owned();
        let with =
            with_password(url.clone(), Some("p@ss/w:rd".into())).map(|s| s.expose().to_owned());
        assert_eq!(
            with.ok().as_deref(),
            Some("postgres://shop_user:p%40ss%2Fw%3Ard@db:5432/shop_user")
        );
        let without = with_password(url.clone(), None).map(|s| s.expose().to_owned());
        assert_eq!(without.ok(), Some(url));
    }

    #[test]
    fn a_pool_size_is_one_to_a_thousand() {
        assert_eq!(pool_size(1).ok(), Some(1));
        assert_eq!(pool_size(1000).ok(), Some(1000));
        let refused = pool_size(0).err().map(|e| e.to_string());
        assert_eq!(
            refused.as_deref(),
            Some("the database pool size must be between 1 and 1000, not 0")
        );
        assert!(pool_size(1001).is_err());
    }
}
