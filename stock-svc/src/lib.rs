//! stock-svc: the catalogue and stock reservations held for orders.
#![forbid(unsafe_code)]

pub mod api;
pub mod domain;
pub mod error;
pub mod store;

use shop_kit::config::CommonConfig;
use shop_kit::server::Service;
use shop_kit::topology::STOCK;

/// The service's entry point.
pub struct App;

impl App {
    /// Connects to the database, applies migrations and binds the port. The configuration is
    /// the one every service shares: `CommonConfig::from_env(&STOCK)` reads it.
    pub async fn build(config: CommonConfig) -> anyhow::Result<Service> {
        shop_kit::server::build_service::<store::Migrator, _>(&STOCK, &config, |db, parts| {
            let metrics = shop_kit::ledger::LedgerMetrics::new(
                parts.metrics.registry(),
                "shop_stock_units_total",
                "Units moved by the reservation protocol, by action: reserve (held), confirm (sold), release (given back).",
            )?;
            Ok(api::apis(store::StockStore::new(db, metrics)))
        })
        .await
    }
}
