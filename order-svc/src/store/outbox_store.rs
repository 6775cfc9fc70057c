//! The outbox of messages to users.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{QueryOrder, QuerySelect};
use shop_kit::db::now;

use super::{OrderStore, outbox};

impl OrderStore {
    /// Up to `limit` undelivered messages that are due, oldest first.
    pub async fn due_messages(&self, limit: u64) -> Result<Vec<outbox::Model>, DbErr> {
        outbox::Entity::find()
            .filter(outbox::Column::DeliveredAt.is_null())
            .filter(outbox::Column::NextAttemptAt.lte(now()))
            .order_by_asc(outbox::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
    }

    /// Marks messages delivered, in one statement.
    pub async fn mark_delivered(&self, ids: &[Uuid]) -> Result<(), DbErr> {
        if ids.is_empty() {
            return Ok(());
        }
        outbox::Entity::update_many()
            .col_expr(outbox::Column::DeliveredAt, Expr::value(now()))
            .filter(outbox::Column::Id.is_in(ids.iter().copied()))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    /// Schedules another attempt at `next` after a failed one.
    pub async fn retry_later(
        &self,
        id: Uuid,
        attempts: i32,
        next: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(next))
            .filter(outbox::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    /// Every outbox message (for audits and tests).
    pub async fn all_messages(&self) -> Result<Vec<outbox::Model>, DbErr> {
        outbox::Entity::find().all(&self.db).await
    }
}
