//! The server bootstrap every service shares: bind with a clear error, mount the API with its
//! Swagger UI and spec, health checks and metrics, turn every error into problem+json, cap
//! request bodies, and run until asked to stop.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::{EndpointExt, IntoResponse, Response, Route, handler};
use poem_openapi::{OpenApi, OpenApiService};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::auth::{InternalToken, TokenKeys};
use crate::metrics::{self, ServiceMetrics};
use crate::problem::{self, ApiError};

mod activity;
pub mod docs;
mod layers;
mod run;
mod serve;

pub use crate::health::ReadinessCheck;
pub use crate::limits::{MAX_BODY_BYTES, ServerLimits};
pub use run::{build_service, main_of, run_alone, shutdown_signal};
pub use serve::ConnectionMetrics;

/// A background task of a service: it runs until the watched flag turns `true`.
pub type BackgroundTask =
    Box<dyn FnOnce(watch::Receiver<bool>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Raises the process's open-files limit to its hard limit, and warns when `services` services
/// that may each hold `limits.max_connections` connections could still run out of descriptors
/// (then the cap is not what protects them: lower `SHOP_MAX_CONNECTIONS` or raise the limit).
pub fn fit_open_files(limits: &ServerLimits, services: usize) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut nofile = getrlimit(Resource::Nofile);
    if nofile.current < nofile.maximum {
        nofile.current = nofile.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, nofile) {
            tracing::warn!(error = %e, "cannot raise the open-files limit");
        }
    }
    let current = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    // Databases, the services' own clients and the process itself need some too.
    let needed = (limits.max_connections as u64)
        .saturating_mul(services as u64)
        .saturating_add(256);
    if needed > current {
        tracing::warn!(
            open_files_limit = current,
            max_connections = limits.max_connections,
            services,
            "the open-files limit is below what SHOP_MAX_CONNECTIONS allows: lower it or raise \
             the limit (ulimit -n)"
        );
    }
}

/// What the bootstrap needs besides the API itself.
pub struct ServiceParts {
    /// The service's name, e.g. `order-svc`.
    pub name: &'static str,
    /// The docs prefix: Swagger UI at `/<docs>/docs`, spec at `/<docs>/openapi.json`.
    pub docs: &'static str,
    /// The service's metrics registry.
    pub metrics: Arc<ServiceMetrics>,
    /// Token verification keys.
    pub keys: Arc<TokenKeys>,
    /// The internal token.
    pub internal_token: InternalToken,
    /// The readiness check.
    pub ready: ReadinessCheck,
    /// Cancelled when the service starts shutting down: long-lived answers (event streams) end
    /// on it, so that the graceful shutdown does not wait for them.
    pub stopping: CancellationToken,
    /// The server's bounds.
    pub limits: ServerLimits,
    /// The free space under the service's SQLite database (none on PostgreSQL).
    pub disk: Option<Arc<crate::disk::DiskGuard>>,
    /// Cancelled at SIGTERM, before the shutdown delay: readiness answers 503 from then on.
    pub draining: CancellationToken,
    /// Examples of the public spec that depend on the data (an order of a product that
    /// exists), filled in each time the spec is served.
    pub live_examples: std::sync::OnceLock<LiveExamples>,
    /// The proxies whose word on the client's address is taken.
    pub proxies: Arc<crate::proxies::TrustedProxies>,
}

/// Fills a spec's examples from the data it serves; answers the spec as it is when it cannot.
pub type LiveExamples = Arc<
    dyn Fn(serde_json::Value) -> Pin<Box<dyn Future<Output = serde_json::Value> + Send>>
        + Send
        + Sync,
>;

