//! Orders: recording them, and reading them back.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{IntoActiveModel, QueryOrder, QuerySelect};
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
    pub async fn create(
        &self,
        new: NewOrder,
        lease_until: DateTime<Utc>,
        key: Option<&str>,
    ) -> Result<order::Model, DbErr> {
        let row = self.new_order(new, lease_until)?;
        self.record(row, key).await
    }

    /// The row of a new order, claimed (with a fresh lease token) until `lease_until`, as
    /// [`OrderStore::record`] will store it: its id is known before anything is written.
    pub fn new_order(
        &self,
        new: NewOrder,
        lease_until: DateTime<Utc>,
    ) -> Result<order::Model, DbErr> {
        // Recorded with its first call (payment's reservation) in flight: see `reserve_with`.
        let state = self.saga.stored(SagaState::start().reserving());
        let first = *new
            .lines
            .first()
            .ok_or_else(|| DbErr::Custom("an order without lines".into()))?;
        let items = match new.lines.len() {
            1 => None,
            _ => Some(serde_json::to_string(&new.lines).map_err(|e| DbErr::Json(e.to_string()))?),
        };
        Ok(order::Model {
            id: Uuid::now_v7(),
            user_id: new.user_id,
            product_id: first.product_id,
            quantity: new.lines.iter().map(|l| l.quantity).sum(),
            unit_price: first.unit_price,
            items,
            short_product_id: None,
            total: new.total,
            delivery_date: new.delivery_date,
            status: OrderStatus::Pending.as_str().into(),
            step: state.step.into(),
            held: state.held,
            holding: state.holding,
            history: crate::domain::history::lines(&[
                Event::now(EventKind::Recorded).step(state.step)
            ]),
            failure_reason: None,
            courier_id: None,
            lease_owner: Some(Uuid::now_v7()),
            lease_until: Some(lease_until),
            created_at: now(),
            updated_at: now(),
            attempts: 0,
            trace_parent: shop_kit::telemetry::current_traceparent(),
        })
    }

    /// Stores `row` (from [`OrderStore::new_order`]); with the caller's idempotency key, links
    /// the key to the order in the same transaction.
    #[tracing::instrument(level = "debug", skip(self, row, key), fields(order_id = %row.id))]
    pub async fn record(
        &self,
        row: order::Model,
        key: Option<&str>,
    ) -> Result<order::Model, DbErr> {
        let user_id = row.user_id;
        let row = row.into_active_model().reset_all();
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
