//! What the saga's health gauges read at scrape time: orders not yet terminal, orders set aside
//! for an admin, and the outbox backlog.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{QueryOrder, QuerySelect};

use super::{OrderStore, order, outbox};
use crate::domain::OrderStatus;

/// How many rows wait, and since when the oldest does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// How many.
    pub count: u64,
    /// When the oldest was created; `None` when there is none.
    pub oldest: Option<DateTime<Utc>>,
}

impl OrderStore {
    /// Orders of `status`, and the oldest of them.
    pub async fn backlog(&self, status: OrderStatus) -> Result<Backlog, DbErr> {
        let of_status = || order::Entity::find().filter(order::Column::Status.eq(status.as_str()));
        let count = of_status().count(&self.db).await?;
        let oldest = of_status()
            .order_by_asc(order::Column::CreatedAt)
            .limit(1)
            .one(&self.db)
            .await?
            .map(|o| o.created_at);
        Ok(Backlog { count, oldest })
    }

    /// Messages not yet delivered to notify-svc, and the oldest of them.
    pub async fn outbox_backlog(&self) -> Result<Backlog, DbErr> {
        let waiting = || outbox::Entity::find().filter(outbox::Column::DeliveredAt.is_null());
        let count = waiting().count(&self.db).await?;
        let oldest = waiting()
            .order_by_asc(outbox::Column::CreatedAt)
            .limit(1)
            .one(&self.db)
            .await?
            .map(|m| m.created_at);
        Ok(Backlog { count, oldest })
    }
}
