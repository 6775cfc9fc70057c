//! payment-svc's configuration.

use shop_kit::config::CommonConfig;

/// Default port.
pub const DEFAULT_PORT: u16 = 8083;

/// Everything payment-svc reads at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address, database, token and internal secrets.
    pub common: CommonConfig,
}

impl Config {
    /// Reads `PAYMENT_SVC_*` and the shared `SHOP_*` variables.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            common: CommonConfig::from_env("PAYMENT_SVC", DEFAULT_PORT)?,
        })
    }
}
