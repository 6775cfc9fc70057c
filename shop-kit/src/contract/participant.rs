//! The server side of the participant protocol: one response type and the mapping of
//! [`Outcome`]s to statuses, shared by payment, stock and delivery.

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};

use super::Outcome;
use crate::problem::{ApiError, ApiResult};

/// The answer to a reserve, confirm or release.
#[derive(ApiResponse)]
pub enum Reply<T: ParseFromJSON + ToJSON + Send + Sync> {
    /// Confirmed or released (now or before).
    #[oai(status = 200)]
    Ok(Json<T>),
    /// Reserved (now or before: a repeat answers the same).
    #[oai(status = 201)]
    Created(Json<T>),
    /// Released before anything was held: a later reservation of this order is refused.
    #[oai(status = 204)]
    Marked,
}

fn refusal<T>(outcome: Outcome<T>, short: impl FnOnce() -> ApiError) -> ApiError {
    match outcome {
        Outcome::Short => short(),
        Outcome::Refused(why) => ApiError::conflict(why),
        _ => ApiError::not_found("no reservation for this order"),
    }
}

/// Maps a reserve's outcome: 201, or `short()` (402/409), 409, 404.
pub fn reserved<T: ParseFromJSON + ToJSON + Send + Sync>(
    outcome: Outcome<T>,
    short: impl FnOnce() -> ApiError,
) -> ApiResult<Reply<T>> {
    match outcome {
        Outcome::Done(r) => Ok(Reply::Created(Json(r))),
        other => Err(refusal(other, short)),
    }
}

/// Maps a confirm's outcome: 200, 409 or 404.
pub fn confirmed<T: ParseFromJSON + ToJSON + Send + Sync>(
    outcome: Outcome<T>,
) -> ApiResult<Reply<T>> {
    match outcome {
        Outcome::Done(r) => Ok(Reply::Ok(Json(r))),
        other => Err(refusal(other, || ApiError::conflict("cannot confirm"))),
    }
}

/// Maps a release's outcome: 200, 204 (mark left) or 409.
pub fn released<T: ParseFromJSON + ToJSON + Send + Sync>(
    outcome: Outcome<T>,
) -> ApiResult<Reply<T>> {
    match outcome {
        Outcome::Done(r) => Ok(Reply::Ok(Json(r))),
        Outcome::Marked => Ok(Reply::Marked),
        other => Err(refusal(other, || ApiError::conflict("cannot release"))),
    }
}
