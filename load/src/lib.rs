//! shop-load drives a running shop over HTTP exactly as shoppers do. It creates its own
//! shoppers (with deposits), products and couriers through the public API, places orders in a
//! closed loop at a given concurrency (or at a target rate), measures every answer into an HDR
//! histogram, measures the bare `GET /health/live` rate at the same concurrency for comparison,
//! and then checks the books of everything it created: money and stock conserved, nothing left
//! reserved, one message per finished order.

use std::time::Duration;

mod books;
pub mod calls;
mod client;
pub mod commits;
pub mod cpu;
mod drive;
mod report;
mod setup;

pub use books::Books;
pub use report::Report;

/// Where the six services answer.
#[derive(Debug, Clone)]
pub struct Urls {
    /// user-svc.
    pub user: String,
    /// order-svc.
    pub order: String,
    /// payment-svc.
    pub payment: String,
    /// stock-svc.
    pub stock: String,
    /// delivery-svc.
    pub delivery: String,
    /// notify-svc.
    pub notify: String,
}

impl Urls {
    /// The `shop` binary's layout: six consecutive ports from `base_port` on `host`.
    pub fn consecutive(host: &str, base_port: u16) -> Self {
        use shop_kit::topology::{DELIVERY, NOTIFY, ORDER, PAYMENT, STOCK, ServiceInfo, USER};
        let at = |s: ServiceInfo| {
            let port = s.consecutive_port(base_port).unwrap_or(s.default_port);
            format!("http://{host}:{port}")
        };
        Self {
            user: at(USER),
            order: at(ORDER),
            payment: at(PAYMENT),
            stock: at(STOCK),
            delivery: at(DELIVERY),
            notify: at(NOTIFY),
        }
    }
}

/// How long a run places orders.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    /// For this long.
    Time(Duration),
    /// This many orders.
    Orders(u64),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Orders in flight at once (closed loop), or at most in flight (open loop).
    pub concurrency: usize,
    /// How long.
    pub length: Length,
    /// Orders per second to start, whatever the answers' pace (open loop); `None`: closed loop.
    pub rate: Option<f64>,
    /// Shoppers to create (each order is placed by the next one, with its token).
    pub shoppers: usize,
    /// Products to create.
    pub products: usize,
    /// Couriers to create.
    pub couriers: usize,
    /// Mix in refusals (a shopper without money, a product without stock) and reads
    /// (`GET /orders`, `GET /products`).
    pub mix: bool,
    /// Draw a progress bar on a terminal.
    pub progress: bool,
    /// How long to measure `GET /health/live` for the comparison (zero: not at all).
    pub health: Duration,
    /// The shop's process, whose CPU time the orders phase costs (`None`: not measured).
    pub shop_pid: Option<i32>,
    /// The shop's PostgreSQL databases, whose commits the orders phase costs (`None`: not
    /// counted).
    pub postgres: Option<commits::ShopDatabases>,
}

/// Runs `plan` against the shop at `urls`, logged in as the admin with `admin_password`.
pub async fn run(urls: &Urls, admin_password: &str, plan: &Plan) -> anyhow::Result<Report> {
    let http = client::Http::new(plan.concurrency)?;
    let world = std::sync::Arc::new(setup::World::create(&http, urls, admin_password, plan).await?);
    let counter = match &plan.postgres {
        Some(dbs) => Some(commits::Counter::connect(dbs).await?),
        None => None,
    };
    let commits_before = match &counter {
        Some(c) => Some(c.commits_after().await?),
        None => None,
    };
    let calls_before = calls::so_far(urls).await;
    let cpu_before = plan.shop_pid.and_then(cpu::seconds);
    let orders = drive::orders(&http, urls, world.clone(), plan).await;
    let cpu_after = plan.shop_pid.and_then(cpu::seconds);
    let calls = calls_before
        .zip(calls::so_far(urls).await)
        .map(|(b, a)| a - b);
    let cpu = cpu_before.zip(cpu_after).map(|(b, a)| a - b);
    let commits = match (&counter, commits_before) {
        (Some(c), Some(before)) => Some(c.commits_after().await? - before),
        _ => None,
    };
    let health = if plan.health.is_zero() {
        None
    } else {
        Some(drive::health(&http, urls, plan.concurrency, plan.health).await)
    };
    let books = books::check(&http, urls, &world).await?;
    Ok(Report::new(
        plan,
        orders,
        health,
        books,
        report::Costs {
            cpu,
            commits,
            calls,
        },
    ))
}
