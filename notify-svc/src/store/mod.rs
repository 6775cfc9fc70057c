//! The only place notify-svc touches its database.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryOrder, QuerySelect};
use shop_kit::contract::notify::SendMessage;
use shop_kit::db::{is_unique_violation, now};
use shop_kit::page::PageRequest;

mod migration;

pub use migration::Migrator;

/// Messages sent to users.
pub mod message {
    use sea_orm::entity::prelude::*;

    /// One message.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "messages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub order_id: Option<Uuid>,
        pub text: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What storing a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Stored now.
    New(message::Model),
    /// Stored before with the same content.
    Repeat(message::Model),
    /// The id is taken by a different message.
    Conflict,
}

/// Users' messages.
#[derive(Clone)]
pub struct NotifyStore {
    db: DatabaseConnection,
}

impl NotifyStore {
    /// A store on `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Stores a message once per id.
    #[tracing::instrument(skip(self, msg), fields(message_id = %msg.id, user_id = %msg.user_id))]
    pub async fn store(&self, msg: &SendMessage) -> Result<Stored, DbErr> {
        let row = message::ActiveModel {
            id: Set(msg.id),
            user_id: Set(msg.user_id),
            order_id: Set(msg.order_id),
            text: Set(msg.text.clone()),
            created_at: Set(now()),
        };
        match message::Entity::insert(row)
            .exec_with_returning(&self.db)
            .await
        {
            Ok(m) => Ok(Stored::New(m)),
            Err(e) if is_unique_violation(&e) => {
                let existing = message::Entity::find_by_id(msg.id).one(&self.db).await?;
                Ok(match existing {
                    Some(m)
                        if m.user_id == msg.user_id
                            && m.order_id == msg.order_id
                            && m.text == msg.text =>
                    {
                        Stored::Repeat(m)
                    }
                    _ => Stored::Conflict,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// A page of a user's messages, newest first (`limit + 1` rows).
    pub async fn messages(
        &self,
        user_id: Uuid,
        order_id: Option<Uuid>,
        page: PageRequest,
    ) -> Result<Vec<message::Model>, DbErr> {
        let mut query = message::Entity::find()
            .filter(message::Column::UserId.eq(user_id))
            .order_by_desc(message::Column::Id)
            .limit(page.limit + 1);
        if let Some(order_id) = order_id {
            query = query.filter(message::Column::OrderId.eq(order_id));
        }
        if let Some(before) = page.before {
            query = query.filter(message::Column::Id.lt(before));
        }
        query.all(&self.db).await
    }

    /// Every message (for audits and tests).
    pub async fn all(&self) -> Result<Vec<message::Model>, DbErr> {
        message::Entity::find().all(&self.db).await
    }
}
