//! stock-svc's configuration.

use shop_kit::config::CommonConfig;

/// Default port.
pub const DEFAULT_PORT: u16 = 8084;

/// Everything stock-svc reads at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address, database, token and internal secrets.
    pub common: CommonConfig,
}

impl Config {
    /// Reads `STOCK_SVC_*` and the shared `SHOP_*` variables.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            common: CommonConfig::from_env("STOCK_SVC", DEFAULT_PORT)?,
        })
    }
}
