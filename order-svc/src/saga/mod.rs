//! Drives one order's saga from its stored state to a terminal status, storing the state before
//! each call goes out and after its answer comes back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::DbErr;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::client::{Answer, Participants};
use crate::domain::{FailureReason, OrderStatus, Participant, SagaState, Step, message_text};
use crate::metrics::SagaMetrics;
use crate::store::{OrderStore, order};

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

    fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }
}

/// Runs sagas for one order-svc instance.
#[derive(Clone)]
pub struct SagaRunner {
    /// Orders.
    pub store: OrderStore,
    /// The participants.
    pub participants: Participants,
    /// How long a claim on an order lasts without being renewed.
    pub lease_ttl: Duration,
    /// How failed confirmations and releases are retried.
    pub retry: RetryPolicy,
    /// Saga metrics.
    pub metrics: Arc<SagaMetrics>,
    /// Wakes the outbox sender when a message is queued.
    pub outbox_wake: Arc<Notify>,
    /// Shutdown and the drives in flight.
    pub lifecycle: Arc<Lifecycle>,
}

fn participant_label(p: Participant) -> &'static str {
    match p {
        Participant::Payment => "payment",
        Participant::Stock => "stock",
        Participant::Delivery => "delivery",
    }
}

/// The saga state stored with an order.
pub fn state_of(o: &order::Model) -> SagaState {
    SagaState {
        step: SagaState::parse_step(&o.step).unwrap_or(Step::Compensate),
        held: u8::try_from(o.held.clamp(0, 3)).unwrap_or(3),
        reason: o.failure_reason.as_deref().and_then(FailureReason::parse),
    }
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

    /// Drives a claimed order in a task of its own, which a shutdown waits for.
    pub fn spawn(&self, o: order::Model) -> JoinHandle<Result<Drive, DbErr>> {
        let runner = self.clone();
        self.lifecycle
            .drives
            .spawn(async move { runner.drive(o).await })
    }

    async fn save(
        &self,
        o: &order::Model,
        lease: Uuid,
        state: SagaState,
        courier: Option<Uuid>,
    ) -> Result<bool, DbErr> {
        self.store
            .save_state(o.id, lease, state, courier, self.lease_until())
            .await
    }

    fn observe<T>(&self, p: Participant, action: &str, started: Instant, answer: &Answer<T>) {
        let result = match answer {
            Answer::Done(_) => "done",
            Answer::Refused(_) => "refused",
            Answer::Unreachable(_) => "unreachable",
        };
        self.metrics
            .steps
            .with_label_values(&[participant_label(p), action, result])
            .observe(started.elapsed().as_secs_f64());
    }

    /// Drives an order this instance has claimed until it finishes or has to pause.
    #[tracing::instrument(skip(self, o), fields(order_id = %o.id))]
    pub async fn drive(&self, mut o: order::Model) -> Result<Drive, DbErr> {
        let Some(lease) = o.lease_owner else {
            return Ok(Drive::LeaseLost);
        };
        let mut state = state_of(&o);
        loop {
            if self.lifecycle.is_stopping() && !state.is_done() {
                tracing::info!("shutting down: leaving the order to the next driver");
                self.store.drop_lease(o.id, lease).await?;
                return Ok(Drive::Paused(o));
            }
            match state.step {
                Step::Reserve(i) => {
                    let Some(p) = Participant::at(i) else {
                        return Err(DbErr::Custom("bad saga step".into()));
                    };
                    let in_flight = state.reserving();
                    if !self.save(&o, lease, in_flight, None).await? {
                        return Ok(Drive::LeaseLost);
                    }
                    let started = Instant::now();
                    let answer = self.participants.reserve(p, &o).await;
                    self.observe(p, "reserve", started, &answer);
                    let mut courier = None;
                    state = match answer {
                        Answer::Done(c) => {
                            courier = c;
                            in_flight.reserved()
                        }
                        Answer::Refused(status) => {
                            tracing::info!(?p, %status, "participant refused");
                            in_flight.refused(p.refusal_reason_for(status.as_u16()))
                        }
                        Answer::Unreachable(e) => {
                            tracing::warn!(?p, error = %e, "participant unreachable; compensating");
                            in_flight.unreachable()
                        }
                    };
                    if courier.is_some() {
                        o.courier_id = courier;
                    }
                    if !self.save(&o, lease, state, courier).await? {
                        return Ok(Drive::LeaseLost);
                    }
                }
                Step::Confirm => {
                    for p in Participant::ALL {
                        let started = Instant::now();
                        let answer = self.participants.confirm(p, o.id).await;
                        self.observe(p, "confirm", started, &answer);
                        if let Some(drive) = self
                            .pause_unless_done(&o, lease, p, "confirm", answer)
                            .await?
                        {
                            return Ok(drive);
                        }
                    }
                    return self
                        .finish(&o, lease, state.confirmed(), OrderStatus::Completed)
                        .await;
                }
                Step::Compensate => {
                    while state.step == Step::Compensate && state.held > 0 {
                        let Some(p) = Participant::at(state.held - 1) else {
                            break;
                        };
                        let started = Instant::now();
                        let answer = self.participants.release(p, o.id).await;
                        self.observe(p, "release", started, &answer);
                        if let Some(drive) = self
                            .pause_unless_done(&o, lease, p, "release", answer)
                            .await?
                        {
                            return Ok(drive);
                        }
                        state = state.released_one();
                        if !state.is_done() && !self.save(&o, lease, state, None).await? {
                            return Ok(Drive::LeaseLost);
                        }
                    }
                    let done = SagaState {
                        step: Step::Done,
                        held: 0,
                        reason: state.reason,
                    };
                    return self.finish(&o, lease, done, OrderStatus::Cancelled).await;
                }
                Step::Done => {
                    let current = self.store.order(o.id).await?.unwrap_or(o);
                    return Ok(Drive::Finished(current));
                }
            }
        }
    }

    /// `None` when the call is done. Otherwise the saga pauses: a participant that cannot be
    /// reached is tried again after a backoff (a release at most `release_attempts` times, a
    /// confirmation until it gets through); a refusal here means the participant lost what the
    /// saga holds, which no retry mends, so the order needs attention at once.
    async fn pause_unless_done(
        &self,
        o: &order::Model,
        lease: Uuid,
        p: Participant,
        action: &'static str,
        answer: Answer<()>,
    ) -> Result<Option<Drive>, DbErr> {
        let attempts = u32::try_from(o.attempts).unwrap_or(0).saturating_add(1);
        let needs_attention = match answer {
            Answer::Done(()) => return Ok(None),
            Answer::Refused(status) => {
                tracing::error!(?p, %status, action, "participant refused a step after the pivot or in compensation; the order needs attention");
                true
            }
            Answer::Unreachable(e) => {
                let give_up = action == "release" && attempts >= self.retry.release_attempts;
                if give_up {
                    tracing::error!(?p, error = %e, action, attempts, "release keeps failing; the order needs attention");
                } else {
                    tracing::warn!(?p, error = %e, action, attempts, "participant unreachable; retrying after a backoff");
                }
                give_up
            }
        };
        let next = after(self.retry.backoff(attempts));
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        if !self
            .store
            .pause(o.id, lease, attempts, next, needs_attention)
            .await?
        {
            return Ok(Some(Drive::LeaseLost));
        }
        if needs_attention {
            self.metrics
                .attention
                .with_label_values(&[participant_label(p), action])
                .inc();
        }
        let current = self.store.order(o.id).await?;
        Ok(Some(Drive::Paused(current.unwrap_or_else(|| o.clone()))))
    }

    async fn finish(
        &self,
        o: &order::Model,
        lease: Uuid,
        state: SagaState,
        status: OrderStatus,
    ) -> Result<Drive, DbErr> {
        let text = message_text(o.id, o.delivery_date, state.reason);
        if !self.store.finish(o, lease, state, status, text).await? {
            return Ok(Drive::LeaseLost);
        }
        self.outbox_wake.notify_one();
        let reason = state.reason.map_or("", |r| r.as_str());
        self.metrics
            .outcomes
            .with_label_values(&[status.as_str(), reason])
            .inc();
        let age = (shop_kit::db::now() - o.created_at)
            .to_std()
            .unwrap_or_default();
        self.metrics
            .duration
            .with_label_values(&[status.as_str()])
            .observe(age.as_secs_f64());
        let current = self.store.order(o.id).await?;
        Ok(Drive::Finished(current.unwrap_or_else(|| o.clone())))
    }
}
