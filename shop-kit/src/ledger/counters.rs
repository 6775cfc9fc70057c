//! The counters a participant's reservations move: free, held, captured and returned.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::db::now;

/// Where a participant keeps the resource its reservations move: a row per holder (an
/// account, a product) with four counters, what is free, what is held, what is captured, and
/// what was captured and given back by a cancellation (so `captured` only ever grows, and what
/// was ever added = free + held + captured − returned).
pub struct Counters<E: EntityTrait> {
    /// The holder's key column.
    pub key: E::Column,
    /// Free: `balance`, `available`.
    pub free: E::Column,
    /// Held by reservations: `reserved`.
    pub held: E::Column,
    /// Captured by confirmed reservations: `captured`, `sold`.
    pub captured: E::Column,
    /// Captured, then given back by cancelled orders: `refunded`, `returned`.
    pub returned: E::Column,
    /// The row's last change.
    pub updated_at: E::Column,
}

impl<E: EntityTrait> Counters<E> {
    /// Adds `free`, `held`, `captured` and `returned` to the holder's counters (with nothing
    /// to move when there is no holder: a released mark).
    pub async fn shift(
        &self,
        txn: &DatabaseTransaction,
        holder: Option<Uuid>,
        deltas: [i64; 4],
    ) -> Result<(), DbErr> {
        let Some(holder) = holder else {
            return Ok(());
        };
        let columns = [self.free, self.held, self.captured, self.returned];
        let mut update = E::update_many();
        for (column, delta) in columns.into_iter().zip(deltas) {
            if delta != 0 {
                update = update.col_expr(column, Expr::col(column).add(delta));
            }
        }
        update
            .col_expr(self.updated_at, Expr::value(now()))
            .filter(self.key.eq(holder))
            .exec(txn)
            .await
            .map(|_| ())
    }

    /// Holds `amount` of the holder's free counter when it has that much (one conditional
    /// update, so racing takes can never drive it below zero); `false` when it has not, or
    /// there is no such holder.
    pub async fn take(
        &self,
        txn: &DatabaseTransaction,
        holder: Uuid,
        amount: i64,
    ) -> Result<bool, DbErr> {
        let res = E::update_many()
            .col_expr(self.free, Expr::col(self.free).sub(amount))
            .col_expr(self.held, Expr::col(self.held).add(amount))
            .col_expr(self.updated_at, Expr::value(now()))
            .filter(self.key.eq(holder))
            .filter(self.free.gte(amount))
            .exec(txn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// What a confirmation does with `amount` held: captured.
    pub async fn capture(
        &self,
        txn: &DatabaseTransaction,
        holder: Option<Uuid>,
        amount: i64,
    ) -> Result<(), DbErr> {
        self.shift(txn, holder, [0, -amount, amount, 0]).await
    }

    /// What a release does with `amount` held: free again.
    pub async fn give_back(
        &self,
        txn: &DatabaseTransaction,
        holder: Option<Uuid>,
        amount: i64,
    ) -> Result<(), DbErr> {
        self.shift(txn, holder, [amount, -amount, 0, 0]).await
    }

    /// What a cancellation does with `amount` captured: free again, and counted as returned.
    pub async fn refund(
        &self,
        txn: &DatabaseTransaction,
        holder: Option<Uuid>,
        amount: i64,
    ) -> Result<(), DbErr> {
        self.shift(txn, holder, [amount, 0, 0, amount]).await
    }
}
