//! delivery-svc's schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Applies delivery-svc's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(M20261121CreateDelivery)]
    }
}

#[derive(DeriveIden)]
enum Couriers {
    Table,
    Id,
    Name,
    DailyCapacity,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CourierDays {
    Table,
    CourierId,
    Date,
    Booked,
}

#[derive(DeriveIden)]
enum Bookings {
    Table,
    OrderId,
    UserId,
    CourierId,
    CourierName,
    Date,
    State,
    CreatedAt,
    UpdatedAt,
}

struct M20261121CreateDelivery;

impl MigrationName for M20261121CreateDelivery {
    fn name(&self) -> &str {
        "m20261121_000001_create_delivery"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261121CreateDelivery {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Couriers::Table)
                .if_not_exists()
                .col(pk_uuid(Couriers::Id))
                .col(string_len(Couriers::Name, 100))
                .col(integer(Couriers::DailyCapacity))
                .col(timestamp_with_time_zone(Couriers::CreatedAt))
                .col(timestamp_with_time_zone(Couriers::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CourierDays::Table)
                .if_not_exists()
                .col(uuid(CourierDays::CourierId))
                .col(date(CourierDays::Date))
                .col(integer(CourierDays::Booked).check(Expr::col(CourierDays::Booked).gte(0)))
                .primary_key(
                    Index::create()
                        .col(CourierDays::CourierId)
                        .col(CourierDays::Date),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Bookings::Table)
                .if_not_exists()
                .col(pk_uuid(Bookings::OrderId))
                .col(uuid_null(Bookings::UserId))
                .col(uuid_null(Bookings::CourierId))
                .col(string_len(Bookings::CourierName, 100))
                .col(date_null(Bookings::Date))
                .col(string_len(Bookings::State, 16))
                .col(timestamp_with_time_zone(Bookings::CreatedAt))
                .col(timestamp_with_time_zone(Bookings::UpdatedAt))
                .to_owned(),
        )
        .await
    }
}
