//! notify-svc's schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Applies notify-svc's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M20261121CreateMessages),
            Box::new(M20261122MessageSequence),
        ]
    }
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    UserId,
    OrderId,
    Text,
    CreatedAt,
    Seq,
}

struct M20261121CreateMessages;

impl MigrationName for M20261121CreateMessages {
    fn name(&self) -> &str {
        "m20261121_000001_create_messages"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261121CreateMessages {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Messages::Table)
                .if_not_exists()
                .col(pk_uuid(Messages::Id))
                .col(uuid(Messages::UserId))
                .col(uuid_null(Messages::OrderId))
                .col(text(Messages::Text))
                .col(timestamp_with_time_zone(Messages::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("messages_user")
                .table(Messages::Table)
                .col(Messages::UserId)
                .col(Messages::Id)
                .to_owned(),
        )
        .await
    }
}

/// Numbers each user's messages in the order they were stored (`seq`), so that a live stream
/// resumed after a message id misses nothing stored later, whatever the ids' order. Messages
/// stored before are numbered by id.
struct M20261122MessageSequence;

impl MigrationName for M20261122MessageSequence {
    fn name(&self) -> &str {
        "m20261122_000002_message_sequence"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261122MessageSequence {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Messages::Table)
                .add_column(big_integer(Messages::Seq).default(0))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE messages SET seq = (SELECT COUNT(*) FROM messages AS earlier \
                 WHERE earlier.user_id = messages.user_id AND earlier.id <= messages.id)",
            )
            .await?;
        m.create_index(
            Index::create()
                .name("messages_user_seq")
                .table(Messages::Table)
                .col(Messages::UserId)
                .col(Messages::Seq)
                .unique()
                .to_owned(),
        )
        .await
    }
}
