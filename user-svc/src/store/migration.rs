//! user-svc's schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Applies user-svc's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M20261121CreateUsers),
            Box::new(M20261122CreateLoginFailures),
        ]
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    PasswordHash,
    FirstName,
    LastName,
    Phone,
    IsAdmin,
    CreatedAt,
    UpdatedAt,
}

struct M20261121CreateUsers;

impl MigrationName for M20261121CreateUsers {
    fn name(&self) -> &str {
        "m20261121_000001_create_users"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261121CreateUsers {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .if_not_exists()
                .col(pk_uuid(Users::Id))
                .col(string_len_uniq(Users::Username, 32))
                .col(string_len_uniq(Users::Email, 254))
                .col(string_len(Users::PasswordHash, 255))
                .col(string_len(Users::FirstName, 100))
                .col(string_len(Users::LastName, 100))
                .col(string_len(Users::Phone, 16))
                .col(boolean(Users::IsAdmin))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    Key,
    FailedAt,
}

/// Failed logins, shared by every replica (the throttle used to live in each process).
struct M20261122CreateLoginFailures;

impl MigrationName for M20261122CreateLoginFailures {
    fn name(&self) -> &str {
        "m20261122_000001_create_login_failures"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261122CreateLoginFailures {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LoginFailures::Table)
                .if_not_exists()
                .col(pk_uuid(LoginFailures::Id))
                .col(string_len(LoginFailures::Key, 300))
                .col(timestamp_with_time_zone(LoginFailures::FailedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("login_failures_key_at")
                .table(LoginFailures::Table)
                .col(LoginFailures::Key)
                .col(LoginFailures::FailedAt)
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("login_failures_at")
                .table(LoginFailures::Table)
                .col(LoginFailures::FailedAt)
                .if_not_exists()
                .to_owned(),
        )
        .await
    }
}
