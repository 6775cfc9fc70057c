//! Fund reservations as a [`Ledger`]: what is held moves between an account's `balance`,
//! `reserved` and `captured`.

use sea_orm::DbErr;
use shop_kit::contract::ReservationState;
use shop_kit::contract::payment::FundsReservation;
use shop_kit::db::now;
use shop_kit::ledger::{Counters, Ledger, Take};
use uuid::Uuid;

use super::entry::Kind;
use super::{account, reservation, statement};
use crate::domain::Hold;
use shop_kit::db::Txn;

/// The `fund_reservations` table against `accounts`.
pub struct FundsLedger;

fn row(
    order_id: Uuid,
    user_id: Option<Uuid>,
    amount: i64,
    state: ReservationState,
) -> reservation::Model {
    reservation::Model {
        order_id,
        user_id,
        amount,
        state,
        created_at: now(),
        updated_at: now(),
    }
}

/// The counters reservations move.
const COUNTERS: Counters<account::Entity> = Counters {
    key: account::Column::UserId,
    free: account::Column::Balance,
    held: account::Column::Reserved,
    captured: account::Column::Captured,
    returned: account::Column::Refunded,
    tally: Some(account::Column::Entries),
    updated_at: account::Column::UpdatedAt,
};

/// Writes the statement entry of a movement of `r`'s funds that left the account `now` (none
/// for a released mark, which moved nothing).
async fn moved(
    txn: &Txn,
    r: &reservation::Model,
    now: Option<account::Model>,
    kind: Kind,
    amount: i64,
) -> Result<(), DbErr> {
    match now {
        Some(acc) => statement::write(txn, &acc, kind, amount, Some(r.order_id)).await,
        None => Ok(()),
    }
}

#[async_trait::async_trait]
impl Ledger for FundsLedger {
    type Request = Hold;
    type Row = reservation::Model;
    type Entity = reservation::Entity;
    type Active = reservation::ActiveModel;

    const ORDER_ID: reservation::Column = reservation::Column::OrderId;
    const STATE: reservation::Column = reservation::Column::State;
    const UPDATED_AT: reservation::Column = reservation::Column::UpdatedAt;

    type Reservation = FundsReservation;

    fn order_id(req: &Hold) -> Uuid {
        req.order_id
    }

    fn state(row: &reservation::Model) -> ReservationState {
        row.state
    }

    fn matches(row: &reservation::Model, req: &Hold) -> bool {
        row.user_id == Some(req.user_id) && row.amount == req.amount.cents()
    }

    fn is_mark(row: &reservation::Model) -> bool {
        row.user_id.is_none()
    }

    fn mark(order_id: Uuid) -> reservation::Model {
        row(order_id, None, 0, ReservationState::Released)
    }

    fn amount(row: &reservation::Model) -> i64 {
        row.amount
    }

    fn reservation(row: reservation::Model, state: ReservationState) -> FundsReservation {
        FundsReservation {
            order_id: row.order_id,
            user_id: row.user_id.unwrap_or_default(),
            amount: row.amount,
            state,
        }
    }

    async fn take(&self, txn: &Txn, req: &Hold) -> Result<Take<reservation::Model>, DbErr> {
        let amount = req.amount.cents();
        let held = COUNTERS.take(txn, req.user_id, amount).await?;
        if let Some(acc) = &held {
            statement::write(txn, acc, Kind::Reserve, -amount, Some(req.order_id)).await?;
        }
        // An account that was never opened holds 0: short, like any other.
        Ok(if held.is_some() {
            Take::Taken(row(
                req.order_id,
                Some(req.user_id),
                req.amount.cents(),
                ReservationState::Reserved,
            ))
        } else {
            Take::Short(None)
        })
    }

    async fn capture(&self, txn: &Txn, r: &reservation::Model) -> Result<(), DbErr> {
        let now = COUNTERS.capture(txn, r.user_id, r.amount).await?;
        moved(txn, r, now, Kind::Capture, 0).await
    }

    async fn give_back(&self, txn: &Txn, r: &reservation::Model) -> Result<(), DbErr> {
        let now = COUNTERS.give_back(txn, r.user_id, r.amount).await?;
        moved(txn, r, now, Kind::Release, r.amount).await
    }

    async fn refund(&self, txn: &Txn, r: &reservation::Model) -> Result<(), DbErr> {
        let now = COUNTERS.refund(txn, r.user_id, r.amount).await?;
        moved(txn, r, now, Kind::Refund, r.amount).await
    }
}
