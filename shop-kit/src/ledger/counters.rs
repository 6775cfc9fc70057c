//! The counters a participant's reservations move: free, held, captured and returned.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use crate::db::Txn;
use uuid::Uuid;

use crate::db::now;

/// Where a participant keeps the resource its reservations move: a row per holder (an
/// account, a product) with four counters, what is free, what is held, what is captured, and
/// what was captured and given back by a cancellation (so `captured` only ever grows, and what
/// was ever added = free + held + captured − returned). Every movement is one conditional
/// update that answers the holder's row as it is after it (`RETURNING`).
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
    /// A count of the holder's movements, when it keeps one (payment's statement entries: the
    /// movement's update numbers its entry).
    pub tally: Option<E::Column>,
    /// The row's last change.
    pub updated_at: E::Column,
}

impl<E: EntityTrait> Counters<E> {
    /// The update of a movement of the holder's counters by `deltas` (free, held, captured,
    /// returned).
    fn movement(&self, holder: Uuid, deltas: [i64; 4]) -> sea_orm::UpdateMany<E> {
        let columns = [self.free, self.held, self.captured, self.returned];
        let mut update = E::update_many();
        for (column, delta) in columns.into_iter().zip(deltas) {
            if delta != 0 {
                update = update.col_expr(column, Expr::col(column).add(delta));
            }
        }
        if let Some(tally) = self.tally {
            update = update.col_expr(tally, Expr::col(tally).add(1));
        }
        update
            .col_expr(self.updated_at, Expr::value(now()))
            .filter(self.key.eq(holder))
    }

    /// Moves the holder's counters by `deltas` (free, held, captured, returned); answers the
    /// holder as it is now, `None` when there is no holder (a released mark holds nothing).
    pub async fn shift(
        &self,
        txn: &Txn,
        holder: Option<Uuid>,
        deltas: [i64; 4],
    ) -> Result<Option<E::Model>, DbErr> {
        let Some(holder) = holder else {
            return Ok(None);
        };
        let rows = self
            .movement(holder, deltas)
            .exec_with_returning(txn)
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Holds `amount` of the holder's free counter when it has that much (one conditional
    /// update, so racing takes can never drive it below zero); answers the holder as it is now,
    /// `None` when it has not enough, or there is no such holder.
    pub async fn take(
        &self,
        txn: &Txn,
        holder: Uuid,
        amount: i64,
    ) -> Result<Option<E::Model>, DbErr> {
        let rows = self
            .movement(holder, [-amount, amount, 0, 0])
            .filter(self.free.gte(amount))
            .exec_with_returning(txn)
            .await?;
        Ok(rows.into_iter().next())
    }

    /// What a confirmation does with `amount` held: captured.
    pub async fn capture(
        &self,
        txn: &Txn,
        holder: Option<Uuid>,
        amount: i64,
    ) -> Result<Option<E::Model>, DbErr> {
        self.apply(txn, holder, amount, Movement::Capture).await
    }

    /// What a release does with `amount` held: free again.
    pub async fn give_back(
        &self,
        txn: &Txn,
        holder: Option<Uuid>,
        amount: i64,
    ) -> Result<Option<E::Model>, DbErr> {
        self.apply(txn, holder, amount, Movement::GiveBack).await
    }

    /// What a cancellation does with `amount` captured: free again, and counted as returned.
    pub async fn refund(
        &self,
        txn: &Txn,
        holder: Option<Uuid>,
        amount: i64,
    ) -> Result<Option<E::Model>, DbErr> {
        self.apply(txn, holder, amount, Movement::Refund).await
    }

    /// Moves `amount` of the holder's as `movement` says.
    pub async fn apply(
        &self,
        txn: &Txn,
        holder: Option<Uuid>,
        amount: i64,
        movement: Movement,
    ) -> Result<Option<E::Model>, DbErr> {
        self.shift(txn, holder, movement.deltas(amount)).await
    }
}

/// What settling a reservation does with what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// A confirmation: held → captured.
    Capture,
    /// A release: held → free.
    GiveBack,
    /// A cancellation: captured → free, counted as returned.
    Refund,
}

impl Movement {
    /// How the counters (free, held, captured, returned) move for `amount`.
    pub fn deltas(self, amount: i64) -> [i64; 4] {
        match self {
            Self::Capture => [0, -amount, amount, 0],
            Self::GiveBack => [amount, -amount, 0, 0],
            Self::Refund => [amount, 0, 0, amount],
        }
    }
}
