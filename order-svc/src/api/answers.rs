//! A placed order's answer: from the order's state, and as stored under the request's
//! `Idempotency-Key` to be replayed to a repeat.

use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use shop_kit::ApiError;

use super::Order;
use super::orders::PlaceResponse;
use crate::domain::{FailureReason, OrderStatus};
use crate::error::{ApiResult, Error, OrderProblem};
use crate::store::order;

pub(super) fn answer_for(o: order::Model) -> ApiResult<PlaceResponse> {
    match o.order_status()? {
        OrderStatus::Completed => Ok(PlaceResponse::Created(Json(o.into()))),
        OrderStatus::Cancelled => Err(Error::Cancelled {
            order_id: o.id,
            reason: o.reason()?.unwrap_or(FailureReason::Rejected),
        }
        .into()),
        _ => {
            let location = format!("/orders/{}", o.id);
            Ok(PlaceResponse::Accepted(Json(o.into()), location))
        }
    }
}

/// The answer as stored under an idempotency key: status and JSON body.
pub(super) fn stored_answer(answer: &ApiResult<PlaceResponse>) -> (u16, String) {
    match answer {
        Ok(PlaceResponse::Created(o)) => (201, o.0.to_json_string()),
        Ok(PlaceResponse::Accepted(o, _)) => (202, o.0.to_json_string()),
        Err(e) => (
            e.problem().problem.status,
            serde_json::to_string(e.problem()).unwrap_or_default(),
        ),
    }
}

/// Rebuilds a stored answer.
pub(super) fn replay(status: u16, body: &str) -> ApiResult<PlaceResponse> {
    let order = || {
        let value = serde_json::from_str(body).ok();
        Order::parse_from_json(value).map_err(|_| Error::StoredAnswerUnreadable)
    };
    match status {
        201 => Ok(PlaceResponse::Created(Json(order()?))),
        202 => {
            let o = order()?;
            let location = format!("/orders/{}", o.id);
            Ok(PlaceResponse::Accepted(Json(o), location))
        }
        _ => Err(serde_json::from_str::<OrderProblem>(body)
            .map(ApiError::from_problem)
            .unwrap_or_else(|_| Error::StoredAnswerUnreadable.into())),
    }
}
