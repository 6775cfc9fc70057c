//! `shop`: all six services in one process on the embedded default (one SQLite file per
//! service under the data directory), or on PostgreSQL (one database per service).
#![forbid(unsafe_code)]

mod backup;
mod front;
mod secrets;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use poem::listener::{Listener, TcpListener};
use shop_kit::auth::AuthConfig;
use shop_kit::config::{CommonConfig, Secret, env_opt};
use shop_kit::server::Service;
use shop_kit::topology::{DELIVERY, NOTIFY, ORDER, PAYMENT, SERVICES, STOCK, ServiceInfo, USER};
use tokio::sync::watch;

/// Runs the whole shop in one process.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Without a command, `shop` runs the shop.
    #[command(subcommand)]
    command: Option<Command>,
    /// Where the SQLite databases and the generated secrets live.
    #[arg(long, env = "SHOP_DATA_DIR", default_value = "./shop-data", global = true)]
    data_dir: PathBuf,
    /// Address every service binds.
    #[arg(long, env = "SHOP_HOST", default_value = "127.0.0.1")]
    host: String,
    /// A PostgreSQL server (e.g. `postgres://postgres@127.0.0.1:5432`) to use instead of SQLite;
    /// the databases `<prefix>_user`, `<prefix>_order`, … are created on it when missing.
    #[arg(long, env = "SHOP_POSTGRES_URL")]
    postgres: Option<String>,
    /// The prefix of the PostgreSQL databases' names.
    #[arg(long, env = "SHOP_DATABASE_PREFIX", default_value = "shop")]
    database_prefix: String,
    /// The most connections each service holds to PostgreSQL (six services share the server's
    /// `max_connections`). SQLite always uses one per service.
    #[arg(long, env = "SHOP_DATABASE_POOL_SIZE", default_value_t = shop_kit::db::DEFAULT_POOL_SIZE,
          value_parser = pool_size)]
    database_pool_size: u32,
    /// The first of the six consecutive ports, in the order of `shop_kit::topology::SERVICES`:
    /// user-svc, order-svc, payment-svc, stock-svc, delivery-svc, notify-svc.
    #[arg(long, env = "SHOP_BASE_PORT", default_value_t = 8081)]
    base_port: u16,
    /// The port of the front door, which routes every request by its path to its service as
    /// the chart's Ingress does (one base URL, one docs page at `/<service>/docs`); the port
    /// before `--base-port` unless set.
    #[arg(long, env = "SHOP_FRONT_PORT")]
    front_port: Option<u16>,
    /// Whether the services call each other over HTTP/2 (one multiplexed connection per
    /// callee) rather than HTTP/1.1: more orders per second under load, a little more latency
    /// for a lone shopper (the README's performance section has both).
    #[arg(long, env = "SHOP_CALLS_HTTP2", default_value_t = true, action = clap::ArgAction::Set)]
    calls_http2: bool,
    /// The proxies in front of the shop whose `X-Forwarded-For` (or `Forwarded`) names the
    /// client: addresses and CIDR blocks, comma-separated; none by default. The front door
    /// passes their chain on and names the peer it saw; from anyone else it names the peer
    /// alone. The services trust the front door (loopback) and these.
    #[arg(long, env = "SHOP_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: shop_kit::proxies::TrustedProxies,
    /// The header the proxies in front of the shop name the client in: `x-forwarded-for` or
    /// `forwarded` (RFC 7239).
    #[arg(long, env = "SHOP_FORWARDED_HEADER", default_value = "x-forwarded-for")]
    forwarded_header: shop_kit::proxies::ForwardedHeader,
    /// Start signing tokens with a new key. Tokens signed with the current key stay valid until
    /// they expire; those of the key before it are refused from now on.
    #[arg(long)]
    rotate_signing_key: bool,
}

