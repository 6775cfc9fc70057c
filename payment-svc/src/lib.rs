//! payment-svc: balances, deposits and fund reservations held for orders.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;
pub mod store;

use shop_kit::server::Service;

pub use config::Config;

/// The service's entry point.
pub struct App;

impl App {
    /// Connects to the database, applies migrations and binds the port.
    pub async fn build(config: Config) -> anyhow::Result<Service> {
        shop_kit::server::build_service::<store::Migrator, _>(
            "payment-svc",
            "payment",
            &config.common,
            |db, _| Ok(api::apis(store::PaymentStore::new(db))),
        )
        .await
    }
}
