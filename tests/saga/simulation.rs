//! A seeded random simulation: for each seed, hundreds of orders of one or several products
//! from concurrent shoppers (each retried with its `Idempotency-Key` until it gets an answer)
//! against scarce funds, stock and couriers, a share of them cancelled by their shoppers once
//! placed (the refund saga, retried with a key of its own), while the fault layer injects
//! random faults at a seeded rate, crashes order-svc at random call boundaries, and order-svc is
//! also killed at random instants. Afterwards every order is terminal, every 201 is completed
//! or was refunded by its cancellation, every accepted cancellation is refunded, and the
//! invariants hold.
//!
//! The seed is printed: `SHOP_SIM_SEEDS=<seed>` replays one (the fault plan is the seed's; the
//! threads' interleaving is not). `SHOP_SIM_SEEDS`, `SHOP_SIM_ORDERS` and `SHOP_SIM_KILLS` make a
//! longer run.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use shop_tests::{Api, Fault, Shopper, TestShop};
use tokio::task::JoinSet;
use uuid::Uuid;

/// The seeds CI runs.
const CI_SEEDS: [u64; 3] = [7, 1_337, 20_261_121];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seeds() -> Vec<u64> {
    match std::env::var("SHOP_SIM_SEEDS") {
        Ok(v) if !v.trim().is_empty() => v
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .expect("SHOP_SIM_SEEDS: comma-separated numbers")
            })
            .collect(),
        _ => CI_SEEDS.to_vec(),
    }
}

/// What a shopper's order got in the end, and its cancellation when the shopper cancelled.
#[derive(Debug)]
struct Answer {
    status: u16,
    order_id: Option<Uuid>,
    cancel: Option<u16>,
}

/// What a shopper sends until it is answered.
#[derive(Clone, Copy)]
enum Request<'a> {
    /// `POST /orders` with this body.
    Place(&'a Value),
    /// `POST /orders/{id}/cancel`.
    Cancel(Uuid),
}

