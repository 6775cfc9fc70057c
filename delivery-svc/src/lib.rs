//! delivery-svc: couriers and the courier bookings held for orders.
#![forbid(unsafe_code)]

pub mod api;
pub mod domain;
pub mod error;
pub mod store;

use shop_kit::config::CommonConfig;
use shop_kit::server::Service;
use shop_kit::topology::DELIVERY;

/// The service's entry point.
pub struct App;

impl App {
    /// Connects to the database, applies migrations and binds the port. The configuration is
    /// the one every service shares: `CommonConfig::from_env(&DELIVERY)` reads it.
    pub async fn build(config: CommonConfig) -> anyhow::Result<Service> {
        shop_kit::server::build_service::<store::Migrator, _>(&DELIVERY, &config, |db, parts| {
            let metrics = shop_kit::ledger::LedgerMetrics::new(
                parts.metrics.registry(),
                "shop_delivery_bookings_total",
                "Courier bookings moved by the reservation protocol, by action: reserve (booked), confirm (confirmed), release (freed).",
            )?;
            Ok(api::apis(store::DeliveryStore::new(db, metrics)))
        })
        .await
    }
}
