//! order-svc's schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Applies order-svc's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M20261121CreateOrders),
            Box::new(M20261121AttemptsAndKeyOrders),
            Box::new(M20261122TraceParents),
            Box::new(M20261122LinesAndShortProducts),
            Box::new(M20261204HoldingByName),
            Box::new(M20261204History),
        ]
    }
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    UserId,
    ProductId,
    Quantity,
    UnitPrice,
    Total,
    DeliveryDate,
    Status,
    Step,
    Held,
    Holding,
    FailureReason,
    CourierId,
    LeaseOwner,
    LeaseUntil,
    CreatedAt,
    UpdatedAt,
    Attempts,
    TraceParent,
    Items,
    ShortProductId,
    History,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    UserId,
    OrderId,
    Text,
    Attempts,
    NextAttemptAt,
    DeliveredAt,
    CreatedAt,
    TraceParent,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    Fingerprint,
    ResponseStatus,
    ResponseBody,
    CreatedAt,
    OrderId,
}

struct M20261121CreateOrders;

impl MigrationName for M20261121CreateOrders {
    fn name(&self) -> &str {
        "m20261121_000001_create_orders"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261121CreateOrders {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Orders::Table)
                .if_not_exists()
                .col(pk_uuid(Orders::Id))
                .col(uuid(Orders::UserId))
                .col(uuid(Orders::ProductId))
                .col(big_integer(Orders::Quantity))
                .col(big_integer(Orders::UnitPrice))
                .col(big_integer(Orders::Total))
                .col(date(Orders::DeliveryDate))
                .col(string_len(Orders::Status, 16))
                .col(string_len(Orders::Step, 16))
                .col(integer(Orders::Held))
                .col(string_len_null(Orders::FailureReason, 32))
                .col(uuid_null(Orders::CourierId))
                .col(uuid_null(Orders::LeaseOwner))
                .col(timestamp_with_time_zone_null(Orders::LeaseUntil))
                .col(timestamp_with_time_zone(Orders::CreatedAt))
                .col(timestamp_with_time_zone(Orders::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("orders_user")
                .table(Orders::Table)
                .col(Orders::UserId)
                .col(Orders::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("orders_status_lease")
                .table(Orders::Table)
                .col(Orders::Status)
                .col(Orders::LeaseUntil)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .if_not_exists()
                .col(pk_uuid(Outbox::Id))
                .col(uuid(Outbox::UserId))
                .col(uuid(Outbox::OrderId))
                .col(text(Outbox::Text))
                .col(integer(Outbox::Attempts))
                .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                .col(timestamp_with_time_zone_null(Outbox::DeliveredAt))
                .col(timestamp_with_time_zone(Outbox::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("outbox_due")
                .table(Outbox::Table)
                .col(Outbox::DeliveredAt)
                .col(Outbox::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .if_not_exists()
                .col(uuid(IdempotencyKeys::UserId))
                .col(string_len(IdempotencyKeys::Key, 255))
                .col(string_len(IdempotencyKeys::Fingerprint, 64))
                .col(integer_null(IdempotencyKeys::ResponseStatus))
                .col(text_null(IdempotencyKeys::ResponseBody))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(IdempotencyKeys::UserId)
                        .col(IdempotencyKeys::Key),
                )
                .to_owned(),
        )
        .await
    }
}

/// Counts failed attempts at an order's current step (for backoff and `needs_attention`), and
/// links an idempotency key to the order its request recorded (to answer a repeat whose first
/// request died).
struct M20261121AttemptsAndKeyOrders;

impl MigrationName for M20261121AttemptsAndKeyOrders {
    fn name(&self) -> &str {
        "m20261121_000002_attempts_and_key_orders"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261121AttemptsAndKeyOrders {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(integer(Orders::Attempts).default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(IdempotencyKeys::Table)
                .add_column(uuid_null(IdempotencyKeys::OrderId))
                .to_owned(),
        )
        .await
    }
}

/// Keeps the W3C `traceparent` of the request that placed an order and of the drive that queued
/// a message, so that a resumed saga and a late delivery stay in the order's trace.
struct M20261122TraceParents;

impl MigrationName for M20261122TraceParents {
    fn name(&self) -> &str {
        "m20261122_000003_trace_parents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261122TraceParents {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(string_null(Orders::TraceParent))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Outbox::Table)
                .add_column(string_null(Outbox::TraceParent))
                .to_owned(),
        )
        .await
    }
}

/// Orders of several products (their lines, as JSON, when there is more than one) and the
/// product a stock refusal named.
struct M20261122LinesAndShortProducts;

impl MigrationName for M20261122LinesAndShortProducts {
    fn name(&self) -> &str {
        "m20261122_000004_lines_and_short_products"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261122LinesAndShortProducts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(text_null(Orders::Items))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(uuid_null(Orders::ShortProductId))
                .to_owned(),
        )
        .await
    }
}

/// The participants that may hold something for an order, by name (`payment,stock`) instead of
/// a count of saga positions, which a participant added to the saga would silently re-mean.
/// `held` stays, written on for one release: replicas of the previous release, still running
/// in a rollout, read and write it (and the new release reads it where they did).
struct M20261204HoldingByName;

impl MigrationName for M20261204HoldingByName {
    fn name(&self) -> &str {
        "m20261204_000005_holding_by_name"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261204HoldingByName {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(string(Orders::Holding).default(""))
                .to_owned(),
        )
        .await?;
        // The positions of the saga as every stored count meant them: payment, stock, delivery.
        let names = Expr::case(Expr::col(Orders::Held).eq(1), "payment")
            .case(Expr::col(Orders::Held).eq(2), "payment,stock")
            .case(Expr::col(Orders::Held).gte(3), "payment,stock,delivery")
            .finally("");
        m.exec_stmt(
            Query::update()
                .table(Orders::Table)
                .value(Orders::Holding, names)
                .to_owned(),
        )
        .await
    }
}

/// Each order's saga history (`domain::history`): one JSON object per line, appended by the
/// writes that store the saga's state. Orders recorded before it have none.
struct M20261204History;

impl MigrationName for M20261204History {
    fn name(&self) -> &str {
        "m20261204_000006_history"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261204History {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(text(Orders::History).default(""))
                .to_owned(),
        )
        .await
    }
}
