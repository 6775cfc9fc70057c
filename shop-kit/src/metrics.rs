//! Prometheus metrics: one registry per service, HTTP request counts and latency histograms
//! recorded by a middleware, and the `/metrics` endpoint.

use std::sync::Arc;
use std::time::Instant;

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Latency buckets in seconds, from 1 ms to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A service's metrics registry with its HTTP metrics. Services register their own metrics on
/// [`ServiceMetrics::registry`]; every series carries the constant label `service`.
pub struct ServiceMetrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl ServiceMetrics {
    /// Creates the registry of `service` (e.g. `order-svc`) with its HTTP metrics.
    pub fn new(service: &str) -> Arc<Self> {
        let labels = std::iter::once(("service".to_string(), service.to_string())).collect();
        let registry =
            Registry::new_custom(None, Some(labels)).expect("static registry labels are valid");
        let requests = IntCounterVec::new(
            Opts::new(
                "shop_http_requests_total",
                "HTTP requests answered, by operation and status.",
            ),
            &["method", "operation", "status"],
        )
        .expect("static metric definition is valid");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "shop_http_request_duration_seconds",
                "HTTP request latency.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "operation"],
        )
        .expect("static metric definition is valid");
        registry
            .register(Box::new(requests.clone()))
            .expect("registered once");
        registry
            .register(Box::new(duration.clone()))
            .expect("registered once");
        #[cfg(target_os = "linux")]
        {
            // One process collector per process would be enough, but the shop binary runs six
            // services in one process; each registry reports the same process, which is harmless.
            let _ = registry.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ));
        }
        Arc::new(Self {
            registry,
            requests,
            duration,
        })
    }

    /// The registry, to register a service's own metrics on.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The registry in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(err) = encoder.encode(&self.registry.gather(), &mut buf) {
            tracing::error!(%err, "metrics encoding failed");
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    fn observe(&self, method: &str, operation: &str, status: StatusCode, started: Instant) {
        self.requests
            .with_label_values(&[method, operation, status.as_str()])
            .inc();
        self.duration
            .with_label_values(&[method, operation])
            .observe(started.elapsed().as_secs_f64());
    }
}

/// Middleware body: records the request's count and latency under its OpenAPI operation id.
pub async fn record<E: Endpoint<Output = Response>>(
    metrics: Arc<ServiceMetrics>,
    ep: Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    let started = Instant::now();
    let method = req.method().to_string();
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
    metrics.observe(&method, operation.unwrap_or("other"), status, started);
    resp
}

/// `GET /metrics`.
pub fn metrics_endpoint(metrics: Arc<ServiceMetrics>) -> impl Endpoint {
    poem::endpoint::make_sync(move |_| {
        metrics
            .render()
            .with_content_type("text/plain; version=0.0.4")
            .into_response()
    })
}
