//! Client idempotency keys of `POST /orders`.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use shop_kit::db::{is_unique_violation, now};

use super::{OrderStore, idempotency_key};

/// The most keys one statement of the sweep deletes.
const SWEEP_BATCH: u64 = 1_000;

/// What a key says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// First use: go ahead, then store the answer.
    New,
    /// Used before for the same request: here is the first answer.
    Replay {
        /// Its status.
        status: u16,
        /// Its JSON body.
        body: String,
    },
    /// Used before for a different request.
    Mismatch,
    /// The first request with this key is still within its deadline.
    InFlight,
    /// The first request recorded this order and stored no answer: it gave up at its deadline,
    /// or died. The order's state is the answer.
    Abandoned {
        /// The order it recorded.
        order_id: Uuid,
    },
}

impl OrderStore {
    /// Claims `key` for `user_id`'s request with `fingerprint`. A claim without an answer made
    /// after `running_after` belongs to a request still within its deadline: in flight. An older
    /// one hands back the order its request recorded, if any (the request gave up at its
    /// deadline or died); one that recorded none and was made before `stale_before` belongs to a
    /// request that died: the key is claimed anew.
    #[tracing::instrument(skip(self, key, fingerprint))]
    pub async fn claim_key(
        &self,
        user_id: Uuid,
        key: &str,
        fingerprint: &str,
        (stale_before, running_after): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<KeyClaim, DbErr> {
        let row = idempotency_key::ActiveModel {
            user_id: Set(user_id),
            key: Set(key.to_owned()),
            fingerprint: Set(fingerprint.to_owned()),
            response_status: Set(None),
            response_body: Set(None),
            created_at: Set(now()),
            order_id: Set(None),
        };
        match idempotency_key::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
        {
            Ok(_) => return Ok(KeyClaim::New),
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e),
        }
        let found = idempotency_key::Entity::find_by_id((user_id, key.to_owned()))
            .one(&self.db)
            .await?;
        let Some(found) = found else {
            return Ok(KeyClaim::InFlight); // swept between the insert and the read: ask to retry
        };
        if found.fingerprint != fingerprint {
            return Ok(KeyClaim::Mismatch);
        }
        if let (Some(status), Some(body)) = (found.response_status, found.response_body) {
            return Ok(KeyClaim::Replay {
                status: u16::try_from(status).unwrap_or(500),
                body,
            });
        }
        if found.created_at >= running_after {
            return Ok(KeyClaim::InFlight);
        }
        if let Some(order_id) = found.order_id {
            return Ok(KeyClaim::Abandoned { order_id });
        }
        if found.created_at >= stale_before {
            return Ok(KeyClaim::InFlight);
        }
        // Take the dead request's claim over, unless another repeat just did.
        let res = idempotency_key::Entity::update_many()
            .col_expr(idempotency_key::Column::CreatedAt, Expr::value(now()))
            .filter(idempotency_key::Column::UserId.eq(user_id))
            .filter(idempotency_key::Column::Key.eq(key))
            .filter(idempotency_key::Column::CreatedAt.eq(found.created_at))
            .filter(idempotency_key::Column::OrderId.is_null())
            .filter(idempotency_key::Column::ResponseStatus.is_null())
            .exec(&self.db)
            .await?;
        Ok(if res.rows_affected == 1 {
            KeyClaim::New
        } else {
            KeyClaim::InFlight
        })
    }

    /// Stores the answer given under a key.
    pub async fn store_answer(
        &self,
        user_id: Uuid,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), DbErr> {
        idempotency_key::Entity::update_many()
            .col_expr(
                idempotency_key::Column::ResponseStatus,
                Expr::value(i32::from(status)),
            )
            .col_expr(idempotency_key::Column::ResponseBody, Expr::value(body))
            .filter(idempotency_key::Column::UserId.eq(user_id))
            .filter(idempotency_key::Column::Key.eq(key))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    /// Forgets a key whose request failed before any answer worth keeping (so it can be retried).
    pub async fn forget_key(&self, user_id: Uuid, key: &str) -> Result<(), DbErr> {
        idempotency_key::Entity::delete_by_id((user_id, key.to_owned()))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    /// Forgets a key that no recorded order holds and that has no stored answer: its request
    /// gave up before recording anything, or its repeat can safely run anew (a cancellation).
    pub async fn forget_unlinked_key(&self, user_id: Uuid, key: &str) -> Result<(), DbErr> {
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::UserId.eq(user_id))
            .filter(idempotency_key::Column::Key.eq(key))
            .filter(idempotency_key::Column::OrderId.is_null())
            .filter(idempotency_key::Column::ResponseStatus.is_null())
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    /// Deletes keys created before `cutoff`, [`SWEEP_BATCH`] at a time so that no one statement
    /// holds the database long (after a long stop the backlog can be large); returns how many.
    pub async fn sweep_keys(&self, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
        use idempotency_key::Column;
        let mut swept = 0;
        loop {
            let batch = sea_orm::sea_query::Query::select()
                .columns([Column::UserId, Column::Key])
                .from(idempotency_key::Entity)
                .and_where(Column::CreatedAt.lt(cutoff))
                .limit(SWEEP_BATCH)
                .to_owned();
            let res = idempotency_key::Entity::delete_many()
                .filter(
                    Expr::tuple([Expr::col(Column::UserId), Expr::col(Column::Key)])
                        .in_subquery(batch),
                )
                .exec(&self.db)
                .await?;
            swept += res.rows_affected;
            if res.rows_affected < SWEEP_BATCH {
                return Ok(swept);
            }
            // The requests waiting for the connection go first.
            tokio::task::yield_now().await;
        }
    }
}
