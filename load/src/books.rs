//! The books of a run, read back through the public API once every order has finished: each
//! shopper's deposit is its balance plus what its completed orders captured, nothing stays
//! reserved, each product's stock is what is available plus what completed orders sold, and
//! every finished order sent its shopper exactly one message.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::Urls;
use crate::client::Http;
use crate::setup::{Shopper, World};

/// How long the books wait for the sagas, the recovery driver and the outbox to make progress
/// after the run: they wait as long as the backlog shrinks, and give up after this long without
/// progress (a large run leaves thousands of messages for the outbox to deliver).
const STALL: Duration = Duration::from_secs(30);

/// What the books say.
#[derive(Debug, Clone, Serialize)]
pub struct Books {
    /// Orders the run's shoppers have, all finished.
    pub orders: u64,
    /// Of which completed.
    pub completed: u64,
    /// Of which cancelled.
    pub cancelled: u64,
    /// Every way the books do not balance; empty when they do.
    pub problems: Vec<String>,
}

impl Books {
    /// Whether money, stock and messages all balance.
    pub fn balanced(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Waits until every order of the run has finished and its message arrived, then checks.
pub async fn check(http: &Http, urls: &Urls, world: &World) -> anyhow::Result<Books> {
    let shoppers: Vec<&Shopper> = world.shoppers.iter().chain(world.poor.iter()).collect();
    let mut books = Books {
        orders: 0,
        completed: 0,
        cancelled: 0,
        problems: Vec::new(),
    };
    let mut sold: HashMap<Uuid, i64> = HashMap::new();
    for s in &shoppers {
        let orders = finished_orders(http, urls, s).await?;
        let mut captured = 0;
        for o in &orders {
            books.orders += 1;
            if o["status"] == "completed" {
                books.completed += 1;
                captured += o["total"].as_i64().unwrap_or(0);
                for line in o["items"].as_array().into_iter().flatten() {
                    if let Some(p) = line["product_id"].as_str().and_then(|p| p.parse().ok()) {
                        *sold.entry(p).or_default() += line["quantity"].as_i64().unwrap_or(0);
                    }
                }
            } else {
                books.cancelled += 1;
            }
        }
        let url = format!("{}/balance", urls.payment);
        let b = http
            .expect(Method::GET, &url, Some(&s.token), None, StatusCode::OK)
            .await?;
        let (balance, reserved) = (num(&b, "balance"), num(&b, "reserved"));
        if reserved != 0 {
            books
                .problems
                .push(format!("shopper {}: {reserved} still reserved", s.id));
        }
        if balance + reserved + captured != s.deposit {
            books.problems.push(format!(
                "shopper {}: deposited {}, but balance {balance} + reserved {reserved} + captured {captured} = {}",
                s.id,
                s.deposit,
                balance + reserved + captured
            ));
        }
        let messages = messages_for(http, urls, s, orders.len()).await?;
        if messages != orders.len() {
            books.problems.push(format!(
                "shopper {}: {} finished orders but {messages} messages",
                s.id,
                orders.len()
            ));
        }
    }
    for p in world.products.iter().chain(world.empty.iter()) {
        let url = format!("{}/products/{}", urls.stock, p.id);
        let product = http
            .expect(Method::GET, &url, None, None, StatusCode::OK)
            .await?;
        let available = num(&product, "available");
        let gone = sold.get(&p.id).copied().unwrap_or(0);
        if available + gone != p.stocked {
            books.problems.push(format!(
                "product {}: stocked {}, but available {available} + sold {gone} = {}",
                p.id,
                p.stocked,
                available + gone
            ));
        }
    }
    Ok(books)
}

fn num(v: &Value, field: &str) -> i64 {
    v[field].as_i64().unwrap_or(i64::MIN)
}

/// A shopper's orders once none is pending (waiting while some still finish).
async fn finished_orders(http: &Http, urls: &Urls, s: &Shopper) -> anyhow::Result<Vec<Value>> {
    let url = format!("{}/orders", urls.order);
    let mut progress = Progress::new();
    loop {
        let orders = http.all_pages(&url, &s.token).await?;
        let pending = orders.iter().filter(|o| o["status"] == "pending").count();
        if pending == 0 {
            return Ok(orders);
        }
        if progress.stalled(usize::MAX - pending) {
            anyhow::bail!(
                "shopper {}: {pending} orders still pending, none finished for {STALL:?}",
                s.id
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many messages a shopper has, once there are `expected` (or none arrived for `STALL`).
async fn messages_for(
    http: &Http,
    urls: &Urls,
    s: &Shopper,
    expected: usize,
) -> anyhow::Result<usize> {
    let url = format!("{}/messages", urls.notify);
    let mut progress = Progress::new();
    loop {
        let n = http.all_pages(&url, &s.token).await?.len();
        if n >= expected || progress.stalled(n) {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether a count that should grow has stopped growing for `STALL`.
struct Progress {
    best: Option<usize>,
    since: Instant,
}

impl Progress {
    fn new() -> Self {
        Self {
            best: None,
            since: Instant::now(),
        }
    }

    fn stalled(&mut self, now: usize) -> bool {
        if self.best.is_none_or(|best| now > best) {
            self.best = Some(now);
            self.since = Instant::now();
        }
        self.since.elapsed() > STALL
    }
}
