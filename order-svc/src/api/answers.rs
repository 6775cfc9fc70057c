//! The answers of the saga endpoints (placing and cancelling an order): from the order's state,
//! and as stored under the request's `Idempotency-Key` to be replayed to a repeat.

use std::time::Duration;

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use shop_kit::ApiError;
use shop_kit::idempotency::IdempotencyKey;
use uuid::Uuid;

use super::Order;
use crate::domain::{FailureReason, OrderStatus};
use crate::error::{ApiResult, Error, OrderProblem};
use crate::store::{KeyClaim, OrderStore, order};

/// `POST /orders`'s success answers.
#[derive(ApiResponse)]
pub(super) enum PlaceResponse {
    /// Completed: paid, stock sold, courier booked.
    #[oai(status = 201)]
    Created(Json<Order>),
    /// Still running (a participant is slow or unreachable); it finishes in the background.
    #[oai(status = 202)]
    Accepted(Json<Order>, #[oai(header = "Location")] String),
}

/// `POST /orders/{id}/cancel`'s success answers.
#[derive(ApiResponse)]
pub(super) enum CancelResponse {
    /// Refunded: the courier's place freed, the stock returned, the funds refunded (now or
    /// before).
    #[oai(status = 200)]
    Refunded(Json<Order>),
    /// The refund is still running (a participant is slow or unreachable); it finishes in the
    /// background.
    #[oai(status = 202)]
    Accepted(Json<Order>, #[oai(header = "Location")] String),
}

/// A saga endpoint's success answer: an order with the status it answers, which can be stored
/// and rebuilt.
pub(super) trait SagaAnswer: Sized {
    /// The status and the order.
    fn parts(&self) -> (u16, &Order);
    /// The answer of `status` with `order`; `None` for a status the endpoint never answers.
    fn rebuild(status: u16, order: Order) -> Option<Self>;
}

fn location(o: &Order) -> String {
    format!("/orders/{}", o.id)
}

impl SagaAnswer for PlaceResponse {
    fn parts(&self) -> (u16, &Order) {
        match self {
            Self::Created(o) => (201, &o.0),
            Self::Accepted(o, _) => (202, &o.0),
        }
    }

    fn rebuild(status: u16, order: Order) -> Option<Self> {
        match status {
            201 => Some(Self::Created(Json(order))),
            202 => Some(Self::Accepted(Json(order.clone()), location(&order))),
            _ => None,
        }
    }
}

impl SagaAnswer for CancelResponse {
    fn parts(&self) -> (u16, &Order) {
        match self {
            Self::Refunded(o) => (200, &o.0),
            Self::Accepted(o, _) => (202, &o.0),
        }
    }

