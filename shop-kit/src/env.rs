//! The environment, read: secrets that never print, and variables parsed with a clear error.
//! A leaf: every module that reads a setting uses it, it uses none of them.

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

/// Reads a duration in milliseconds from an environment variable, `default` when unset.
pub fn env_millis(name: &str, default: std::time::Duration) -> anyhow::Result<std::time::Duration> {
    let millis = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
    Ok(std::time::Duration::from_millis(env_parse(name, millis)?))
}
