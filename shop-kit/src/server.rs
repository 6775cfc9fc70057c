//! The server bootstrap every service shares: bind with a clear error, mount the API with its
//! Swagger UI and spec, health checks and metrics, turn every error into problem+json, cap
//! request bodies, and run until asked to stop.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Endpoint, EndpointExt, IntoResponse, PathPattern, Request, Response, Route, handler};
use poem_openapi::{OpenApi, OpenApiService};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::auth::{InternalToken, TokenKeys};
use crate::metrics::{self, ServiceMetrics};
use crate::problem::{self, ApiError};
use crate::topology::ServiceInfo;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Answers whether a service can take traffic (its database answers, migrations applied).
pub type ReadinessCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// A background task of a service: it runs until the watched flag turns `true`.
pub type BackgroundTask =
    Box<dyn FnOnce(watch::Receiver<bool>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

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
}

impl ServiceParts {
    /// The parts of service `name` from its common configuration; fails on an unusable key.
    pub fn new(
        name: &'static str,
        docs: &'static str,
        config: &crate::config::CommonConfig,
        ready: ReadinessCheck,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            name,
            docs,
            metrics: ServiceMetrics::new(name)?,
            keys: TokenKeys::new(&config.auth)?,
            internal_token: InternalToken(config.internal_token.clone()),
            ready,
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
    let ready = parts.ready.clone();
    let route = Route::new()
        .nest(format!("/{docs}/docs"), api_service.swagger_ui())
        .at(format!("/{docs}/openapi.json"), api_service.spec_endpoint())
        .at("/health/live", live)
        .at(
            "/health/ready",
            poem::endpoint::make(move |_| {
                let ready = ready.clone();
                async move {
                    if ready().await {
                        StatusCode::OK.into_response()
                    } else {
                        ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "database unavailable or migrations pending",
                        )
                        .into_response()
                    }
                }
            }),
        )
        .at("/metrics", metrics::metrics_endpoint(parts.metrics.clone()))
        .nest("/", api_service);
    let metrics = parts.metrics.clone();
    let name = parts.name;
    let ep = problem::with_problem_errors(route.around(limit_body))
        .data(parts.keys.clone())
        .data(parts.internal_token.clone())
        .around(move |ep, req| metrics::record(metrics.clone(), ep, req))
        .around(move |ep, req| traced(name, ep, req));
    ep.boxed()
}

/// Runs a request inside a server span that continues the caller's trace (W3C `traceparent`),
/// named after the matched route once it is known. Probes and scrapes are not traced.
async fn traced<E: Endpoint<Output = Response>>(
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

#[handler]
fn live() -> StatusCode {
    StatusCode::OK
}

async fn limit_body<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
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

/// A service ready to run: its port is bound, its database migrated.
pub struct Service {
    name: &'static str,
    acceptor: TcpAcceptor,
    port: u16,
    endpoint: BoxEndpoint<'static, Response>,
    background: Vec<BackgroundTask>,
}

impl Service {
    /// Binds `host:port` (port 0 picks a free one). A port in use fails with a message naming it.
    pub async fn bind(
        name: &'static str,
        host: &str,
        port: u16,
        endpoint: BoxEndpoint<'static, Response>,
    ) -> anyhow::Result<Self> {
        let acceptor = TcpListener::bind(format!("{host}:{port}"))
            .into_acceptor()
            .await
            .map_err(|e| anyhow::anyhow!("{name} cannot listen on {host}:{port}: {e}"))?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().map(|s| s.port()))
            .ok_or_else(|| anyhow::anyhow!("{name}: bound listener has no TCP address"))?;
        Ok(Self {
            name,
            acceptor,
            port,
            endpoint,
            background: Vec::new(),
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

    /// Serves until `shutdown` resolves. Then it stops accepting, tells the background tasks to
    /// stop (they finish their work in flight: order-svc's sagas reach a safe point), lets
    /// in-flight requests finish (up to 10 s) and waits for the background tasks (up to 10 s).
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
            async move {
                shutdown.await;
                stop_tx.send_replace(true);
            }
        };
        let result = poem::Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(self.endpoint, signal, Some(Duration::from_secs(10)))
            .await;
        stop_tx.send_replace(true);
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        tracing::info!(service = self.name, "stopped");
        result
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Builds a service the common way: fetch the token keys it is told to fetch, connect to its
/// database and apply the migrations of `M`, build its API from the connection, and bind its
/// port.
pub async fn build_service<M, A>(
    service: &'static ServiceInfo,
    config: &crate::config::CommonConfig,
    api: impl FnOnce(sea_orm::DatabaseConnection, &ServiceParts) -> anyhow::Result<A>,
) -> anyhow::Result<Service>
where
    M: sea_orm_migration::MigratorTrait + 'static,
    A: OpenApi + 'static,
{
    let name = service.name;
    let db = crate::db::connect_and_migrate::<M>(config.database_url.expose())
        .await
        .map_err(|e| anyhow::anyhow!("{name}: database set-up failed: {e}"))?;
    let mut config = config.clone();
    config.auth = config
        .auth
        .fetch_public_keys(JWKS_PATIENCE)
        .await
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let parts = ServiceParts::new(
        name,
        service.short,
        &config,
        crate::db::readiness::<M>(db.clone()),
    )
    .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    parts.metrics.watch_pool(db.clone());
    let api = api(db, &parts)?;
    Service::bind(name, &config.host, config.port, endpoint(api, &parts)).await
}

/// How long a service waits at start-up for the keys at `SHOP_JWT_JWKS_URL`.
const JWKS_PATIENCE: Duration = Duration::from_secs(120);

/// The whole of a standalone binary's `main`: logs, then `build` (which reads the
/// configuration from the environment), then serve until SIGTERM or Ctrl-C. A failure to start
/// prints one line and exits 1.
pub async fn run_alone(
    service: &'static ServiceInfo,
    build: impl Future<Output = anyhow::Result<Service>>,
) -> std::process::ExitCode {
    let _telemetry = crate::telemetry::init(service.name);
    let started = async {
        let running = build.await?;
        tracing::info!(service = service.name, port = running.port(), "listening");
        running.run_until(shutdown_signal()).await?;
        anyhow::Ok(())
    };
    match started.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(service = service.name, error = format!("{e:#}"), "stopped");
            eprintln!("{}: {e:#}", service.name);
            std::process::ExitCode::FAILURE
        }
    }
}
