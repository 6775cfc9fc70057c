//! Stock reservations as a [`Ledger`]: units move between a product's `available`, `reserved`
//! and `sold`.

use sea_orm::{DatabaseTransaction, DbErr, EntityTrait};
use shop_kit::contract::ReservationState;
use shop_kit::contract::stock::StockReservation;
use shop_kit::db::now;
use shop_kit::ledger::{Counters, Ledger, Take};
use uuid::Uuid;

use super::{product, reservation};
use crate::domain::Hold;

/// The `stock_reservations` table against `products`.
pub struct UnitsLedger;

fn row(
    order_id: Uuid,
    product_id: Option<Uuid>,
    quantity: i64,
    state: ReservationState,
) -> reservation::Model {
    reservation::Model {
        order_id,
        product_id,
        quantity,
        state,
        created_at: now(),
        updated_at: now(),
    }
}

/// The counters reservations move.
const COUNTERS: Counters<product::Entity> = Counters {
    key: product::Column::Id,
    free: product::Column::Available,
    held: product::Column::Reserved,
    captured: product::Column::Sold,
    updated_at: product::Column::UpdatedAt,
};

#[async_trait::async_trait]
impl Ledger for UnitsLedger {
    type Request = Hold;
    type Row = reservation::Model;
    type Entity = reservation::Entity;
    type Active = reservation::ActiveModel;

    const ORDER_ID: reservation::Column = reservation::Column::OrderId;
    const STATE: reservation::Column = reservation::Column::State;
    const UPDATED_AT: reservation::Column = reservation::Column::UpdatedAt;

    type Reservation = StockReservation;

    fn order_id(req: &Hold) -> Uuid {
        req.order_id
    }

    fn state(row: &reservation::Model) -> ReservationState {
        row.state
    }

    fn matches(row: &reservation::Model, req: &Hold) -> bool {
        row.product_id == Some(req.product_id) && row.quantity == req.quantity.get()
    }

    fn is_mark(row: &reservation::Model) -> bool {
        row.product_id.is_none()
    }

    fn mark(order_id: Uuid) -> reservation::Model {
        row(order_id, None, 0, ReservationState::Released)
    }

    fn amount(row: &reservation::Model) -> i64 {
        row.quantity
    }

    fn reservation(row: reservation::Model, state: ReservationState) -> StockReservation {
        StockReservation {
            order_id: row.order_id,
            product_id: row.product_id.unwrap_or_default(),
            quantity: row.quantity,
            state,
        }
    }

    async fn take(
        &self,
        txn: &DatabaseTransaction,
        req: &Hold,
    ) -> Result<Take<reservation::Model>, DbErr> {
        let held = COUNTERS
            .take(txn, req.product_id, req.quantity.get())
            .await?;
        if held {
            return Ok(Take::Taken(row(
                req.order_id,
                Some(req.product_id),
                req.quantity.get(),
                ReservationState::Reserved,
            )));
        }
        let exists = product::Entity::find_by_id(req.product_id)
            .one(txn)
            .await?
            .is_some();
        Ok(if exists { Take::Short } else { Take::Missing })
    }

    async fn capture(
        &self,
        txn: &DatabaseTransaction,
        r: &reservation::Model,
    ) -> Result<(), DbErr> {
        COUNTERS.capture(txn, r.product_id, r.quantity).await
    }

    async fn give_back(
        &self,
        txn: &DatabaseTransaction,
        r: &reservation::Model,
    ) -> Result<(), DbErr> {
        COUNTERS.give_back(txn, r.product_id, r.quantity).await
    }
}
