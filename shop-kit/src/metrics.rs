//! Prometheus metrics: one registry per service; HTTP requests, latency, bytes in and out and
//! requests in flight recorded by a middleware; the database pool and any service gauges read
//! at scrape time; the process's CPU, memory and file descriptors once per process; and the
//! `/metrics` endpoint.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use poem::http::{StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Latency buckets in seconds, from 1 ms to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Work a service does right before each scrape, such as reading gauges from its database.
pub type ScrapeHook = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Whether a registry of this process already reports the process (the `shop` binary runs six
/// services in one process: only the first of them reports it).
static PROCESS_REPORTED: AtomicBool = AtomicBool::new(false);

/// The constant label every series of a service carries, naming the service (`order-svc`).
/// Not `service`: the Prometheus Operator sets `service` on every target it scrapes (the
/// Kubernetes Service's name) and would rename the shop's to `exported_service`.
pub const SERVICE_LABEL: &str = "shop_service";

/// A service's metrics registry with its HTTP and database-pool metrics. Services register
/// their own metrics on [`ServiceMetrics::registry`]; every series carries the constant label
/// [`SERVICE_LABEL`].
pub struct ServiceMetrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    request_bytes: IntCounterVec,
    response_bytes: IntCounterVec,
    in_flight: IntGauge,
    pool: IntGaugeVec,
    pool_limit: IntGauge,
    ready: IntGauge,
    hooks: Mutex<Vec<ScrapeHook>>,
}

fn metric<M: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    made: prometheus::Result<M>,
) -> prometheus::Result<M> {
    let m = made?;
    registry.register(Box::new(m.clone()))?;
    Ok(m)
}

impl ServiceMetrics {
    /// Creates the registry of `service` (e.g. `order-svc`) with its HTTP metrics.
    pub fn new(service: &str) -> prometheus::Result<Arc<Self>> {
        let labels = std::iter::once((SERVICE_LABEL.to_string(), service.to_string())).collect();
        let registry = Registry::new_custom(None, Some(labels))?;
        let by_operation = ["method", "operation", "status"];
        let requests = metric(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "shop_http_requests_total",
                    "HTTP requests answered, by method, OpenAPI operation and status.",
                ),
                &by_operation,
            ),
        )?;
        let duration = metric(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "shop_http_request_duration_seconds",
                    "HTTP request latency, by method, OpenAPI operation and status.",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &by_operation,
            ),
        )?;
        let request_bytes = metric(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "shop_http_request_bytes_total",
                    "Bytes of request bodies received (IN), by method and OpenAPI operation.",
                ),
                &["method", "operation"],
            ),
        )?;
        let response_bytes = metric(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "shop_http_response_bytes_total",
                    "Bytes of response bodies sent (OUT), by method and OpenAPI operation.",
                ),
                &["method", "operation"],
            ),
        )?;
        let in_flight = metric(
            &registry,
            IntGauge::new(
                "shop_http_requests_in_flight",
                "HTTP requests being answered now.",
            ),
        )?;
        let pool = metric(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "shop_db_pool_connections",
                    "Database pool connections, by state: idle or in_use.",
                ),
                &["state"],
            ),
        )?;
        let pool_limit = metric(
            &registry,
            IntGauge::new(
                "shop_db_pool_max_connections",
                "The most connections the database pool may open.",
            ),
        )?;
        let ready = metric(
            &registry,
            IntGauge::new(
                "shop_ready",
                "1 when the service is ready (its database answers, its migrations are applied, \
                 its disk is not low), else 0: the readiness check, run at every scrape.",
            ),
        )?;
        #[cfg(target_os = "linux")]
        if !PROCESS_REPORTED.swap(true, Ordering::SeqCst) {
            registry.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))?;
        }
        Ok(Arc::new(Self {
            registry,
            requests,
            duration,
            request_bytes,
            response_bytes,
            in_flight,
            pool,
            pool_limit,
            ready,
            hooks: Mutex::new(Vec::new()),
        }))
    }

    /// The registry, to register a service's own metrics on.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Runs `hook` before every scrape (e.g. to read gauges from the database).
    pub fn on_scrape(&self, hook: ScrapeHook) {
        self.hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(hook);
    }

    /// Reports the database pool of `db` at every scrape.
    pub fn watch_pool(self: &Arc<Self>, db: crate::db::Db) {
        let metrics = Arc::downgrade(self);
        self.on_scrape(Arc::new(move || {
            let (metrics, db) = (metrics.clone(), db.clone());
            Box::pin(async move {
                let Some(metrics) = metrics.upgrade() else {
                    return;
                };
                let (size, idle, limit) = match &db {
                    crate::db::Db::Pooled(db) => {
                        let pool = db.get_postgres_connection_pool();
                        let limit = pool.options().get_max_connections();
                        (pool.size(), pool.num_idle(), limit)
                    }
                    crate::db::Db::Embedded(db) => (1, usize::from(!db.in_use()), 1),
                };
                metrics.pool_limit.set(i64::from(limit));
                let idle = i64::try_from(idle).unwrap_or(i64::MAX);
                metrics.pool.with_label_values(&["idle"]).set(idle);
                metrics
                    .pool
                    .with_label_values(&["in_use"])
                    .set(i64::from(size) - idle);
            })
        }));
    }

    /// Reports `check` (the readiness check, given `timeout` as `/health/ready` gives it) as
    /// `shop_ready` at every scrape: Prometheus scrapes unready pods too, so an outage of the
    /// database shows in the metrics even where no probe is watched.
    pub fn watch_readiness(
        self: &Arc<Self>,
        check: crate::health::ReadinessCheck,
        timeout: std::time::Duration,
    ) {
        let metrics = Arc::downgrade(self);
        self.on_scrape(Arc::new(move || {
            let (metrics, check) = (metrics.clone(), check.clone());
            Box::pin(async move {
                let ready = tokio::time::timeout(timeout, check()).await == Ok(true);
                if let Some(metrics) = metrics.upgrade() {
                    metrics.ready.set(i64::from(ready));
                }
            })
        }));
    }

    /// The registry in the Prometheus text format, after running the scrape hooks.
    pub async fn render(&self) -> String {
        let hooks = self.hooks.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for hook in hooks {
            hook().await;
        }
        let mut buf = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(%err, "metrics encoding failed");
        }
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// Whether `path` is a probe (`/health/*`) or a scrape (`/metrics`): not traffic. Counted,
/// they would dilute the error ratio and the percentiles, and a database outage's readiness
/// 503s would read as server errors; they are neither counted, traced nor logged.
pub fn is_probe_or_scrape(path: &str) -> bool {
    path.starts_with("/health/") || path == "/metrics"
}

