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
use poem::{EndpointExt, IntoResponse, Response, Route, handler};
use poem_openapi::{OpenApi, OpenApiService};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::auth::{InternalToken, TokenKeys};
use crate::metrics::{self, ServiceMetrics};
use crate::problem::{self, ApiError};

mod layers;
mod run;

pub use layers::MAX_BODY_BYTES;
pub use run::{build_service, run_alone, shutdown_signal};

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
    /// Cancelled when the service starts shutting down: long-lived answers (event streams) end
    /// on it, so that the graceful shutdown does not wait for them.
    pub stopping: CancellationToken,
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
            stopping: CancellationToken::new(),
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
    let ep = problem::with_problem_errors(route.around(layers::limit_body))
        .data(parts.keys.clone())
        .data(parts.internal_token.clone())
        .around(move |ep, req| metrics::record(metrics.clone(), ep, req))
        .around(move |ep, req| layers::traced(name, ep, req));
    ep.boxed()
}

#[handler]
fn live() -> StatusCode {
    StatusCode::OK
}

/// A service ready to run: its port is bound, its database migrated.
pub struct Service {
    name: &'static str,
    acceptor: TcpAcceptor,
    port: u16,
    endpoint: BoxEndpoint<'static, Response>,
    background: Vec<BackgroundTask>,
    stopping: CancellationToken,
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
            stopping: CancellationToken::new(),
        })
    }

    /// Cancels `stopping` when the shutdown starts (see [`ServiceParts::stopping`]).
    pub fn with_stopping(mut self, stopping: CancellationToken) -> Self {
        self.stopping = stopping;
        self
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
            let stopping = self.stopping.clone();
            async move {
                shutdown.await;
                stopping.cancel();
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