    fn rebuild(status: u16, order: Order) -> Option<Self> {
        match status {
            200 => Some(Self::Refunded(Json(order))),
            202 => Some(Self::Accepted(Json(order.clone()), location(&order))),
            _ => None,
        }
    }
}

/// The answer to placing an order, from its state after the drive.
pub(super) fn placed(o: order::Model) -> ApiResult<PlaceResponse> {
    match o.order_status()? {
        OrderStatus::Completed => Ok(PlaceResponse::Created(Json(o.try_into()?))),
        OrderStatus::Cancelled => {
            let reason = o.reason()?.unwrap_or(FailureReason::Rejected);
            if reason.http_status() == 202 {
                // Not refused: a participant could not be reached. The order is recorded and
                // cancelled, nothing was charged, and the answer says so with the order.
                return answer(202, o);
            }
            Err(Error::Cancelled {
                order_id: o.id,
                reason,
                product_id: o.short_product_id,
            }
            .into())
        }
        _ => Ok(answer(202, o)?),
    }
}

/// The answer to cancelling an order, from its state after the refund's drive.
pub(super) fn cancelled(o: order::Model) -> ApiResult<CancelResponse> {
    match o.order_status()? {
        OrderStatus::Refunded => answer(200, o),
        _ => answer(202, o),
    }
}

/// The answer `status` with order `o`.
pub(super) fn answer<R: SagaAnswer>(status: u16, o: order::Model) -> ApiResult<R> {
    R::rebuild(status, o.try_into()?).ok_or_else(|| Error::StoredAnswerUnreadable.into())
}

/// The answer as stored under an idempotency key: status and JSON body.
fn stored<R: SagaAnswer>(answer: &ApiResult<R>) -> (u16, String) {
    match answer {
        Ok(r) => {
            let (status, order) = r.parts();
            (status, order.to_json_string())
        }
        Err(e) => (
            e.problem().problem.status,
            serde_json::to_string(e.problem()).unwrap_or_default(),
        ),
    }
}

/// Rebuilds a stored answer.
fn replay<R: SagaAnswer>(status: u16, body: &str) -> ApiResult<R> {
    if (200..300).contains(&status) {
        let value = serde_json::from_str(body).ok();
        let order = Order::parse_from_json(value).map_err(|_| Error::StoredAnswerUnreadable)?;
        return R::rebuild(status, order).ok_or_else(|| Error::StoredAnswerUnreadable.into());
    }
    Err(serde_json::from_str::<OrderProblem>(body)
        .map(ApiError::from_problem)
        .unwrap_or_else(|_| Error::StoredAnswerUnreadable.into()))
}

/// Where the answers of one user's keyed requests are kept.
pub(super) struct Keys<'a> {
    /// The store of keys.
    pub store: &'a OrderStore,
    /// How long a key's first request may run before a repeat takes over.
    pub lock: Duration,
    /// How long a key's first request may still be running (its deadline, at most `lock`):
    /// a repeat meanwhile is 409; after it, a repeat answers the order it recorded.
    pub running: Duration,
    /// The user the keys belong to.
    pub user_id: Uuid,
}

impl Keys<'_> {
    /// Runs a request under `key` (when given): a repeat with the same `fingerprint` gets the
    /// first answer, another request with the key is 422, a repeat while the first runs 409. `run` gets the order the first request recorded, if it did
    /// and stored no answer (it is still running, gave up at its deadline, or died). A key
    /// claimed anew is told to `progress`.
    pub(super) async fn run<R: SagaAnswer, F>(
        &self,
        key: Option<&IdempotencyKey>,
        fingerprint: &str,
        progress: &super::progress::Progress,
        run: impl FnOnce(Option<Uuid>) -> F,
    ) -> ApiResult<R>
    where
        F: Future<Output = ApiResult<R>>,
    {
        let Some(key) = key else {
            return run(None).await;
        };
        let ago = |d: Duration| {
            shop_kit::db::now() - chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
        };
        let claim = self
            .store
            .claim_key(
                self.user_id,
                key.as_str(),
                fingerprint,
                (ago(self.lock), ago(self.running)),
            )
            .await?;
        let answer = match claim {
            KeyClaim::New => {
                progress.claimed(self.user_id, key.as_str());
                run(None).await
            }
            KeyClaim::Replay { status, body } => return replay(status, &body),
            KeyClaim::Mismatch => return Err(Error::KeyReused.into()),
            KeyClaim::InFlight => return Err(Error::KeyInFlight.into()),
            KeyClaim::Abandoned { order_id } => run(Some(order_id)).await,
        };
        let (status, body) = stored(&answer);
        let result = match status {
            // Nothing happened: the key is free for a retry.
            503 => self.store.forget_key(self.user_id, key.as_str()).await,
            // The outcome follows: a repeat answers the order's state then (the key holds the
            // order it recorded), or runs anew (a cancellation, which finds the refund begun).
            202 => {
                self.store
                    .forget_unlinked_key(self.user_id, key.as_str())
                    .await
            }
            _ => {
                self.store
                    .store_answer(self.user_id, key.as_str(), status, &body)
                    .await
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "storing the idempotent answer failed");
        }
        answer
    }
}