impl ServiceParts {
    /// The parts of service `name` from its common configuration; fails on an unusable key.
    pub fn new(
        name: &'static str,
        docs: &'static str,
        config: &crate::config::CommonConfig,
        ready: ReadinessCheck,
    ) -> anyhow::Result<Self> {
        let metrics = ServiceMetrics::new(name)?;
        let disk = crate::disk::DiskGuard::for_database(
            config.database_url.expose(),
            config.limits.disk_reserve_bytes,
            metrics.registry(),
        )?;
        let ready = match &disk {
            None => ready,
            Some(disk) => {
                disk.watch();
                let disk = disk.clone();
                let check: ReadinessCheck = Arc::new(move || {
                    let low = disk.is_low();
                    let ready = ready();
                    Box::pin(async move { !low && ready.await })
                });
                check
            }
        };
        metrics.watch_readiness(ready.clone(), READINESS_TIMEOUT);
        Ok(Self {
            name,
            docs,
            metrics,
            keys: TokenKeys::new(&config.auth)?,
            internal_token: InternalToken(config.internal_token.clone()),
            ready,
            stopping: CancellationToken::new(),
            limits: config.limits,
            disk,
            draining: CancellationToken::new(),
            live_examples: std::sync::OnceLock::new(),
            proxies: Arc::new(config.proxies.clone()),
        })
    }
}

/// Builds the whole HTTP surface of a service around its API.
pub fn endpoint<A: OpenApi + 'static>(
    api: A,
    parts: &ServiceParts,
) -> BoxEndpoint<'static, Response> {
    let api_service = OpenApiService::new(api, parts.name, env!("CARGO_PKG_VERSION")).server("/");
    let docs = parts.docs;
    let service =
        crate::topology::service(parts.name)
            .copied()
            .unwrap_or(crate::topology::ServiceInfo {
                name: parts.name,
                short: docs,
                env_prefix: "",
                default_port: 0,
                api_prefixes: &[],
                about: "",
            });
    let raw = api_service.spec();
    let html = api_service.swagger_ui_html();
    let json = |body: String| {
        poem::endpoint::make_sync(move |_| {
            body.clone()
                .with_content_type("application/json")
                .into_response()
        })
    };
    let page = |body: String| poem::endpoint::make_sync(move |_| poem::web::Html(body.clone()));
    let public = docs::public_spec(&raw, &service);
    let public: BoxEndpoint<'static, Response> = match parts.live_examples.get().cloned() {
        None => json(public).boxed(),
        Some(fill) => {
            let base: serde_json::Value = serde_json::from_str(&public).unwrap_or_default();
            poem::endpoint::make(move |_| {
                let (fill, base) = (fill.clone(), base.clone());
                async move {
                    fill(base)
                        .await
                        .to_string()
                        .with_content_type("application/json")
                        .into_response()
                }
            })
            .boxed()
        }
    };
    let mut route = Route::new()
        .at(docs::spec_path(&service), public)
        .at(
            format!("/{docs}/docs"),
            page(docs::page(&html, &service, false)),
        )
        .at(
            format!("/{docs}/docs/"),
            page(docs::page(&html, &service, false)),
        );
    if let Some(internal) = docs::internal_spec(&raw, &service) {
        route = route
            .at(docs::internal_spec_path(&service), json(internal))
            .at(
                format!("/{docs}/internal/docs"),
                page(docs::page(&html, &service, true)),
            );
    }
    let ready = parts.ready.clone();
    let limits = parts.limits;
    let draining = parts.draining.clone();
    let route = route
        .at("/health/live", live)
        .at(
            "/health/ready",
            poem::endpoint::make(move |_| {
                let ready = ready.clone();
                let draining = draining.is_cancelled();
                async move {
                    if draining {
                        return ApiError::busy("shutting down", 1).into_response();
                    }
                    // Answered within its own short time: a database that does not answer
                    // makes the service unready, never a probe that hangs.
                    match tokio::time::timeout(READINESS_TIMEOUT, ready()).await {
                        Ok(true) => StatusCode::OK.into_response(),
                        Ok(false) => ApiError::busy(
                            "database unavailable, disk low or migrations pending",
                            1,
                        )
                        .into_response(),
                        Err(_) => {
                            ApiError::busy("the database did not answer in time", 1).into_response()
                        }
                    }
                }
            }),
        )
        .at("/metrics", metrics::metrics_endpoint(parts.metrics.clone()))
        .nest("/", api_service);
    let metrics = parts.metrics.clone();
    let name = parts.name;
    let body = layers::BodyLimits::new(limits);
    let disk = parts.disk.clone();
    let proxies = parts.proxies.clone();
    let ep = problem::with_problem_errors(
        route
            .around(move |ep, req| layers::limit_body(body.clone(), ep, req))
            .around(move |ep, req| layers::spare_disk(disk.clone(), ep, req))
            .around(move |ep, req| layers::deadline(limits.request_timeout, ep, req)),
    )
    .data(parts.keys.clone())
    .data(parts.internal_token.clone())
    .around(move |ep, req| metrics::record(metrics.clone(), ep, req))
    .around(move |ep, req| layers::traced(name, ep, req))
    .around(move |ep, req| layers::find_client(proxies.clone(), ep, req));
    ep.boxed()
}

