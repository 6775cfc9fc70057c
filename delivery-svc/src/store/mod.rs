//! The only place delivery-svc touches its database.

mod entities;
mod migration;
mod seats;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use shop_kit::contract::ReservationState;
use shop_kit::contract::delivery::CourierBooking;
use shop_kit::db::now;
use shop_kit::ledger::{self, Ledger};
use shop_kit::page::PageRequest;
use uuid::Uuid;

use crate::domain::{Capacity, CourierName};
use shop_kit::db::Db;

pub use entities::{booking, courier, courier_day};
pub use migration::Migrator;

impl shop_kit::db::Schema for Migrator {
    fn columns() -> shop_kit::db::Columns {
        shop_kit::db::Columns::default()
            .with::<courier::Entity>()
            .with::<courier_day::Entity>()
            .with::<booking::Entity>()
    }
}
pub use seats::SeatsLedger;

/// Couriers and courier bookings.
#[derive(Clone)]
pub struct DeliveryStore {
    db: Db,
    metrics: ledger::LedgerMetrics,
}

impl DeliveryStore {
    /// A store on `db`, counting its reservation protocol in `metrics`.
    pub fn new(db: Db, metrics: ledger::LedgerMetrics) -> Self {
        Self { db, metrics }
    }

    /// Adds a courier.
    #[tracing::instrument(skip(self))]
    pub async fn create_courier(
        &self,
        name: CourierName,
        daily_capacity: Capacity,
    ) -> Result<courier::Model, DbErr> {
        let row = courier::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(name.into()),
            daily_capacity: Set(daily_capacity.get()),
            created_at: Set(now()),
            updated_at: Set(now()),
        };
        shop_kit::db::insert_returning(&self.db, row).await
    }

    /// A page of couriers, newest first (`limit + 1` rows).
    pub async fn couriers(&self, page: PageRequest) -> Result<Vec<courier::Model>, DbErr> {
        let mut query = courier::Entity::find()
            .order_by_desc(courier::Column::Id)
            .limit(page.limit + 1);
        if let Some(before) = page.before {
            query = query.filter(courier::Column::Id.lt(before));
        }
        query.all(&self.db).await
    }

    /// Changes a courier's name or capacity; `None` when it does not exist.
    #[tracing::instrument(skip(self))]
    pub async fn update_courier(
        &self,
        id: Uuid,
        name: Option<CourierName>,
        daily_capacity: Option<Capacity>,
    ) -> Result<Option<courier::Model>, DbErr> {
        let Some(found) = courier::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        let mut row: courier::ActiveModel = found.into();
        if let Some(name) = name {
            row.name = Set(name.into());
        }
        if let Some(capacity) = daily_capacity {
            row.daily_capacity = Set(capacity.get());
        }
        row.updated_at = Set(now());
        Ok(Some(shop_kit::db::update_returning(&self.db, row).await?))
    }

    /// The live (reserved or confirmed) booking of an order.
    #[tracing::instrument(skip(self))]
    pub async fn booking(&self, order_id: Uuid) -> Result<Option<CourierBooking>, DbErr> {
        let row = ledger::find::<SeatsLedger>(&self.db, order_id).await?;
        Ok(row
            .filter(|r| {
                let live = [ReservationState::Reserved, ReservationState::Confirmed];
                !SeatsLedger::is_mark(r) && live.contains(&SeatsLedger::state(r))
            })
            .map(|r| {
                let state = SeatsLedger::state(&r);
                SeatsLedger::reservation(r, state)
            }))
    }

    /// `/internal/reservations` over this store's ledger.
    pub fn reservations_api(&self) -> ledger::ReservationsApi<SeatsLedger> {
        ledger::ReservationsApi::new(SeatsLedger, self.db.clone(), self.metrics.clone())
    }

    /// Every booking (for audits and tests).
    pub async fn bookings(&self) -> Result<Vec<booking::Model>, DbErr> {
        booking::Entity::find().all(&self.db).await
    }

    /// Every courier-day counter (for audits and tests).
    pub async fn courier_days(&self) -> Result<Vec<courier_day::Model>, DbErr> {
        courier_day::Entity::find().all(&self.db).await
    }
}