/// Counts a request in flight until dropped, even when the request is cancelled.
struct InFlight(IntGauge);

impl InFlight {
    fn start(gauge: &IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Middleware body: records the request's count, latency and bytes under its OpenAPI operation
/// id (never the raw path). A response body is measured by buffering it, except a stream
/// (Server-Sent Events), whose bytes are not counted; its size goes on with the response
/// ([`ResponseBytes`], for the access log). Probes (`/health/*`) and scrapes are not recorded.
pub async fn record<E: Endpoint<Output = Response>>(
    metrics: Arc<ServiceMetrics>,
    ep: Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    if is_probe_or_scrape(req.uri().path()) {
        return ep.call(req).await;
    }
    let _in_flight = InFlight::start(&metrics.in_flight);
    let started = Instant::now();
    let method = req.method().to_string();
    let bytes_in = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let resp = ep.call(req).await;
    let (status, operation) = match &resp {
        Ok(r) => (
            r.status(),
            r.data::<poem_openapi::OperationId>().map(|o| o.0),
        ),
        Err(e) => (
            e.status(),
            e.data::<poem_openapi::OperationId>().map(|o| o.0),
        ),
    };
    let operation = operation.unwrap_or("other");
    let resp = match resp {
        Ok(r) => Ok(measured(r, &metrics, &method, operation).await),
        Err(e) => Err(e),
    };
    let status = status.as_str();
    metrics
        .requests
        .with_label_values(&[&method, operation, status])
        .inc();
    metrics
        .duration
        .with_label_values(&[&method, operation, status])
        .observe(started.elapsed().as_secs_f64());
    metrics
        .request_bytes
        .with_label_values(&[&method, operation])
        .inc_by(bytes_in);
    resp
}

/// The response, its body counted in `shop_http_response_bytes_total`.
async fn measured(
    mut resp: Response,
    metrics: &ServiceMetrics,
    method: &str,
    operation: &str,
) -> Response {
    let streaming = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if streaming {
        return resp;
    }
    let body = match resp.take_body().into_bytes().await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "a response body could not be read");
            resp.set_status(StatusCode::SERVICE_UNAVAILABLE);
            return resp;
        }
    };
    let bytes = u64::try_from(body.len()).unwrap_or(u64::MAX);
    metrics
        .response_bytes
        .with_label_values(&[method, operation])
        .inc_by(bytes);
    resp.set_body(Body::from(body));
    resp.set_data(ResponseBytes(bytes));
    resp
}

/// The size of a response's body, as measured for the metrics.
#[derive(Debug, Clone, Copy)]
pub struct ResponseBytes(pub u64);

/// `GET /metrics`.
pub fn metrics_endpoint(metrics: Arc<ServiceMetrics>) -> impl Endpoint {
    poem::endpoint::make(move |_| {
        let metrics = metrics.clone();
        async move {
            metrics
                .render()
                .await
                .with_content_type("text/plain; version=0.0.4")
                .into_response()
        }
    })
}
