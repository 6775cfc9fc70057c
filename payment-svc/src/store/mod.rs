//! The only place payment-svc touches its database.

mod entities;
mod migration;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};
use shop_kit::contract::payment::{Account, FundsReservation, ReserveFunds};
use shop_kit::contract::{Decision, Outcome, ReservationState};
use shop_kit::db::{is_unique_violation, now};
use uuid::Uuid;

pub use entities::{account, deposit, reservation};
pub use migration::Migrator;

/// How often a transaction that lost a race on a unique key is tried again.
const RACE_RETRIES: usize = 3;

/// The result of a deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepositOutcome {
    /// Applied now, or the replay of the first deposit under the same key.
    Done(Account),
    /// The key was used before for a different amount.
    KeyReused,
    /// The balance would overflow.
    Overflow,
}

/// Balances, deposits and fund reservations.
#[derive(Clone)]
pub struct PaymentStore {
    db: DatabaseConnection,
}

impl PaymentStore {
    /// A store on `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The user's account, `None` when it was never opened.
    #[tracing::instrument(skip(self))]
    pub async fn account(&self, user_id: Uuid) -> Result<Option<Account>, DbErr> {
        Ok(account::Entity::find_by_id(user_id).one(&self.db).await?.map(to_account))
    }

    /// Opens the user's account with balance 0; opening it again changes nothing.
    #[tracing::instrument(skip(self))]
    pub async fn open_account(&self, user_id: Uuid) -> Result<Account, DbErr> {
        ensure_account(&self.db, user_id).await?;
        let acc = account::Entity::find_by_id(user_id).one(&self.db).await?;
        acc.map(to_account).ok_or_else(|| DbErr::RecordNotFound("account".into()))
    }

    /// Adds `amount` to the user's balance. With a key, a repeat returns the first answer.
    #[tracing::instrument(skip(self, key))]
    pub async fn deposit(&self, user_id: Uuid, amount: i64, key: Option<&str>) -> Result<DepositOutcome, DbErr> {
        for _ in 0..RACE_RETRIES {
            if let Some(key) = key {
                let previous = deposit::Entity::find()
                    .filter(deposit::Column::UserId.eq(user_id))
                    .filter(deposit::Column::IdempotencyKey.eq(key))
                    .one(&self.db)
                    .await?;
                if let Some(previous) = previous {
                    return Ok(if previous.amount == amount {
                        DepositOutcome::Done(Account { user_id, balance: previous.balance_after, reserved: previous.reserved_after })
                    } else {
                        DepositOutcome::KeyReused
                    });
                }
            }
            let txn = self.db.begin().await?;
            ensure_account(&txn, user_id).await?;
            let updated = account::Entity::update_many()
                .col_expr(account::Column::Balance, Expr::col(account::Column::Balance).add(amount))
                .col_expr(account::Column::Deposited, Expr::col(account::Column::Deposited).add(amount))
                .col_expr(account::Column::UpdatedAt, Expr::value(now()))
                .filter(account::Column::UserId.eq(user_id))
                .filter(account::Column::Balance.lte(i64::MAX - amount))
                .filter(account::Column::Deposited.lte(i64::MAX - amount))
                .exec(&txn)
                .await?;
            if updated.rows_affected == 0 {
                return Ok(DepositOutcome::Overflow);
            }
            let acc = account::Entity::find_by_id(user_id)
                .one(&txn)
                .await?
                .ok_or_else(|| DbErr::RecordNotFound("account".into()))?;
            let row = deposit::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(user_id),
                amount: Set(amount),
                idempotency_key: Set(key.map(str::to_owned)),
                balance_after: Set(acc.balance),
                reserved_after: Set(acc.reserved),
                created_at: Set(now()),
            };
            match deposit::Entity::insert(row).exec_without_returning(&txn).await {
                Err(e) if is_unique_violation(&e) => continue, // a parallel repeat won: replay it
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            txn.commit().await?;
            return Ok(DepositOutcome::Done(to_account(acc)));
        }
        Err(DbErr::Custom("deposit kept losing races on its idempotency key".into()))
    }

