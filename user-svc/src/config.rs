//! user-svc's configuration.

use shop_kit::config::{CommonConfig, Secret, env_opt};
use shop_kit::topology::{PAYMENT, USER};

use crate::password::HashLimits;

/// Everything user-svc reads at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address, database, token and internal secrets.
    pub common: CommonConfig,
    /// Base URL of payment-svc, where registration opens the user's account.
    pub payment_url: String,
    /// The admin's password for the first start; without it no admin account is created.
    pub admin_password: Option<Secret>,
    /// How many password hashes run at once, and how many may wait.
    pub hashing: HashLimits,
}

impl Config {
    /// Reads `USER_SVC_*` (among them `USER_SVC_HASH_WORKERS` and `USER_SVC_HASH_QUEUE`),
    /// `SHOP_PAYMENT_URL` (default `http://127.0.0.1:8083`), `SHOP_ADMIN_PASSWORD` and the
    /// shared `SHOP_*` variables.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            common: CommonConfig::from_env(&USER)?,
            payment_url: PAYMENT.url_from_env(),
            admin_password: env_opt("SHOP_ADMIN_PASSWORD").map(Secret::new),
            hashing: HashLimits::from_env()?,
        })
    }
}

impl HashLimits {
    /// Reads `USER_SVC_HASH_WORKERS` and `USER_SVC_HASH_QUEUE` (counts of at least 1); the
    /// defaults where unset.
    pub fn from_env() -> anyhow::Result<Self> {
        let defaults = Self::default();
        let count =
            |name: &str, default: usize| -> anyhow::Result<usize> {
                match env_opt(name) {
                    None => Ok(default),
                    Some(v) => v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        anyhow::anyhow!("{name}={v:?} is not a count of at least 1")
                    }),
                }
            };
        Ok(Self {
            workers: count("USER_SVC_HASH_WORKERS", defaults.workers)?,
            queue: count("USER_SVC_HASH_QUEUE", defaults.queue)?,
        })
    }
}
