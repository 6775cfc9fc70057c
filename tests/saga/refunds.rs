//! The refund saga: a shopper cancels a completed order before its delivery date; the courier's
//! place is freed, the stock returned and the funds refunded (each participant's `.../cancel`),
//! the order ends `refunded` and the shopper gets one more message. Crashes around each of its
//! calls, a participant down mid-refund, repeated and racing cancellations, and the orders that
//! cannot be cancelled.

use std::time::Duration;

use serde_json::json;
use shop_tests::{Call, Entry, Fault, Order, Page, Shopper};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::World;

/// The number of places courier `courier` has booked on `date`.
async fn booked(w: &World, courier: Uuid, date: chrono::NaiveDate) -> i32 {
    let store = delivery_svc::store::DeliveryStore::new(
        w.shop.dbs.connect("delivery").await,
        shop_kit::ledger::LedgerMetrics::detached().unwrap(),
    );
    let days = store.courier_days().await.unwrap();
    days.iter()
        .find(|d| d.courier_id == courier && d.date == date)
        .map_or(0, |d| d.booked)
}

/// Places a completed order of `lines` for `s`.
async fn completed(w: &World, s: &Shopper, lines: &[(Uuid, i64)]) -> Order {
    let order: Order = w.shop.api.order_items(s, lines).await.ok_as(201);
    assert_eq!(order.status, "completed");
    order
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_completed_order_refunds_it_returns_the_stock_and_frees_the_courier() {
    let w = World::new(1000, 10, 100, 5).await;
    let api = &w.shop.api;
    let other = api.add_product(&w.admin, 25, 10).await;
    let order = completed(&w, &w.ann, &[(w.product, 3), (other, 2)]).await;
    let date = order.delivery_date;
    assert_eq!(api.balance(&w.ann).await, (920, 0));
    assert_eq!(booked(&w, w.courier, date).await, 1);

    let refunded: Order = api.cancel(&w.ann, order.id).await.ok_as(200);
    assert_eq!(refunded.status, "refunded");
    assert_eq!(refunded.items, order.items);
    assert_eq!(api.balance(&w.ann).await, (1000, 0));
    assert_eq!(api.available(w.product).await, 100);
    assert_eq!(api.available(other).await, 10);
    assert_eq!(
        booked(&w, w.courier, date).await,
        0,
        "the courier's place is free"
    );
    let delivery = api.get_delivery(&w.ann, order.id).await;
    assert_eq!(delivery.status, 404, "a refunded order has no delivery");

    // A repeat answers the refunded order again and refunds nothing more.
    let again: Order = api.cancel(&w.ann, order.id).await.ok_as(200);
    assert_eq!(again.status, "refunded");
    assert_eq!(api.balance(&w.ann).await, (1000, 0));

    // The statement shows the refund; the shopper got the message of each outcome.
    let page: Page<Entry> = api.statement(&w.ann, "").await.ok_as(200);
    let last = &page.items[0];
    assert_eq!(
        (last.kind.as_str(), last.amount, last.balance_after),
        ("refund", 80, 1000),
        "{page:?}"
    );
    assert_eq!(last.order_id, Some(order.id));
    w.shop.settle().await;
    let messages = api.messages(&w.ann).await;
    assert_eq!(
        messages[0].text,
        format!("Order {} is cancelled and 80 is refunded.", order.id)
    );
    assert_eq!(
        messages[1].text,
        format!(
            "Order {} is paid and a courier is booked for {date}.",
            order.id
        )
    );
    let listed: Page<Order> = api.list_orders(&w.ann, "status=refunded").await.ok();
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_cancelled_is_refused_and_changes_nothing() {
    let w = World::new(1000, 10, 3, 5).await;
    let api = &w.shop.api;
    let today = chrono::Utc::now().date_naive();
    // Delivered today: too late.
    let due: Order = api
        .order(&w.ann, w.product, 1, Some(today))
        .await
        .ok_as(201);
    let problem = api.cancel(&w.ann, due.id).await.problem(409);
    assert!(problem.detail.contains("cancelled until"), "{problem:?}");
    // Refused by the saga: there is nothing to refund.
    let refused = api.order(&w.ann, w.product, 5, None).await.problem(409);
    let refused = refused.order_id.expect("order id");
    api.cancel(&w.ann, refused).await.problem(409);
    // Someone else's order, or none at all: 404.
    let order: Order = api.order(&w.ann, w.product, 1, None).await.ok_as(201);
    let bob = api.register("bob").await;
    api.cancel(&bob, order.id).await.problem(404);
    api.cancel(&w.ann, Uuid::now_v7()).await.problem(404);
    assert_eq!(api.balance(&w.ann).await, (980, 0));
    // An admin may cancel anyone's order.
    let refunded: Order = api.cancel(&w.admin, order.id).await.ok_as(200);
    assert_eq!(refunded.status, "refunded");
    assert_eq!(api.balance(&w.ann).await, (990, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_with_an_idempotency_key_answers_its_repeat_the_same() {
    let w = World::new(1000, 10, 100, 5).await;
    let api = &w.shop.api;
    let order: Order = api.order(&w.ann, w.product, 2, None).await.ok_as(201);
    let key = Some("cancel-1");
    let first = api.cancel_keyed(&w.ann, order.id, key).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = api.cancel_keyed(&w.ann, order.id, key).await;
    assert_eq!((again.status, &again.body), (first.status, &first.body));
    // The same key for another request is 422.
    let body = json!({"product_id": w.product, "quantity": 1});
    let problem = api.place(&w.ann, body, key).await.problem(422);
    assert_eq!(problem.errors[0].field, "Idempotency-Key");
    assert_eq!(api.balance(&w.ann).await, (1000, 0));
}

/// While the order's own saga is still confirming, a cancellation is 409 (it is not completed
/// yet); once it completes, it can be cancelled. Two cancellations racing each other refund
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellations_racing_the_order_saga_and_each_other_refund_once() {
    let w = World::new(1000, 10, 100, 5).await;
    let api = &w.shop.api;
    w.shop.faults.inject(
        "delivery",
        Call::Confirm,
        Fault::Delay(Duration::from_millis(800)),
        1,
    );
    let placing = {
        let (api, ann, product) = (api.clone(), w.ann.clone(), w.product);
        tokio::spawn(async move { api.order(&ann, product, 4, None).await })
    };
    let pending = loop {
        let page: Page<Order> = api.list_orders(&w.ann, "").await.ok();
        if let Some(o) = page.items.first() {
            break o.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let problem = api.cancel(&w.ann, pending.id).await.problem(409);
    assert!(problem.detail.contains("pending"), "{problem:?}");
    let order: Order = placing.await.unwrap().ok_as(201);

    let mut racing = JoinSet::new();
    for _ in 0..8 {
        let (api, ann) = (api.clone(), w.ann.clone());
        racing.spawn(async move { api.cancel(&ann, order.id).await.status.as_u16() });
    }
    while let Some(status) = racing.join_next().await {
        let status = status.unwrap();
        assert!(
            status == 200 || status == 202,
            "a racing cancel answered {status}"
        );
    }
    let done = api.wait_order(&w.ann, order.id, &["refunded"]).await;
    assert_eq!(done.status, "refunded");
    assert_eq!(api.balance(&w.ann).await, (1000, 0));
    assert_eq!(api.available(w.product).await, 100);
}

/// Crash points of the refund saga: just before and just after each participant's cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_around_each_cancel_still_refund_the_order() {
    crash_around_each_cancel(false, &["delivery", "stock", "payment"]).await;
}

/// Crashes order-svc before and after each of `targets`' cancel, one refund each (in a shop
/// with the loyalty participant when `loyal`); every order still ends refunded.
pub async fn crash_around_each_cancel(loyal: bool, targets: &[&'static str]) {
    let mut w = crate::crashes::world(loyal).await;
    let mut n = 0;
    for &target in targets {
        for crash in [Fault::CrashBefore, Fault::CrashAfter] {
            n += 1;
            let point = format!("{crash:?} {target} cancel");
            let shopper = w.shopper(&format!("refund{n}"), 100).await;
            let order = completed(&w, &shopper, &[(w.product, 2)]).await;
            w.shop.faults.inject(target, Call::Cancel, crash, 1);
            let client = {
                let (api, shopper) = (w.shop.api.clone(), shopper.clone());
                tokio::spawn(async move { api.try_cancel(&shopper, order.id, None).await })
            };
            tokio::time::timeout(Duration::from_secs(20), w.shop.faults.crash_asked())
                .await
                .unwrap_or_else(|_| panic!("{point}: the crash point was never reached"));
            w.shop.restart_order().await;
            let answer = client.await.unwrap();
            assert!(
                answer.is_err(),
                "{point}: a crashed order-svc answered {answer:?}"
            );
            let done = w.shop.api.wait_order(&shopper, order.id, &["refunded"]);
            assert_eq!(done.await.status, "refunded", "{point}");
            w.assert_free(&shopper, 100, &point).await;
        }
    }
    w.shop.settle().await;
    assert_eq!(w.shop.api.available(w.product).await, 1000);
}

/// A participant down mid-refund: retried until it is back, then refunded; down past the
/// attempts, the order needs attention until an admin re-drives it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_down_mid_refund_is_retried_or_set_aside_for_an_admin() {
    let w = World::tuned(1000, 10, 100, 5, |c| {
        c.saga.call_timeout = Duration::from_millis(300);
        c.saga.call_retries = 1;
        c.saga.release_attempts = 3;
        c.saga.retry_backoff = Duration::from_millis(20);
    })
    .await;
    let api = &w.shop.api;
    let f = &w.shop.faults;

    // Down for a while: the refund goes on in the background and finishes.
    let order: Order = api.order(&w.ann, w.product, 2, None).await.ok_as(201);
    f.inject("stock", Call::Cancel, Fault::Answer(503), 3);
    let (status, body) = api.cancel(&w.ann, order.id).await.parts();
    assert!(status == 200 || status == 202, "{status}: {body}");
    let done = api.wait_order(&w.ann, order.id, &["refunded"]).await;
    assert_eq!(done.status, "refunded");
    assert_eq!(f.injected()["5xx"], 3);

    // Down for good: after three attempts the order needs attention, holding what the
    // participants not yet reached hold.
    let order: Order = api.order(&w.ann, w.product, 3, None).await.ok_as(201);
    f.inject("payment", Call::Cancel, Fault::Answer(503), 1000);
    let (status, body) = api.cancel(&w.ann, order.id).await.parts();
    assert_eq!(status, 202, "{body}");
    let stuck = api.wait_order(&w.ann, order.id, &["needs_attention"]).await;
    assert_eq!(stuck.status, "needs_attention");
    assert_eq!(api.available(w.product).await, 100, "stock came back first");
    assert_eq!(
        api.balance(&w.ann).await,
        (970, 0),
        "the funds are not refunded yet"
    );
    // Cancelling again while it waits for an admin answers 202.
    assert_eq!(api.cancel(&w.ann, order.id).await.status, 202);

    f.clear();
    let done: Order = api.retry(&w.admin, order.id).await.ok_as(200);
    assert_eq!(done.status, "refunded");
    assert_eq!(api.balance(&w.ann).await, (1000, 0));
}