/// How long a stopping service waits for its requests in flight, and again for its background
/// tasks: the chart's `terminationGracePeriodSeconds` covers the shutdown delay and twice this.
pub const DRAIN_BUDGET: Duration = Duration::from_secs(10);

/// How long `/health/ready` waits for its checks before it answers 503.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

#[handler]
fn live() -> StatusCode {
    StatusCode::OK
}

/// A service ready to run: its port is bound, its database migrated.
pub struct Service {
    name: &'static str,
    listener: tokio::net::TcpListener,
    port: u16,
    limits: ServerLimits,
    connections: ConnectionMetrics,
    endpoint: BoxEndpoint<'static, Response>,
    background: Vec<BackgroundTask>,
    stopping: CancellationToken,
    draining: CancellationToken,
}

impl Service {
    /// Binds `host:port` (port 0 picks a free one). A port in use fails with a message naming it.
    pub async fn bind(
        parts: &ServiceParts,
        host: &str,
        port: u16,
        endpoint: BoxEndpoint<'static, Response>,
    ) -> anyhow::Result<Self> {
        let name = parts.name;
        let listener = tokio::net::TcpListener::bind(format!("{host}:{port}"))
            .await
            .map_err(|e| anyhow::anyhow!("{name} cannot listen on {host}:{port}: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| anyhow::anyhow!("{name}: bound listener has no address: {e}"))?
            .port();
        Ok(Self {
            name,
            listener,
            port,
            limits: parts.limits,
            connections: ConnectionMetrics::new(parts.metrics.registry())?,
            endpoint,
            background: Vec::new(),
            stopping: parts.stopping.clone(),
            draining: parts.draining.clone(),
        })
    }

    /// Adds a task that runs beside the server and stops with it.
    pub fn with_background(mut self, task: BackgroundTask) -> Self {
        self.background.push(task);
        self
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The service's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Serves until `shutdown` resolves. Then `/health/ready` answers 503 at once while the
    /// service goes on serving for the shutdown delay; then it stops accepting, tells the
    /// background tasks to stop (they finish their work in flight: order-svc's sagas reach a
    /// safe point), lets in-flight requests finish (up to [`DRAIN_BUDGET`]) and waits for the
    /// background tasks (up to [`DRAIN_BUDGET`] again).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let tasks: Vec<JoinHandle<()>> = self
            .background
            .into_iter()
            .map(|task| tokio::spawn(task(stop_rx.clone())))
            .collect();
        let stop_tx = Arc::new(stop_tx);
        let signal = {
            let stop_tx = stop_tx.clone();
            let stopping = self.stopping.clone();
            let draining = self.draining.clone();
            let delay = self.limits.shutdown_delay;
            let name = self.name;
            async move {
                shutdown.await;
                // Unready at once, still serving: the endpoints that route here learn of the
                // shutdown asynchronously and keep sending for a few seconds.
                draining.cancel();
                if !delay.is_zero() {
                    tracing::info!(
                        service = name,
                        delay_secs = delay.as_secs(),
                        "shutting down: unready, serving on for the delay"
                    );
                    tokio::time::sleep(delay).await;
                }
                stopping.cancel();
                stop_tx.send_replace(true);
            }
        };
        tokio::spawn(signal);
        serve::serve(
            self.name,
            self.listener,
            self.endpoint,
            self.limits,
            self.connections,
            stop_rx.clone(),
            DRAIN_BUDGET,
        )
        .await;
        stop_tx.send_replace(true);
        for task in tasks {
            let _ = tokio::time::timeout(DRAIN_BUDGET, task).await;
        }
        tracing::info!(service = self.name, "stopped");
        Ok(())
    }
}
