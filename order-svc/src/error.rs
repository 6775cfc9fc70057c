//! order-svc's errors, each with the status it answers.

use poem::http::StatusCode;
use poem_openapi::Object;
use serde::{Deserialize, Serialize};
use shop_kit::{ApiError, Problem, ProblemBody, ProblemExtension};
use uuid::Uuid;

use crate::domain::{FailureReason, OrderStatus};

/// What an order-svc operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: no such order, or another user's.
    #[error("no such order")]
    NoSuchOrder,
    /// 422 on `product_id` (or `items`): the catalogue has no such product; no order is
    /// recorded.
    #[error("no such product: {product_id}")]
    NoSuchProduct {
        /// The field that named it.
        field: &'static str,
        /// The product.
        product_id: Uuid,
    },
    /// 422 on `quantity` (or `items`): the total does not fit in a 64-bit count of cents.
    #[error("the total is too large")]
    TotalTooLarge {
        /// The field of the quantities.
        field: &'static str,
    },
    /// 409: only a completed order can be cancelled by its shopper.
    #[error("order {order_id} is {status}: only a completed order can be cancelled")]
    NotCancellable {
        /// The order.
        order_id: Uuid,
        /// Where it stands.
        status: OrderStatus,
    },
    /// 409: the order's delivery date has come; it can no longer be cancelled.
    #[error("order {order_id} is delivered on {date}: it can be cancelled until the day before")]
    DeliveryDue {
        /// The order.
        order_id: Uuid,
        /// Its delivery date.
        date: chrono::NaiveDate,
    },
    /// 422 on `Idempotency-Key`: the key was used with another request.
    #[error("was used before with a different request")]
    KeyReused,
    /// 409: the first request with this key is still running.
    #[error("a request with this Idempotency-Key is still running")]
    KeyInFlight,
    /// 409: the order the key's first request recorded is gone.
    #[error("the order of this Idempotency-Key is gone")]
    KeyOrderGone,
    /// 409: the answer stored under the key cannot be read back.
    #[error("the stored answer is unreadable")]
    StoredAnswerUnreadable,
    /// 409: an admin asked to re-drive an order that is finished or being driven.
    #[error("order {order_id} is {status}{}", if *.status == OrderStatus::Pending { " and being driven right now" } else { "" })]
    NotRedrivable {
        /// The order.
        order_id: Uuid,
        /// Where it stands.
        status: OrderStatus,
    },
    /// 402 (`insufficient_funds`) or 409 (`out_of_stock`, `no_courier`, `rejected`): the saga
    /// cancelled the order. The problem names the order and the reason. (An order cancelled for
    /// `service_unavailable` answers 202 with the order instead.)
    #[error("order {order_id} is cancelled: {}", .reason.as_str().replace('_', " "))]
    Cancelled {
        /// The cancelled order.
        order_id: Uuid,
        /// Why.
        reason: FailureReason,
        /// Out of stock: the first product that was short.
        product_id: Option<Uuid>,
    },
    /// 503: the database failed; logged, never shown.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    /// 503: a service order-svc calls did not answer; logged, never shown.
    #[error(transparent)]
    Call(#[from] shop_kit::client::CallError),
}

/// A problem (RFC 9457) and, when the saga cancelled the order, which order and why.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderProblem {
    #[oai(flatten)]
    #[serde(flatten)]
    pub problem: Problem,
    /// The order concerned: a saga outcome, or an order that cannot be cancelled.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Uuid>,
    /// Why the order was cancelled: `insufficient_funds`, `out_of_stock`, `no_courier`,
    /// `rejected` or `service_unavailable`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Out of stock: the first product of the order that was short.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<Uuid>,
}

impl From<Problem> for OrderProblem {
    fn from(problem: Problem) -> Self {
        Self {
            problem,
            order_id: None,
            failure_reason: None,
            product_id: None,
        }
    }
}

impl ProblemBody for OrderProblem {
    fn base(&self) -> &Problem {
        &self.problem
    }
}

impl ProblemExtension for OrderProblem {}

/// The result of every order-svc operation.
pub type ApiResult<T> = shop_kit::ApiResult<T, OrderProblem>;

impl From<Error> for ApiError<OrderProblem> {
    fn from(e: Error) -> Self {
        let detail = e.to_string();
        match e {
            Error::NoSuchOrder => ApiError::not_found(detail).into(),
            Error::NoSuchProduct { field, .. } | Error::TotalTooLarge { field } => {
                ApiError::invalid_field(field, detail).into()
            }
            Error::KeyReused => ApiError::invalid_field("Idempotency-Key", detail).into(),
            Error::KeyInFlight
            | Error::KeyOrderGone
            | Error::StoredAnswerUnreadable
            | Error::NotRedrivable { .. } => ApiError::conflict(detail).into(),
            Error::NotCancellable { order_id, .. } | Error::DeliveryDue { order_id, .. } => {
                let mut problem = OrderProblem::from(Problem::new(StatusCode::CONFLICT, detail));
                problem.order_id = Some(order_id);
                ApiError::from_problem(problem)
            }
            Error::Cancelled {
                order_id,
                reason,
                product_id,
            } => {
                let status =
                    StatusCode::from_u16(reason.http_status()).unwrap_or(StatusCode::CONFLICT);
                let mut problem = Problem::new(status, detail);
                problem.kind = format!("/problems/{}", reason.as_str().replace('_', "-"));
                ApiError::from_problem(OrderProblem {
                    problem,
                    order_id: Some(order_id),
                    failure_reason: Some(reason.as_str().into()),
                    product_id,
                })
            }
            Error::Db(e) => e.into(),
            Error::Call(e) => e.into(),
        }
    }
}
