//! What wraps every request: the client's address, a server span that continues the caller's
//! trace, and the body limit.

use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::limits::{MAX_BODY_BYTES, ServerLimits};
use crate::problem::ApiError;
use crate::proxies::{ClientAddr, TrustedProxies};

/// Puts the request's [`ClientAddr`] in its data: its TCP peer, or the client a trusted proxy
/// names (see [`crate::proxies`]).
pub(super) async fn find_client<E: Endpoint<Output = Response>>(
    proxies: Arc<TrustedProxies>,
    ep: Arc<E>,
    mut req: Request,
) -> poem::Result<Response> {
    let peer = match req.remote_addr().as_socket_addr() {
        Some(addr) => addr.ip(),
        None => std::net::IpAddr::from([0, 0, 0, 0]),
    };
    let client = proxies.client(peer, req.headers());
    req.extensions_mut().insert(ClientAddr(client));
    ep.call(req).await
}

/// Runs a request inside a server span that continues the caller's trace (W3C `traceparent`),
/// named after the matched route once it is known. Probes and scrapes are not traced.
pub(super) async fn traced<E: Endpoint<Output = Response>>(
    service: &'static str,
    ep: Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    let path = req.uri().path();
    if crate::metrics::is_probe_or_scrape(path) {
        return ep.call(req).await;
    }
    let method = req.method().as_str().to_owned();
    let client = req.data::<ClientAddr>().copied();
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
    let bytes_in = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let started = std::time::Instant::now();
    let answer = ep.call(req).instrument(span.clone()).await;
    let (status, route, bytes_out) = match &answer {
        Ok(r) => (
            r.status(),
            r.data::<PathPattern>(),
            r.data::<crate::metrics::ResponseBytes>().map(|b| b.0),
        ),
        Err(e) => (e.status(), e.data::<PathPattern>(), None),
    };
    let route = route.map(|r| r.0.clone());
    if let Some(route) = &route {
        span.record("http.route", &**route);
        crate::telemetry::rename(&span, format!("{method} {route}"));
    }
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    if access_log() {
        // One line per request, inside its span: JSON logs carry the span's trace_id, user_id
        // and order_id with it. Never a token, a password or a body.
        span.in_scope(|| {
            tracing::info!(
                target: "access",
                method = %method,
                client = client.map(tracing::field::display),
                route = route.as_deref().unwrap_or("unmatched"),
                status = status.as_u16(),
                duration_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
                bytes_in,
                bytes_out,
                "request"
            );
        });
    }
    answer
}

/// Whether every request is logged (`SHOP_ACCESS_LOG`, on unless `off` or `false`).
fn access_log() -> bool {
    static ON: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
        !matches!(
            std::env::var("SHOP_ACCESS_LOG").as_deref(),
            Ok("off" | "false" | "0")
        )
    });
    *ON
}

/// How request bodies are read: whole, within a deadline, and within a budget of bytes that the
/// service holds at once, so that slow or stalled uploads cannot pile up memory.
#[derive(Clone)]
pub(super) struct BodyLimits {
    timeout: Duration,
    budget: Arc<Semaphore>,
}

impl BodyLimits {
    pub(super) fn new(limits: ServerLimits) -> Self {
        let budget = limits.body_budget_bytes.min(Semaphore::MAX_PERMITS);
        Self {
            timeout: limits.body_timeout,
            budget: Arc::new(Semaphore::new(budget)),
        }
    }
}

/// Bodies up to this size are read without taking room of the budget.
const SMALL_BODY_BYTES: usize = 64 * 1024;

/// How long a body waits for room in the budget before it is answered 503.
const BUDGET_WAIT: Duration = Duration::from_secs(1);

/// Reads a request's body before the endpoint sees it: 413 when it is (or says it is) larger
/// than [`MAX_BODY_BYTES`], 408 when it has not arrived within the body timeout, 503 with
/// `Retry-After` when the large bodies arriving at once already hold the service's budget.
/// The room a large body takes (its declared length, or the largest body when it declares none)
/// is held until its request is answered.
pub(super) async fn limit_body<E: Endpoint>(
    limits: BodyLimits,
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
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(too_large().into());
    }
    let body = req.take_body();
    let chunked = req
        .headers()
        .contains_key(poem::http::header::TRANSFER_ENCODING);
    if declared.unwrap_or(0) == 0 && !chunked {
        req.set_body(body);
        return Ok(ep.call(req).await?.into_response());
    }
    // Every body the API expects is small, and small ones need no room of the budget (at most
    // `max_connections` of them are read at once); a large or unannounced one does.
    let room = declared.unwrap_or(MAX_BODY_BYTES);
    let _room = if room > SMALL_BODY_BYTES {
        let room = u32::try_from(room).unwrap_or(u32::MAX);
        let acquired =
            tokio::time::timeout(BUDGET_WAIT, limits.budget.clone().acquire_many_owned(room)).await;
        let Ok(Ok(room)) = acquired else {
            return Err(ApiError::busy(
                "too many large request bodies are arriving at once; retry later",
                1,
            )
            .into());
        };
        Some(room)
    } else {
        None
    };
    let bytes =
        match tokio::time::timeout(limits.timeout, body.into_bytes_limit(MAX_BODY_BYTES)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(poem::error::ReadBodyError::PayloadTooLarge)) => return Err(too_large().into()),
            Ok(Err(_)) => {
                return Err(
                    ApiError::new(StatusCode::BAD_REQUEST, "the request body was cut off").into(),
                );
            }
            Err(_) => {
                let detail = format!(
                    "the request body did not arrive within {} s",
                    limits.timeout.as_secs_f64()
                );
                return Ok(crate::problem::plain(StatusCode::REQUEST_TIMEOUT, detail));
            }
        };
    req.set_body(bytes);
    Ok(ep.call(req).await?.into_response())
}

/// Answers 503 (with `Retry-After`) for a request whose endpoint has not answered within
/// `limit`: a database or dependency that stops answering holds no client forever. A stream's
/// body, sent after its answer began, is not counted.
pub(super) async fn deadline<E: Endpoint>(
    limit: Duration,
    ep: Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    match tokio::time::timeout(limit, ep.call(req)).await {
        Ok(answer) => Ok(answer?.into_response()),
        Err(_) => {
            tracing::warn!(
                limit_ms = limit.as_millis(),
                "a request was not answered in time (SHOP_REQUEST_TIMEOUT_MS)"
            );
            Err(ApiError::busy("the request took too long; retry later", 1).into())
        }
    }
}

/// Refuses new work (503, `Retry-After: 30`) while the disk under the service's SQLite
/// database is below its reserve; reads and what finishes or gives back work already taken
/// pass (see [`crate::disk::may_use_reserve`]).
pub(super) async fn spare_disk<E: Endpoint>(
    disk: Option<Arc<crate::disk::DiskGuard>>,
    ep: Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    if let Some(disk) = disk
        && disk.is_low()
        && !crate::disk::may_use_reserve(req.method(), req.uri().path())
    {
        return Err(ApiError::busy(
            "the disk is almost full: new work is paused until space is freed",
            30,
        )
        .into());
    }
    Ok(ep.call(req).await?.into_response())
}
