//! The only place notify-svc touches its database.

use sea_orm::entity::prelude::*;
use sea_orm::{QueryOrder, QuerySelect};
use shop_kit::contract::notify::SendMessage;
use shop_kit::db::Db;
use shop_kit::db::{is_unique_violation, now};
use shop_kit::page::PageRequest;

mod migration;

pub use migration::Migrator;

impl shop_kit::db::Schema for Migrator {
    fn columns() -> shop_kit::db::Columns {
        shop_kit::db::Columns::default().with::<message::Entity>()
    }
}

/// How often storing a message is tried again after another took its number.
const RACE_RETRIES: usize = 10;

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
        /// 1, 2, 3… per user, in the order the messages were stored.
        pub seq: i64,
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
    db: Db,
}

impl NotifyStore {
    /// A store on `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Stores a message once per id, numbered after the user's last one, in one statement (the
    /// number is a subquery of the insert). Two messages for one user stored at once cannot take
    /// one number (a unique index): the loser numbers again, so the numbers follow the order of
    /// the commits.
    #[tracing::instrument(level = "debug", skip(self, msg), fields(message_id = %msg.id, user_id = %msg.user_id))]
    pub async fn store(&self, msg: &SendMessage) -> Result<Stored, DbErr> {
        for _ in 0..RACE_RETRIES {
            match self.insert_numbered(msg).await {
                Ok(m) => return Ok(Stored::New(m)),
                Err(e) if is_unique_violation(&e) => {
                    let existing = message::Entity::find_by_id(msg.id).one(&self.db).await?;
                    match existing {
                        Some(m)
                            if m.user_id == msg.user_id
                                && m.order_id == msg.order_id
                                && m.text == msg.text =>
                        {
                            return Ok(Stored::Repeat(m));
                        }
                        Some(_) => return Ok(Stored::Conflict),
                        None => continue, // another message took the number
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(DbErr::Custom(
            "storing a message kept losing races for its number".into(),
        ))
    }

    /// `INSERT … VALUES (…, (SELECT COALESCE(MAX(seq), 0) + 1 …)) RETURNING *`, its rows read to
    /// the end: a statement stepped to its end reports its commit (a full disk, a lost server),
    /// which one whose single row is taken and reset would not (see
    /// [`shop_kit::db::insert_returning`]).
    async fn insert_numbered(&self, msg: &SendMessage) -> Result<message::Model, DbErr> {
        use message::Column as C;
        use sea_orm::sea_query::{ExprTrait, Func, Query, SubQueryStatement};
        let next = Query::select()
            .expr(Expr::expr(Func::coalesce([C::Seq.max(), Expr::value(0i64)])).add(1i64))
            .from(message::Entity)
            .and_where(C::UserId.eq(msg.user_id))
            .to_owned();
        let insert = Query::insert()
            .into_table(message::Entity)
            .columns([C::Id, C::UserId, C::OrderId, C::Text, C::CreatedAt, C::Seq])
            .values([
                msg.id.into(),
                msg.user_id.into(),
                msg.order_id.into(),
                msg.text.clone().into(),
                now().into(),
                Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(next))),
            ])
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .returning_all()
            .to_owned();
        let stmt = self.db.get_database_backend().build(&insert);
        message::Entity::find()
            .from_raw_sql(stmt)
            .all(&self.db)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| DbErr::RecordNotInserted)
    }

    /// The number of a user's last message (0: none).
    pub async fn last_seq(&self, user_id: Uuid) -> Result<i64, DbErr> {
        let last = message::Entity::find()
            .select_only()
            .column_as(message::Column::Seq.max(), "seq")
            .filter(message::Column::UserId.eq(user_id))
            .into_tuple::<Option<i64>>()
            .one(&self.db)
            .await?;
        Ok(last.flatten().unwrap_or(0))
    }

    /// The number of one of a user's messages, if it is theirs.
    pub async fn seq_of(&self, user_id: Uuid, id: Uuid) -> Result<Option<i64>, DbErr> {
        Ok(message::Entity::find_by_id(id)
            .filter(message::Column::UserId.eq(user_id))
            .one(&self.db)
            .await?
            .map(|m| m.seq))
    }

    /// Up to `limit` of a user's messages numbered after `seq`, in order.
    pub async fn after(
        &self,
        user_id: Uuid,
        seq: i64,
        limit: u64,
    ) -> Result<Vec<message::Model>, DbErr> {
        message::Entity::find()
            .filter(message::Column::UserId.eq(user_id))
            .filter(message::Column::Seq.gt(seq))
            .order_by_asc(message::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await
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
