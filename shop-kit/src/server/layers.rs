//! What wraps every request: a server span that continues the caller's trace, and the body
//! limit.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};
use tracing::Instrument;

use crate::problem::ApiError;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Runs a request inside a server span that continues the caller's trace (W3C `traceparent`),
/// named after the matched route once it is known. Probes and scrapes are not traced.
pub(super) async fn traced<E: Endpoint<Output = Response>>(
    service: &'static str,
    ep: Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    let path = req.uri().path();
    if path.starts_with("/health/") || path == "/metrics" {
        return ep.call(req).await;
    }
    let method = req.method().as_str().to_owned();
    let span = tracing::info_span!(
        "request",
        otel.name = %method, // renamed after routing, e.g. `POST /orders`
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        shop.service = service,
        http.request.method = %method,
        url.path = %path,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
        order_id = tracing::field::Empty,
    );
    let traceparent = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok());
    crate::telemetry::follow(&span, traceparent);
    if let Some(id) = crate::telemetry::trace_id(&span) {
        span.record("trace_id", id);
    }
    let answer = ep.call(req).instrument(span.clone()).await;
    let (status, route) = match &answer {
        Ok(r) => (r.status(), r.data::<PathPattern>()),
        Err(e) => (e.status(), e.data::<PathPattern>()),
    };
    if let Some(route) = route {
        span.record("http.route", &*route.0);
        crate::telemetry::rename(&span, format!("{method} {}", route.0));
    }
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    answer
}

pub(super) async fn limit_body<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
) -> poem::Result<Response> {
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request bodies are limited to 1 MiB",
        )
    };
    match declared {
        Some(len) if len > MAX_BODY_BYTES => return Err(too_large().into()),
        Some(_) => {}
        None => {
            // A body without a length (chunked) is read here, within the limit.
            let body = req.take_body();
            if !body.is_empty() {
                let bytes = body
                    .into_bytes_limit(MAX_BODY_BYTES)
                    .await
                    .map_err(|_| too_large())?;
                req.set_body(bytes);
            }
        }
    }
    Ok(ep.call(req).await?.into_response())
}
