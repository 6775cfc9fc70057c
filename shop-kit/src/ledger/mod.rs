//! The participant protocol run against a service's own tables. payment, stock and delivery
//! each describe their reservation rows and how to take, capture, give back and refund what they
//! hold ([`Ledger`]); the reserve, confirm, release and cancel drivers here keep the protocol of
//! [`Decision`] identical in all three, race-safe on SQLite and PostgreSQL alike: resources move
//! only by conditional updates, and the order id is a primary key, so two racing requests for
//! one order can never both apply.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::contract::{Decision, Outcome, ReservationState};
use crate::db::{Db, Txn, is_unique_violation, now};

mod api;
mod counters;
mod metrics;

pub use api::{Participant, ReservationOp, Reservations, ReservationsApi};
pub use counters::{Counters, Movement};
pub use metrics::{LedgerMetrics, Step};

/// How often a step that lost a race is decided again.
const RACE_RETRIES: usize = 5;

/// What taking a resource for a reservation found.
pub enum Take<Row> {
    /// Taken; this row is to be recorded.
    Taken(Row),
    /// The resource exists but has not enough (stock names the first product short).
    Short(Option<Uuid>),
    /// The resource does not exist.
    Missing,
}

/// A participant's reservation table and the resource it holds.
#[async_trait::async_trait]
pub trait Ledger: Send + Sync {
    /// The reserve request.
    type Request: Send + Sync;
    /// A reservation row.
    type Row: Send + Sync + Clone;
    /// The reservation as the wire contract shows it.
    type Reservation;
    /// The reservation table, keyed by order id.
    type Entity: EntityTrait<Model = Self::Row>;
    /// Its active model.
    type Active: ActiveModelTrait<Entity = Self::Entity>
        + ActiveModelBehavior
        + From<Self::Row>
        + Send
        + 'static;

    /// The column of the order id.
    const ORDER_ID: <Self::Entity as EntityTrait>::Column;
    /// The column of the state.
    const STATE: <Self::Entity as EntityTrait>::Column;
    /// The column of the last change.
    const UPDATED_AT: <Self::Entity as EntityTrait>::Column;

    /// The order a request is for.
    fn order_id(req: &Self::Request) -> Uuid;
    /// A row's state.
    fn state(row: &Self::Row) -> ReservationState;
    /// Whether a row holds exactly what the request asks.
    fn matches(row: &Self::Row, req: &Self::Request) -> bool;
    /// Whether a row is a released mark (nothing was ever held).
    fn is_mark(row: &Self::Row) -> bool;
    /// The row as the contract shows it, in `state`.
    fn reservation(row: Self::Row, state: ReservationState) -> Self::Reservation;
    /// A released mark for an order that holds nothing.
    fn mark(order_id: Uuid) -> Self::Row;
    /// What a row holds, in the participant's unit (cents, units, bookings).
    fn amount(row: &Self::Row) -> i64;

    /// Takes the resource for a request (conditional update) and returns the row to record.
    async fn take(&self, txn: &Txn, req: &Self::Request) -> Result<Take<Self::Row>, DbErr>;
    /// Whether capturing moves anything beside the row's state. When it does not (a courier's
    /// confirmed booking keeps its place), a confirm is one statement with no transaction
    /// around it: on SQLite a transaction's `BEGIN` and `COMMIT` are two more round trips to the
    /// connection's thread.
    const CAPTURE_MOVES: bool = true;
    /// Moves what a row holds from reserved to captured (sold, delivered).
    async fn capture(&self, txn: &Txn, row: &Self::Row) -> Result<(), DbErr>;
    /// Gives what a row holds back.
    async fn give_back(&self, txn: &Txn, row: &Self::Row) -> Result<(), DbErr>;
    /// Gives back what a confirmed row captured: the funds refunded, the units returned, the
    /// courier's place freed.
    async fn refund(&self, txn: &Txn, row: &Self::Row) -> Result<(), DbErr>;
}

/// The row of an order.
pub async fn find<L: Ledger>(
    db: &impl ConnectionTrait,
    order_id: Uuid,
) -> Result<Option<L::Row>, DbErr> {
    L::Entity::find()
        .filter(L::ORDER_ID.eq(order_id))
        .one(db)
        .await
}

