//! user-svc: registration, login with argon2id passwords, bearer tokens, the admin role.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod password;
pub mod store;
pub mod throttle;

use shop_kit::client::{AttemptMetrics, RetrySettings, ServiceClient, http_client};
use shop_kit::server::Service;

pub use config::Config;
pub use password::HashLimits;

/// The admin account's username.
pub const ADMIN_USERNAME: &str = "admin";

/// The service's entry point.
pub struct App;

impl App {
    /// Connects to the database, applies migrations, makes sure the admin exists, binds the port.
    pub async fn build(config: Config) -> anyhow::Result<Service> {
        let passwords = password::Passwords::new(config.hashing)?;
        let mut users = None;
        let service = shop_kit::server::build_service::<store::Migrator, _>(
            &shop_kit::topology::USER,
            &config.common,
            |db, parts| {
                let store = store::UserStore::new(db.clone());
                users = Some(store.clone());
                let failures = store::FailureStore::new(db);
                let metrics = metrics::UserMetrics::new(parts.metrics.registry())?;
                let attempts = AttemptMetrics::new(parts.metrics.registry())?;
                let _ = parts.live_examples.set(api::login_examples());
                let payment = ServiceClient::new(
                    shop_kit::topology::PAYMENT.name,
                    http_client(
                        RetrySettings::default(),
                        config.common.calls,
                        Some(attempts),
                    )?,
                    &config.payment_url,
                    config.common.internal_token.clone(),
                );
                Ok(api::apis(
                    store,
                    failures,
                    metrics,
                    passwords.clone(),
                    parts.keys.clone(),
                    payment,
                ))
            },
        )
        .await?;
        if let (Some(users), Some(password)) = (users, &config.admin_password) {
            api::ensure_admin(&users, &passwords, password.expose()).await?;
        }
        Ok(service)
    }
}