    /// Holds funds for an order (idempotent by `order_id`).
    #[tracing::instrument(skip(self), fields(order_id = %req.order_id))]
    pub async fn reserve(&self, req: &ReserveFunds) -> Result<Outcome<FundsReservation>, DbErr> {
        for _ in 0..RACE_RETRIES {
            let held = find(&self.db, req.order_id).await?;
            let same = |r: &reservation::Model| r.user_id == Some(req.user_id) && r.amount == req.amount;
            match Decision::on_reserve(held.as_ref().map(|r| (state_of(r), same(r)))) {
                Decision::Apply => {}
                Decision::Refuse(why) => return Ok(Outcome::Refused(why)),
                _ => return Ok(held.map(to_reservation).map_or(Outcome::Missing, Outcome::Done)),
            }
            let txn = self.db.begin().await?;
            let row = reservation::ActiveModel {
                order_id: Set(req.order_id),
                user_id: Set(Some(req.user_id)),
                amount: Set(req.amount),
                state: Set(ReservationState::Reserved.as_str().into()),
                created_at: Set(now()),
                updated_at: Set(now()),
            };
            match reservation::Entity::insert(row).exec_without_returning(&txn).await {
                Err(e) if is_unique_violation(&e) => continue, // raced with a repeat or a release
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            let held = account::Entity::update_many()
                .col_expr(account::Column::Balance, Expr::col(account::Column::Balance).sub(req.amount))
                .col_expr(account::Column::Reserved, Expr::col(account::Column::Reserved).add(req.amount))
                .col_expr(account::Column::UpdatedAt, Expr::value(now()))
                .filter(account::Column::UserId.eq(req.user_id))
                .filter(account::Column::Balance.gte(req.amount))
                .exec(&txn)
                .await?;
            if held.rows_affected == 0 {
                return Ok(Outcome::Short); // the transaction rolls back: nothing recorded
            }
            txn.commit().await?;
            return Ok(Outcome::Done(FundsReservation {
                order_id: req.order_id,
                user_id: req.user_id,
                amount: req.amount,
                state: ReservationState::Reserved,
            }));
        }
        Err(DbErr::Custom("reservation kept losing races".into()))
    }

    /// Captures the funds held for an order.
    #[tracing::instrument(skip(self))]
    pub async fn confirm(&self, order_id: Uuid) -> Result<Outcome<FundsReservation>, DbErr> {
        for _ in 0..RACE_RETRIES {
            let held = find(&self.db, order_id).await?;
            match Decision::on_confirm(held.as_ref().map(state_of)) {
                Decision::Apply => {}
                Decision::Refuse(why) => return Ok(Outcome::Refused(why)),
                Decision::Missing => return Ok(Outcome::Missing),
                _ => return Ok(held.map(to_reservation).map_or(Outcome::Missing, Outcome::Done)),
            }
            let Some(r) = held else { continue };
            let txn = self.db.begin().await?;
            if !move_state(&txn, order_id, ReservationState::Reserved, ReservationState::Confirmed).await? {
                continue; // a parallel confirm or release moved it first: decide again
            }
            account::Entity::update_many()
                .col_expr(account::Column::Reserved, Expr::col(account::Column::Reserved).sub(r.amount))
                .col_expr(account::Column::Captured, Expr::col(account::Column::Captured).add(r.amount))
                .col_expr(account::Column::UpdatedAt, Expr::value(now()))
                .filter(account::Column::UserId.eq(r.user_id))
                .exec(&txn)
                .await?;
            txn.commit().await?;
            return Ok(Outcome::Done(to_reservation(reservation::Model { state: "confirmed".into(), ..r })));
        }
        Err(DbErr::Custom("confirmation kept losing races".into()))
    }

    /// Gives the funds held for an order back; with nothing held, leaves a released mark.
    #[tracing::instrument(skip(self))]
    pub async fn release(&self, order_id: Uuid) -> Result<Outcome<FundsReservation>, DbErr> {
        for _ in 0..RACE_RETRIES {
            let held = find(&self.db, order_id).await?;
            match Decision::on_release(held.as_ref().map(state_of)) {
                Decision::Refuse(why) => return Ok(Outcome::Refused(why)),
                Decision::MarkReleased => {
                    let mark = reservation::ActiveModel {
                        order_id: Set(order_id),
                        user_id: Set(None),
                        amount: Set(0),
                        state: Set(ReservationState::Released.as_str().into()),
                        created_at: Set(now()),
                        updated_at: Set(now()),
                    };
                    match reservation::Entity::insert(mark).exec_without_returning(&self.db).await {
                        Err(e) if is_unique_violation(&e) => continue,
                        Err(e) => return Err(e),
                        Ok(_) => return Ok(Outcome::Marked),
                    }
                }
                Decision::Apply => {}
                _ => return Ok(released(held)),
            }
            let Some(r) = held else { continue };
            let txn = self.db.begin().await?;
            if !move_state(&txn, order_id, ReservationState::Reserved, ReservationState::Released).await? {
                continue;
            }
            account::Entity::update_many()
                .col_expr(account::Column::Balance, Expr::col(account::Column::Balance).add(r.amount))
                .col_expr(account::Column::Reserved, Expr::col(account::Column::Reserved).sub(r.amount))
                .col_expr(account::Column::UpdatedAt, Expr::value(now()))
                .filter(account::Column::UserId.eq(r.user_id))
                .exec(&txn)
                .await?;
            txn.commit().await?;
            return Ok(released(Some(reservation::Model { state: "released".into(), ..r })));
        }
        Err(DbErr::Custom("release kept losing races".into()))
    }

    /// Every reservation (for audits and tests).
    pub async fn reservations(&self) -> Result<Vec<reservation::Model>, DbErr> {
        reservation::Entity::find().all(&self.db).await
    }

    /// Every account (for audits and tests).
    pub async fn accounts(&self) -> Result<Vec<account::Model>, DbErr> {
        account::Entity::find().all(&self.db).await
    }
}

fn released(held: Option<reservation::Model>) -> Outcome<FundsReservation> {
    match held {
        Some(r) if r.user_id.is_some() => Outcome::Done(to_reservation(r)),
        _ => Outcome::Marked,
    }
}

async fn ensure_account(db: &impl sea_orm::ConnectionTrait, user_id: Uuid) -> Result<(), DbErr> {
    let row = account::ActiveModel {
        user_id: Set(user_id),
        balance: Set(0),
        reserved: Set(0),
        captured: Set(0),
        deposited: Set(0),
        created_at: Set(now()),
        updated_at: Set(now()),
    };
    account::Entity::insert(row)
        .on_conflict(OnConflict::column(account::Column::UserId).do_nothing().to_owned())
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

async fn find(db: &DatabaseConnection, order_id: Uuid) -> Result<Option<reservation::Model>, DbErr> {
    reservation::Entity::find_by_id(order_id).one(db).await
}

async fn move_state(
    txn: &DatabaseTransaction,
    order_id: Uuid,
    from: ReservationState,
    to: ReservationState,
) -> Result<bool, DbErr> {
    let res = reservation::Entity::update_many()
        .col_expr(reservation::Column::State, Expr::value(to.as_str()))
        .col_expr(reservation::Column::UpdatedAt, Expr::value(now()))
        .filter(reservation::Column::OrderId.eq(order_id))
        .filter(reservation::Column::State.eq(from.as_str()))
        .exec(txn)
        .await?;
    Ok(res.rows_affected == 1)
}

fn state_of(r: &reservation::Model) -> ReservationState {
    ReservationState::parse(&r.state).unwrap_or(ReservationState::Released)
}

fn to_reservation(r: reservation::Model) -> FundsReservation {
    FundsReservation {
        order_id: r.order_id,
        user_id: r.user_id.unwrap_or_default(),
        amount: r.amount,
        state: state_of(&r),
    }
}

fn to_account(a: account::Model) -> Account {
    Account { user_id: a.user_id, balance: a.balance, reserved: a.reserved }
}
