//! Stock reservations as a [`Ledger`]: units move between a product's `available`, `reserved`
//! and `sold`.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};
use shop_kit::contract::ReservationState;
use shop_kit::contract::stock::{ReserveStock, StockReservation};
use shop_kit::db::now;
use shop_kit::ledger::{Ledger, Take};
use uuid::Uuid;

use super::{product, reservation};

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
        state: state.as_str().into(),
        created_at: now(),
        updated_at: now(),
    }
}

/// Moves units of a product: `delta(available, reserved, sold)`.
async fn shift(
    txn: &DatabaseTransaction,
    product_id: Option<Uuid>,
    delta: (i64, i64, i64),
) -> Result<(), DbErr> {
    let Some(product_id) = product_id else {
        return Ok(());
    };
    product::Entity::update_many()
        .col_expr(
            product::Column::Available,
            Expr::col(product::Column::Available).add(delta.0),
        )
        .col_expr(
            product::Column::Reserved,
            Expr::col(product::Column::Reserved).add(delta.1),
        )
        .col_expr(
            product::Column::Sold,
            Expr::col(product::Column::Sold).add(delta.2),
        )
        .col_expr(product::Column::UpdatedAt, Expr::value(now()))
        .filter(product::Column::Id.eq(product_id))
        .exec(txn)
        .await
        .map(|_| ())
}

#[async_trait::async_trait]
impl Ledger for UnitsLedger {
    type Request = ReserveStock;
    type Row = reservation::Model;
    type Entity = reservation::Entity;
    type Active = reservation::ActiveModel;

    const ORDER_ID: reservation::Column = reservation::Column::OrderId;
    const STATE: reservation::Column = reservation::Column::State;
    const UPDATED_AT: reservation::Column = reservation::Column::UpdatedAt;

    type Reservation = StockReservation;

    fn order_id(req: &ReserveStock) -> Uuid {
        req.order_id
    }

    fn state(row: &reservation::Model) -> ReservationState {
        ReservationState::parse(&row.state).unwrap_or(ReservationState::Released)
    }

    fn matches(row: &reservation::Model, req: &ReserveStock) -> bool {
        row.product_id == Some(req.product_id) && row.quantity == req.quantity
    }

    fn is_mark(row: &reservation::Model) -> bool {
        row.product_id.is_none()
    }

    fn mark(order_id: Uuid) -> reservation::Model {
        row(order_id, None, 0, ReservationState::Released)
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
        req: &ReserveStock,
    ) -> Result<Take<reservation::Model>, DbErr> {
        let held = product::Entity::update_many()
            .col_expr(
                product::Column::Available,
                Expr::col(product::Column::Available).sub(req.quantity),
            )
            .col_expr(
                product::Column::Reserved,
                Expr::col(product::Column::Reserved).add(req.quantity),
            )
            .col_expr(product::Column::UpdatedAt, Expr::value(now()))
            .filter(product::Column::Id.eq(req.product_id))
            .filter(product::Column::Available.gte(req.quantity))
            .exec(txn)
            .await?;
        if held.rows_affected == 1 {
            return Ok(Take::Taken(row(
                req.order_id,
                Some(req.product_id),
                req.quantity,
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
        shift(txn, r.product_id, (0, -r.quantity, r.quantity)).await
    }

    async fn give_back(
        &self,
        txn: &DatabaseTransaction,
        r: &reservation::Model,
    ) -> Result<(), DbErr> {
        shift(txn, r.product_id, (r.quantity, -r.quantity, 0)).await
    }
}
