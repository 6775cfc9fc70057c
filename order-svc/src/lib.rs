//! order-svc: the saga orchestrator. An order runs: record it → reserve funds → reserve stock →
//! book a courier → confirm all three → completed; a refusal compensates what was done, in
//! reverse, and cancels the order. Every outcome sends the user a message through an outbox.
#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod background;
pub mod client;
pub mod config;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod saga;
pub mod store;

use std::sync::Arc;

use shop_kit::client::{AttemptMetrics, RetrySettings, ServiceClient, http_client};
use shop_kit::server::{BackgroundTask, Service};
use shop_kit::topology;
use tokio::sync::Notify;

pub use config::{Config, ServiceUrls};

/// The service's entry point.
pub struct App;

impl App {
    /// Connects to the database, applies migrations, binds the port, and sets up the outbox
    /// sender and the recovery driver to run beside the server.
    pub async fn build(config: Config) -> anyhow::Result<Service> {
        let wake = Arc::new(Notify::new());
        let mut runner = None;
        let mut notifier = None;
        let mut books = None;
        let service = shop_kit::server::build_service::<store::Migrator, _>(
            &topology::ORDER,
            &config.common,
            |db, parts| {
                let attempts = AttemptMetrics::new(parts.metrics.registry())?;
                let http = http_client(
                    RetrySettings {
                        attempt_timeout: config.saga.call_timeout,
                        max_retries: config.saga.call_retries,
                        ..RetrySettings::default()
                    },
                    config.common.calls,
                    Some(attempts),
                )?;
                let token = config.common.internal_token.clone();
                let client = |name, url: &str| {
                    ServiceClient::new(name, http.clone(), url, token.clone())
                        .with_deadline(config.saga.step_deadline)
                };
                let participants = client::Participants::new(
                    config.definition.clone(),
                    |name| {
                        let (service, url) = config.urls.participant(name)?;
                        Some(client(service, url))
                    },
                    client(topology::STOCK.name, &config.urls.stock),
                )?;
                notifier = Some(client::Notifier {
                    notify: client(topology::NOTIFY.name, &config.urls.notify),
                });
                let _ = parts
                    .live_examples
                    .set(api::place_order_example(participants.clone()));
                let metrics = Arc::new(metrics::SagaMetrics::new(parts.metrics.registry())?);
                books = Some(audit::BooksMetrics::new(parts.metrics.registry())?);
                let store = store::OrderStore::of(db, config.definition.clone());
                parts
                    .metrics
                    .on_scrape(metrics.read_backlogs(store.clone()));
                let r = saga::SagaRunner {
                    store,
                    participants,
                    lease_ttl: config.saga.lease_ttl,
                    retry: saga::RetryPolicy {
                        release_attempts: config.saga.release_attempts,
                        backoff: config.saga.retry_backoff,
                        backoff_max: config.saga.retry_backoff_max,
                        // Within the step's deadline, and well inside the order's lease, which
                        // nothing renews while the call is retried.
                        reserve_patience: config.saga.step_deadline.min(config.saga.lease_ttl / 2),
                    },
                    metrics,
                    outbox_wake: wake.clone(),
                    lifecycle: Arc::default(),
                };
                runner = Some(r.clone());
                Ok(api::apis(r, &config))
            },
        )
        .await?;
        let runner = runner.ok_or_else(|| anyhow::anyhow!("order-svc: saga runner missing"))?;
        let notifier = notifier.ok_or_else(|| anyhow::anyhow!("order-svc: notifier missing"))?;
        let sender: BackgroundTask = {
            let runner = runner.clone();
            Box::new(move |stop| Box::pin(background::send_messages(runner, notifier, wake, stop)))
        };
        let books = books.ok_or_else(|| anyhow::anyhow!("order-svc: books metrics missing"))?;
        let every = config.saga.audit_interval_secs;
        let auditor: BackgroundTask = {
            let runner = runner.clone();
            let every = (every > 0).then(|| std::time::Duration::from_secs(every));
            Box::new(move |stop| Box::pin(audit::run_periodically(runner, books, every, stop)))
        };
        let interval = config.saga.recovery_interval;
        let driver: BackgroundTask =
            Box::new(move |stop| Box::pin(background::recover_orders(runner, interval, stop)));
        Ok(service
            .with_background(sender)
            .with_background(driver)
            .with_background(auditor))
    }
}
