//! payment-svc: balances, deposits and fund reservations held for orders.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;
pub mod store;

use shop_kit::server::{Service, ServiceParts};

pub use config::Config;

/// The service's entry point.
pub struct App;

impl App {
    /// Connects to the database, applies migrations and binds the port.
    pub async fn build(config: Config) -> anyhow::Result<Service> {
        let db = shop_kit::db::connect_and_migrate::<store::Migrator>(config.common.database_url.expose()).await?;
        let parts = ServiceParts::new("payment-svc", "payment", &config.common, shop_kit::db::readiness::<store::Migrator>(db.clone()));
        let api = api::apis(store::PaymentStore::new(db));
        Service::bind(parts.name, &config.common.host, config.common.port, shop_kit::server::endpoint(api, &parts)).await
    }
}
