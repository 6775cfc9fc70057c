//! RFC 9457 problem details: the one error body every service answers with.

use poem::http::StatusCode;
use poem_openapi::Object;
use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
use serde::{Deserialize, Serialize};

mod edge;
mod error;
mod errors;
mod fields;

pub use edge::{plain, problem_for_error, with_problem_errors};
pub use error::{ApiError, ApiResult};
pub use fields::{FieldError, FieldErrors};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An `application/problem+json` body (RFC 9457).
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI reference naming the kind of problem; `about:blank` when the status says it all.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Field-level validation errors.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl Problem {
    /// A problem of `status` with `detail`; the title is the status's reason phrase.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
        }
    }
}

/// A problem+json body: [`Problem`] itself, or a service's own body that flattens a `Problem`
/// and adds extension members (RFC 9457 §3.2), such as order-svc's `order_id`.
pub trait ProblemBody:
    Type + ToJSON + ParseFromJSON + Serialize + From<Problem> + Send + Sync + 'static
{
    /// The standard members.
    fn base(&self) -> &Problem;
}

impl ProblemBody for Problem {
    fn base(&self) -> &Problem {
        self
    }
}

/// A service's own problem body, with members beyond [`Problem`]'s: its operations answer
/// `ApiError<ItsBody>`, and every shop-kit [`ApiError`] converts into that with `?`.
pub trait ProblemExtension: ProblemBody {}

/// Displays an error with its whole `source()` chain.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
