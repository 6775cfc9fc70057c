//! A fourth participant that exists only in the tests: loyalty points, reserved, confirmed,
//! released and refunded like funds (an order spends as many points as it costs in cents).
//! It is a [`Ledger`] of its own tables served by the shop's [`ReservationsApi`], and joins a
//! test shop's saga as one [`ParticipantDef`]: nothing of order-svc's code knows it.

use poem_openapi::Object;
use sea_orm::{ActiveValue::Set, DbErr, EntityTrait};
use sea_orm_migration::prelude::*;
use serde::{Deserialize, Serialize};
use shop_kit::ApiError;
use shop_kit::config::CommonConfig;
use shop_kit::contract::ReservationState;
use shop_kit::contract::participant::Shortage;
use shop_kit::db::now;
use shop_kit::db::{Db, Txn};
use shop_kit::ledger::{Counters, Ledger, Participant, ReservationsApi, Take};
use shop_kit::server::Service;
use shop_kit::topology::ServiceInfo;
use uuid::Uuid;

/// The test-only service.
pub static LOYALTY: ServiceInfo = ServiceInfo {
    name: "loyalty",
    short: "loyalty",
    env_prefix: "LOYALTY",
    default_port: 0,
    api_prefixes: &[],
    about: "Loyalty points, a participant of the test shop's saga.",
};

/// How loyalty says it is short.
pub const SHORT: Shortage = Shortage {
    status: poem::http::StatusCode::CONFLICT,
    detail: "not enough points",
};

/// Its reserve request.
#[derive(Object, Debug, Clone, Serialize, Deserialize)]
pub struct ReservePoints {
    /// The order.
    pub order_id: Uuid,
    /// Whose points.
    pub user_id: Uuid,
    /// How many.
    pub points: i64,
}

/// A reservation of points.
#[derive(Object, Debug, Clone, Serialize, Deserialize)]
pub struct PointsReservation {
    /// The order.
    pub order_id: Uuid,
    /// Whose points.
    pub user_id: Uuid,
    /// How many.
    pub points: i64,
    /// Where it stands.
    pub state: ReservationState,
}

/// Loyalty as one more participant of order-svc's saga.
pub fn definition() -> order_svc::domain::ParticipantDef {
    order_svc::domain::ParticipantDef {
        name: "loyalty",
        reserve_step: "reserve_points",
        reserve: |o| {
            serde_json::to_value(ReservePoints {
                order_id: o.id,
                user_id: o.user_id,
                points: o.total,
            })
        },
        shortage: SHORT,
        short: order_svc::domain::FailureReason::Rejected,
        missing: None,
        keeps: order_svc::domain::Keeps::Nothing,
    }
}

/// Its tables.
pub mod account {
    use sea_orm::entity::prelude::*;

    /// A user's points: `granted = balance + reserved + captured − refunded`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "loyalty_accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub granted: i64,
        pub balance: i64,
        pub reserved: i64,
        pub captured: i64,
        pub refunded: i64,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Points held for orders, one row per order.
pub mod reservation {
    use sea_orm::entity::prelude::*;

    /// A reservation; a released mark has no user.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "point_reservations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: Uuid,
        pub user_id: Option<Uuid>,
        pub points: i64,
        pub state: shop_kit::contract::ReservationState,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Creates its two tables.
pub struct Migrator;

#[async_trait::async_trait]
impl shop_kit::db::Schema for Migrator {
    fn columns() -> shop_kit::db::Columns {
        shop_kit::db::Columns::default()
            .with::<account::Entity>()
            .with::<reservation::Entity>()
    }
}

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(Tables)]
    }
}

#[derive(DeriveMigrationName)]
struct Tables;

#[async_trait::async_trait]
impl MigrationTrait for Tables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let schema = sea_orm::Schema::new(manager.get_database_backend());
        manager
            .create_table(schema.create_table_from_entity(account::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(reservation::Entity))
            .await
    }
}

const COUNTERS: Counters<account::Entity> = Counters {
    key: account::Column::UserId,
    free: account::Column::Balance,
    held: account::Column::Reserved,
    captured: account::Column::Captured,
    returned: account::Column::Refunded,
    tally: None,
    updated_at: account::Column::UpdatedAt,
};

/// The points ledger.
pub struct PointsLedger;

fn row(order_id: Uuid, user_id: Option<Uuid>, points: i64) -> reservation::Model {
    reservation::Model {
        order_id,
        user_id,
        points,
        state: ReservationState::Reserved,
        updated_at: now(),
    }
}

