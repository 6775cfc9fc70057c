//! An order's saga state under a claim: each driver holds a lease with a token of its own,
//! and every write is conditional on still holding it, so two drivers never drive one order.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, Func};
use sea_orm::{ActiveValue::Set, Condition, QueryOrder, QuerySelect, UpdateMany};
use shop_kit::db::now;

use super::{OrderStore, order, outbox};
use crate::domain::history::{self, Event, EventKind};
use crate::domain::{OrderStatus, SagaState, Step};

/// What a participant's answer named, stored with the saga's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Found {
    /// The courier delivery booked.
    pub courier_id: Option<Uuid>,
    /// The first product stock was short of.
    pub short_product_id: Option<Uuid>,
}

/// The status of an order a saga drives: `refunding` in the refund saga, `pending` otherwise.
fn active_status() -> sea_orm::sea_query::SimpleExpr {
    Expr::case(
        order::Column::Step.eq(Step::Refund.fixed_name()),
        OrderStatus::Refunding.as_str(),
    )
    .finally(OrderStatus::Pending.as_str())
    .into()
}

/// Orders a saga drives (or will drive on).
fn active() -> sea_orm::sea_query::SimpleExpr {
    order::Column::Status.is_in(OrderStatus::ACTIVE.map(OrderStatus::as_str))
}

