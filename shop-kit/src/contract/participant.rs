//! The server side of the participant protocol: one response type, one problem body and the
//! mapping of [`Outcome`]s to statuses, shared by payment, stock and delivery.

use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::{ApiResponse, Object};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Outcome;
use crate::problem::{ApiError, ApiResult, Problem, ProblemBody, ProblemExtension};

/// The answer to a reserve, confirm, release or cancel.
#[derive(ApiResponse)]
pub enum Reply<T: ParseFromJSON + ToJSON + Send + Sync> {
    /// Confirmed, released or cancelled (now or before).
    #[oai(status = 200)]
    Ok(Json<T>),
    /// Reserved (now or before: a repeat answers the same).
    #[oai(status = 201)]
    Created(Json<T>),
    /// Released before anything was held: a later reservation of this order is refused.
    #[oai(status = 204)]
    Marked,
}

/// A participant's problem: a [`Problem`] that, when stock is short, names the first product
/// short of units.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalProblem {
    #[oai(flatten)]
    #[serde(flatten)]
    pub problem: Problem,
    /// Out of stock: the first product of the request that is short.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<Uuid>,
}

impl From<Problem> for RefusalProblem {
    fn from(problem: Problem) -> Self {
        Self {
            problem,
            product_id: None,
        }
    }
}

impl ProblemBody for RefusalProblem {
    fn base(&self) -> &Problem {
        &self.problem
    }
}

impl ProblemExtension for RefusalProblem {}

/// The result of a participant operation.
pub type ParticipantResult<T> = ApiResult<Reply<T>, RefusalProblem>;

fn refusal<T>(
    outcome: Outcome<T>,
    short: impl FnOnce() -> ApiError,
    refused: &str,
) -> ApiError<RefusalProblem> {
    match outcome {
        Outcome::Short(holder) => {
            let mut problem = RefusalProblem::from(short().into_problem());
            problem.product_id = holder;
            ApiError::from_problem(problem)
        }
        Outcome::Refused(why) => ApiError::conflict(why).into(),
        Outcome::Missing => ApiError::not_found("no reservation for this order").into(),
        _ => ApiError::conflict(refused.to_owned()).into(),
    }
}

/// Maps a reserve's outcome: 201, or `short()` (402/409), 409, 404.
pub fn reserved<T: ParseFromJSON + ToJSON + Send + Sync>(
    outcome: Outcome<T>,
    short: impl FnOnce() -> ApiError,
) -> ParticipantResult<T> {
    match outcome {
        Outcome::Done(r) => Ok(Reply::Created(Json(r))),
        other => Err(refusal(other, short, "cannot reserve")),
    }
}

/// Maps a confirm's or a cancel's outcome: 200, 409 or 404.
pub fn settled<T: ParseFromJSON + ToJSON + Send + Sync>(
    outcome: Outcome<T>,
) -> ParticipantResult<T> {
    match outcome {
        Outcome::Done(r) => Ok(Reply::Ok(Json(r))),
        other => Err(refusal(
            other,
            || ApiError::conflict("cannot settle"),
            "cannot settle",
        )),
    }
}

/// Maps a release's outcome: 200, 204 (mark left) or 409.
pub fn released<T: ParseFromJSON + ToJSON + Send + Sync>(
    outcome: Outcome<T>,
) -> ParticipantResult<T> {
    match outcome {
        Outcome::Done(r) => Ok(Reply::Ok(Json(r))),
        Outcome::Marked => Ok(Reply::Marked),
        other => Err(refusal(
            other,
            || ApiError::conflict("cannot release"),
            "cannot release",
        )),
    }
}
