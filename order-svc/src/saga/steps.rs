//! The saga's steps: reserve with one participant, confirm with all three, compensate, refund,
//! and the pause and finish they end in.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use sea_orm::DbErr;
use uuid::Uuid;

use super::{Drive, Next, SagaRunner, after};
use crate::client::Answer;
use crate::domain::history::{self, Event, EventKind};
use crate::domain::{
    Action, Held, OrderStatus, Participant, SagaState, Step, message_text, refund_text,
};
use crate::store::{Found, order};

impl SagaRunner {
    /// Reserves with `p`. The state says `p` may hold something (in flight) before the call
    /// goes out, so a crash releases what the call may have taken: an order is recorded with
    /// its first call in flight, and the state stored with each answer already puts the next
    /// call in flight, so one write per step does (storing it separately would add a write
    /// between two that nothing happens between).
    pub(super) async fn reserve_with(
        &self,
        o: &mut order::Model,
        lease: Uuid,
        state: SagaState,
        p: Participant,
    ) -> Result<Next, DbErr> {
        let order = o.order()?;
        let in_flight = state.reserving();
        let nothing = Found::default();
        if in_flight != state && !self.save(o, lease, in_flight, nothing, &[]).await? {
            return Ok(ControlFlow::Break(Drive::LeaseLost));
        }
        let started = Instant::now();
        let answer = self.reserve_patiently(p, &order, started).await;
        let call = self.record(p, Action::Reserve, attempt(o), started, &answer);
        let mut found = Found::default();
        let state = match answer {
            Answer::Done(courier) => {
                found.courier_id = courier;
                in_flight.reserved(self.saga()).reserving()
            }
            Answer::Refused(refusal, product) => {
                tracing::info!(
                    participant = self.saga().name(p),
                    refusal = refusal.as_str(),
                    product = product.map(tracing::field::display),
                    "participant refused"
                );
                found.short_product_id = product;
                in_flight.refused(self.saga().refusal_reason(p, refusal))
            }
            Answer::Unreachable(e) => {
                tracing::warn!(participant = self.saga().name(p), error = %e, "participant unreachable; compensating");
                in_flight.unreachable()
            }
        };
        o.courier_id = found.courier_id.or(o.courier_id);
        o.short_product_id = found.short_product_id.or(o.short_product_id);
        let call = call.step(self.saga().step_name(state.step));
        if !self.save(o, lease, state, found, &[call]).await? {
            return Ok(ControlFlow::Break(Drive::LeaseLost));
        }
        Ok(ControlFlow::Continue(state))
    }

    /// Reserves with `p`, and again with backoff while it cannot be reached, for up to the
    /// reservation's patience since `started` (the client's own quick retries are spent in a
    /// tenth of a second, less than a participant's restart takes). A refusal is final.
    async fn reserve_patiently(
        &self,
        p: Participant,
        order: &crate::domain::Order,
        started: Instant,
    ) -> Answer<Option<Uuid>> {
        let mut answer = self.participants.reserve(p, order).await;
        let mut pause = Duration::from_millis(100);
        while let Answer::Unreachable(e) = &answer {
            let left = self
                .retry
                .reserve_patience
                .saturating_sub(started.elapsed());
            if left <= pause || self.lifecycle.is_stopping() {
                break;
            }
            tracing::info!(participant = self.saga().name(p), error = %e, "participant unreachable; reserving again");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
            let left = self
                .retry
                .reserve_patience
                .saturating_sub(started.elapsed());
            match tokio::time::timeout(left, self.participants.reserve(p, order)).await {
                Ok(again) => answer = again,
                Err(_) => break,
            }
        }
        answer
    }

    /// Confirms with every participant at once (each confirmation is idempotent and independent of the
    /// others, so all are sent again after a pause), then completes the order.
    pub(super) async fn confirm_all(
        &self,
        o: &order::Model,
        lease: Uuid,
        state: SagaState,
    ) -> Result<Next, DbErr> {
        let answers = join_all(self.saga().participants().map(|p| async move {
            let started = Instant::now();
            let answer = self.participants.confirm(p, o.id).await;
            let call = self.record(p, Action::Confirm, attempt(o), started, &answer);
            (p, answer, call)
        }))
        .await;
        let (answers, mut calls): (Vec<_>, Vec<_>) = answers
            .into_iter()
            .map(|(p, a, call)| ((p, a), call))
            .unzip();
        // In the history, in the order the answers came.
        calls.sort_by_key(|c| c.at);
        for (p, answer) in answers {
            if let Some(drive) = self
                .pause_unless_done(o, lease, p, Action::Confirm, answer, &calls)
                .await?
            {
                return Ok(ControlFlow::Break(drive));
            }
        }
        let finished = self
            .finish(o, lease, state.confirmed(), OrderStatus::Completed, calls)
            .await?;
        Ok(ControlFlow::Break(finished))
    }

