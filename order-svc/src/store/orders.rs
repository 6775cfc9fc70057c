//! Orders and their saga state.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, Condition, QueryOrder, QuerySelect, TransactionTrait};
use shop_kit::db::now;
use shop_kit::page::PageRequest;

use super::{OrderStore, order, outbox};
use crate::domain::{OrderStatus, SagaState};

/// A new order, priced.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// Who orders.
    pub user_id: Uuid,
    /// What.
    pub product_id: Uuid,
    /// How many.
    pub quantity: i64,
    /// Price per unit in cents, from stock-svc.
    pub unit_price: i64,
    /// `unit_price × quantity`.
    pub total: i64,
    /// When to deliver.
    pub delivery_date: NaiveDate,
}

/// Which orders to list.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Only this user's.
    pub user_id: Option<Uuid>,
    /// Only in this status.
    pub status: Option<OrderStatus>,
}

impl OrderStore {
    /// Records a new order, leased to `owner` until `lease_until`.
    #[tracing::instrument(skip(self, new), fields(user_id = %new.user_id))]
    pub async fn create(
        &self,
        new: NewOrder,
        owner: Uuid,
        lease_until: DateTime<Utc>,
    ) -> Result<order::Model, DbErr> {
        let state = SagaState::start();
        let row = order::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(new.user_id),
            product_id: Set(new.product_id),
            quantity: Set(new.quantity),
            unit_price: Set(new.unit_price),
            total: Set(new.total),
            delivery_date: Set(new.delivery_date),
            status: Set(OrderStatus::Pending.as_str().into()),
            step: Set(state.step_name().into()),
            held: Set(i32::from(state.held)),
            failure_reason: Set(None),
            courier_id: Set(None),
            lease_owner: Set(Some(owner)),
            lease_until: Set(Some(lease_until)),
            created_at: Set(now()),
            updated_at: Set(now()),
        };
        order::Entity::insert(row)
            .exec_with_returning(&self.db)
            .await
    }

    /// One order.
    pub async fn order(&self, id: Uuid) -> Result<Option<order::Model>, DbErr> {
        order::Entity::find_by_id(id).one(&self.db).await
    }

    /// A page of orders, newest first (`limit + 1` rows).
    pub async fn orders(
        &self,
        filter: OrderFilter,
        page: PageRequest,
    ) -> Result<Vec<order::Model>, DbErr> {
        let mut query = order::Entity::find()
            .order_by_desc(order::Column::Id)
            .limit(page.limit + 1);
        if let Some(user_id) = filter.user_id {
            query = query.filter(order::Column::UserId.eq(user_id));
        }
        if let Some(status) = filter.status {
            query = query.filter(order::Column::Status.eq(status.as_str()));
        }
        if let Some(before) = page.before {
            query = query.filter(order::Column::Id.lt(before));
        }
        query.all(&self.db).await
    }

    /// Stores the saga's state while `owner` holds the lease, renewing it until `lease_until`.
    /// `false` when the lease was lost (another instance drives the order now).
    #[tracing::instrument(skip(self, courier_id), fields(step = state.step_name(), held = state.held))]
    pub async fn save_state(
        &self,
        order_id: Uuid,
        owner: Uuid,
        state: SagaState,
        courier_id: Option<Uuid>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let mut update = order::Entity::update_many()
            .col_expr(order::Column::Step, Expr::value(state.step_name()))
            .col_expr(order::Column::Held, Expr::value(i32::from(state.held)))
            .col_expr(
                order::Column::FailureReason,
                Expr::value(state.reason.map(|r| r.as_str())),
            )
            .col_expr(order::Column::LeaseUntil, Expr::value(lease_until))
            .col_expr(order::Column::UpdatedAt, Expr::value(now()));
        if let Some(courier_id) = courier_id {
            update = update.col_expr(order::Column::CourierId, Expr::value(courier_id));
        }
        let res = update
            .filter(order::Column::Id.eq(order_id))
            .filter(order::Column::LeaseOwner.eq(owner))
            .filter(order::Column::Status.eq(OrderStatus::Pending.as_str()))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Ends the saga: stores the terminal status and queues the user's message, in one
    /// transaction. `false` when the lease was lost.
    #[tracing::instrument(skip(self, state, message), fields(status = status.as_str()))]
    pub async fn finish(
        &self,
        order: &order::Model,
        owner: Uuid,
        state: SagaState,
        status: OrderStatus,
        message: String,
    ) -> Result<bool, DbErr> {
        let txn = self.db.begin().await?;
        let res = order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(status.as_str()))
            .col_expr(order::Column::Step, Expr::value(state.step_name()))
            .col_expr(order::Column::Held, Expr::value(i32::from(state.held)))
            .col_expr(
                order::Column::FailureReason,
                Expr::value(state.reason.map(|r| r.as_str())),
            )
            .col_expr(order::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
            .col_expr(
                order::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(order::Column::UpdatedAt, Expr::value(now()))
            .filter(order::Column::Id.eq(order.id))
            .filter(order::Column::LeaseOwner.eq(owner))
            .filter(order::Column::Status.eq(OrderStatus::Pending.as_str()))
            .exec(&txn)
            .await?;
        if res.rows_affected != 1 {
            return Ok(false);
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
        };
        outbox::Entity::insert(msg)
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Gives up the lease so that the recovery driver picks the order up at once.
    pub async fn drop_lease(&self, order_id: Uuid, owner: Uuid) -> Result<(), DbErr> {
        order::Entity::update_many()
            .col_expr(order::Column::LeaseUntil, Expr::value(now()))
            .filter(order::Column::Id.eq(order_id))
            .filter(order::Column::LeaseOwner.eq(owner))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    /// Claims up to `limit` pending orders whose lease has run out, for `owner` until
    /// `lease_until`. Each claim is a conditional update, so two instances never both win one.
    #[tracing::instrument(skip(self))]
    pub async fn claim_stale(
        &self,
        owner: Uuid,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<order::Model>, DbErr> {
        let at = now();
        let expired = Condition::any()
            .add(order::Column::LeaseUntil.is_null())
            .add(order::Column::LeaseUntil.lt(at));
        let candidates = order::Entity::find()
            .filter(order::Column::Status.eq(OrderStatus::Pending.as_str()))
            .filter(expired.clone())
            .order_by_asc(order::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let mut claimed = Vec::new();
        for o in candidates {
            let res = order::Entity::update_many()
                .col_expr(order::Column::LeaseOwner, Expr::value(owner))
                .col_expr(order::Column::LeaseUntil, Expr::value(lease_until))
                .filter(order::Column::Id.eq(o.id))
                .filter(order::Column::Status.eq(OrderStatus::Pending.as_str()))
                .filter(expired.clone())
                .exec(&self.db)
                .await?;
            if res.rows_affected == 1 {
                claimed.push(order::Model {
                    lease_owner: Some(owner),
                    lease_until: Some(lease_until),
                    ..o
                });
            }
        }
        Ok(claimed)
    }

    /// Every order (for audits and tests).
    pub async fn all_orders(&self) -> Result<Vec<order::Model>, DbErr> {
        order::Entity::find().all(&self.db).await
    }
}
