//! [`ApiError`]: every error status an operation can answer, each with its problem body.

use poem::http::StatusCode;
use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;

use super::{ErrorChain, FieldError, Problem, ProblemBody, ProblemExtension};

/// Every error a shop endpoint can answer, each a problem+json body (a [`Problem`], or the
/// service's own [`ProblemExtension`]). Operations return `Result<TheirResponse, ApiError>`, so
/// every spec documents these statuses.
#[derive(ApiResponse, Debug)]
pub enum ApiError<P: ProblemBody = Problem> {
    /// The request could not be parsed: malformed JSON, wrong types, missing fields or parameters.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Box<P>>),
    /// Missing, invalid or expired bearer token.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Box<P>>),
    /// Not enough funds.
    #[oai(status = 402, content_type = "application/problem+json")]
    PaymentRequired(Json<Box<P>>),
    /// Authenticated, but not allowed (admin-only endpoint).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Box<P>>),
    /// No such resource, or it belongs to someone else.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Box<P>>),
    /// The request conflicts with the current state (duplicate, out of stock, no courier, …).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Box<P>>),
    /// The request body is larger than 1 MiB.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Box<P>>),
    /// The request body is not `application/json`.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Box<P>>),
    /// Well-formed but invalid: out-of-range numbers, bad formats, past dates, unknown values.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Box<P>>),
    /// Too many attempts; retry after the number of seconds in `Retry-After`.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Box<P>>, #[oai(header = "Retry-After")] u64),
    /// A dependency (database or another service) is unavailable, or the service is shedding
    /// load; retry after the number of seconds in `Retry-After`.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Box<P>>, #[oai(header = "Retry-After")] u64),
}

/// The result type of every operation.
pub type ApiResult<T, P = Problem> = Result<T, ApiError<P>>;

impl<P: ProblemBody> ApiError<P> {
    /// Wraps a problem in the variant of its status (unknown statuses become 503); 429 and 503
    /// ask the client to wait a second.
    pub fn from_problem(problem: P) -> Self {
        Self::with_retry_after(problem, 1)
    }

    /// Like [`ApiError::from_problem`], with `Retry-After: retry_after_secs` on 429 and 503.
    pub fn with_retry_after(problem: P, retry_after_secs: u64) -> Self {
        let wait = retry_after_secs.max(1);
        let status = problem.base().status;
        let body = Json(Box::new(problem));
        match status {
            400 => Self::BadRequest(body),
            401 => Self::Unauthorized(body),
            402 => Self::PaymentRequired(body),
            403 => Self::Forbidden(body),
            404 => Self::NotFound(body),
            409 => Self::Conflict(body),
            413 => Self::PayloadTooLarge(body),
            415 => Self::UnsupportedMediaType(body),
            422 => Self::Unprocessable(body),
            429 => Self::TooManyRequests(body, wait),
            _ => Self::Unavailable(body, wait),
        }
    }

    /// The `Retry-After` seconds of a 429 or 503.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests(_, secs) | Self::Unavailable(_, secs) => Some(*secs),
            _ => None,
        }
    }

    /// The problem body.
    pub fn problem(&self) -> &P {
        match self {
            Self::BadRequest(p)
            | Self::Unauthorized(p)
            | Self::PaymentRequired(p)
            | Self::Forbidden(p)
            | Self::NotFound(p)
            | Self::Conflict(p)
            | Self::PayloadTooLarge(p)
            | Self::UnsupportedMediaType(p)
            | Self::Unprocessable(p)
            | Self::TooManyRequests(p, _)
            | Self::Unavailable(p, _) => &p.0,
        }
    }

    /// The problem body, owned.
    pub fn into_problem(self) -> P {
        match self {
            Self::BadRequest(p)
            | Self::Unauthorized(p)
            | Self::PaymentRequired(p)
            | Self::Forbidden(p)
            | Self::NotFound(p)
            | Self::Conflict(p)
            | Self::PayloadTooLarge(p)
            | Self::UnsupportedMediaType(p)
            | Self::Unprocessable(p)
            | Self::TooManyRequests(p, _)
            | Self::Unavailable(p, _) => *p.0,
        }
    }
}

impl ApiError {
    /// An error of `status` with `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::from_problem(Problem::new(status, detail))
    }

    /// 401 with `detail`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 403 with `detail`.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404 with `detail`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 409 with `detail`.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// 422 with field-level errors.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail);
        problem.errors = Some(errors);
        Self::from_problem(problem)
    }

    /// `status` (400: unparsable, 422: invalid) naming one field.
    pub fn field(status: StatusCode, field: &str, message: impl Into<String>) -> Self {
        let error = FieldError::new(field, message);
        let mut problem = Problem::new(status, format!("{}: {}", error.field, error.message));
        problem.errors = Some(vec![error]);
        Self::from_problem(problem)
    }

    /// 422 naming each field whose parse failed, with its message: a handler parses every field
    /// into a `Result`, proceeds when all are `Ok`, and otherwise answers this with their `err()`s.
    pub fn invalid_fields<'a>(
        fields: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Self {
        Self::invalid(
            fields
                .into_iter()
                .filter_map(|(field, error)| error.map(|m| FieldError::new(field, m)))
                .collect(),
        )
    }

    /// 422 for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }

    /// 429 asking the client to wait `retry_after_secs`.
    pub fn too_many(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        let problem = Problem::new(StatusCode::TOO_MANY_REQUESTS, detail);
        Self::with_retry_after(problem, retry_after_secs)
    }

    /// 503 for a service shedding load, asking the client to wait `retry_after_secs`.
    pub fn busy(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        let problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE, detail);
        Self::with_retry_after(problem, retry_after_secs)
    }

    /// 503 for an internal failure. The cause is logged here with its chain and never sent.
    pub fn unavailable(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %ErrorChain(cause), "request failed on an internal error");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "a dependency is unavailable; retry later",
        )
    }
}

/// A database failure answers 503; its cause is logged, never sent.
impl<P: ProblemBody> From<sea_orm::DbErr> for ApiError<P> {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::from_problem(ApiError::unavailable(&e).into_problem().into())
    }
}

/// A call to another service that got no usable answer answers 503; its cause is logged,
/// never sent.
impl<P: ProblemBody> From<crate::client::CallError> for ApiError<P> {
    fn from(e: crate::client::CallError) -> Self {
        Self::from_problem(ApiError::unavailable(&e).into_problem().into())
    }
}

impl<P: ProblemExtension> From<ApiError<Problem>> for ApiError<P> {
    fn from(e: ApiError<Problem>) -> Self {
        let wait = e.retry_after().unwrap_or(1);
        Self::with_retry_after(P::from(e.into_problem()), wait)
    }
}
