//! Drives one order's saga from its stored state to a terminal status, storing the state before
//! each call goes out and after its answer comes back.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::DbErr;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use uuid::Uuid;

use crate::client::{Answer, Participants};
use crate::domain::history::{Event, EventKind};
use crate::domain::{Action, Participant, SagaDefinition, SagaState, Step};
use crate::metrics::SagaMetrics;
use crate::store::{Found, OrderStore, order};

mod steps;

/// How a drive ended.
#[derive(Debug)]
pub enum Drive {
    /// The order reached a terminal status.
    Finished(order::Model),
    /// A confirmation or release did not get through (the recovery driver goes on after a
    /// backoff, or the order now needs attention), or the instance is shutting down (the order
    /// is left for the next driver at once).
    Paused(order::Model),
    /// Another driver took the order over.
    LeaseLost,
}

/// How failed confirmations and releases are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Failed release attempts before the order needs attention.
    pub release_attempts: u32,
    /// First wait before another attempt; doubled per attempt.
    pub backoff: Duration,
    /// Cap of the wait.
    pub backoff_max: Duration,
    /// How long a reservation is tried again while its participant cannot be reached (a
    /// refused connection, a 503 of a restart), before the saga gives up and compensates: a
    /// reservation is idempotent and nothing is held yet past it, so a blip costs time only.
    pub reserve_patience: Duration,
}

impl RetryPolicy {
    /// The wait after `attempts` failed attempts: exponential, capped, with full jitter in its
    /// upper half so that paused orders do not all come back at once.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exp = self
            .backoff
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
        let capped = exp.min(self.backoff_max);
        capped.mul_f64(0.5 + rand::random::<f64>() / 2.0)
    }
}

/// Whether the instance is shutting down, and the drives still running.
#[derive(Debug)]
pub struct Lifecycle {
    stopping: watch::Sender<bool>,
    drives: TaskTracker,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            stopping: watch::channel(false).0,
            drives: TaskTracker::new(),
        }
    }
}

impl Lifecycle {
    /// Asks every drive to stop at its next safe point (after the answer of its call in flight
    /// is stored) and waits until all have.
    pub async fn drain(&self) {
        self.stopping.send_replace(true);
        self.drives.close();
        self.drives.wait().await;
    }

    pub(crate) fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }
}

/// Runs sagas for one order-svc instance.
#[derive(Clone)]
pub struct SagaRunner {
    /// Where every order and its saga state live.
    pub store: OrderStore,
    /// The saga's participants and their clients.
    pub participants: Participants,
    /// How long a claim on an order lasts without being renewed.
    pub lease_ttl: Duration,
    /// How failed confirmations and releases are retried.
    pub retry: RetryPolicy,
    /// Outcomes, step latencies and attention counts.
    pub metrics: Arc<SagaMetrics>,
    /// Wakes the outbox sender when a message is queued.
    pub outbox_wake: Arc<Notify>,
    /// Shutdown and the drives in flight.
    pub lifecycle: Arc<Lifecycle>,
}

/// `now + d`, in the database's time.
fn after(d: Duration) -> chrono::DateTime<chrono::Utc> {
    shop_kit::db::now() + chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

impl SagaRunner {
    /// When a claim made now runs out.
    pub fn lease_until(&self) -> chrono::DateTime<chrono::Utc> {
        after(self.lease_ttl)
    }

    /// Drives a claimed order in a task of its own, which a shutdown waits for. The drive stays
    /// in the caller's trace, or, resumed by the recovery driver, in the trace of the request
    /// that placed the order.
    pub fn spawn(&self, o: order::Model) -> JoinHandle<Result<Drive, DbErr>> {
        let runner = self.clone();
        let span = if tracing::Span::current().is_none() {
            let span = tracing::info_span!("resume order", order_id = %o.id);
            shop_kit::telemetry::follow(&span, o.trace_parent.as_deref());
            span
        } else {
            tracing::Span::current()
        };
        self.lifecycle
            .drives
            .spawn(async move { runner.drive(o).await }.instrument(span))
    }

    async fn save(
        &self,
        o: &order::Model,
        lease: Uuid,
        state: SagaState,
        found: Found,
        events: &[Event],
    ) -> Result<bool, DbErr> {
        self.store
            .save_state(o.id, lease, state, found, self.lease_until(), events)
            .await
    }

    /// The saga it runs.
    pub fn saga(&self) -> &SagaDefinition {
        &self.participants.saga
    }

    /// Counts a call's answer in the step metrics and returns its history entry (`attempt`:
    /// which attempt of the step it was).
    fn record<T>(
        &self,
        p: Participant,
        action: Action,
        attempt: u32,
        started: Instant,
        answer: &Answer<T>,
    ) -> Event {
        let (result, detail) = match answer {
            Answer::Done(_) => ("done", None),
            Answer::Refused(refusal, _) => ("refused", Some(refusal.as_str().to_owned())),
            Answer::Unreachable(e) => ("unreachable", Some(e.to_string())),
        };
        let took = started.elapsed();
        self.metrics
            .steps
            .with_label_values(&[self.saga().name(p), action.as_str(), result])
            .observe(took.as_secs_f64());
        Event {
            participant: Some(self.saga().name(p).to_owned()),
            action: Some(action.as_str().to_owned()),
            attempt: Some(attempt),
            answer: Some(result.to_owned()),
            detail,
            duration_ms: Some(u64::try_from(took.as_millis()).unwrap_or(u64::MAX)),
            ..Event::now(EventKind::Call)
        }
    }

    /// Drives an order this instance has claimed until it finishes or has to pause: one step
    /// method per saga step, each storing the state before its call and after its answer.
    #[tracing::instrument(skip(self, o), fields(order_id = %o.id))]
    pub async fn drive(&self, mut o: order::Model) -> Result<Drive, DbErr> {
        let Some(lease) = o.lease_owner else {
            return Ok(Drive::LeaseLost);
        };
        let mut state = o.saga_state(self.saga())?;
        loop {
            if self.lifecycle.is_stopping() && !state.is_done() {
                tracing::info!("shutting down: leaving the order to the next driver");
                self.store.drop_lease(o.id, lease).await?;
                return Ok(Drive::Paused(o));
            }
            let next = match state.step {
                Step::Reserve(p) => self.reserve_with(&mut o, lease, state, p).await?,
                Step::Confirm => self.confirm_all(&o, lease, state).await?,
                Step::Compensate => self.give_back(&o, lease, state, Action::Release).await?,
                Step::Refund => self.give_back(&o, lease, state, Action::Cancel).await?,
                Step::Done => {
                    let current = self.store.order(o.id).await?.unwrap_or(o);
                    return Ok(Drive::Finished(current));
                }
            };
            state = match next {
                ControlFlow::Continue(state) => state,
                ControlFlow::Break(drive) => return Ok(drive),
            };
        }
    }
}

/// What a step leaves the drive with: go on from a state, or stop with how the drive ended.
type Next = ControlFlow<Drive, SagaState>;