/// What `shop` does besides running the shop.
#[derive(Subcommand, Debug)]
enum Command {
    /// Copy each service's database (while the shop runs: a consistent snapshot of each) and
    /// the secrets into a new directory, with a manifest. The embedded default only: on
    /// PostgreSQL, `pg_dump` each database (docs/operations.md#backups).
    Backup {
        /// The new directory.
        dir: std::path::PathBuf,
    },
    /// Put a backup made by `shop backup` in place of the data directory's databases and
    /// secrets. The shop must be stopped; start it afterwards and repair the books
    /// (`POST /admin/audit/repair`, docs/operations.md#backups).
    Restore {
        /// The backup's directory.
        dir: std::path::PathBuf,
    },
}

/// `--database-pool-size`, checked as the services check `SHOP_DATABASE_POOL_SIZE`.
fn pool_size(raw: &str) -> anyhow::Result<u32> {
    shop_kit::config::pool_size(raw.parse()?)
}

/// mimalloc gives back what a password hash (19 MiB) freed; glibc's malloc kept each one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // One process, one `service.name`; each span names its service in `shop.service`.
    let _telemetry = shop_kit::telemetry::init("shop");
    let args = Args::parse();
    let done = match &args.command {
        Some(command) => manage(command, &args),
        None => start(args).await,
    };
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line (e.g. the port in use), not a backtrace.
            eprintln!("shop: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Backs the data directory up, or restores it.
fn manage(command: &Command, args: &Args) -> anyhow::Result<()> {
    if args.postgres.is_some() {
        anyhow::bail!(
            "on PostgreSQL, back up and restore each database with pg_dump and pg_restore \
             (docs/operations.md#backups)"
        );
    }
    match command {
        Command::Backup { dir } => {
            let manifest = backup::backup(&args.data_dir, dir)?;
            for d in &manifest.databases {
                println!("{:<13} {} bytes at {}", d.service, d.bytes, d.taken_at);
            }
            println!(
                "backed up into {} ({} secrets beside the databases)",
                dir.display(),
                manifest.secrets.len()
            );
        }
        Command::Restore { dir } => {
            std::fs::create_dir_all(&args.data_dir)?;
            // A running shop holds the lock: its data is never overwritten.
            let _lock = secrets::lock_data_dir(&args.data_dir)?;
            let manifest = backup::restore(dir, &args.data_dir)?;
            println!(
                "restored the backup of {} into {}: start the shop, then repair the books \
                 (POST /admin/audit/repair?apply=true as the admin, page by page)",
                manifest.started_at,
                args.data_dir.display()
            );
        }
    }
    Ok(())
}

async fn start(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create the data directory {}: {e}",
            args.data_dir.display()
        )
    })?;
    let _lock = secrets::lock_data_dir(&args.data_dir)?;
    let (signing_key, previous_keys) =
        secrets::signing_keys(&args.data_dir, args.rotate_signing_key)?;
    println!("tokens are signed with key {}", signing_key.kid());
    let auth = AuthConfig::signing(signing_key, &previous_keys, 900);
    let (internal_token, _) = secrets::load_or_create(&args.data_dir, "internal-token")?;
    let admin_password = match env_opt("SHOP_ADMIN_PASSWORD") {
        Some(p) => Secret::new(p),
        None => {
            let (password, created) = secrets::load_or_create(&args.data_dir, "admin-password")?;
            let path = args.data_dir.join("admin-password");
            let verb = if created { "generated" } else { "kept" };
            println!("admin password {verb} in {} (user: admin)", path.display());
            password
        }
    };
    let mut limits = shop_kit::server::ServerLimits::from_env()?;
    // Run by hand, nothing routes to the shop through endpoints that learn of its shutdown
    // late: it stops at once unless told otherwise.
    if env_opt("SHOP_SHUTDOWN_DELAY_SECS").is_none() {
        limits.shutdown_delay = std::time::Duration::ZERO;
    }
    shop_kit::server::fit_open_files(&limits, SERVICES.len());
    let port = |service: &ServiceInfo| {
        service
            .consecutive_port(args.base_port)
            .ok_or_else(|| anyhow::anyhow!("--base-port {} is too high", args.base_port))
    };
    let local = |service: &ServiceInfo| port(service).map(|p| format!("http://127.0.0.1:{p}"));
    let mut services = Vec::with_capacity(SERVICES.len());
    for service in &SERVICES {
        let database_url = match &args.postgres {
            Some(server) => {
                let name = format!("{}_{}", args.database_prefix, service.short);
                shop_kit::db::ensure_postgres_database(server, &name).await?
            }
            None => format!(
                "sqlite://{}?mode=rwc",
                args.data_dir
                    .join(format!("{}.sqlite", service.short))
                    .display()
            ),
        };
        let mut common = CommonConfig::in_process(
            service,
            &args.host,
            port(service)?,
            database_url,
            &auth,
            &internal_token,
        );
        common.database_pool_size = args.database_pool_size;
        common.limits = limits;
        common.calls = shop_kit::client::Protocol::chosen(args.calls_http2);
        common.proxies = shop_kit::proxies::TrustedProxies::loopback().and(&args.trusted_proxies);
        services.push(match *service {
            USER => {
                user_svc::App::build(user_svc::Config {
                    common,
                    payment_url: local(&PAYMENT)?,
                    admin_password: Some(admin_password.clone()),
                    hashing: user_svc::HashLimits::from_env()?,
                })
                .await?
            }
            ORDER => {
                let urls = order_svc::ServiceUrls {
                    payment: local(&PAYMENT)?,
                    stock: local(&STOCK)?,
                    delivery: local(&DELIVERY)?,
                    notify: local(&NOTIFY)?,
                    others: Vec::new(),
                };
                order_svc::App::build(order_svc::Config::new(common, urls).tuned_from_env()?)
                    .await?
            }
            PAYMENT => payment_svc::App::build(common).await?,
            STOCK => stock_svc::App::build(common).await?,
            DELIVERY => delivery_svc::App::build(common).await?,
            NOTIFY => notify_svc::App::build(common).await?,
            other => anyhow::bail!("{}: not a service of the shop", other.name),
        });
    }
    let front_port = args
        .front_port
        .or_else(|| args.base_port.checked_sub(1))
        .ok_or_else(|| anyhow::anyhow!("--base-port 0 leaves no port for the front door"))?;
    let mut door_proxies = args.trusted_proxies.clone();
    door_proxies.header = args.forwarded_header;
    let door = front::FrontDoor::new(
        |s| {
            let port = s.consecutive_port(args.base_port).unwrap_or(s.default_port);
            format!("http://127.0.0.1:{port}")
        },
        door_proxies,
    )?;
    let listener = TcpListener::bind(format!("{}:{front_port}", args.host));
    let acceptor = listener
        .into_acceptor()
        .await
        .map_err(|e| anyhow::anyhow!("front door on port {front_port}: {e}"))?;
    run(services, (door, acceptor, front_port), &args.host).await
}

