//! `shop-load`: places orders against a running shop and prints what it measured.
//!
//! ```sh
//! cargo run --release -- --data-dir data &          # the shop
//! cargo run --release -p shop-load -- --data-dir data --concurrency 64 --duration 15
//! ```

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use shop_load::{Length, Plan, Urls};

/// Drives a running shop over HTTP as shoppers do, prints throughput and latency, and checks
/// the books of everything it created (exit status 2 when they do not balance).
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The shop's host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// user-svc's port; the five others follow (the `shop` binary's layout).
    #[arg(long, default_value_t = 8081)]
    base_port: u16,
    /// The admin's password (it creates the products and couriers).
    #[arg(long, env = "SHOP_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Or the shop's data directory, whose `admin-password` file holds it.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Orders in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of load (unless --orders is given).
    #[arg(long, default_value_t = 15.0)]
    duration: f64,
    /// Place this many orders instead of running for --duration.
    #[arg(long)]
    orders: Option<u64>,
    /// Start this many orders per second whatever the answers' pace (open loop), with at most
    /// --concurrency in flight; latency counts from when each should have started.
    #[arg(long)]
    rate: Option<f64>,
    /// Shoppers to create; each order is placed by the next one, with its own token.
    #[arg(long, default_value_t = 64)]
    shoppers: usize,
    /// Products to create.
    #[arg(long, default_value_t = 8)]
    products: usize,
    /// Couriers to create.
    #[arg(long, default_value_t = 8)]
    couriers: usize,
    /// Mix in refusals (a shopper without money, a product without stock) and reads.
    #[arg(long)]
    mix: bool,
    /// Seconds of `GET /health/live` at the same concurrency, for comparison (0: skip).
    #[arg(long, default_value_t = 5.0)]
    health_seconds: f64,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The shop's process id, whose CPU time per order is reported; by default the process
    /// that listens on order-svc's port, when it runs on this machine.
    #[arg(long)]
    shop_pid: Option<i32>,
    /// The PostgreSQL server the shop runs on (as `shop --postgres` names it): the run reports
    /// the transactions its databases committed per order.
    #[arg(long, env = "SHOP_POSTGRES_URL")]
    postgres: Option<String>,
    /// The prefix of the shop's PostgreSQL databases (`shop --database-prefix`).
    #[arg(long, env = "SHOP_DATABASE_PREFIX", default_value = "shop")]
    database_prefix: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shop-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let password = match (&args.admin_password, &args.data_dir) {
        (Some(p), _) => p.clone(),
        (None, Some(dir)) => std::fs::read_to_string(dir.join("admin-password"))
            .map_err(|e| anyhow::anyhow!("reading {}/admin-password: {e}", dir.display()))?
            .trim()
            .to_owned(),
        (None, None) => anyhow::bail!("give --admin-password, SHOP_ADMIN_PASSWORD or --data-dir"),
    };
    let seconds = |s: f64, what: &str| {
        Duration::try_from_secs_f64(s).map_err(|_| anyhow::anyhow!("{what} {s} is not a duration"))
    };
    let plan = Plan {
        concurrency: args.concurrency.max(1),
        length: match args.orders {
            Some(n) => Length::Orders(n),
            None => Length::Time(seconds(args.duration, "--duration")?),
        },
        rate: args.rate.filter(|r| *r > 0.0),
        shoppers: args.shoppers,
        products: args.products,
        couriers: args.couriers,
        mix: args.mix,
        progress: std::io::stderr().is_terminal(),
        health: seconds(args.health_seconds, "--health-seconds")?,
        shop_pid: args.shop_pid.or_else(|| {
            let order = shop_kit::topology::ORDER.consecutive_port(args.base_port)?;
            shop_load::cpu::listening_on(order)
        }),
        postgres: args
            .postgres
            .map(|server| shop_load::commits::ShopDatabases {
                server,
                prefix: args.database_prefix,
            }),
    };
    let urls = Urls::consecutive(&args.host, args.base_port);
    let report = shop_load::run(&urls, &password, &plan).await?;
    print!("{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(if report.books.balanced() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
