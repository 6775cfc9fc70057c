//! The only place user-svc touches its database.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, Condition, QueryOrder, QuerySelect};
use shop_kit::db::{is_unique_violation, now};
use shop_kit::page::PageRequest;

use crate::domain::{Email, Name, Phone, Username};
use crate::error::Error;
use shop_kit::db::Db;

mod failures;
mod migration;

pub use failures::FailureStore;
pub use migration::Migrator;

impl shop_kit::db::Schema for Migrator {
    fn columns() -> shop_kit::db::Columns {
        shop_kit::db::Columns::default()
            .with::<user::Entity>()
            .with::<failures::failure::Entity>()
    }
}

/// Registered users.
pub mod user {
    use sea_orm::entity::prelude::*;

    /// A user with the PHC string of its password.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub username: String,
        #[sea_orm(unique)]
        pub email: String,
        pub password_hash: String,
        pub first_name: String,
        pub last_name: String,
        pub phone: String,
        pub is_admin: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A new user, parsed: the store writes only values the domain accepted.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub email: Email,
    /// The PHC string of its password.
    pub password_hash: String,
    pub first_name: Name,
    pub last_name: Name,
    pub phone: Phone,
    pub is_admin: bool,
}

/// Changes to a user, parsed; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub email: Option<Email>,
    /// The PHC string of a new password.
    pub password_hash: Option<String>,
    pub first_name: Option<Name>,
    pub last_name: Option<Name>,
    pub phone: Option<Phone>,
    /// Admins only.
    pub is_admin: Option<bool>,
}

fn taken_or_db(e: DbErr) -> Error {
    if is_unique_violation(&e) {
        Error::Taken
    } else {
        Error::Db(e)
    }
}

/// Users.
#[derive(Clone)]
pub struct UserStore {
    db: Db,
}

impl UserStore {
    /// A store on `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Registers a user.
    #[tracing::instrument(skip_all, fields(username = ?new.username))]
    pub async fn create(&self, new: NewUser) -> Result<user::Model, Error> {
        let row = user::ActiveModel {
            id: Set(Uuid::now_v7()),
            username: Set(new.username.into()),
            email: Set(new.email.into()),
            password_hash: Set(new.password_hash),
            first_name: Set(new.first_name.into()),
            last_name: Set(new.last_name.into()),
            phone: Set(new.phone.into()),
            is_admin: Set(new.is_admin),
            created_at: Set(now()),
            updated_at: Set(now()),
        };
        shop_kit::db::insert_returning(&self.db, row)
            .await
            .map_err(taken_or_db)
    }

    /// The user whose username or email is `login`.
    #[tracing::instrument(skip(self))]
    pub async fn by_login(&self, login: &str) -> Result<Option<user::Model>, DbErr> {
        user::Entity::find()
            .filter(
                Condition::any()
                    .add(user::Column::Username.eq(login))
                    .add(user::Column::Email.eq(login.to_lowercase())),
            )
            .one(&self.db)
            .await
    }

    /// One user.
    #[tracing::instrument(skip(self))]
    pub async fn by_id(&self, id: Uuid) -> Result<Option<user::Model>, DbErr> {
        user::Entity::find_by_id(id).one(&self.db).await
    }

    /// A page of users, newest first (`limit + 1` rows).
    pub async fn list(&self, page: PageRequest) -> Result<Vec<user::Model>, DbErr> {
        let mut query = user::Entity::find()
            .order_by_desc(user::Column::Id)
            .limit(page.limit + 1);
        if let Some(before) = page.before {
            query = query.filter(user::Column::Id.lt(before));
        }
        query.all(&self.db).await
    }

    /// Applies changes; `None` when the user does not exist.
    #[tracing::instrument(skip(self, changes))]
    pub async fn update(
        &self,
        id: Uuid,
        changes: UserChanges,
    ) -> Result<Option<user::Model>, Error> {
        let Some(found) = self.by_id(id).await? else {
            return Ok(None);
        };
        let mut row: user::ActiveModel = found.into();
        if let Some(v) = changes.email {
            row.email = Set(v.into());
        }
        if let Some(v) = changes.password_hash {
            row.password_hash = Set(v);
        }
        if let Some(v) = changes.first_name {
            row.first_name = Set(v.into());
        }
        if let Some(v) = changes.last_name {
            row.last_name = Set(v.into());
        }
        if let Some(v) = changes.phone {
            row.phone = Set(v.into());
        }
        if let Some(v) = changes.is_admin {
            row.is_admin = Set(v);
        }
        row.updated_at = Set(now());
        user::Entity::update(row)
            .exec(&self.db)
            .await
            .map(Some)
            .map_err(taken_or_db)
    }

    /// Deletes a user; `false` when it did not exist.
    #[tracing::instrument(skip(self))]
    pub async fn delete(&self, id: Uuid) -> Result<bool, DbErr> {
        Ok(user::Entity::delete_by_id(id)
            .exec(&self.db)
            .await?
            .rows_affected
            == 1)
    }
}