/// Sends a request until it gets an answer that is not "try again": through crashes (no
/// answer), a first request still running (409 without an order) and nothing recorded (503
/// without an order).
async fn until_answered(
    api: &Api,
    shopper: &Shopper,
    request: Request<'_>,
    key: &str,
) -> (u16, Value) {
    let started = Instant::now();
    loop {
        let sent = match request {
            Request::Place(body) => api.try_place(shopper, body.clone(), Some(key)).await,
            Request::Cancel(id) => api.try_cancel(shopper, id, Some(key)).await,
        };
        if let Ok(shop_tests::Answer { status, body }) = sent {
            let order_id = body["id"].as_str().or_else(|| body["order_id"].as_str());
            if order_id.is_some() || status.is_client_error() && status != 409 {
                return (status.as_u16(), body);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "order {key} never got an answer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Places one order and, when `cancel`, cancels it once it is no longer pending (a cancel of a
/// pending order is 409: it is tried again).
async fn place(api: Api, shopper: Shopper, body: Value, key: String, cancel: bool) -> Answer {
    let (status, answer) = until_answered(&api, &shopper, Request::Place(&body), &key).await;
    let order_id = answer["id"]
        .as_str()
        .or_else(|| answer["order_id"].as_str())
        .and_then(|id| id.parse().ok());
    let mut placed = Answer {
        status,
        order_id,
        cancel: None,
    };
    let Some(id) = placed.order_id.filter(|_| cancel) else {
        return placed;
    };
    let started = Instant::now();
    for attempt in 1.. {
        // A key keeps its first answer, a 409 included: each new try has a key of its own.
        let key = format!("{key}-cancel-{attempt}");
        let (status, answer) = until_answered(&api, &shopper, Request::Cancel(id), &key).await;
        if status != 409 {
            placed.cancel = Some(status);
            break;
        }
        // Refused while pending (it may have completed since: try again), or for good.
        let every = ["pending", "completed", "cancelled", "needs_attention"];
        let order = api.wait_order(&shopper, id, &every).await;
        if order.status != "pending" && order.status != "completed" {
            assert_eq!(order.status, "cancelled", "{id}: cancel refused: {answer}");
            placed.cancel = Some(status);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{id}: the order stayed {} and its cancel kept answering {status} {answer}: {order:?}",
            order.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    placed
}

async fn run(seed: u64, orders: usize, kills: u32) {
    println!(
        "simulation seed {seed}: {orders} orders, up to {kills} kills (replay: SHOP_SIM_SEEDS={seed})"
    );
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut shop = TestShop::spawn_with(|c| {
        c.saga.lease_ttl = Duration::from_secs(1);
        c.saga.recovery_interval = Duration::from_millis(100);
        c.saga.call_timeout = Duration::from_millis(300);
        c.saga.call_retries = 1;
        c.saga.release_attempts = 1000;
        c.saga.retry_backoff = Duration::from_millis(50);
        c.saga.retry_backoff_max = Duration::from_millis(500);
        c.saga.key_lock = Duration::from_secs(2);
    })
    .await;
    let api = shop.api.clone();
    let admin = api.admin().await;
    let mut shoppers = Vec::new();
    for i in 0..8 {
        let s = api.register(&format!("sim{i}")).await;
        api.deposit(&s, rng.random_range(200..2_000)).await;
        shoppers.push(s);
    }
    let mut products = Vec::new();
    for _ in 0..3 {
        let price = rng.random_range(5..50);
        products.push(
            api.add_product(&admin, price, rng.random_range(20..200))
                .await,
        );
    }
    for _ in 0..2 {
        api.add_courier(&admin, rng.random_range(10..60)).await;
    }
    let today = chrono::Utc::now().date_naive();

    shop.faults.chaos(
        seed,
        0.06,
        &[
            Fault::Answer(503),
            Fault::Answer(500),
            Fault::Delay(Duration::from_millis(400)),
            Fault::DropAnswer,
            Fault::Twice,
            Fault::ReleaseFirst,
            Fault::CrashBefore,
            Fault::CrashAfter,
        ],
        kills,
    );
    let mut clients = JoinSet::new();
    let mut waiting = (0..orders).collect::<Vec<_>>().into_iter();
    let mut spawn_next = |clients: &mut JoinSet<(String, Answer)>, rng: &mut StdRng| {
        let Some(i) = waiting.next() else { return };
        let shopper = shoppers[rng.random_range(0..shoppers.len())].clone();
        let date = today + chrono::Days::new(rng.random_range(1..=3));
        let body = if rng.random_bool(0.3) {
            // Two or three products, in a random order.
            let mut chosen = products.clone();
            chosen.shuffle(rng);
            chosen.truncate(rng.random_range(2..=3));
            let items: Vec<Value> = chosen
                .iter()
                .map(|p| json!({"product_id": p, "quantity": rng.random_range(1..=3)}))
                .collect();
            json!({"items": items, "delivery_date": date})
        } else {
            json!({
                "product_id": products[rng.random_range(0..products.len())],
                "quantity": rng.random_range(1..=5),
                "delivery_date": date,
            })
        };
        let cancel = rng.random_bool(0.25);
        let key = format!("sim-{seed}-{i}");
        let api = api.clone();
        clients.spawn(async move {
            let answer = place(api, shopper, body, key.clone(), cancel).await;
            (key, answer)
        });
    };
    for _ in 0..32 {
        spawn_next(&mut clients, &mut rng);
    }
    let mut answers = BTreeMap::new();
    let (mut crashes, mut timed_kills) = (0u32, 0u32);
    let mut next_kill = Instant::now() + Duration::from_millis(rng.random_range(300..1500));
    while !clients.is_empty() {
        tokio::select! {
            done = clients.join_next() => {
                if let Some(done) = done {
                    let (key, answer) = done.expect("client");
                    answers.insert(key, answer);
                    spawn_next(&mut clients, &mut rng);
                }
            }
            _ = shop.faults.crash_asked() => {
                crashes += 1;
                shop.restart_order().await;
            }
            _ = tokio::time::sleep_until(next_kill.into()), if timed_kills < kills => {
                timed_kills += 1;
                shop.restart_order().await;
                next_kill = Instant::now() + Duration::from_millis(rng.random_range(300..1500));
            }
        }
    }
    let injected = shop.faults.injected();
    shop.faults.clear();
    shop.settle().await;

    let store = shop.order_store().await;
    let all = store.all_orders().await.expect("orders");
    let status_of = |id: Uuid| all.iter().find(|o| o.id == id).map(|o| o.status.as_str());
    let mut seen = BTreeMap::<u16, usize>::new();
    let mut cancels = BTreeMap::<u16, usize>::new();
    for (key, a) in &answers {
        *seen.entry(a.status).or_default() += 1;
        let Some(id) = a.order_id else { continue };
        let status = status_of(id);
        match (a.status, a.cancel) {
            (_, Some(200 | 202)) => assert_eq!(status, Some("refunded"), "seed {seed}: {key}"),
            (201, _) => assert_eq!(status, Some("completed"), "seed {seed}: {key} saw 201"),
            (402 | 409 | 503, _) => assert_eq!(status, Some("cancelled"), "seed {seed}: {key}"),
            _ => {}
        }
        if let Some(c) = a.cancel {
            *cancels.entry(c).or_default() += 1;
        }
    }
    assert_eq!(answers.len(), orders, "seed {seed}: every order answered");
    let count = |s: &str| all.iter().filter(|o| o.status == s).count();
    println!(
        "simulation seed {seed}: {} orders recorded ({} completed, {} cancelled, {} refunded), \
         answers {seen:?}, cancellations {cancels:?}, faults {injected:?}, {crashes} crashes at \
         call boundaries and {timed_kills} at random instants, {:.1} s",
        all.len(),
        count("completed"),
        count("cancelled"),
        count("refunded"),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_simulation_with_random_faults_and_crashes() {
    let orders = env_or("SHOP_SIM_ORDERS", 200);
    let kills = env_or("SHOP_SIM_KILLS", 3);
    for seed in seeds() {
        run(seed, orders, kills).await;
    }
}
