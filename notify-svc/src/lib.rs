//! notify-svc: the messages sent to users.
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod store;

use shop_kit::config::CommonConfig;
use shop_kit::server::Service;
use shop_kit::topology::NOTIFY;

/// The service's entry point.
pub struct App;

impl App {
    /// Connects to the database, applies migrations and binds the port. The configuration is
    /// the one every service shares: `CommonConfig::from_env(&NOTIFY)` reads it.
    pub async fn build(config: CommonConfig) -> anyhow::Result<Service> {
        shop_kit::server::build_service::<store::Migrator, _>(&NOTIFY, &config, |db, parts| {
            let streams = api::Streams::new(parts.metrics.registry(), parts.stopping.clone())?;
            Ok(api::apis(store::NotifyStore::new(db), streams))
        })
        .await
    }
}