#[async_trait::async_trait]
impl Ledger for PointsLedger {
    type Request = ReservePoints;
    type Row = reservation::Model;
    type Reservation = PointsReservation;
    type Entity = reservation::Entity;
    type Active = reservation::ActiveModel;

    const ORDER_ID: reservation::Column = reservation::Column::OrderId;
    const STATE: reservation::Column = reservation::Column::State;
    const UPDATED_AT: reservation::Column = reservation::Column::UpdatedAt;

    fn order_id(req: &ReservePoints) -> Uuid {
        req.order_id
    }

    fn state(row: &reservation::Model) -> ReservationState {
        row.state
    }

    fn matches(row: &reservation::Model, req: &ReservePoints) -> bool {
        row.user_id == Some(req.user_id) && row.points == req.points
    }

    fn is_mark(row: &reservation::Model) -> bool {
        row.user_id.is_none()
    }

    fn reservation(row: reservation::Model, state: ReservationState) -> PointsReservation {
        PointsReservation {
            order_id: row.order_id,
            user_id: row.user_id.unwrap_or_default(),
            points: row.points,
            state,
        }
    }

    fn mark(order_id: Uuid) -> reservation::Model {
        reservation::Model {
            state: ReservationState::Released,
            ..row(order_id, None, 0)
        }
    }

    fn amount(row: &reservation::Model) -> i64 {
        row.points
    }

    async fn take(
        &self,
        txn: &Txn,
        req: &ReservePoints,
    ) -> Result<Take<reservation::Model>, DbErr> {
        Ok(match COUNTERS.take(txn, req.user_id, req.points).await? {
            Some(_) => Take::Taken(row(req.order_id, Some(req.user_id), req.points)),
            None => Take::Short(None),
        })
    }

    async fn capture(&self, txn: &Txn, r: &reservation::Model) -> Result<(), DbErr> {
        COUNTERS.capture(txn, r.user_id, r.points).await.map(drop)
    }

    async fn give_back(&self, txn: &Txn, r: &reservation::Model) -> Result<(), DbErr> {
        COUNTERS.give_back(txn, r.user_id, r.points).await.map(drop)
    }

    async fn refund(&self, txn: &Txn, r: &reservation::Model) -> Result<(), DbErr> {
        COUNTERS.refund(txn, r.user_id, r.points).await.map(drop)
    }
}

impl Participant for PointsLedger {
    type Body = ReservePoints;

    fn parse(body: ReservePoints) -> Result<ReservePoints, ApiError> {
        if body.points < 0 {
            return Err(ApiError::invalid_field("points", "must not be negative"));
        }
        Ok(body)
    }

    const SHORT: Shortage = SHORT;
}

/// The loyalty service on `config`'s port and database.
pub async fn build(config: &CommonConfig) -> anyhow::Result<Service> {
    shop_kit::server::build_service::<Migrator, _>(&LOYALTY, config, |db, parts| {
        let metrics = shop_kit::ledger::LedgerMetrics::new(
            parts.metrics.registry(),
            "shop_loyalty_points_total",
            "Points moved by the reservation protocol.",
        )?;
        Ok(ReservationsApi::new(PointsLedger, db, metrics))
    })
    .await
}

/// Gives `user` `points` more.
pub async fn grant(db: &Db, user: Uuid, points: i64) -> Result<(), DbErr> {
    use sea_orm::sea_query::{Expr, OnConflict};
    let fresh = account::ActiveModel {
        user_id: Set(user),
        granted: Set(points),
        balance: Set(points),
        reserved: Set(0),
        captured: Set(0),
        refunded: Set(0),
        updated_at: Set(now()),
    };
    account::Entity::insert(fresh)
        .on_conflict(
            OnConflict::column(account::Column::UserId)
                .value(
                    account::Column::Granted,
                    Expr::col((account::Entity, account::Column::Granted)).add(points),
                )
                .value(
                    account::Column::Balance,
                    Expr::col((account::Entity, account::Column::Balance)).add(points),
                )
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(drop)
}

/// Every account.
pub async fn accounts(db: &Db) -> Result<Vec<account::Model>, DbErr> {
    account::Entity::find().all(db).await
}

/// Every reservation.
pub async fn reservations(db: &Db) -> Result<Vec<reservation::Model>, DbErr> {
    reservation::Entity::find().all(db).await
}
