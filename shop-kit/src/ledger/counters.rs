//! The counters a participant's reservations move: free, held and captured.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::db::now;

/// Where a participant keeps the resource its reservations move: a row per holder (an
/// account, a product) with three counters, what is free, what is held, what is captured.
pub struct Counters<E: EntityTrait> {
    /// The holder's key column.
    pub key: E::Column,
    /// Free: `balance`, `available`.
    pub free: E::Column,
    /// Held by reservations: `reserved`.
    pub held: E::Column,
    /// Captured by confirmed reservations: `captured`, `sold`.
    pub captured: E::Column,
    /// The row's last change.
    pub updated_at: E::Column,
}

impl<E: EntityTrait> Counters<E> {
    /// Adds `free`, `held` and `captured` to the holder's counters (with nothing to move when
    /// there is no holder: a released mark).
    pub async fn shift(
        &self,
        txn: &DatabaseTransaction,
        holder: Option<Uuid>,
        [free, held, captured]: [i64; 3],
    ) -> Result<(), DbErr> {
        let Some(holder) = holder else {
            return Ok(());
        };
        E::update_many()
            .col_expr(self.free, Expr::col(self.free).add(free))
            .col_expr(self.held, Expr::col(self.held).add(held))
            .col_expr(self.captured, Expr::col(self.captured).add(captured))
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
        self.shift(txn, holder, [0, -amount, amount]).await
    }

    /// What a release does with `amount` held: free again.
    pub async fn give_back(
        &self,
        txn: &DatabaseTransaction,
        holder: Option<Uuid>,
        amount: i64,
    ) -> Result<(), DbErr> {
        self.shift(txn, holder, [amount, -amount, 0]).await
    }
}
