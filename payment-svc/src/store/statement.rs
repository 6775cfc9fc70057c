//! The statement: each movement of an account's money is written in the transaction that moves
//! it, so the statement and the balance can never disagree.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, QueryOrder, QuerySelect};
use shop_kit::db::now;
use shop_kit::page::PageRequest;

use super::{PaymentStore, account, entry};

/// Records that `user_id`'s balance moved by `amount` (of `kind`, for `order_id`), after the
/// movement was applied in `txn`: counts the entry on the account (one conditional update that
/// answers the account as it is now), then writes it.
pub(crate) async fn record(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    kind: entry::Kind,
    amount: i64,
    order_id: Option<Uuid>,
) -> Result<(), DbErr> {
    let acc = account::Entity::update_many()
        .col_expr(
            account::Column::Entries,
            Expr::col(account::Column::Entries).add(1),
        )
        .filter(account::Column::UserId.eq(user_id))
        .exec_with_returning(txn)
        .await?
        .pop()
        .ok_or_else(|| DbErr::RecordNotFound(format!("account {user_id}")))?;
    write(txn, &acc, kind, amount, order_id).await
}

/// Writes the entry of a movement that left the account as `acc`, whose update counted the
/// entry (`acc.entries` is its number). That update locks the account's row until the
/// transaction ends, so entries of one account are numbered one after the other.
pub(crate) async fn write(
    txn: &impl ConnectionTrait,
    acc: &account::Model,
    kind: entry::Kind,
    amount: i64,
    order_id: Option<Uuid>,
) -> Result<(), DbErr> {
    entry::Entity::insert(entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(acc.user_id),
        seq: Set(acc.entries),
        kind: Set(kind),
        amount: Set(amount),
        balance_after: Set(acc.balance),
        reserved_after: Set(acc.reserved),
        order_id: Set(order_id),
        created_at: Set(now()),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

impl PaymentStore {
    /// A page of `user_id`'s statement, newest first (`limit + 1` rows).
    pub async fn statement(
        &self,
        user_id: Uuid,
        page: PageRequest,
    ) -> Result<Vec<entry::Model>, DbErr> {
        let mut query = entry::Entity::find()
            .filter(entry::Column::UserId.eq(user_id))
            .order_by_desc(entry::Column::Id)
            .limit(page.limit + 1);
        if let Some(before) = page.before {
            query = query.filter(entry::Column::Id.lt(before));
        }
        query.all(&self.db).await
    }

    /// Every entry of every account, in order (for audits and tests).
    pub async fn all_entries(&self) -> Result<Vec<entry::Model>, DbErr> {
        entry::Entity::find()
            .order_by_asc(entry::Column::UserId)
            .order_by_asc(entry::Column::Seq)
            .all(&self.db)
            .await
    }
}
