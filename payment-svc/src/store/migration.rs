//! payment-svc's schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Applies payment-svc's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(M20261121CreatePayments)]
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    UserId,
    Balance,
    Reserved,
    Captured,
    Deposited,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FundReservations {
    Table,
    OrderId,
    UserId,
    Amount,
    State,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Deposits {
    Table,
    Id,
    UserId,
    Amount,
    IdempotencyKey,
    BalanceAfter,
    ReservedAfter,
    CreatedAt,
}

struct M20261121CreatePayments;

impl MigrationName for M20261121CreatePayments {
    fn name(&self) -> &str {
        "m20261121_000001_create_payments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261121CreatePayments {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Accounts::Table)
                .if_not_exists()
                .col(pk_uuid(Accounts::UserId))
                .col(big_integer(Accounts::Balance).check(Expr::col(Accounts::Balance).gte(0)))
                .col(big_integer(Accounts::Reserved).check(Expr::col(Accounts::Reserved).gte(0)))
                .col(big_integer(Accounts::Captured))
                .col(big_integer(Accounts::Deposited))
                .col(timestamp_with_time_zone(Accounts::CreatedAt))
                .col(timestamp_with_time_zone(Accounts::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(FundReservations::Table)
                .if_not_exists()
                .col(pk_uuid(FundReservations::OrderId))
                .col(uuid_null(FundReservations::UserId))
                .col(big_integer(FundReservations::Amount))
                .col(string_len(FundReservations::State, 16))
                .col(timestamp_with_time_zone(FundReservations::CreatedAt))
                .col(timestamp_with_time_zone(FundReservations::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Deposits::Table)
                .if_not_exists()
                .col(pk_uuid(Deposits::Id))
                .col(uuid(Deposits::UserId))
                .col(big_integer(Deposits::Amount))
                .col(string_len_null(Deposits::IdempotencyKey, 255))
                .col(big_integer(Deposits::BalanceAfter))
                .col(big_integer(Deposits::ReservedAfter))
                .col(timestamp_with_time_zone(Deposits::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("deposits_user_key")
                .table(Deposits::Table)
                .col(Deposits::UserId)
                .col(Deposits::IdempotencyKey)
                .unique()
                .to_owned(),
        )
        .await
    }
}
