//! stock-svc's schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Applies stock-svc's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M20261121CreateStock),
            Box::new(M20261122LinesAndReturns),
        ]
    }
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Name,
    Price,
    Available,
    Reserved,
    Sold,
    Stocked,
    Returned,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StockReservations {
    Table,
    OrderId,
    ProductId,
    Quantity,
    State,
    CreatedAt,
    UpdatedAt,
    Items,
}

struct M20261121CreateStock;

impl MigrationName for M20261121CreateStock {
    fn name(&self) -> &str {
        "m20261121_000001_create_stock"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261121CreateStock {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Products::Table)
                .if_not_exists()
                .col(pk_uuid(Products::Id))
                .col(string_len(Products::Name, 200))
                .col(big_integer(Products::Price))
                .col(big_integer(Products::Available).check(Expr::col(Products::Available).gte(0)))
                .col(big_integer(Products::Reserved).check(Expr::col(Products::Reserved).gte(0)))
                .col(big_integer(Products::Sold))
                .col(big_integer(Products::Stocked))
                .col(timestamp_with_time_zone(Products::CreatedAt))
                .col(timestamp_with_time_zone(Products::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(StockReservations::Table)
                .if_not_exists()
                .col(pk_uuid(StockReservations::OrderId))
                .col(uuid_null(StockReservations::ProductId))
                .col(big_integer(StockReservations::Quantity))
                .col(string_len(StockReservations::State, 16))
                .col(timestamp_with_time_zone(StockReservations::CreatedAt))
                .col(timestamp_with_time_zone(StockReservations::UpdatedAt))
                .to_owned(),
        )
        .await
    }
}

/// Orders of several products (a reservation's lines) and cancellations (units sold, then
/// returned).
struct M20261122LinesAndReturns;

impl MigrationName for M20261122LinesAndReturns {
    fn name(&self) -> &str {
        "m20261122_000002_lines_and_returns"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261122LinesAndReturns {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Products::Table)
                .add_column(big_integer(Products::Returned).default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(StockReservations::Table)
                .add_column(text_null(StockReservations::Items))
                .to_owned(),
        )
        .await
    }
}
