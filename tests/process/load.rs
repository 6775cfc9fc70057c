//! Shoppers ordering against the `shop` binary while a test does something to it, and the
//! check every such test ends with: each order a client saw answered 201 is stored completed,
//! each 202 is stored (or, when the database's answer came too late, not stored and its key free
//! for a repeat), no 503 was answered for an order that is stored, and every stored order was
//! answered 2xx or is reachable through its key.

use std::collections::BTreeMap;

use sea_orm_migration::sea_orm::EntityTrait;
use uuid::Uuid;

use super::*;

/// What a client saw for one order, and how long it waited.
pub(super) struct Seen {
    pub(super) status: Option<u16>,
    pub(super) order_id: Option<String>,
    pub(super) took: Duration,
    /// The request's `Idempotency-Key`.
    pub(super) key: String,
}

/// A stocked shop: one product (100,000 units at 10), a courier for 10,000 a day, and
/// `shoppers` shoppers named `<prefix>N` with 1,000,000 each. The product's id and the shoppers.
pub(super) async fn stocked(api: &Api, prefix: &str, shoppers: usize) -> (String, Vec<Shopper>) {
    let admin = api.admin().await;
    let product = api.add_product(&admin, 10, 100_000).await.to_string();
    api.add_courier(&admin, 10_000).await;
    let mut all = Vec::new();
    for i in 0..shoppers {
        let s = api.register(&format!("{prefix}{i}")).await;
        api.deposit(&s, 1_000_000).await;
        all.push(s);
    }
    (product, all)
}

/// Shoppers placing orders, each with its own idempotency key, until stopped.
pub(super) struct Load {
    stop: Arc<AtomicBool>,
    /// Orders answered, whatever the answer.
    pub(super) answered: Arc<AtomicUsize>,
    /// Orders answered 201.
    pub(super) completed: Arc<AtomicUsize>,
    clients: JoinSet<Vec<Seen>>,
}

impl Load {
    /// Starts one client per shopper.
    pub(super) fn start(api: &Api, product: &str, shoppers: Vec<Shopper>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let completed = Arc::new(AtomicUsize::new(0));
        let mut clients = JoinSet::new();
        for s in shoppers {
            clients.spawn(shop_until(
                api.clone(),
                s,
                product.to_owned(),
                stop.clone(),
                (answered.clone(), completed.clone()),
            ));
        }
        Self {
            stop,
            answered,
            completed,
            clients,
        }
    }

    /// Waits (up to 60 s) until `counter` (one of this load's) reaches `n`.
    pub(super) async fn wait_for(counter: &AtomicUsize, n: usize) {
        let started = Instant::now();
        while counter.load(Ordering::Relaxed) < n {
            assert!(started.elapsed() < Duration::from_secs(60), "no load");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the clients; what each saw.
    pub(super) async fn finish(self) -> Vec<Seen> {
        self.stop.store(true, Ordering::Relaxed);
        self.clients
            .join_all()
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

/// Places orders for `shopper` until `stop`, each with its own idempotency key; a client
/// whose request gets no answer at all stops (the shop is gone).
async fn shop_until(
    api: Api,
    shopper: Shopper,
    product: String,
    stop: Arc<AtomicBool>,
    (answered, completed): (Arc<AtomicUsize>, Arc<AtomicUsize>),
) -> Vec<Seen> {
    let url = format!("{}/orders", api.order);
    let mut seen = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("{}-{n}", shopper.username);
        let body = json!({"product_id": product, "quantity": 1});
        let headers = [("Idempotency-Key", key.as_str())];
        let started = Instant::now();
        let answer = api
            .try_send(
                Method::POST,
                &url,
                Some(&shopper.token),
                Some(body),
                &headers,
            )
            .await;
        let took = started.elapsed();
        let Ok((status, answer)) = answer else {
            seen.push(Seen {
                status: None,
                order_id: None,
                took,
                key,
            });
            break;
        };
        answered.fetch_add(1, Ordering::Relaxed);
        if status.as_u16() == 201 {
            completed.fetch_add(1, Ordering::Relaxed);
        } else if took < Duration::from_millis(20) {
            tokio::time::sleep(Duration::from_millis(20)).await; // no busy loop on quick 503s
        }
        let order_id = answer["id"].as_str().or(answer["order_id"].as_str());
        seen.push(Seen {
            status: Some(status.as_u16()),
            order_id: order_id.map(str::to_owned),
            took,
            key,
        });
    }
    seen
}

/// Checks every answer against the stored orders: a 201 is stored completed, a 202 is stored.
/// The answers counted by status (`none`: no answer), and how many orders are stored.
pub(super) async fn check_answers(
    dbs: &Databases,
    seen: &[Seen],
) -> (BTreeMap<String, usize>, usize) {
    let orders = order_svc::store::OrderStore::new(dbs.connect("order").await);
    let all = orders.all_orders().await.unwrap();
    let keys: std::collections::HashMap<String, Option<Uuid>> =
        order_svc::store::idempotency_key::Entity::find()
            .all(&dbs.connect("order").await)
            .await
            .unwrap()
            .into_iter()
            .map(|k| (k.key, k.order_id))
            .collect();
    let mut by_status = BTreeMap::<String, usize>::new();
    for s in seen {
        let status = s.status.map_or("none".into(), |s| s.to_string());
        *by_status.entry(status).or_default() += 1;
        let stored = s
            .order_id
            .as_deref()
            .and_then(|id| all.iter().find(|o| o.id.to_string() == id))
            .map(|o| o.status.as_str());
        // The order a key holds: `None` when the key is free (forgotten, or holding none).
        let held = keys.get(&s.key).copied().flatten().map(|id| id.to_string());
        match s.status {
            Some(201) => assert_eq!(
                stored,
                Some("completed"),
                "{:?} was answered 201",
                s.order_id
            ),
            Some(202) => assert!(
                stored.is_some() || held.is_none(),
                "{:?} was answered 202, is not stored, and its key {} is not free",
                s.order_id,
                s.key
            ),
            Some(503) => {
                assert_eq!(s.order_id, None, "a 503 named an order: {}", s.key);
                assert_eq!(
                    held, None,
                    "{} was answered 503 and its order is stored",
                    s.key
                );
            }
            _ => {}
        }
    }
    let answered: std::collections::HashSet<&str> = seen
        .iter()
        .filter(|s| s.status.is_some_and(|s| (200..300).contains(&s)))
        .filter_map(|s| s.order_id.as_deref())
        .collect();
    let reachable: std::collections::HashSet<String> =
        keys.values().flatten().map(Uuid::to_string).collect();
    for o in &all {
        let id = o.id.to_string();
        assert!(
            answered.contains(id.as_str()) || reachable.contains(&id),
            "order {id} ({}) was answered no 2xx and no key leads to it",
            o.status
        );
    }
    (by_status, all.len())
}
