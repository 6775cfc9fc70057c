//! What the books audit reads of the orders, and the repairs it makes to one: each a
//! conditional update on the status the audit saw, so an order that moved on since is left
//! alone.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{QueryOrder, QuerySelect};
use shop_kit::db::now;

use super::claims::appending;
use super::{OrderStore, order};
use crate::domain::history::Event;
use crate::domain::{OrderStatus, SagaState};

impl OrderStore {
    /// The orders after `after` (from the first without it), by id, at most `limit`: each id
    /// and status.
    pub async fn statuses_after(
        &self,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<(Uuid, String)>, DbErr> {
        let mut query = order::Entity::find()
            .select_only()
            .column(order::Column::Id)
            .column(order::Column::Status);
        if let Some(after) = after {
            query = query.filter(order::Column::Id.gt(after));
        }
        query
            .order_by_asc(order::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await
    }

    /// Puts order `order_id`, still `from`, back in a saga's hands at `state` (pending, or
    /// refunding for a refund), due at once for the recovery driver, with `event` in its
    /// history. `false` when it is no longer `from`.
    pub async fn reopen(
        &self,
        order_id: Uuid,
        from: OrderStatus,
        state: SagaState,
        event: &Event,
    ) -> Result<bool, DbErr> {
        let status = match state.step {
            crate::domain::Step::Refund => OrderStatus::Refunding,
            _ => OrderStatus::Pending,
        };
        let update = self
            .with_state(order::Entity::update_many(), state)
            .col_expr(order::Column::Status, Expr::value(status.as_str()))
            .col_expr(order::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
            .col_expr(order::Column::LeaseUntil, Expr::value(now()))
            .col_expr(order::Column::Attempts, Expr::value(0));
        self.moved_from(update, order_id, from, event).await
    }

    /// Sets order `order_id`, still `from`, aside as `needs_attention`, with `event` (what a
    /// person has to decide) in its history. `false` when it is no longer `from`.
    pub async fn set_aside(
        &self,
        order_id: Uuid,
        from: OrderStatus,
        event: &Event,
    ) -> Result<bool, DbErr> {
        let update = order::Entity::update_many().col_expr(
            order::Column::Status,
            Expr::value(OrderStatus::NeedsAttention.as_str()),
        );
        self.moved_from(update, order_id, from, event).await
    }

    /// Runs `update` on order `order_id` if it is still `from`, with `event` in its history.
    async fn moved_from(
        &self,
        update: sea_orm::UpdateMany<order::Entity>,
        order_id: Uuid,
        from: OrderStatus,
        event: &Event,
    ) -> Result<bool, DbErr> {
        let res = appending(update, std::slice::from_ref(event))
            .col_expr(order::Column::UpdatedAt, Expr::value(now()))
            .filter(order::Column::Id.eq(order_id))
            .filter(order::Column::Status.eq(from.as_str()))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Adds `event` to order `order_id`'s history (what the audit did at a participant for
    /// it).
    pub async fn note(&self, order_id: Uuid, event: &Event) -> Result<(), DbErr> {
        appending(order::Entity::update_many(), std::slice::from_ref(event))
            .col_expr(order::Column::UpdatedAt, Expr::value(now()))
            .filter(order::Column::Id.eq(order_id))
            .exec(&self.db)
            .await
            .map(|_| ())
    }
}
