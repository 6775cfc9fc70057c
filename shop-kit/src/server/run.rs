//! Building a service the common way, and running one alone as its own process.

use std::future::Future;
use std::time::Duration;

use poem_openapi::OpenApi;

use super::{Service, ServiceParts, endpoint};
use crate::topology::ServiceInfo;

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
    api: impl FnOnce(crate::db::Db, &ServiceParts) -> anyhow::Result<A>,
) -> anyhow::Result<Service>
where
    M: crate::db::Schema + 'static,
    A: OpenApi + 'static,
{
    let name = service.name;
    super::fit_open_files(&config.limits, 1);
    let db = crate::db::connect_patiently::<M>(
        name,
        config.database_url.expose(),
        config.database_pool_size,
        config.limits.database_patience,
        config.migrate_at_start,
    )
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
    if let (Some(disk), crate::db::Db::Embedded(embedded)) = (&parts.disk, &db) {
        disk.give_back_from(embedded.clone());
    }
    let api = api(db, &parts)?;
    let service = Service::bind(&parts, &config.host, config.port, endpoint(api, &parts)).await?;
    Ok(service)
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

/// The whole `main` of a standalone binary. Without arguments the service serves (see
/// [`run_alone`]); `migrate` applies this release's pending migrations to
/// `<PREFIX>_DATABASE_URL` and exits (the chart's migrate Job runs it before a rollout);
/// `check URL…` asks each URL and exits 0 when every one answers 2xx (the chart's `helm test`:
/// the image has no shell and no curl).
pub async fn main_of<M>(
    service: &'static ServiceInfo,
    build: impl Future<Output = anyhow::Result<Service>>,
) -> std::process::ExitCode
where
    M: crate::db::Schema,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => run_alone(service, build).await,
        Some("migrate") => {
            let _telemetry = crate::telemetry::init(service.name);
            report(service, migrate_only::<M>(service).await)
        }
        Some("check") => report(service, check(&args[1..]).await),
        Some(other) => {
            eprintln!(
                "{}: unknown command {other:?}; usage: {} [migrate | check URL…]",
                service.name, service.name
            );
            std::process::ExitCode::from(2)
        }
    }
}

/// Exit 0, or one line saying why and exit 1.
fn report(service: &ServiceInfo, done: anyhow::Result<()>) -> std::process::ExitCode {
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e:#}", service.name);
            std::process::ExitCode::FAILURE
        }
    }
}

/// Applies this release's pending migrations, waiting for the database as a start does.
async fn migrate_only<M: crate::db::Schema>(service: &ServiceInfo) -> anyhow::Result<()> {
    let url = crate::env::env_required(&format!("{}_DATABASE_URL", service.env_prefix))?;
    let limits = super::ServerLimits::from_env()?;
    let db = crate::db::connect_and_migrate_patiently::<M>(
        service.name,
        &url,
        2,
        limits.database_patience,
    )
    .await
    .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    db.close().await?;
    println!(
        "{}: the database holds this release's migrations",
        service.name
    );
    Ok(())
}

/// GETs every URL; each must answer 2xx within 5 s.
async fn check(urls: &[String]) -> anyhow::Result<()> {
    if urls.is_empty() {
        anyhow::bail!("check needs at least one URL");
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let mut failed = Vec::new();
    for url in urls {
        match http.get(url).send().await {
            Ok(r) if r.status().is_success() => println!("{url}: {}", r.status()),
            Ok(r) => failed.push(format!("{url}: {}", r.status())),
            Err(e) => failed.push(format!("{url}: {e}")),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{}", failed.join("; "))
    }
}
