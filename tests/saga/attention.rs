//! Compensations never give up silently: a release that keeps failing sets the order aside as
//! `needs_attention` (listed for admins, counted in a metric), never `cancelled`, and an admin
//! re-drives it with `POST /admin/orders/{id}/retry`.

use std::time::Duration;

use shop_tests::{Call, Fault, Order, Page};

use crate::World;

/// A shop whose order-svc gives a failing release up after `release_attempts` quick attempts,
/// and one order of `units` whose courier is refused and whose stock release keeps failing:
/// answered 202, it ends `needs_attention`.
pub async fn stuck_release(release_attempts: u32, units: i64) -> (World, Order) {
    let w = World::tuned(1000, 10, 100, 5, |c| {
        c.saga.call_timeout = Duration::from_millis(300);
        c.saga.call_retries = 1;
        c.saga.release_attempts = release_attempts;
        c.saga.retry_backoff = Duration::from_millis(20);
    })
    .await;
    let f = &w.shop.faults;
    f.inject("delivery", Call::Reserve, Fault::Answer(409), 1);
    f.inject("stock", Call::Release, Fault::Answer(503), 1000);
    let order = w.shop.api.order(&w.ann, w.product, units, None).await;
    (w, order.ok_as(202))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_keeps_failing_needs_attention_until_an_admin_retries_it() {
    let (w, order) = stuck_release(3, 3).await;
    let f = &w.shop.faults;
    let id = order.id;
    let stuck = w
        .shop
        .api
        .wait_order(&w.ann, id, &["needs_attention", "cancelled"])
        .await;
    assert_eq!(stuck.status, "needs_attention", "{stuck:?}");
    // Three attempts of two calls each before it was set aside (and none after: the re-drive
    // below counts exactly three more).
    assert_eq!(f.injected()["5xx"], 6, "{:?}", f.injected());
    // Stock is still held for it; the funds are not released either (releases go in reverse).
    assert_eq!(w.shop.api.available(w.product).await, 97);
    assert_eq!(w.shop.api.balance(&w.ann).await, (970, 30));

    let api = &w.shop.api;
    let page: Page<Order> = api
        .admin_orders(&w.admin, "status=needs_attention")
        .await
        .ok_as(200);
    assert_eq!(page.items[0].id, id, "{page:?}");
    let metrics = reqwest::get(format!("{}/metrics", api.order))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("shop_saga_needs_attention_total")
                && l.contains("participant=\"stock\"")
                && l.contains("action=\"release\"")
                && l.ends_with(" 1")),
        "{metrics}"
    );

    // Only admins re-drive; while stock-svc still fails, the order is set aside again.
    assert_eq!(api.retry(&w.ann, id).await.status, 403);
    let _: Order = api.retry(&w.admin, id).await.ok_as(202);
    let stuck = api.wait_order(&w.ann, id, &["needs_attention"]).await;
    assert_eq!(stuck.status, "needs_attention");
    assert_eq!(f.injected()["5xx"], 12, "{:?}", f.injected());

    f.clear();
    let done: Order = api.retry(&w.admin, id).await.ok_as(200);
    assert_eq!(done.status, "cancelled");
    assert_eq!(done.failure_reason.as_deref(), Some("no_courier"));
    assert_eq!(api.retry(&w.admin, id).await.status, 409);
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(api.retry(&w.admin, unknown).await.status, 404);
    w.shop.settle().await;
    assert_eq!(api.balance(&w.ann).await, (1000, 0));
    assert_eq!(api.available(w.product).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_refused_after_the_pivot_needs_attention_at_once() {
    let w = World::new(1000, 10, 100, 5).await;
    let f = &w.shop.faults;
    f.inject("stock", Call::Confirm, Fault::Answer(404), 1);
    let order: Order = w
        .shop
        .api
        .order(&w.ann, w.product, 1, None)
        .await
        .ok_as(202);
    let stuck = w
        .shop
        .api
        .wait_order(&w.ann, order.id, &["needs_attention"])
        .await;
    assert_eq!(stuck.status, "needs_attention");
    let done: Order = w.shop.api.retry(&w.admin, order.id).await.ok_as(200);
    assert_eq!(done.status, "completed");
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (990, 0));
}
