//! payment-svc's schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use uuid::Uuid;

/// Applies payment-svc's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M20261121CreatePayments),
            Box::new(M20261122CreateEntries),
            Box::new(M20261122Refunds),
            Box::new(M20261122EntryCounts),
        ]
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    UserId,
    Balance,
    Reserved,
    Captured,
    Refunded,
    Entries,
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

#[derive(DeriveIden)]
enum AccountEntries {
    Table,
    Id,
    UserId,
    Seq,
    Kind,
    Amount,
    BalanceAfter,
    ReservedAfter,
    OrderId,
    CreatedAt,
}

/// The statement: one row per movement of an account's money, written in the transaction of
/// the movement. Accounts that exist already open their statement with their balance then.
struct M20261122CreateEntries;

impl MigrationName for M20261122CreateEntries {
    fn name(&self) -> &str {
        "m20261122_000002_create_account_entries"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261122CreateEntries {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AccountEntries::Table)
                .if_not_exists()
                .col(pk_uuid(AccountEntries::Id))
                .col(uuid(AccountEntries::UserId))
                .col(big_integer(AccountEntries::Seq))
                .col(string_len(AccountEntries::Kind, 16))
                .col(big_integer(AccountEntries::Amount))
                .col(big_integer(AccountEntries::BalanceAfter))
                .col(big_integer(AccountEntries::ReservedAfter))
                .col(uuid_null(AccountEntries::OrderId))
                .col(timestamp_with_time_zone(AccountEntries::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("account_entries_user_seq")
                .table(AccountEntries::Table)
                .col(AccountEntries::UserId)
                .col(AccountEntries::Seq)
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        // Accounts opened before the statement existed: one opening entry with their balance.
        let accounts = Query::select()
            .columns([
                Accounts::UserId,
                Accounts::Balance,
                Accounts::Reserved,
                Accounts::UpdatedAt,
            ])
            .from(Accounts::Table)
            .to_owned();
        let rows = m.get_connection().query_all(&accounts).await?;
        for row in rows {
            let user_id: Uuid = row.try_get("", "user_id")?;
            let balance: i64 = row.try_get("", "balance")?;
            let reserved: i64 = row.try_get("", "reserved")?;
            let at: chrono::DateTime<chrono::Utc> = row.try_get("", "updated_at")?;
            let insert = Query::insert()
                .into_table(AccountEntries::Table)
                .columns([
                    AccountEntries::Id,
                    AccountEntries::UserId,
                    AccountEntries::Seq,
                    AccountEntries::Kind,
                    AccountEntries::Amount,
                    AccountEntries::BalanceAfter,
                    AccountEntries::ReservedAfter,
                    AccountEntries::CreatedAt,
                ])
                .values_panic([
                    Uuid::now_v7().into(),
                    user_id.into(),
                    1i64.into(),
                    "deposit".into(),
                    balance.into(),
                    balance.into(),
                    reserved.into(),
                    at.into(),
                ])
                .to_owned();
            m.get_connection().execute(&insert).await?;
        }
        Ok(())
    }
}

/// Refunds: what completed orders captured and their shoppers' cancellations gave back, so that
/// `deposited = balance + reserved + captured − refunded`.
struct M20261122Refunds;

impl MigrationName for M20261122Refunds {
    fn name(&self) -> &str {
        "m20261122_000003_account_refunds"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261122Refunds {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Accounts::Table)
                .add_column(big_integer(Accounts::Refunded).default(0))
                .to_owned(),
        )
        .await
    }
}

/// Each account counts its statement entries, so that recording one numbers it with the update
/// that locks the account, instead of two reads first.
struct M20261122EntryCounts;

impl MigrationName for M20261122EntryCounts {
    fn name(&self) -> &str {
        "m20261122_000004_account_entry_counts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261122EntryCounts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Accounts::Table)
                .add_column(big_integer(Accounts::Entries).default(0))
                .to_owned(),
        )
        .await?;
        let last = Query::select()
            .expr(Expr::col(AccountEntries::Seq).max())
            .from(AccountEntries::Table)
            .and_where(
                Expr::col((AccountEntries::Table, AccountEntries::UserId))
                    .equals((Accounts::Table, Accounts::UserId)),
            )
            .to_owned();
        let count = Query::update()
            .table(Accounts::Table)
            .value(
                Accounts::Entries,
                Func::coalesce([SimpleExpr::SubQuery(None, Box::new(last.into())), 0.into()]),
            )
            .to_owned();
        m.get_connection().execute(&count).await.map(|_| ())
    }
}
