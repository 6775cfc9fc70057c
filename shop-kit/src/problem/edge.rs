//! The edge of a service: every error poem or poem-openapi raises before a handler answers
//! (unknown route, wrong method, unparsable parameter or body, wrong content type, failed
//! authentication) leaves as problem+json with its own status.

use poem::http::{StatusCode, header};
use poem::{Endpoint, IntoResponse, Response};

use super::{ApiError, FieldError, PROBLEM_JSON, Problem};

/// Turns every error that reaches the edge of a service (unknown route, wrong method, body too
/// large, unparsable body, failed authentication, …) into a problem+json response with the
/// same status. Responses that already are problem+json pass unchanged.
pub async fn problem_for_error(err: poem::Error) -> Response {
    if let Some(param) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        return param_problem(param).into_response();
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParsePathError>() {
        // poem-openapi names path parameters by position (`param0`), so the field is the path.
        return ApiError::field(
            StatusCode::BAD_REQUEST,
            "path",
            format!("an id in the path {}", unparsed_in_words(&e.reason)),
        )
        .into_response();
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ContentTypeError>() {
        let mut problem = Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string());
        problem.errors = Some(vec![FieldError::new(
            "Content-Type",
            "must be application/json",
        )]);
        return ApiError::from_problem(problem).into_response();
    }
    let status = err.status();
    let message = err.to_string();
    let resp = err.into_response();
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return resp;
    }
    let status = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
        tracing::error!(%status, error = %message, "unhandled server error");
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        status
    };
    let detail = if status.is_server_error() {
        "internal error; retry later".into()
    } else {
        message
    };
    plain(status, detail)
}

/// A problem+json response of any status, 405 and 408 included: not only those an operation
/// documents.
pub fn plain(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = serde_json::to_vec(&Problem::new(status, detail)).unwrap_or_default();
    Response::builder()
        .status(status)
        .content_type(PROBLEM_JSON)
        .body(body)
}

/// A query, path or header parameter that failed to parse (400) or broke a bound or a closed
/// set its schema documents (422), naming the parameter.
fn param_problem(e: &poem_openapi::error::ParseParamError) -> ApiError {
    let (status, message) = match e.reason.split_once("verification failed. ") {
        Some((_, rule)) => (StatusCode::UNPROCESSABLE_ENTITY, super::rule_in_words(rule)),
        // A closed set's parameter (an order status) given a value outside it.
        None if e.reason.contains("Expect a valid enumeration value") => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "must be one of the values the spec lists for it".to_owned(),
        ),
        None => (StatusCode::BAD_REQUEST, unparsed_in_words(&e.reason)),
    };
    ApiError::field(status, e.name, message)
}

/// Why a parameter could not be read, in words rather than the parser's (`failed to parse
/// "string_uuid": invalid character…` is "must be a UUID, …").
fn unparsed_in_words(reason: &str) -> String {
    let kind = reason
        .strip_prefix("failed to parse \"")
        .and_then(|r| r.split('"').next())
        .unwrap_or_default();
    match kind {
        "string_uuid" => "must be a UUID, such as 0190a5d2-7c1e-7000-8000-000000000001".into(),
        "string_date" => "must be a date, such as 2026-12-24".into(),
        "boolean" => "must be true or false".into(),
        k if k.starts_with("integer") => "must be a whole number".into(),
        k if k.starts_with("number") => "must be a number".into(),
        _ => "could not be read".into(),
    }
}

/// Wraps an endpoint so that every error leaves as problem+json.
pub fn with_problem_errors<E: Endpoint + 'static>(ep: E) -> impl Endpoint<Output = Response> {
    poem::EndpointExt::catch_all_error(poem::EndpointExt::map_to_response(ep), problem_for_error)
}

#[cfg(test)]
mod tests {
    use super::unparsed_in_words;

    #[test]
    fn an_unreadable_parameter_is_said_in_words() {
        assert_eq!(
            unparsed_in_words(
                r#"failed to parse "string_uuid": invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `x` at 1"#
            ),
            "must be a UUID, such as 0190a5d2-7c1e-7000-8000-000000000001"
        );
        assert_eq!(
            unparsed_in_words(r#"failed to parse "integer_int64": invalid digit"#),
            "must be a whole number"
        );
        assert_eq!(unparsed_in_words("anything else"), "could not be read");
    }
}
