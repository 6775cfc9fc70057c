//! Stock reservations as a [`Ledger`]: units move between a product's `available`, `reserved`,
//! `sold` and `returned`, for every line of an order at once.

use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use shop_kit::contract::ReservationState;
use shop_kit::contract::stock::{StockLine, StockReservation};
use shop_kit::db::now;
use shop_kit::ledger::{Counters, Ledger, Movement, Take};
use uuid::Uuid;

use super::{product, reservation};
use crate::domain::{Hold, Line};
use shop_kit::db::Txn;

/// The `stock_reservations` table against `products`.
pub struct UnitsLedger;

/// The counters reservations move.
const COUNTERS: Counters<product::Entity> = Counters {
    key: product::Column::Id,
    free: product::Column::Available,
    held: product::Column::Reserved,
    captured: product::Column::Sold,
    returned: product::Column::Returned,
    tally: None,
    updated_at: product::Column::UpdatedAt,
};

/// The row recording `hold`: the first line's product, the units of all lines, and the lines
/// themselves when there are several.
fn row(hold: &Hold) -> Result<reservation::Model, DbErr> {
    let items = match hold.lines.as_slice() {
        [_] => None,
        lines => Some(
            serde_json::to_string(&lines.iter().map(wire).collect::<Vec<_>>())
                .map_err(|e| DbErr::Json(e.to_string()))?,
        ),
    };
    Ok(reservation::Model {
        order_id: hold.order_id,
        product_id: hold.lines.first().map(|l| l.product_id),
        quantity: hold.lines.iter().map(|l| l.quantity.get()).sum(),
        state: ReservationState::Reserved,
        created_at: now(),
        updated_at: now(),
        items,
    })
}

fn wire(l: &Line) -> StockLine {
    StockLine {
        product_id: l.product_id,
        quantity: l.quantity.get(),
    }
}

/// A row's lines, in the order of the request (none for a released mark).
pub fn lines(r: &reservation::Model) -> Result<Vec<StockLine>, DbErr> {
    match (&r.items, r.product_id) {
        (Some(items), _) => serde_json::from_str(items).map_err(|e| {
            DbErr::Type(format!(
                "stock reservation {}: items are unreadable: {e}",
                r.order_id
            ))
        }),
        (None, Some(product_id)) => Ok(vec![StockLine {
            product_id,
            quantity: r.quantity,
        }]),
        (None, None) => Ok(Vec::new()),
    }
}

/// A row's lines in product order: every statement that moves several products' counters
/// locks them in this one order (as the take does), so that no two transactions on PostgreSQL
/// wait for each other's rows in a cycle.
fn locking_order(r: &reservation::Model) -> Result<Vec<StockLine>, DbErr> {
    let mut held = lines(r)?;
    held.sort_unstable_by_key(|l| l.product_id);
    Ok(held)
}

/// A set of lines in a canonical order, to compare a request with a row.
fn sorted(mut lines: Vec<StockLine>) -> Vec<(Uuid, i64)> {
    lines.sort_unstable_by_key(|l| l.product_id);
    lines
        .into_iter()
        .map(|l| (l.product_id, l.quantity))
        .collect()
}

/// Why taking `hold`'s lines stopped at line `failed` (of `by_product`, the lines in product
/// order): the first line of the request whose product is missing, or short of units now.
async fn shortage(
    txn: &Txn,
    hold: &Hold,
    by_product: &[Line],
    failed: usize,
) -> Result<Take<reservation::Model>, DbErr> {
    let ids: Vec<Uuid> = hold.lines.iter().map(|l| l.product_id).collect();
    let found = product::Entity::find()
        .filter(product::Column::Id.is_in(ids))
        .all(txn)
        .await?;
    let taken = &by_product[..failed];
    for line in &hold.lines {
        let Some(p) = found.iter().find(|p| p.id == line.product_id) else {
            return Ok(Take::Missing);
        };
        let short = p.available < line.quantity.get() || line == &by_product[failed];
        if short && !taken.contains(line) {
            return Ok(Take::Short(Some(line.product_id)));
        }
    }
    Ok(Take::Short(Some(by_product[failed].product_id)))
}

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
        let asked = sorted(req.lines.iter().map(wire).collect());
        lines(row).is_ok_and(|held| sorted(held) == asked)
    }

    fn is_mark(row: &reservation::Model) -> bool {
        row.product_id.is_none()
    }

    fn mark(order_id: Uuid) -> reservation::Model {
        reservation::Model {
            order_id,
            product_id: None,
            quantity: 0,
            state: ReservationState::Released,
            created_at: now(),
            updated_at: now(),
            items: None,
        }
    }

    fn amount(row: &reservation::Model) -> i64 {
        row.quantity
    }

    fn reservation(row: reservation::Model, state: ReservationState) -> StockReservation {
        StockReservation {
            order_id: row.order_id,
            product_id: row.product_id.unwrap_or_default(),
            quantity: row.quantity,
            items: lines(&row).unwrap_or_default(),
            state,
        }
    }

    /// Takes every line in product order (so that concurrent orders over the same products
    /// lock them in one order and never deadlock), each with a conditional update; the first
    /// that fails ends the take, and the caller rolls back the lines taken before it.
    async fn take(&self, txn: &Txn, req: &Hold) -> Result<Take<reservation::Model>, DbErr> {
        let mut by_product = req.lines.clone();
        by_product.sort_unstable();
        for (i, line) in by_product.iter().enumerate() {
            let taken = COUNTERS
                .take(txn, line.product_id, line.quantity.get())
                .await?;
            if taken.is_none() {
                return shortage(txn, req, &by_product, i).await;
            }
        }
        Ok(Take::Taken(row(req)?))
    }

    async fn capture(&self, txn: &Txn, r: &reservation::Model) -> Result<(), DbErr> {
        move_lines(txn, r, Movement::Capture).await
    }

    async fn give_back(&self, txn: &Txn, r: &reservation::Model) -> Result<(), DbErr> {
        move_lines(txn, r, Movement::GiveBack).await
    }

    async fn refund(&self, txn: &Txn, r: &reservation::Model) -> Result<(), DbErr> {
        move_lines(txn, r, Movement::Refund).await
    }
}

/// Moves the units of every line of `r`, in locking order.
async fn move_lines(txn: &Txn, r: &reservation::Model, movement: Movement) -> Result<(), DbErr> {
    for l in locking_order(r)? {
        COUNTERS
            .apply(txn, Some(l.product_id), l.quantity, movement)
            .await?;
    }
    Ok(())
}
