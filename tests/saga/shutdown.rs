//! A graceful shutdown (SIGTERM) stops accepting requests, lets the sagas in flight reach a
//! safe point, answers their requests, and leaves the orders to the next instance at once
//! (without waiting for their claims to run out).

use std::time::{Duration, Instant};

use serde_json::json;
use shop_tests::{Call, Fault, Order};

use crate::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_answers_in_flight_orders_and_the_next_instance_finishes_them() {
    // Claims last a minute: only a handed-over order can finish within the test's wait.
    let mut w = World::tuned(1000, 10, 100, 5, |c| {
        c.saga.lease_ttl = Duration::from_secs(60);
        c.saga.request_deadline = Duration::from_secs(10);
    })
    .await;
    w.shop.faults.inject(
        "delivery",
        Call::Reserve,
        Fault::Delay(Duration::from_millis(800)),
        1,
    );
    let client = {
        let (api, ann) = (w.shop.api.clone(), w.ann.clone());
        let body = json!({"product_id": w.product, "quantity": 2});
        tokio::spawn(async move { api.try_place(&ann, body, None).await })
    };
    // Wait until the courier booking is in flight, then shut down.
    let store = w.shop.order_store().await;
    let started = Instant::now();
    loop {
        let orders = store.all_orders().await.unwrap();
        if orders.iter().any(|o| o.step == "book_courier") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{orders:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopping = Instant::now();
    w.shop.redeploy_order().await;
    let order: Order = client
        .await
        .unwrap()
        .expect("the request in flight is answered")
        .ok_as(202);
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "shutdown took {:?}",
        stopping.elapsed()
    );
    let done = w
        .shop
        .api
        .wait_order(&w.ann, order.id, &["completed"])
        .await;
    assert_eq!(done.status, "completed");
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (980, 0));
}
