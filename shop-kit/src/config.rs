//! Configuration helpers: secrets that never print, and environment parsing.

use std::fmt;
use std::str::FromStr;

/// A configuration value that must never reach a log: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Reads an environment variable, `None` when unset or empty.
pub fn env_opt(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Reads a required environment variable.
pub fn env_required(name: &str) -> anyhow::Result<String> {
    env_opt(name).ok_or_else(|| anyhow::anyhow!("environment variable {name} must be set"))
}

/// Reads and parses an environment variable, falling back to `default` when unset.
pub fn env_parse<T: FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: fmt::Display,
{
    match env_opt(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|e| anyhow::anyhow!("environment variable {name}={raw:?} is invalid: {e}")),
    }
}

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
    /// Token verification settings.
    pub auth: crate::auth::AuthConfig,
    /// Shared secret for `/internal/` calls.
    pub internal_token: Secret,
}

impl CommonConfig {
    /// Reads `SHOP_HOST`, `<PREFIX>_PORT` (default `default_port`), `<PREFIX>_DATABASE_URL`,
    /// `SHOP_JWT_SECRET` and `SHOP_INTERNAL_TOKEN` from the environment.
    pub fn from_env(prefix: &str, default_port: u16) -> anyhow::Result<Self> {
        Ok(Self {
            host: env_opt("SHOP_HOST").unwrap_or_else(|| "0.0.0.0".into()),
            port: env_parse(&format!("{prefix}_PORT"), default_port)?,
            database_url: Secret::new(env_required(&format!("{prefix}_DATABASE_URL"))?),
            auth: crate::auth::AuthConfig::from_env()?,
            internal_token: Secret::new(env_required("SHOP_INTERNAL_TOKEN")?),
        })
    }
}
