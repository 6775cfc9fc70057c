//! Drives one order's saga from its stored state to a terminal status, storing the state before
//! each call goes out and after its answer comes back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::DbErr;
use tokio::sync::Notify;
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
    /// A participant is unreachable after the pivot or during compensation: the recovery
    /// driver goes on later.
    Paused(order::Model),
    /// Another instance took the order over.
    LeaseLost,
}

/// Runs sagas for one order-svc instance.
#[derive(Clone)]
pub struct SagaRunner {
    /// Orders.
    pub store: OrderStore,
    /// The participants.
    pub participants: Participants,
    /// This instance's lease identity.
    pub owner: Uuid,
    /// How long a lease lasts without being renewed.
    pub lease_ttl: Duration,
    /// Saga metrics.
    pub metrics: Arc<SagaMetrics>,
    /// Wakes the outbox sender when a message is queued.
    pub outbox_wake: Arc<Notify>,
}

/// The saga state stored with an order.
pub fn state_of(o: &order::Model) -> SagaState {
    SagaState {
        step: SagaState::parse_step(&o.step).unwrap_or(Step::Compensate),
        held: u8::try_from(o.held.clamp(0, 3)).unwrap_or(3),
        reason: o.failure_reason.as_deref().and_then(FailureReason::parse),
    }
}

impl SagaRunner {
    fn lease_until(&self) -> chrono::DateTime<chrono::Utc> {
        shop_kit::db::now()
            + chrono::TimeDelta::from_std(self.lease_ttl).unwrap_or(chrono::TimeDelta::seconds(30))
    }

    async fn save(
        &self,
        o: &order::Model,
        state: SagaState,
        courier: Option<Uuid>,
    ) -> Result<bool, DbErr> {
        self.store
            .save_state(o.id, self.owner, state, courier, self.lease_until())
            .await
    }

    fn observe<T>(&self, p: Participant, action: &str, started: Instant, answer: &Answer<T>) {
        let result = match answer {
            Answer::Done(_) => "done",
            Answer::Refused(_) => "refused",
            Answer::Unreachable(_) => "unreachable",
        };
        let participant = match p {
            Participant::Payment => "payment",
            Participant::Stock => "stock",
            Participant::Delivery => "delivery",
        };
        self.metrics
            .steps
            .with_label_values(&[participant, action, result])
            .observe(started.elapsed().as_secs_f64());
    }

    /// Drives an order this instance holds the lease of until it finishes or has to pause.
    #[tracing::instrument(skip(self, o), fields(order_id = %o.id))]
    pub async fn drive(&self, mut o: order::Model) -> Result<Drive, DbErr> {
        let mut state = state_of(&o);
        loop {
            match state.step {
                Step::Reserve(i) => {
                    let Some(p) = Participant::at(i) else {
                        return Err(DbErr::Custom("bad saga step".into()));
                    };
                    let in_flight = state.reserving();
                    if !self.save(&o, in_flight, None).await? {
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
                    if !self.save(&o, state, courier).await? {
                        return Ok(Drive::LeaseLost);
                    }
                }
                Step::Confirm => {
                    for p in Participant::ALL {
                        let started = Instant::now();
                        let answer = self.participants.confirm(p, o.id).await;
                        self.observe(p, "confirm", started, &answer);
                        if let Some(drive) =
                            self.pause_unless_done(&o, p, "confirm", answer).await?
                        {
                            return Ok(drive);
                        }
                    }
                    return self
                        .finish(&o, state.confirmed(), OrderStatus::Completed)
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
                        if let Some(drive) =
                            self.pause_unless_done(&o, p, "release", answer).await?
                        {
                            return Ok(drive);
                        }
                        state = state.released_one();
                        if !state.is_done() && !self.save(&o, state, None).await? {
                            return Ok(Drive::LeaseLost);
                        }
                    }
                    let done = SagaState {
                        step: Step::Done,
                        held: 0,
                        reason: state.reason,
                    };
                    return self.finish(&o, done, OrderStatus::Cancelled).await;
                }
                Step::Done => {
                    let current = self.store.order(o.id).await?.unwrap_or(o);
                    return Ok(Drive::Finished(current));
                }
            }
        }
    }

    /// `None` when the call is done; otherwise the saga pauses for the recovery driver.
    async fn pause_unless_done(
        &self,
        o: &order::Model,
        p: Participant,
        action: &str,
        answer: Answer<()>,
    ) -> Result<Option<Drive>, DbErr> {
        match answer {
            Answer::Done(()) => Ok(None),
            Answer::Refused(status) => {
                // Only a bug or a hand edit gets here: the participant no longer holds what the
                // saga reserved. Keep the order pending and loud rather than guess.
                tracing::error!(?p, %status, action, "participant refused a step after the pivot or in compensation");
                self.store.drop_lease(o.id, self.owner).await?;
                Ok(Some(Drive::Paused(o.clone())))
            }
            Answer::Unreachable(e) => {
                tracing::warn!(?p, error = %e, action, "participant unreachable; the recovery driver retries");
                self.store.drop_lease(o.id, self.owner).await?;
                Ok(Some(Drive::Paused(o.clone())))
            }
        }
    }

    async fn finish(
        &self,
        o: &order::Model,
        state: SagaState,
        status: OrderStatus,
    ) -> Result<Drive, DbErr> {
        let text = message_text(o.id, o.delivery_date, state.reason);
        if !self
            .store
            .finish(o, self.owner, state, status, text)
            .await?
        {
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
