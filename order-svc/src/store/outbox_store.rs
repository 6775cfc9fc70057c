//! The outbox of messages to users.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{QueryOrder, QuerySelect, QueryTrait};
use shop_kit::db::now;

use super::{OrderStore, outbox};

impl OrderStore {
    /// Claims up to `limit` undelivered messages that are due, oldest first, for `lease`: their
    /// next attempt moves to the lease's end in the same statement, so another replica's sender
    /// passes them by (on PostgreSQL, `FOR UPDATE SKIP LOCKED` lets two claims run side by side
    /// without waiting for each other; SQLite has one writer). A sender that dies holding them
    /// leaves them due again when the lease ends.
    pub async fn claim_messages(
        &self,
        limit: u64,
        lease: std::time::Duration,
    ) -> Result<Vec<outbox::Model>, DbErr> {
        let now = now();
        let until = now + chrono::TimeDelta::from_std(lease).unwrap_or(chrono::TimeDelta::MAX);
        let due = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::Id)
            .filter(outbox::Column::DeliveredAt.is_null())
            .filter(outbox::Column::NextAttemptAt.lte(now))
            .order_by_asc(outbox::Column::Id)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .into_query();
        let mut claimed = outbox::Entity::update_many()
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(until))
            .filter(outbox::Column::Id.in_subquery(due))
            .exec_with_returning(&self.db)
            .await?;
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
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
