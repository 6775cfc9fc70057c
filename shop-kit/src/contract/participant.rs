//! The server side of the participant protocol: one response type, one problem body and the
//! mapping of [`Outcome`]s to statuses, shared by payment, stock and delivery.

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::{ApiResponse, Object};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Outcome;
use crate::problem::{ApiError, ApiResult, Problem, ProblemBody, ProblemExtension};

/// How a participant says it is short of what an order asks: its status and detail. Declared
/// once per participant (`payment::SHORT`, `stock::SHORT`, `delivery::SHORT`) and read by both
/// sides: the participant answers it, order-svc reads it back as [`Refusal::Short`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortage {
    /// 402 for funds, 409 for units and couriers.
    pub status: StatusCode,
    /// What the problem says.
    pub detail: &'static str,
}

impl Shortage {
    /// The problem a participant answers with when it is short.
    pub fn problem(self) -> ApiError {
        ApiError::new(self.status, self.detail)
    }
}

/// Why a participant refused a call: final, never retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It has not enough: funds, stock, a courier on that day.
    Short,
    /// What the call names does not exist (an unknown product, no reservation): 404.
    Missing,
    /// The protocol refuses it: released before, confirmed before, other values: 409.
    Conflict,
}

impl Refusal {
    /// Its name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Short => "short",
            Self::Missing => "missing",
            Self::Conflict => "conflict",
        }
    }

    /// The status of this refusal from a participant short as `shortage` says.
    pub fn status(self, shortage: Shortage) -> StatusCode {
        match self {
            Self::Short => shortage.status,
            Self::Missing => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
        }
    }

    /// A refusal status read back. Where the shortage shares 409 with a conflict (stock,
    /// delivery), 409 is a shortage: the saga never sends a reservation that conflicts with
    /// its own.
    pub fn from_status(shortage: Shortage, status: StatusCode) -> Self {
        [Self::Short, Self::Missing, Self::Conflict]
            .into_iter()
            .find(|r| r.status(shortage) == status)
            .unwrap_or(Self::Conflict)
    }
}

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

/// One order's reservation as the books audit reads it.
#[derive(Object, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldFor {
    /// The order.
    pub order_id: Uuid,
    /// Its reservation's state (`released` too for a mark left by an early release).
    pub state: super::ReservationState,
}

/// A page of reservations, by order id.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationList {
    /// The reservations, by order id.
    pub items: Vec<HeldFor>,
    /// The last order id of a full page (more may follow: ask `after` it); absent on the last.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Uuid>,
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

/// Confirm, release and cancel never find a shortage: what they settle is held already.
const NEVER_SHORT: Shortage = Shortage {
    status: StatusCode::CONFLICT,
    detail: "cannot settle",
};

/// The result of a participant operation.
pub type ParticipantResult<T> = ApiResult<Reply<T>, RefusalProblem>;

fn refusal<T>(outcome: Outcome<T>, shortage: Shortage, refused: &str) -> ApiError<RefusalProblem> {
    match outcome {
        Outcome::Short(holder) => {
            let mut problem = RefusalProblem::from(shortage.problem().into_problem());
            problem.product_id = holder;
            ApiError::from_problem(problem)
        }
        Outcome::Refused(why) => ApiError::conflict(why).into(),
        Outcome::Missing => ApiError::not_found("no reservation for this order").into(),
        _ => ApiError::conflict(refused.to_owned()).into(),
    }
}

/// Maps a reserve's outcome: 201, or the participant's `shortage` (402/409), 409, 404.
pub fn reserved<T: ParseFromJSON + ToJSON + Send + Sync>(
    outcome: Outcome<T>,
    shortage: Shortage,
) -> ParticipantResult<T> {
    match outcome {
        Outcome::Done(r) => Ok(Reply::Created(Json(r))),
        other => Err(refusal(other, shortage, "cannot reserve")),
    }
}

/// Maps a confirm's or a cancel's outcome: 200, 409 or 404.
pub fn settled<T: ParseFromJSON + ToJSON + Send + Sync>(
    outcome: Outcome<T>,
) -> ParticipantResult<T> {
    match outcome {
        Outcome::Done(r) => Ok(Reply::Ok(Json(r))),
        other => Err(refusal(other, NEVER_SHORT, "cannot settle")),
    }
}

/// Maps a release's outcome: 200, 204 (mark left) or 409.
pub fn released<T: ParseFromJSON + ToJSON + Send + Sync>(
    outcome: Outcome<T>,
) -> ParticipantResult<T> {
    match outcome {
        Outcome::Done(r) => Ok(Reply::Ok(Json(r))),
        Outcome::Marked => Ok(Reply::Marked),
        other => Err(refusal(other, NEVER_SHORT, "cannot release")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{delivery, payment, stock};

    #[test]
    fn a_refusal_reads_back_as_the_participant_said_it() {
        for r in [Refusal::Short, Refusal::Missing, Refusal::Conflict] {
            assert_eq!(
                Refusal::from_status(payment::SHORT, r.status(payment::SHORT)),
                r
            );
        }
        assert_eq!(payment::SHORT.status, StatusCode::PAYMENT_REQUIRED);
        for short in [stock::SHORT, delivery::SHORT] {
            assert_eq!(
                Refusal::from_status(short, StatusCode::CONFLICT),
                Refusal::Short
            );
            assert_eq!(
                Refusal::from_status(short, StatusCode::NOT_FOUND),
                Refusal::Missing
            );
            // 402 is payment's shortage, not theirs.
            assert_eq!(
                Refusal::from_status(short, StatusCode::PAYMENT_REQUIRED),
                Refusal::Conflict
            );
        }
    }
}
