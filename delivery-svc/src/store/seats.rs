//! Courier bookings as a [`Ledger`]: a booking takes one place in a courier's capacity on its
//! date (`courier_days.booked`), and a release gives it back.

use sea_orm::sea_query::{Condition, Expr, ExprTrait, JoinType, OnConflict, Order, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    QueryFilter,
};
use shop_kit::contract::ReservationState;
use shop_kit::contract::delivery::{BookCourier, CourierBooking};
use shop_kit::db::now;
use shop_kit::ledger::{Ledger, Take};
use uuid::Uuid;

use super::{booking, courier, courier_day};
use shop_kit::db::Txn;

/// A courier that may take a booking, with its places booked that day (`None`: none yet).
#[derive(Debug, FromQueryResult)]
struct Candidate {
    id: Uuid,
    name: String,
    daily_capacity: i32,
    booked: Option<i32>,
}

/// The `bookings` table against couriers' daily capacity.
pub struct SeatsLedger;

fn mark(order_id: Uuid) -> booking::Model {
    booking::Model {
        order_id,
        user_id: None,
        courier_id: None,
        courier_name: String::new(),
        date: None,
        state: ReservationState::Released,
        created_at: now(),
        updated_at: now(),
    }
}

async fn shift(txn: &Txn, row: &booking::Model, delta: i32) -> Result<(), DbErr> {
    let (Some(courier_id), Some(date)) = (row.courier_id, row.date) else {
        return Ok(());
    };
    courier_day::Entity::update_many()
        .col_expr(
            courier_day::Column::Booked,
            Expr::col(courier_day::Column::Booked).add(delta),
        )
        .filter(courier_day::Column::CourierId.eq(courier_id))
        .filter(courier_day::Column::Date.eq(date))
        .exec(txn)
        .await
        .map(|_| ())
}

#[async_trait::async_trait]
impl Ledger for SeatsLedger {
    type Request = BookCourier;
    type Row = booking::Model;
    type Entity = booking::Entity;
    type Active = booking::ActiveModel;

    const ORDER_ID: booking::Column = booking::Column::OrderId;
    const STATE: booking::Column = booking::Column::State;
    const UPDATED_AT: booking::Column = booking::Column::UpdatedAt;

    type Reservation = CourierBooking;

    fn order_id(req: &BookCourier) -> Uuid {
        req.order_id
    }

    fn state(row: &booking::Model) -> ReservationState {
        row.state
    }

    fn matches(row: &booking::Model, req: &BookCourier) -> bool {
        row.user_id == Some(req.user_id) && row.date == Some(req.date.0)
    }

    fn is_mark(row: &booking::Model) -> bool {
        row.courier_id.is_none()
    }

    fn mark(order_id: Uuid) -> booking::Model {
        mark(order_id)
    }

    fn amount(_row: &booking::Model) -> i64 {
        1
    }

    fn reservation(row: booking::Model, state: ReservationState) -> CourierBooking {
        CourierBooking {
            order_id: row.order_id,
            user_id: row.user_id.unwrap_or_default(),
            courier_id: row.courier_id.unwrap_or_default(),
            courier_name: row.courier_name,
            date: shop_kit::date::Date(row.date.unwrap_or_default()),
            state,
        }
    }

    async fn take(&self, txn: &Txn, req: &BookCourier) -> Result<Take<booking::Model>, DbErr> {
        // Every courier that takes bookings, with what it has booked that day (none: its day
        // is not opened yet), in one query.
        let day = Condition::all()
            .add(
                Expr::col((courier_day::Entity, courier_day::Column::CourierId))
                    .equals((courier::Entity, courier::Column::Id)),
            )
            .add(Expr::col((courier_day::Entity, courier_day::Column::Date)).eq(req.date.0));
        let query = Query::select()
            .column((courier::Entity, courier::Column::Id))
            .column((courier::Entity, courier::Column::Name))
            .column((courier::Entity, courier::Column::DailyCapacity))
            .column((courier_day::Entity, courier_day::Column::Booked))
            .from(courier::Entity)
            .join(JoinType::LeftJoin, courier_day::Entity, day)
            .and_where(Expr::col((courier::Entity, courier::Column::DailyCapacity)).gt(0))
            .order_by((courier::Entity, courier::Column::Id), Order::Asc)
            .to_owned();
        let statement = txn.get_database_backend().build(&query);
        let mut candidates: Vec<Candidate> = Candidate::find_by_statement(statement)
            .all(txn)
            .await?
            .into_iter()
            .filter(|c| c.booked.unwrap_or(0) < c.daily_capacity)
            .collect();
        candidates.sort_by_key(|c| c.booked.unwrap_or(0));
        for c in candidates {
            // The courier's first booking that day opens its day (a racing booking may open
            // it first: nothing to do then).
            if c.booked.is_none() {
                let day = courier_day::ActiveModel {
                    courier_id: Set(c.id),
                    date: Set(req.date.0),
                    booked: Set(0),
                };
                courier_day::Entity::insert(day)
                    .on_conflict(
                        OnConflict::columns([
                            courier_day::Column::CourierId,
                            courier_day::Column::Date,
                        ])
                        .do_nothing()
                        .to_owned(),
                    )
                    .exec_without_returning(txn)
                    .await?;
            }
            let took = courier_day::Entity::update_many()
                .col_expr(
                    courier_day::Column::Booked,
                    Expr::col(courier_day::Column::Booked).add(1),
                )
                .filter(courier_day::Column::CourierId.eq(c.id))
                .filter(courier_day::Column::Date.eq(req.date.0))
                .filter(courier_day::Column::Booked.lt(c.daily_capacity))
                .exec(txn)
                .await?;
            if took.rows_affected == 1 {
                return Ok(Take::Taken(booking::Model {
                    order_id: req.order_id,
                    user_id: Some(req.user_id),
                    courier_id: Some(c.id),
                    courier_name: c.name,
                    date: Some(req.date.0),
                    state: ReservationState::Reserved,
                    created_at: now(),
                    updated_at: now(),
                }));
            }
        }
        Ok(Take::Short(None))
    }

    /// A confirmed booking keeps its place in the courier's day.
    const CAPTURE_MOVES: bool = false;

    async fn capture(&self, _txn: &Txn, _row: &booking::Model) -> Result<(), DbErr> {
        Ok(())
    }

    async fn give_back(&self, txn: &Txn, row: &booking::Model) -> Result<(), DbErr> {
        shift(txn, row, -1).await
    }

    async fn refund(&self, txn: &Txn, row: &booking::Model) -> Result<(), DbErr> {
        shift(txn, row, -1).await // the courier's place is free again
    }
}