    /// Gives back, last first, what every participant may still hold, storing the state after
    /// each: in compensation each releases what it holds (`Action::Release`) and the order ends
    /// cancelled; in the refund saga each cancels what it captured (`Action::Cancel`: the
    /// courier's place, the units, then the funds) and the order ends refunded.
    pub(super) async fn give_back(
        &self,
        o: &order::Model,
        lease: Uuid,
        mut state: SagaState,
        action: Action,
    ) -> Result<Next, DbErr> {
        let step = state.step;
        let mut last = Vec::new();
        while state.step == step {
            let Some(p) = state.held.last() else {
                break;
            };
            let started = Instant::now();
            let answer = match action {
                Action::Cancel => self.participants.cancel(p, o.id).await,
                _ => self.participants.release(p, o.id).await,
            };
            let call = self.record(p, action, attempt(o), started, &answer);
            let calls = [call];
            if let Some(drive) = self
                .pause_unless_done(o, lease, p, action, answer, &calls)
                .await?
            {
                return Ok(ControlFlow::Break(drive));
            }
            state = state.released_one();
            let [call] = calls;
            let call = call.step(self.saga().step_name(state.step));
            if state.is_done() {
                last.push(call);
            } else if !self
                .save(o, lease, state, Found::default(), &[call])
                .await?
            {
                return Ok(ControlFlow::Break(Drive::LeaseLost));
            }
        }
        let (status, reason) = match action {
            Action::Cancel => (OrderStatus::Refunded, None),
            _ => (OrderStatus::Cancelled, state.reason),
        };
        let done = SagaState {
            step: Step::Done,
            held: Held::NONE,
            reason,
        };
        let finished = self.finish(o, lease, done, status, last).await?;
        Ok(ControlFlow::Break(finished))
    }

    /// `None` when the call is done. Otherwise the saga pauses: a participant that cannot be
    /// reached is tried again after a backoff (a release at most `release_attempts` times, a
    /// confirmation until it gets through); a refusal here means the participant lost what the
    /// saga holds, which no retry mends, so the order needs attention at once.
    pub(super) async fn pause_unless_done(
        &self,
        o: &order::Model,
        lease: Uuid,
        p: Participant,
        action: Action,
        answer: Answer<()>,
        calls: &[Event],
    ) -> Result<Option<Drive>, DbErr> {
        let attempts = attempt(o);
        let needs_attention = match answer {
            Answer::Done(()) => return Ok(None),
            Answer::Refused(refusal, _) => {
                tracing::error!(
                    participant = self.saga().name(p),
                    refusal = refusal.as_str(),
                    action = action.as_str(),
                    "participant refused a step after the pivot or in compensation; the order needs attention"
                );
                true
            }
            Answer::Unreachable(e) => {
                let gives_back = matches!(action, Action::Release | Action::Cancel);
                let give_up = gives_back && attempts >= self.retry.release_attempts;
                if give_up {
                    tracing::error!(participant = self.saga().name(p), error = %e, action = action.as_str(), attempts, "release keeps failing; the order needs attention");
                } else {
                    tracing::warn!(participant = self.saga().name(p), error = %e, action = action.as_str(), attempts, "participant unreachable; retrying after a backoff");
                }
                give_up
            }
        };
        let next = after(self.retry.backoff(attempts));
        let mut events = Vec::new();
        if needs_attention || history::records_pause(attempts) {
            let status = match needs_attention {
                true => OrderStatus::NeedsAttention,
                false => o.order_status()?,
            };
            events.extend_from_slice(calls);
            events.push(Event {
                attempt: Some(attempts),
                status: Some(status.as_str().to_owned()),
                step: Some(o.step.clone()),
                ..Event::now(EventKind::Paused)
            });
        }
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        if !self
            .store
            .pause(o.id, lease, attempts, next, needs_attention, &events)
            .await?
        {
            return Ok(Some(Drive::LeaseLost));
        }
        if needs_attention {
            self.metrics
                .attention
                .with_label_values(&[self.saga().name(p), action.as_str()])
                .inc();
        }
        let current = self.store.order(o.id).await?;
        Ok(Some(Drive::Paused(current.unwrap_or_else(|| o.clone()))))
    }

    pub(super) async fn finish(
        &self,
        o: &order::Model,
        lease: Uuid,
        state: SagaState,
        status: OrderStatus,
        mut events: Vec<Event>,
    ) -> Result<Drive, DbErr> {
        let text = match status {
            OrderStatus::Refunded => refund_text(o.id, o.total),
            _ => message_text(o.id, o.delivery_date, state.reason),
        };
        events.push(Event {
            status: Some(status.as_str().to_owned()),
            reason: state.reason.map(|r| r.as_str().to_owned()),
            ..Event::now(EventKind::Finished)
        });
        let finished = self
            .store
            .finish(o, lease, state, status, text, &events)
            .await?;
        let Some(finished) = finished else {
            return Ok(Drive::LeaseLost);
        };
        self.outbox_wake.notify_one();
        let reason = state.reason.map_or("", |r| r.as_str());
        self.metrics
            .outcomes
            .with_label_values(&[status.as_str(), reason])
            .inc();
        let age = (shop_kit::db::now() - o.created_at)
            .to_std()
            .unwrap_or_default();
        // One line per saga outcome at info, completed ones included: an order followed into
        // the log store has its end there, not only its failures.
        tracing::info!(
            order_id = %o.id,
            status = status.as_str(),
            reason,
            total = o.total,
            seconds = age.as_secs_f64(),
            "order saga finished"
        );
        self.metrics
            .duration
            .with_label_values(&[status.as_str()])
            .observe(age.as_secs_f64());
        Ok(Drive::Finished(finished))
    }
}

/// Which attempt of its current step the order is at, from 1.
fn attempt(o: &order::Model) -> u32 {
    u32::try_from(o.attempts).unwrap_or(0).saturating_add(1)
}
