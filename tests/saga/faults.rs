//! Faults between order-svc and the participants, injected by the fault layer: transient
//! failures are retried, refusals are not, a participant that stays down before the pivot
//! cancels the order and releases what may be held, lost answers and duplicate or reordered
//! deliveries never hold anything twice or for nobody.

use std::time::Duration;

use shop_tests::{Call, Fault, Order};

use crate::World;

/// A shop whose calls time out after 300 ms, with two retries.
async fn world(funds: i64, units: i64) -> World {
    World::tuned(funds, 10, units, 5, |c| {
        c.saga.call_timeout = Duration::from_millis(300);
        c.saga.call_retries = 2;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_and_the_order_completes() {
    let w = world(1000, 100).await;
    let f = &w.shop.faults;
    f.inject("payment", Call::Reserve, Fault::Answer(503), 2);
    f.inject("stock", Call::Reserve, Fault::Answer(500), 1);
    f.inject("delivery", Call::Reserve, Fault::Answer(429), 2);
    f.inject("stock", Call::Confirm, Fault::Answer(502), 2);
    f.inject(
        "delivery",
        Call::Confirm,
        Fault::Delay(Duration::from_millis(500)),
        1,
    );
    let (status, order) = w.shop.api.order(&w.ann, w.product, 2, None).await.parts();
    assert_eq!(status, 201, "{order}");
    assert_eq!(f.injected().values().sum::<u64>(), 8, "{:?}", f.injected());
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (980, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_never_retried() {
    let w = world(1000, 100).await;
    // One refusal only: had order-svc retried it, the retry would have gone through.
    w.shop
        .faults
        .inject("stock", Call::Reserve, Fault::Answer(409), 1);
    let problem = w
        .shop
        .api
        .order(&w.ann, w.product, 2, None)
        .await
        .problem(409);
    assert_eq!(problem.failure_reason.as_deref(), Some("out_of_stock"));
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
    assert_eq!(w.shop.api.available(w.product).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_down_before_the_pivot_cancels_the_order_and_releases_everything() {
    let w = world(1000, 100).await;
    w.shop
        .faults
        .inject("delivery", Call::Reserve, Fault::Answer(503), 1000);
    cancelled_unavailable(w.shop.api.order(&w.ann, w.product, 3, None).await);
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
    assert_eq!(w.shop.api.available(w.product).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserves_that_arrive_after_the_timeout_and_the_release_hold_nothing() {
    let w = world(1000, 100).await;
    // Every attempt at the stock reservation reaches stock-svc 1 s late, long after order-svc
    // gave up on it and released the order there.
    w.shop.faults.inject(
        "stock",
        Call::Reserve,
        Fault::Delay(Duration::from_secs(1)),
        1000,
    );
    cancelled_unavailable(w.shop.api.order(&w.ann, w.product, 4, None).await);
    // Every late attempt lands at stock-svc, and is answered, before the books are read.
    w.shop.faults.wait_for_delayed("stock").await;
    w.shop.settle().await;
    assert_eq!(w.shop.api.available(w.product).await, 100);
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_delivered_before_its_reserve_makes_the_reserve_refused() {
    let w = world(1000, 100).await;
    w.shop
        .faults
        .inject("delivery", Call::Reserve, Fault::ReleaseFirst, 1);
    let problem = w
        .shop
        .api
        .order(&w.ann, w.product, 1, None)
        .await
        .problem(409);
    assert_eq!(problem.failure_reason.as_deref(), Some("no_courier"));
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
    assert_eq!(w.shop.api.available(w.product).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_retried_and_the_reservation_is_held_once() {
    let w = world(1000, 100).await;
    // stock-svc reserves, and its answer never reaches order-svc (the attempt times out); the
    // retry gets the same reservation.
    w.shop
        .faults
        .inject("stock", Call::Reserve, Fault::DropAnswer, 1);
    let (status, order) = w.shop.api.order(&w.ann, w.product, 5, None).await.parts();
    assert_eq!(status, 201, "{order}");
    assert_eq!(w.shop.faults.injected()["dropped answer"], 1);
    w.shop.settle().await;
    assert_eq!(w.shop.api.available(w.product).await, 95);
    assert_eq!(w.shop.api.balance(&w.ann).await, (950, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_lost_on_every_attempt_before_the_pivot_are_compensated() {
    let w = world(1000, 100).await;
    // Every attempt (the calls and their retries, for as long as the saga tries), each
    // committed, none answered.
    w.shop
        .faults
        .inject("stock", Call::Reserve, Fault::DropAnswer, 1000);
    cancelled_unavailable(w.shop.api.order(&w.ann, w.product, 5, None).await);
    w.shop.settle().await;
    assert_eq!(w.shop.api.available(w.product).await, 100);
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_after_the_pivot_are_confirmed_again_until_the_order_completes() {
    let w = world(1000, 100).await;
    let f = &w.shop.faults;
    f.inject("payment", Call::Confirm, Fault::DropAnswer, 2);
    f.inject("delivery", Call::Confirm, Fault::Answer(503), 6);
    let order: Order = w.shop.api.order(&w.ann, w.product, 1, None).await.ok();
    let done = w
        .shop
        .api
        .wait_order(&w.ann, order.id, &["completed"])
        .await;
    assert_eq!(done.status, "completed");
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (990, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_delivered_twice_still_holds_once() {
    let w = world(1000, 100).await;
    let f = &w.shop.faults;
    for target in ["payment", "stock", "delivery"] {
        for call in [Call::Reserve, Call::Confirm, Call::Release] {
            f.inject(target, call, Fault::Twice, 10);
        }
    }
    f.inject("notify", Call::Message, Fault::Twice, 10);
    let (status, order) = w.shop.api.order(&w.ann, w.product, 2, None).await.parts();
    assert_eq!(status, 201, "{order}");
    // Out of money on the second: the compensation is delivered twice too.
    let problem = w
        .shop
        .api
        .order(&w.ann, w.product, 99, None)
        .await
        .problem(402);
    assert_eq!(
        problem.failure_reason.as_deref(),
        Some("insufficient_funds")
    );
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (980, 0));
    assert_eq!(w.shop.api.available(w.product).await, 98);
    assert_eq!(w.shop.api.messages(&w.ann).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notify_outage_neither_fails_nor_delays_an_order_and_the_message_comes_later() {
    let w = world(1000, 100).await;
    w.shop
        .faults
        .inject("notify", Call::Message, Fault::Answer(503), 3);
    let (status, order) = w.shop.api.order(&w.ann, w.product, 1, None).await.parts();
    assert_eq!(status, 201, "{order}");
    assert!(w.shop.api.messages(&w.ann).await.is_empty());
    w.shop.settle().await;
    assert_eq!(w.shop.api.messages(&w.ann).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_gives_up_at_its_deadline_even_with_retries_left() {
    // Without the 400 ms step deadline, the retry after the first 1 s timeout would succeed.
    let w = World::tuned(1000, 10, 100, 5, |c| {
        c.saga.call_timeout = Duration::from_secs(1);
        c.saga.call_retries = 2;
        c.saga.step_deadline = Duration::from_millis(400);
    })
    .await;
    w.shop.faults.inject(
        "stock",
        Call::Reserve,
        Fault::Delay(Duration::from_secs(2)),
        1,
    );
    cancelled_unavailable(w.shop.api.order(&w.ann, w.product, 1, None).await);
    w.shop.faults.wait_for_delayed("stock").await; // the late reserve is done
    w.shop.settle().await;
    assert_eq!(w.shop.api.available(w.product).await, 100);
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserve_delivered_late_after_its_refusal_holds_nothing() {
    // The first attempt at the funds is delayed past its timeout; the retry is refused (402).
    // Money arrives, then the delayed first attempt lands: it must not hold funds for the
    // cancelled order.
    let w = world(10, 100).await;
    w.shop.faults.inject(
        "payment",
        Call::Reserve,
        Fault::Delay(Duration::from_millis(900)),
        1,
    );
    let problem = w
        .shop
        .api
        .order(&w.ann, w.product, 2, None)
        .await
        .problem(402);
    assert_eq!(
        problem.failure_reason.as_deref(),
        Some("insufficient_funds")
    );
    let (status, _) = w.shop.api.deposit(&w.ann, 1000).await;
    assert_eq!(status, 200);
    w.shop.faults.wait_for_delayed("payment").await; // the late attempt is done
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (1010, 0));
}

/// The answer to an order whose participant stayed unreachable before the pivot: 202 with the
/// order, recorded and cancelled (`service_unavailable`), never a 503, which would say that
/// nothing was recorded.
fn cancelled_unavailable(answer: shop_tests::Answer) {
    let (status, order) = answer.parts();
    assert_eq!(status, 202, "{order}");
    assert_eq!(order["status"], "cancelled", "{order}");
    assert_eq!(order["failure_reason"], "service_unavailable", "{order}");
}
