//! order-svc's background work: the outbox sender, and the recovery driver that finishes or
//! compensates every order whose lease ran out (after a crash, a timeout or an outage).

use std::sync::Arc;
use std::time::Duration;

use shop_kit::contract::notify::SendMessage;
use shop_kit::idempotency::KEY_RETENTION_HOURS;
use tokio::sync::{Notify, watch};
use tracing::Instrument;
use uuid::Uuid;

use futures_util::StreamExt;

use crate::client::Notifier;
use crate::saga::{Drive, SagaRunner};
use crate::store::outbox;

/// Messages read from the outbox at a time.
const BATCH: u64 = 50;
/// Deliveries in flight at once.
const DELIVERIES_AT_ONCE: usize = 8;

/// Sends queued messages to notify-svc until `stop` turns true, each batch claimed (so that
/// with several replicas each message is sent by one), up to
/// [`DELIVERIES_AT_ONCE`] at a time and without pausing while a full batch was due; failed
/// deliveries are retried with capped exponential backoff. (One at a time, and a pause after
/// every batch, left thousands of messages queued after a minute of load.)
pub async fn send_messages(
    runner: SagaRunner,
    notifier: Notifier,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut failing = Failing::default();
    loop {
        // A batch is this replica's for as long as an order's lease. No delivery starts after
        // half of it, so one rarely outlives the claim (a second send would be harmless:
        // notify-svc stores a message once per id).
        let claim = runner.lease_ttl;
        let full = match runner.store.claim_messages(BATCH, claim).await {
            Ok(batch) => {
                failing.count = 0;
                let full = batch.len() as u64 == BATCH;
                let delivered: Vec<Uuid> = futures_util::stream::iter(batch)
                    .take_until(tokio::time::sleep(claim / 2))
                    .map(|m| deliver(&runner, &notifier, m))
                    .buffer_unordered(DELIVERIES_AT_ONCE)
                    .filter_map(std::future::ready)
                    .collect()
                    .await;
                // One write for the batch. A crash before it sends them again: notify-svc
                // stores a message once per id.
                let marked = runner.store.mark_delivered(&delivered).await;
                let counter = runner.metrics.deliveries.with_label_values(&["delivered"]);
                match marked {
                    Ok(()) => counter.inc_by(delivered.len() as u64),
                    Err(e) => tracing::error!(error = %e, "outbox update failed"),
                }
                full
            }
            Err(e) => {
                if failing.failed() {
                    tracing::error!(error = %e, failures = failing.count, "reading the outbox failed; backing off");
                }
                false
            }
        };
        if *stop.borrow() {
            return;
        }
        if full {
            failing.count = 0;
            continue; // more are due now
        }
        tokio::select! {
            _ = wake.notified(), if failing.count == 0 => {}
            _ = tokio::time::sleep(failing.pause(Duration::from_millis(500))) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Delivers one message: its id once delivered; after a failure, records when it is due again
/// (after a backoff) and answers `None`.
async fn deliver(runner: &SagaRunner, notifier: &Notifier, m: outbox::Model) -> Option<Uuid> {
    let msg = SendMessage {
        id: m.id,
        user_id: m.user_id,
        order_id: Some(m.order_id),
        text: m.text.clone(),
    };
    let span = tracing::info_span!("deliver message", order_id = %m.order_id, message_id = %m.id);
    shop_kit::telemetry::follow(&span, m.trace_parent.as_deref());
    let error = match notifier.send(&msg).instrument(span).await {
        Ok(()) => return Some(m.id),
        Err(e) => e,
    };
    tracing::warn!(error = %error, message_id = %m.id, "message delivery failed; retrying later");
    let attempts = m.attempts.saturating_add(1);
    let backoff = Duration::from_millis(200u64.saturating_mul(1 << attempts.clamp(0, 9)));
    let next = shop_kit::db::now()
        + chrono::TimeDelta::from_std(backoff.min(Duration::from_secs(60))).unwrap_or_default();
    match runner.store.retry_later(m.id, attempts, next).await {
        Ok(()) => runner
            .metrics
            .deliveries
            .with_label_values(&["failed"])
            .inc(),
        Err(e) => tracing::error!(error = %e, "outbox update failed"),
    }
    None
}

/// Every `interval`, claims the pending orders that are due (their claim ran out after a crash
/// or a timeout, or their next attempt after a failed one has come) and drives them on; also
/// sweeps idempotency keys older than their retention. When `stop` turns true, asks the drives
/// in flight (these and the requests') to stop at a safe point, and waits for them.
pub async fn recover_orders(
    runner: SagaRunner,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut failing = Failing::default();
    loop {
        let handles = match runner.store.claim_due(runner.lease_until(), 50).await {
            Ok(orders) => {
                failing.count = 0;
                orders
                    .into_iter()
                    .map(|o| (o.id, runner.spawn(o)))
                    .collect()
            }
            Err(e) => {
                if failing.failed() {
                    tracing::error!(error = %e, failures = failing.count, "claiming due orders failed; backing off");
                }
                Vec::new()
            }
        };
        let drives = async {
            for (id, handle) in handles {
                match handle.await {
                    Ok(Ok(Drive::Finished(o))) => {
                        tracing::info!(order_id = %id, status = %o.status, "recovered order finished");
                    }
                    Ok(Ok(Drive::Paused(_) | Drive::LeaseLost)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(order_id = %id, error = %e, "driving a recovered order failed");
                    }
                    Err(e) => tracing::error!(order_id = %id, error = %e, "drive task failed"),
                }
            }
            let cutoff = shop_kit::db::now() - chrono::TimeDelta::hours(KEY_RETENTION_HOURS);
            if failing.count == 0
                && let Err(e) = runner.store.sweep_keys(cutoff).await
            {
                tracing::error!(error = %e, "sweeping idempotency keys failed");
            }
            tokio::time::sleep(failing.pause(interval)).await;
        };
        tokio::select! {
            _ = drives => {}
            _ = stop.changed() => {
                runner.lifecycle.drain().await;
                return;
            }
        }
    }
}

/// Consecutive failures of a background loop's database work (a full disk, a lost database):
/// the loop waits longer after each, up to [`BACKOFF_MAX`], and logs the first and then every
/// tenth, rather than spin and fill the log.
#[derive(Default)]
struct Failing {
    count: u32,
}

/// The longest a background loop waits after failures.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

impl Failing {
    /// Counts a failure; whether to log it.
    fn failed(&mut self) -> bool {
        self.count = self.count.saturating_add(1);
        self.count == 1 || self.count.is_multiple_of(10)
    }

    /// The wait before the loop's next round: `usual` without failures, else doubled per
    /// failure up to [`BACKOFF_MAX`] (never below `usual`).
    fn pause(&self, usual: Duration) -> Duration {
        if self.count == 0 {
            return usual;
        }
        let doubled = usual.saturating_mul(1 << self.count.min(8));
        doubled.min(BACKOFF_MAX).max(usual)
    }
}
