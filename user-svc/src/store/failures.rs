//! Failed logins, kept in the database so that every replica of user-svc counts them together.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryOrder, QuerySelect};
use shop_kit::db::Db;

/// One failed login attempt for a throttle key.
pub mod failure {
    use sea_orm::entity::prelude::*;

    /// A failure of `key` (`addr:<ip>`, `pair:<ip>|<account>` or `user:<account>`) at
    /// `failed_at`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_failures")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub key: String,
        pub failed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The failed-login log shared by every replica.
#[derive(Clone)]
pub struct FailureStore {
    db: Db,
}

impl FailureStore {
    /// A store on `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The times of `key`'s latest failures after `since`, newest first, at most `limit`.
    pub async fn recent(
        &self,
        key: &str,
        since: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<DateTime<Utc>>, DbErr> {
        let rows = failure::Entity::find()
            .filter(failure::Column::Key.eq(key))
            .filter(failure::Column::FailedAt.gt(since))
            .order_by_desc(failure::Column::FailedAt)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|r| r.failed_at).collect())
    }

    /// Records a failure under each of `keys` at `at`, and forgets every failure at or before
    /// `forget` (they have left the window), so the table holds one window's failures at most.
    pub async fn record(
        &self,
        keys: &[&str],
        at: DateTime<Utc>,
        forget: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let rows = keys.iter().map(|key| failure::ActiveModel {
            id: Set(Uuid::now_v7()),
            key: Set((*key).to_owned()),
            failed_at: Set(at),
        });
        failure::Entity::insert_many(rows)
            .exec_without_returning(&self.db)
            .await?;
        failure::Entity::delete_many()
            .filter(failure::Column::FailedAt.lte(forget))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
