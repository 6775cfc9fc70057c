//! The load itself: orders in a closed loop (each of `concurrency` workers places its next order
//! when the last one is answered) or an open loop (orders start at a fixed rate, and latency
//! counts from when each should have started), and the bare health check for comparison.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::client::Http;
use crate::setup::World;
use crate::{Length, Plan, Urls};

/// What the orders phase measured.
pub struct Measured {
    /// 201: paid, stock sold, courier booked.
    pub completed: u64,
    /// 202: still running when answered (finished in the background), or cancelled because a
    /// participant stayed unreachable (`failure_reason: service_unavailable`).
    pub accepted: u64,
    /// 402/409: refused by the saga.
    pub refused: u64,
    /// Anything else, or no answer.
    pub errors: u64,
    /// `GET /orders` and `GET /products` answered (with `--mix`).
    pub reads: u64,
    /// How long the orders phase took.
    pub elapsed: Duration,
    /// Latency of every `POST /orders`, in microseconds.
    pub latency: Histogram<u64>,
}

#[derive(Default)]
struct Counts {
    started: AtomicU64,
    completed: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    errors: AtomicU64,
    reads: AtomicU64,
}

struct Ctx {
    http: Http,
    urls: Urls,
    world: Arc<World>,
    plan: Plan,
    counts: Counts,
    deadline: Option<Instant>,
    stop: AtomicBool,
}

impl Ctx {
    /// Takes the next order's number, or `None` when the run is over.
    fn next_order(&self) -> Option<u64> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let n = self.counts.started.fetch_add(1, Ordering::Relaxed);
        let over = match (self.plan.length, self.deadline) {
            (Length::Orders(total), _) => n >= total,
            (Length::Time(_), Some(deadline)) => Instant::now() >= deadline,
            (Length::Time(_), None) => true,
        };
        (!over).then_some(n)
    }

    /// One action: with `--mix`, one in ten is a read, one in twenty an order by the shopper
    /// without money, one in twenty of the product without stock; otherwise an order. Returns
    /// whether it was an order (for the latency histogram).
    async fn act(&self, n: u64, rng: &mut StdRng) -> bool {
        let w = &self.world;
        let roll: f64 = rng.random();
        let shopper = &w.shoppers[(n as usize) % w.shoppers.len()];
        if self.plan.mix && roll < 0.1 {
            let url = if roll < 0.05 {
                format!("{}/orders?limit=10", self.urls.order)
            } else {
                format!("{}/products?limit=10", self.urls.stock)
            };
            if let Ok(a) = self
                .http
                .send(Method::GET, &url, Some(&shopper.token), None)
                .await
                && a.status == StatusCode::OK
            {
                self.counts.reads.fetch_add(1, Ordering::Relaxed);
            } else {
                self.counts.errors.fetch_add(1, Ordering::Relaxed);
            }
            return false;
        }
        let shopper = match &w.poor {
            Some(poor) if self.plan.mix && roll < 0.15 => poor,
            _ => shopper,
        };
        let product = match &w.empty {
            Some(empty) if self.plan.mix && (0.15..0.2).contains(&roll) => empty,
            _ => &w.products[rng.random_range(0..w.products.len())],
        };
        let body = json!({"product_id": product.id, "quantity": 1});
        let url = format!("{}/orders", self.urls.order);
        let answer = self
            .http
            .send(Method::POST, &url, Some(&shopper.token), Some(&body))
            .await;
        let counter = match answer.map(|a| a.status.as_u16()) {
            Ok(201) => &self.counts.completed,
            Ok(202) => &self.counts.accepted,
            Ok(402 | 409) => &self.counts.refused,
            _ => &self.counts.errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        true
    }
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 10 minutes, 3 significant digits: the bounds are valid constants.
    Histogram::new_with_bounds(1, 600_000_000, 3).unwrap_or_else(|_| unreachable!())
}

fn record(h: &mut Histogram<u64>, since: Instant) {
    let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
    h.saturating_record(micros.max(1));
}