/// The front door, where it listens, and its port.
type Front = (front::FrontDoor, poem::listener::TcpAcceptor, u16);

/// Runs every service and the front door until Ctrl-C or SIGTERM, then shuts them all down.
async fn run(
    services: Vec<Service>,
    (door, acceptor, port): Front,
    host: &str,
) -> anyhow::Result<()> {
    let shown = if host == "0.0.0.0" { "127.0.0.1" } else { host };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let front = format!("http://{shown}:{port}");
    println!(
        "{:<13} {front}/  open it: the docs page of all six services",
        "front door"
    );
    let mut stop = stop_rx.clone();
    tasks.spawn(async move {
        let server = poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
            door,
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
            Some(std::time::Duration::from_secs(5)),
        );
        ("front door", server.await)
    });
    for service in services {
        let url = format!("http://{shown}:{}", service.port());
        let docs = shop_kit::topology::service(service.name()).map_or("", |s| s.short);
        println!(
            "{:<13} {url}  Swagger UI: {url}/{docs}/docs",
            service.name()
        );
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let name = service.name();
            let result = service.run_until(async move {
                let _ = stop.wait_for(|s| *s).await;
            });
            (name, result.await)
        });
    }
    println!("shop is running; Ctrl-C stops it");
    shop_kit::server::shutdown_signal().await;
    println!("stopping…");
    let _ = stop_tx.send(true);
    while let Some(done) = tasks.join_next().await {
        if let Ok((name, Err(e))) = done {
            eprintln!("{name} stopped with an error: {e}");
        }
    }
    Ok(())
}
