//! user-svc's configuration.

use shop_kit::config::{CommonConfig, Secret, env_opt};
use shop_kit::topology::{PAYMENT, USER};

/// Everything user-svc reads at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address, database, token and internal secrets.
    pub common: CommonConfig,
    /// Base URL of payment-svc, where registration opens the user's account.
    pub payment_url: String,
    /// The admin's password for the first start; without it no admin account is created.
    pub admin_password: Option<Secret>,
}

impl Config {
    /// Reads `USER_SVC_*`, `SHOP_PAYMENT_URL` (default `http://127.0.0.1:8083`),
    /// `SHOP_ADMIN_PASSWORD` and the shared `SHOP_*` variables.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            common: CommonConfig::from_env(&USER)?,
            payment_url: PAYMENT.url_from_env(),
            admin_password: env_opt("SHOP_ADMIN_PASSWORD").map(Secret::new),
        })
    }
}