/// Places orders as `plan` says and measures them.
pub async fn orders(http: &Http, urls: &Urls, world: Arc<World>, plan: &Plan) -> Measured {
    let started = Instant::now();
    let ctx = Arc::new(Ctx {
        http: http.clone(),
        urls: urls.clone(),
        world,
        plan: plan.clone(),
        counts: Counts::default(),
        deadline: match plan.length {
            Length::Time(d) => Some(started + d),
            Length::Orders(_) => None,
        },
        stop: AtomicBool::new(false),
    });
    let bar = progress(plan);
    let latency = Arc::new(Mutex::new(histogram()));
    let work = async {
        match plan.rate {
            None => closed_loop(&ctx, &latency).await,
            Some(rate) => open_loop(&ctx, &latency, rate).await,
        }
    };
    let ticker = async {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let c = &ctx.counts;
            let done = c.completed.load(Ordering::Relaxed)
                + c.accepted.load(Ordering::Relaxed)
                + c.refused.load(Ordering::Relaxed)
                + c.errors.load(Ordering::Relaxed);
            let secs = started.elapsed().as_secs_f64().max(0.001);
            match plan.length {
                Length::Time(_) => bar.set_position(started.elapsed().as_secs()),
                Length::Orders(_) => bar.set_position(done),
            }
            bar.set_message(format!("{done} orders, {:.0}/s", done as f64 / secs));
        }
    };
    tokio::select! { _ = work => {}, _ = ticker => {} }
    bar.finish_and_clear();
    let c = &ctx.counts;
    Measured {
        completed: c.completed.load(Ordering::Relaxed),
        accepted: c.accepted.load(Ordering::Relaxed),
        refused: c.refused.load(Ordering::Relaxed),
        errors: c.errors.load(Ordering::Relaxed),
        reads: c.reads.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        latency: latency
            .lock()
            .map(|h| h.clone())
            .unwrap_or_else(|_| histogram()),
    }
}

fn progress(plan: &Plan) -> ProgressBar {
    if !plan.progress {
        return ProgressBar::hidden();
    }
    let (len, template) = match plan.length {
        Length::Time(d) => (d.as_secs(), "{bar:40} {pos}/{len} s  {msg}"),
        Length::Orders(n) => (n, "{bar:40} {pos}/{len}  {msg}"),
    };
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

async fn closed_loop(ctx: &Arc<Ctx>, latency: &Arc<Mutex<Histogram<u64>>>) {
    let workers = (0..ctx.plan.concurrency.max(1)).map(|k| {
        let (ctx, latency) = (ctx.clone(), latency.clone());
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(k as u64);
            let mut mine = histogram();
            while let Some(n) = ctx.next_order() {
                let t = Instant::now();
                if ctx.act(n, &mut rng).await {
                    record(&mut mine, t);
                }
            }
            if let Ok(mut all) = latency.lock() {
                let _ = all.add(&mine);
            }
        })
    });
    join_all(workers).await;
}

async fn open_loop(ctx: &Arc<Ctx>, latency: &Arc<Mutex<Histogram<u64>>>, rate: f64) {
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let permits = Arc::new(tokio::sync::Semaphore::new(ctx.plan.concurrency.max(1)));
    let start = Instant::now();
    let mut in_flight = tokio::task::JoinSet::new();
    let mut k = 0u64;
    while let Some(n) = ctx.next_order() {
        let due = start + interval.mul_f64(k as f64);
        k += 1;
        tokio::time::sleep_until(due.into()).await;
        let (ctx, latency, permits) = (ctx.clone(), latency.clone(), permits.clone());
        in_flight.spawn(async move {
            let Ok(_permit) = permits.acquire().await else {
                return;
            };
            let mut rng = StdRng::seed_from_u64(n);
            if ctx.act(n, &mut rng).await
                && let Ok(mut all) = latency.lock()
            {
                record(&mut all, due); // from when it should have started
            }
        });
        while in_flight.try_join_next().is_some() {}
    }
    in_flight.join_all().await;
}

/// `GET /health/live` of order-svc in a closed loop for `length`: answers per second.
pub async fn health(http: &Http, urls: &Urls, concurrency: usize, length: Duration) -> f64 {
    let url = format!("{}/health/live", urls.order);
    let deadline = Instant::now() + length;
    let answered = AtomicU64::new(0);
    let started = Instant::now();
    let answered = Arc::new(answered);
    let workers = (0..concurrency.max(1)).map(|_| {
        let (http, url, answered) = (http.clone(), url.clone(), answered.clone());
        tokio::spawn(async move {
            while Instant::now() < deadline {
                if let Ok(a) = http.send(Method::GET, &url, None, None).await
                    && a.status == StatusCode::OK
                {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    });
    join_all(workers).await;
    answered.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}
