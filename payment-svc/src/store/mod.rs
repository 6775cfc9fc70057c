//! The only place payment-svc touches its database.

mod entities;
mod funds;
mod migration;
mod statement;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter};
use shop_kit::contract::payment::Account;
use shop_kit::db::Db;
use shop_kit::db::{is_unique_violation, now};
use shop_kit::ledger;
use uuid::Uuid;

pub use entities::{account, deposit, entry, reservation};
pub use migration::Migrator;

impl shop_kit::db::Schema for Migrator {
    fn columns() -> shop_kit::db::Columns {
        shop_kit::db::Columns::default()
            .with::<account::Entity>()
            .with::<reservation::Entity>()
            .with::<deposit::Entity>()
            .with::<entry::Entity>()
    }
}

pub use funds::FundsLedger;

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
    db: Db,
    metrics: ledger::LedgerMetrics,
}

impl PaymentStore {
    /// A store on `db`, counting its reservation protocol in `metrics`.
    pub fn new(db: Db, metrics: ledger::LedgerMetrics) -> Self {
        Self { db, metrics }
    }

    /// The user's account, `None` when it was never opened.
    #[tracing::instrument(skip(self))]
    pub async fn account(&self, user_id: Uuid) -> Result<Option<Account>, DbErr> {
        Ok(account::Entity::find_by_id(user_id)
            .one(&self.db)
            .await?
            .map(to_account))
    }

    /// Opens the user's account with balance 0; opening it again changes nothing.
    #[tracing::instrument(skip(self))]
    pub async fn open_account(&self, user_id: Uuid) -> Result<Account, DbErr> {
        ensure_account(&self.db, user_id).await?;
        let acc = account::Entity::find_by_id(user_id).one(&self.db).await?;
        acc.map(to_account)
            .ok_or_else(|| DbErr::RecordNotFound("account".into()))
    }

    /// Adds `amount` to the user's balance. With a key, a repeat returns the first answer.
    #[tracing::instrument(skip(self, key))]
    pub async fn deposit(
        &self,
        user_id: Uuid,
        amount: i64,
        key: Option<&str>,
    ) -> Result<DepositOutcome, DbErr> {
        for _ in 0..RACE_RETRIES {
            if let Some(key) = key {
                let previous = deposit::Entity::find()
                    .filter(deposit::Column::UserId.eq(user_id))
                    .filter(deposit::Column::IdempotencyKey.eq(key))
                    .one(&self.db)
                    .await?;
                if let Some(previous) = previous {
                    return Ok(if previous.amount == amount {
                        DepositOutcome::Done(Account {
                            user_id,
                            balance: previous.balance_after,
                            reserved: previous.reserved_after,
                        })
                    } else {
                        DepositOutcome::KeyReused
                    });
                }
            }
            let txn = self.db.begin().await?;
            ensure_account(&txn, user_id).await?;
            let updated = account::Entity::update_many()
                .col_expr(
                    account::Column::Balance,
                    Expr::col(account::Column::Balance).add(amount),
                )
                .col_expr(
                    account::Column::Deposited,
                    Expr::col(account::Column::Deposited).add(amount),
                )
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
            match deposit::Entity::insert(row)
                .exec_without_returning(&txn)
                .await
            {
                Err(e) if is_unique_violation(&e) => continue, // a parallel repeat won: replay it
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            statement::record(&txn, user_id, entry::Kind::Deposit, amount, None).await?;
            txn.commit().await?;
            return Ok(DepositOutcome::Done(to_account(acc)));
        }
        Err(DbErr::Custom(
            "deposit kept losing races on its idempotency key".into(),
        ))
    }

    /// `/internal/reservations` over this store's ledger.
    pub fn reservations_api(&self) -> ledger::ReservationsApi<FundsLedger> {
        ledger::ReservationsApi::new(FundsLedger, self.db.clone(), self.metrics.clone())
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

pub(crate) async fn ensure_account(
    db: &impl sea_orm::ConnectionTrait,
    user_id: Uuid,
) -> Result<(), DbErr> {
    let row = account::ActiveModel {
        user_id: Set(user_id),
        balance: Set(0),
        reserved: Set(0),
        captured: Set(0),
        refunded: Set(0),
        entries: Set(0),
        deposited: Set(0),
        created_at: Set(now()),
        updated_at: Set(now()),
    };
    account::Entity::insert(row)
        .on_conflict(
            OnConflict::column(account::Column::UserId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

fn to_account(a: account::Model) -> Account {
    Account {
        user_id: a.user_id,
        balance: a.balance,
        reserved: a.reserved,
    }
}
