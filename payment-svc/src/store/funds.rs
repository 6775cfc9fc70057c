//! Fund reservations as a [`Ledger`]: what is held moves between an account's `balance`,
//! `reserved` and `captured`.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};
use shop_kit::contract::ReservationState;
use shop_kit::contract::payment::{FundsReservation, ReserveFunds};
use shop_kit::db::now;
use shop_kit::ledger::{Ledger, Take};
use uuid::Uuid;

use super::{account, reservation};

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
        state: state.as_str().into(),
        created_at: now(),
        updated_at: now(),
    }
}

/// Moves `amount` of a user's money: `delta(balance, reserved, captured)`.
async fn shift(
    txn: &DatabaseTransaction,
    user_id: Option<Uuid>,
    delta: (i64, i64, i64),
) -> Result<(), DbErr> {
    let Some(user_id) = user_id else {
        return Ok(());
    };
    account::Entity::update_many()
        .col_expr(
            account::Column::Balance,
            Expr::col(account::Column::Balance).add(delta.0),
        )
        .col_expr(
            account::Column::Reserved,
            Expr::col(account::Column::Reserved).add(delta.1),
        )
        .col_expr(
            account::Column::Captured,
            Expr::col(account::Column::Captured).add(delta.2),
        )
        .col_expr(account::Column::UpdatedAt, Expr::value(now()))
        .filter(account::Column::UserId.eq(user_id))
        .exec(txn)
        .await
        .map(|_| ())
}

#[async_trait::async_trait]
impl Ledger for FundsLedger {
    type Request = ReserveFunds;
    type Row = reservation::Model;
    type Entity = reservation::Entity;
    type Active = reservation::ActiveModel;

    const ORDER_ID: reservation::Column = reservation::Column::OrderId;
    const STATE: reservation::Column = reservation::Column::State;
    const UPDATED_AT: reservation::Column = reservation::Column::UpdatedAt;

    type Reservation = FundsReservation;

    fn order_id(req: &ReserveFunds) -> Uuid {
        req.order_id
    }

    fn state(row: &reservation::Model) -> ReservationState {
        ReservationState::parse(&row.state).unwrap_or(ReservationState::Released)
    }

    fn matches(row: &reservation::Model, req: &ReserveFunds) -> bool {
        row.user_id == Some(req.user_id) && row.amount == req.amount
    }

    fn is_mark(row: &reservation::Model) -> bool {
        row.user_id.is_none()
    }

    fn mark(order_id: Uuid) -> reservation::Model {
        row(order_id, None, 0, ReservationState::Released)
    }

    fn reservation(row: reservation::Model, state: ReservationState) -> FundsReservation {
        FundsReservation {
            order_id: row.order_id,
            user_id: row.user_id.unwrap_or_default(),
            amount: row.amount,
            state,
        }
    }

    async fn take(
        &self,
        txn: &DatabaseTransaction,
        req: &ReserveFunds,
    ) -> Result<Take<reservation::Model>, DbErr> {
        let held = account::Entity::update_many()
            .col_expr(
                account::Column::Balance,
                Expr::col(account::Column::Balance).sub(req.amount),
            )
            .col_expr(
                account::Column::Reserved,
                Expr::col(account::Column::Reserved).add(req.amount),
            )
            .col_expr(account::Column::UpdatedAt, Expr::value(now()))
            .filter(account::Column::UserId.eq(req.user_id))
            .filter(account::Column::Balance.gte(req.amount))
            .exec(txn)
            .await?;
        // An account that was never opened holds 0: short, like any other.
        Ok(if held.rows_affected == 1 {
            Take::Taken(row(
                req.order_id,
                Some(req.user_id),
                req.amount,
                ReservationState::Reserved,
            ))
        } else {
            Take::Short
        })
    }

    async fn capture(
        &self,
        txn: &DatabaseTransaction,
        r: &reservation::Model,
    ) -> Result<(), DbErr> {
        shift(txn, r.user_id, (0, -r.amount, r.amount)).await
    }

    async fn give_back(
        &self,
        txn: &DatabaseTransaction,
        r: &reservation::Model,
    ) -> Result<(), DbErr> {
        shift(txn, r.user_id, (r.amount, -r.amount, 0)).await
    }
}