impl OrderStore {
    /// Stores the saga's state while the claim `lease` holds the order, renewing it until
    /// `lease_until`, and clears the failed attempts (the saga moved on); with what a
    /// participant's answer named (the courier booked, the product short). `false` when the
    /// claim was lost (another driver has the order now).
    #[tracing::instrument(level = "debug", skip(self, found, events), fields(step = self.saga.step_name(state.step), held = %self.saga.names(state.held)))]
    pub async fn save_state(
        &self,
        order_id: Uuid,
        lease: Uuid,
        state: SagaState,
        found: Found,
        lease_until: DateTime<Utc>,
        events: &[Event],
    ) -> Result<bool, DbErr> {
        let update = self.with_state(order::Entity::update_many(), state);
        let mut update = appending(update, events)
            .col_expr(order::Column::Attempts, Expr::value(0))
            .col_expr(order::Column::LeaseUntil, Expr::value(lease_until))
            .col_expr(order::Column::UpdatedAt, Expr::value(now()));
        if let Some(courier_id) = found.courier_id {
            update = update.col_expr(order::Column::CourierId, Expr::value(courier_id));
        }
        if let Some(product_id) = found.short_product_id {
            update = update.col_expr(order::Column::ShortProductId, Expr::value(product_id));
        }
        let res = update
            .filter(held_by(order_id, lease))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Ends the saga: stores the terminal status and queues the user's message, in one
    /// transaction. Answers the order as stored now; `None` when the claim was lost.
    #[tracing::instrument(level = "debug", skip(self, state, message, events), fields(status = status.as_str()))]
    pub async fn finish(
        &self,
        order: &order::Model,
        lease: Uuid,
        state: SagaState,
        status: OrderStatus,
        message: String,
        events: &[Event],
    ) -> Result<Option<order::Model>, DbErr> {
        let at = now();
        let txn = self.db.begin().await?;
        let update = self.with_state(order::Entity::update_many(), state);
        let res = appending(update, events)
            .col_expr(order::Column::Status, Expr::value(status.as_str()))
            .col_expr(order::Column::Attempts, Expr::value(0))
            .col_expr(order::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
            .col_expr(
                order::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(order::Column::UpdatedAt, Expr::value(at))
            .filter(held_by(order.id, lease))
            .exec(&txn)
            .await?;
        if res.rows_affected != 1 {
            return Ok(None);
        }
        let msg = outbox::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(order.user_id),
            order_id: Set(order.id),
            text: Set(message),
            attempts: Set(0),
            next_attempt_at: Set(now()),
            delivered_at: Set(None),
            created_at: Set(now()),
            trace_parent: Set(shop_kit::telemetry::current_traceparent()),
        };
        outbox::Entity::insert(msg)
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        let stored = self.saga.stored(state);
        Ok(Some(order::Model {
            status: status.as_str().into(),
            step: stored.step.into(),
            held: stored.held,
            holding: stored.holding,
            history: order.history.clone() + &history::lines(events),
            failure_reason: state.reason.map(|r| r.as_str().into()),
            attempts: 0,
            lease_owner: None,
            lease_until: None,
            updated_at: at,
            ..order.clone()
        }))
    }

    /// Starts the refund saga of a completed order delivered after `today`, claimed with a fresh
    /// lease token until `lease_until`: refunding, every participant to cancel with. One
    /// conditional update, so of two racing cancellations exactly one starts it. `None` when
    /// the order is not (or no longer) completed, or its delivery date has come.
    pub async fn start_refund(
        &self,
        order_id: Uuid,
        today: chrono::NaiveDate,
        lease_until: DateTime<Utc>,
        by: Uuid,
    ) -> Result<Option<order::Model>, DbErr> {
        let state = SagaState::refund(&self.saga);
        let lease = Uuid::now_v7();
        let requested = Event {
            by: Some(by),
            ..Event::now(EventKind::RefundRequested)
        };
        let update = self.with_state(order::Entity::update_many(), state);
        let res = appending(
            update,
            &[requested.step(Step::Refund.fixed_name().unwrap_or_default())],
        )
        .col_expr(
            order::Column::Status,
            Expr::value(OrderStatus::Refunding.as_str()),
        )
        .col_expr(order::Column::Attempts, Expr::value(0))
        .col_expr(order::Column::LeaseOwner, Expr::value(lease))
        .col_expr(order::Column::LeaseUntil, Expr::value(lease_until))
        .col_expr(order::Column::UpdatedAt, Expr::value(now()))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.eq(OrderStatus::Completed.as_str()))
        .filter(order::Column::DeliveryDate.gt(today))
        .exec(&self.db)
        .await?;
        self.claimed(res.rows_affected, order_id, lease).await
    }

    /// Gives up the claim after a failed attempt: the order is due again at `next_attempt`,
    /// with `attempts` failed attempts, or is set aside as `needs_attention` for an admin.
    pub async fn pause(
        &self,
        order_id: Uuid,
        lease: Uuid,
        attempts: i32,
        next_attempt: DateTime<Utc>,
        needs_attention: bool,
        events: &[Event],
    ) -> Result<bool, DbErr> {
        let mut update = appending(order::Entity::update_many(), events)
            .col_expr(order::Column::Attempts, Expr::value(attempts))
            .col_expr(order::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
            .col_expr(order::Column::LeaseUntil, Expr::value(next_attempt))
            .col_expr(order::Column::UpdatedAt, Expr::value(now()));
        if needs_attention {
            update = update.col_expr(
                order::Column::Status,
                Expr::value(OrderStatus::NeedsAttention.as_str()),
            );
        }
        let res = update
            .filter(held_by(order_id, lease))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Gives up the claim so that any driver (this instance's recovery driver, or another
    /// replica's) picks the order up at once.
    pub async fn drop_lease(&self, order_id: Uuid, lease: Uuid) -> Result<(), DbErr> {
        order::Entity::update_many()
            .col_expr(order::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
            .col_expr(order::Column::LeaseUntil, Expr::value(now()))
            .filter(held_by(order_id, lease))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    /// Claims up to `limit` pending orders that are due (their claim ran out, or their next
    /// attempt has come), each with a fresh lease token, until `lease_until`. Each claim is a
    /// conditional update, so two instances never both win one.
    #[tracing::instrument(skip(self))]
    pub async fn claim_due(
        &self,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<order::Model>, DbErr> {
        let at = now();
        let due = Condition::any()
            .add(order::Column::LeaseUntil.is_null())
            .add(order::Column::LeaseUntil.lte(at));
        let candidates = order::Entity::find()
            .filter(active())
            .filter(due.clone())
            .order_by_asc(order::Column::LeaseUntil)
            .limit(limit)
            .all(&self.db)
            .await?;
        let mut claimed = Vec::new();
        for o in candidates {
            let condition = Condition::all()
                .add(order::Column::Id.eq(o.id))
                .add(active())
                .add(due.clone());
            let resumed = Event::now(EventKind::Resumed);
            if let Some(o) = self.claim(o.id, condition, lease_until, resumed).await? {
                claimed.push(o);
            }
        }
        Ok(claimed)
    }

    /// Claims an order set aside as `needs_attention`, or a pending (or refunding) one that
    /// nobody drives right now, for an admin's re-drive: pending (or refunding) again, attempts
    /// cleared. `None` when the order is in neither state.
    pub async fn claim_for_redrive(
        &self,
        order_id: Uuid,
        lease_until: DateTime<Utc>,
        admin: Uuid,
    ) -> Result<Option<order::Model>, DbErr> {
        let idle_pending = Condition::all().add(active()).add(
            Condition::any()
                .add(order::Column::LeaseOwner.is_null())
                .add(order::Column::LeaseUntil.is_null())
                .add(order::Column::LeaseUntil.lte(now())),
        );
        let condition = Condition::all().add(order::Column::Id.eq(order_id)).add(
            Condition::any()
                .add(order::Column::Status.eq(OrderStatus::NeedsAttention.as_str()))
                .add(idle_pending),
        );
        let retried = Event {
            by: Some(admin),
            ..Event::now(EventKind::Retried)
        };
        self.claim(order_id, condition, lease_until, retried).await
    }

    /// Takes order `order_id`, when it matches `condition`, with a fresh lease token: pending
    /// (refunding in the refund saga), and with its failed attempts cleared when an admin
    /// re-drives it; `event` says who took it.
    async fn claim(
        &self,
        order_id: Uuid,
        condition: Condition,
        lease_until: DateTime<Utc>,
        event: Event,
    ) -> Result<Option<order::Model>, DbErr> {
        let lease = Uuid::now_v7();
        let fresh_start = event.event == EventKind::Retried;
        let mut update = appending(order::Entity::update_many(), &[event]);
        if fresh_start {
            update = update.col_expr(order::Column::Attempts, Expr::value(0));
        }
        let res = update
            .col_expr(order::Column::Status, active_status())
            .col_expr(order::Column::LeaseOwner, Expr::value(lease))
            .col_expr(order::Column::LeaseUntil, Expr::value(lease_until))
            .filter(condition)
            .exec(&self.db)
            .await?;
        self.claimed(res.rows_affected, order_id, lease).await
    }
}

impl OrderStore {
    /// The order a claiming update (`rows_affected` rows) took with `lease`: `None` when it took
    /// none, or when another driver holds it by the time it is read.
    async fn claimed(
        &self,
        rows_affected: u64,
        order_id: Uuid,
        lease: Uuid,
    ) -> Result<Option<order::Model>, DbErr> {
        if rows_affected != 1 {
            return Ok(None);
        }
        let found = order::Entity::find_by_id(order_id).one(&self.db).await?;
        Ok(found.filter(|o| o.lease_owner == Some(lease)))
    }
}

impl OrderStore {
    /// `update` writing the saga's durable state: its step, what it holds (by name, and the
    /// count the previous release reads) and why it is cancelled.
    pub(super) fn with_state(
        &self,
        update: UpdateMany<order::Entity>,
        state: SagaState,
    ) -> UpdateMany<order::Entity> {
        let stored = self.saga.stored(state);
        update
            .col_expr(order::Column::Step, Expr::value(stored.step))
            .col_expr(order::Column::Held, Expr::value(stored.held))
            .col_expr(order::Column::Holding, Expr::value(stored.holding))
            .col_expr(
                order::Column::FailureReason,
                Expr::value(state.reason.map(|r| r.as_str())),
            )
    }
}

/// The order `order_id`, driven by a saga and still held by the claim `lease`.
fn held_by(order_id: Uuid, lease: Uuid) -> Condition {
    Condition::all()
        .add(order::Column::Id.eq(order_id))
        .add(order::Column::LeaseOwner.eq(lease))
        .add(active())
}

/// The most a history grows to, in characters: past it, entries are no longer appended.
const HISTORY_CAP: i64 = 64 * 1024;

/// `update` appending `events` to the order's history, in the same statement (up to
/// [`HISTORY_CAP`]).
pub(super) fn appending(
    update: UpdateMany<order::Entity>,
    events: &[Event],
) -> UpdateMany<order::Entity> {
    if events.is_empty() {
        return update;
    }
    let history = Expr::col(order::Column::History);
    // `||` concatenates text on SQLite and PostgreSQL alike.
    let appended = history
        .clone()
        .binary(BinOper::Custom("||"), Expr::val(history::lines(events)));
    let capped =
        Expr::case(Func::char_length(history.clone()).lt(HISTORY_CAP), appended).finally(history);
    update.col_expr(order::Column::History, capped.into())
}