/// The reservations of the orders after `after` (all, without it), by order id, at most
/// `limit`: each order's id and state, what the books audit compares with order-svc's orders.
pub async fn list<L: Ledger>(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<(Uuid, ReservationState)>, DbErr> {
    let mut query = L::Entity::find()
        .select_only()
        .column(L::ORDER_ID)
        .column(L::STATE);
    if let Some(after) = after {
        query = query.filter(L::ORDER_ID.gt(after));
    }
    query
        .order_by_asc(L::ORDER_ID)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await
}

/// Records a row (a unique violation means a racing request recorded it first).
async fn insert<L: Ledger>(db: &impl ConnectionTrait, row: &L::Row) -> Result<(), DbErr> {
    let active: L::Active = row.clone().into();
    L::Entity::insert(active)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

fn lost_races(step: &str) -> DbErr {
    DbErr::Custom(format!("{step} kept losing races"))
}

/// Reserves for a request; idempotent by order id.
pub async fn reserve<L: Ledger>(
    ledger: &L,
    db: &Db,
    metrics: &LedgerMetrics,
    req: &L::Request,
) -> Result<Outcome<L::Reservation>, DbErr> {
    counted(metrics, Step::Reserve, reserve_once(ledger, db, req)).await
}

/// A step's outcome, and the amount it moved when it moved something now.
type Counted<T> = (Outcome<T>, Option<i64>);

/// Runs a step and counts its outcome.
async fn counted<T>(
    metrics: &LedgerMetrics,
    step: Step,
    once: impl Future<Output = Result<Counted<T>, DbErr>>,
) -> Result<Outcome<T>, DbErr> {
    let (outcome, applied) = once.await?;
    metrics.count(step, &outcome, applied);
    Ok(outcome)
}

/// Moves order `order_id`'s reservation from `from` to `to` in one transaction, with its
/// effect: what it holds is captured (confirmed), given back (released), or what it captured is
/// given back (cancelled). One conditional update that answers the row (`RETURNING`), so the
/// common case needs no read first. `None` when the reservation is not in `from` (missing, in
/// another state, or moved by a racing call first).
async fn settle<L: Ledger>(
    ledger: &L,
    db: &Db,
    order_id: Uuid,
    from: ReservationState,
    to: ReservationState,
) -> Result<Option<Counted<L::Reservation>>, DbErr> {
    let update = L::Entity::update_many()
        .col_expr(L::STATE, Expr::value(to.as_str()))
        .col_expr(L::UPDATED_AT, Expr::value(now()))
        .filter(L::ORDER_ID.eq(order_id))
        .filter(L::STATE.eq(from.as_str()));
    let row = if to == ReservationState::Confirmed && !L::CAPTURE_MOVES {
        // Alone, in autocommit: its rows are read to the statement's end, which reports the
        // commit.
        let Some(row) = update.exec_with_returning(db).await?.into_iter().next() else {
            return Ok(None);
        };
        row
    } else {
        let txn = db.begin().await?;
        let Some(row) = update.exec_with_returning(&txn).await?.into_iter().next() else {
            return Ok(None); // dropping the transaction rolls it back
        };
        match to {
            ReservationState::Confirmed => ledger.capture(&txn, &row).await?,
            ReservationState::Cancelled => ledger.refund(&txn, &row).await?,
            _ => ledger.give_back(&txn, &row).await?,
        }
        txn.commit().await?;
        row
    };
    let amount = L::amount(&row);
    Ok(Some((Outcome::Done(L::reservation(row, to)), Some(amount))))
}

/// Reserves optimistically: the common case is an order with nothing recorded yet, so the
/// resource is taken and the row recorded in one transaction straight away. A row already there
/// (a repeat, a release that came first, a racing request) makes the insert fail on the order
/// id, which rolls the take back; then, as when the resource is short, what is recorded decides.
async fn reserve_once<L: Ledger>(
    ledger: &L,
    db: &Db,
    req: &L::Request,
) -> Result<Counted<L::Reservation>, DbErr> {
    let order_id = L::order_id(req);
    for _ in 0..RACE_RETRIES {
        let txn = db.begin().await?;
        // Dropping the transaction rolls back whatever the take did.
        let short = match ledger.take(&txn, req).await? {
            Take::Taken(row) => match insert::<L>(&txn, &row).await {
                Ok(()) => {
                    txn.commit().await?;
                    let amount = L::amount(&row);
                    let outcome = Outcome::Done(L::reservation(row, ReservationState::Reserved));
                    return Ok((outcome, Some(amount)));
                }
                Err(e) if is_unique_violation(&e) => None,
                Err(e) => return Err(e),
            },
            Take::Short(holder) => Some(Outcome::Short(holder)),
            Take::Missing => Some(Outcome::Missing),
        };
        drop(txn);
        let held = find::<L>(db, order_id).await?;
        match Decision::on_reserve(held.as_ref().map(|r| (L::state(r), L::matches(r, req)))) {
            Decision::Apply => match short {
                Some(outcome) => return Ok((outcome, None)),
                None => continue, // the row that was in the way is gone: take again
            },
            Decision::Refuse(why) => return Ok((Outcome::Refused(why), None)),
            _ => {
                let outcome = held.map_or(Outcome::Missing, |r| {
                    Outcome::Done(L::reservation(r.clone(), L::state(&r)))
                });
                return Ok((outcome, None));
            }
        }
    }
    Err(lost_races("reserve"))
}

/// Confirms an order's reservation: what it holds is captured.
pub async fn confirm<L: Ledger>(
    ledger: &L,
    db: &Db,
    metrics: &LedgerMetrics,
    order_id: Uuid,
) -> Result<Outcome<L::Reservation>, DbErr> {
    counted(metrics, Step::Confirm, confirm_once(ledger, db, order_id)).await
}

async fn confirm_once<L: Ledger>(
    ledger: &L,
    db: &Db,
    order_id: Uuid,
) -> Result<Counted<L::Reservation>, DbErr> {
    use ReservationState::{Confirmed, Reserved};
    for _ in 0..RACE_RETRIES {
        if let Some(done) = settle(ledger, db, order_id, Reserved, Confirmed).await? {
            return Ok(done);
        }
        let held = find::<L>(db, order_id).await?;
        match (Decision::on_confirm(held.as_ref().map(L::state)), held) {
            (Decision::Repeat, Some(row)) => {
                let state = L::state(&row);
                return Ok((Outcome::Done(L::reservation(row, state)), None));
            }
            (Decision::Refuse(why), _) => return Ok((Outcome::Refused(why), None)),
            (Decision::Apply, _) => continue, // reserved again by now: settle it
            _ => return Ok((Outcome::Missing, None)),
        }
    }
    Err(lost_races("confirm"))
}

/// Cancels an order's confirmed reservation (the shopper cancelled the completed order): what
/// it captured is given back.
pub async fn cancel<L: Ledger>(
    ledger: &L,
    db: &Db,
    metrics: &LedgerMetrics,
    order_id: Uuid,
) -> Result<Outcome<L::Reservation>, DbErr> {
    counted(metrics, Step::Cancel, cancel_once(ledger, db, order_id)).await
}

async fn cancel_once<L: Ledger>(
    ledger: &L,
    db: &Db,
    order_id: Uuid,
) -> Result<Counted<L::Reservation>, DbErr> {
    use ReservationState::{Cancelled, Confirmed};
    for _ in 0..RACE_RETRIES {
        if let Some(done) = settle(ledger, db, order_id, Confirmed, Cancelled).await? {
            return Ok(done);
        }
        let held = find::<L>(db, order_id).await?;
        match (Decision::on_cancel(held.as_ref().map(L::state)), held) {
            (Decision::Repeat, Some(row)) => {
                let outcome = Outcome::Done(L::reservation(row, Cancelled));
                return Ok((outcome, None));
            }
            (Decision::Refuse(why), _) => return Ok((Outcome::Refused(why), None)),
            (Decision::Apply, _) => continue,
            _ => return Ok((Outcome::Missing, None)),
        }
    }
    Err(lost_races("cancel"))
}

/// Releases an order's reservation; with nothing held, leaves a mark that refuses a late one.
pub async fn release<L: Ledger>(
    ledger: &L,
    db: &Db,
    metrics: &LedgerMetrics,
    order_id: Uuid,
) -> Result<Outcome<L::Reservation>, DbErr> {
    counted(metrics, Step::Release, release_once(ledger, db, order_id)).await
}

async fn release_once<L: Ledger>(
    ledger: &L,
    db: &Db,
    order_id: Uuid,
) -> Result<Counted<L::Reservation>, DbErr> {
    use ReservationState::{Released, Reserved};
    for _ in 0..RACE_RETRIES {
        if let Some(done) = settle(ledger, db, order_id, Reserved, Released).await? {
            return Ok(done);
        }
        let held = find::<L>(db, order_id).await?;
        match (Decision::on_release(held.as_ref().map(L::state)), held) {
            (Decision::MarkReleased, _) => match insert::<L>(db, &L::mark(order_id)).await {
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e),
                Ok(()) => return Ok((Outcome::Marked, None)),
            },
            (Decision::Refuse(why), _) => return Ok((Outcome::Refused(why), None)),
            (Decision::Apply, _) => continue,
            (_, Some(row)) if !L::is_mark(&row) => {
                let outcome = Outcome::Done(L::reservation(row, Released));
                return Ok((outcome, None));
            }
            _ => return Ok((Outcome::Marked, None)),
        }
    }
    Err(lost_races("release"))
}
