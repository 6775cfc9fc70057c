//! Orders: recording them, and reading them back.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, QueryOrder, QuerySelect};
use shop_kit::db::now;
use shop_kit::page::PageRequest;

use super::{OrderStore, idempotency_key, order};
use crate::domain::history::{Event, EventKind};
use crate::domain::{OrderStatus, SagaState};

/// A new order, priced.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub user_id: Uuid,
    /// Its lines (at least one), each priced from stock-svc.
    pub lines: Vec<order::PricedLine>,
    /// The sum of `unit_price × quantity` over the lines.
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
    /// Records a new order, claimed (with a fresh lease token) until `lease_until`; with the
    /// caller's idempotency key, links the key to the order in the same transaction.
    #[tracing::instrument(level = "debug", skip(self, new, key), fields(user_id = %new.user_id))]
    pub async fn create(
        &self,
        new: NewOrder,
        lease_until: DateTime<Utc>,
        key: Option<&str>,
    ) -> Result<order::Model, DbErr> {
        // Recorded with its first call (payment's reservation) in flight: see `reserve_with`.
        let state = self.saga.stored(SagaState::start().reserving());
        let user_id = new.user_id;
        let first = *new
            .lines
            .first()
            .ok_or_else(|| DbErr::Custom("an order without lines".into()))?;
        let items = match new.lines.len() {
            1 => None,
            _ => Some(serde_json::to_string(&new.lines).map_err(|e| DbErr::Json(e.to_string()))?),
        };
        let row = order::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(new.user_id),
            product_id: Set(first.product_id),
            quantity: Set(new.lines.iter().map(|l| l.quantity).sum()),
            unit_price: Set(first.unit_price),
            items: Set(items),
            short_product_id: Set(None),
            total: Set(new.total),
            delivery_date: Set(new.delivery_date),
            status: Set(OrderStatus::Pending.as_str().into()),
            step: Set(state.step.into()),
            held: Set(state.held),
            holding: Set(state.holding),
            history: Set(crate::domain::history::lines(&[Event::now(
                EventKind::Recorded,
            )
            .step(state.step)])),
            failure_reason: Set(None),
            courier_id: Set(None),
            lease_owner: Set(Some(Uuid::now_v7())),
            lease_until: Set(Some(lease_until)),
            created_at: Set(now()),
            updated_at: Set(now()),
            attempts: Set(0),
            trace_parent: Set(shop_kit::telemetry::current_traceparent()),
        };
        let Some(key) = key else {
            return shop_kit::db::insert_returning(&self.db, row).await;
        };
        let txn = self.db.begin().await?;
        let order = order::Entity::insert(row).exec_with_returning(&txn).await?;
        idempotency_key::Entity::update_many()
            .col_expr(idempotency_key::Column::OrderId, Expr::value(order.id))
            .filter(idempotency_key::Column::UserId.eq(user_id))
            .filter(idempotency_key::Column::Key.eq(key))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(order)
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

    /// Every order (for audits and tests).
    pub async fn all_orders(&self) -> Result<Vec<order::Model>, DbErr> {
        order::Entity::find().all(&self.db).await
    }
}
