//! The saga as data, proved: a test-only fourth participant (`shop_tests::loyalty`, loyalty
//! points reserved, confirmed, released and refunded like funds) joins a test shop's saga
//! before payment as one `ParticipantDef`, and order-svc, unchanged, runs the happy path, a
//! refusal at each participant, crashes around each of its calls, the refund saga, and ends
//! with the invariants, points included (`Databases::check_invariants_of`).

use shop_tests::{Call, Fault, Order};

use crate::World;
use crate::crashes::crash_around_each;
use crate::refunds::crash_around_each_cancel;

/// A loyal shop: ann has 1000 in funds and points, a product of 10 with `units`, and a
/// courier.
async fn world(units: i64) -> World {
    World::loyal(1000, 10, units, 5, |_| {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_reserves_and_spends_points_before_its_funds() {
    let w = world(100).await;
    let order: Order = w
        .shop
        .api
        .order(&w.ann, w.product, 2, None)
        .await
        .ok_as(201);
    assert_eq!(order.status, "completed");
    assert_eq!(w.shop.points(&w.ann).await, (980, 0));
    assert_eq!(w.shop.api.balance(&w.ann).await, (980, 0));
    assert_eq!(w.shop.api.available(w.product).await, 98);
    // Stored by name, in saga order: a completed order holds what each participant captured
    // (what a refund gives back), loyalty first.
    let stored = w
        .shop
        .order_store()
        .await
        .order(order.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.step.as_str(), stored.holding.as_str()),
        ("done", "loyalty,payment,stock,delivery")
    );
}

/// Places an order of `units` that is refused with `status` and `reason`, and checks that
/// everything reserved before the refusal came back.
async fn refused(w: &World, units: i64, status: u16, reason: &str) {
    let problem = w
        .shop
        .api
        .order(&w.ann, w.product, units, None)
        .await
        .problem(status);
    assert_eq!(problem.failure_reason.as_deref(), Some(reason));
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_at_each_participant_gives_back_what_the_others_hold() {
    let w = world(50).await;
    // loyalty: short of points (it comes first: nothing else was held).
    let poor = w.shop.api.register("poor").await;
    w.shop.api.deposit(&poor, 1000).await;
    w.shop.grant_points(&poor, 5).await;
    let problem = w
        .shop
        .api
        .order(&poor, w.product, 1, None)
        .await
        .problem(409);
    assert_eq!(problem.failure_reason.as_deref(), Some("rejected"));
    assert_eq!(w.shop.points(&poor).await, (5, 0));
    assert_eq!(w.shop.api.balance(&poor).await, (1000, 0));
    // payment: short of funds after loyalty reserved.
    w.shop.grant_points(&w.ann, 100_000).await;
    refused(&w, 150, 402, "insufficient_funds").await;
    // stock: short of units after loyalty and payment reserved.
    refused(&w, 60, 409, "out_of_stock").await;
    // delivery: no courier after all the others reserved.
    w.shop
        .faults
        .inject("delivery", Call::Reserve, Fault::Answer(409), 1);
    refused(&w, 1, 409, "no_courier").await;
    assert_eq!(w.shop.points(&w.ann).await, (101_000, 0));
    assert_eq!(w.shop.api.available(w.product).await, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_order_refunds_its_points_too() {
    let w = world(100).await;
    let order: Order = w
        .shop
        .api
        .order(&w.ann, w.product, 3, None)
        .await
        .ok_as(201);
    assert_eq!(w.shop.points(&w.ann).await, (970, 0));
    let cancelled: Order = w.shop.api.cancel(&w.ann, order.id).await.ok_as(200);
    assert_eq!(cancelled.status, "refunded");
    w.assert_free(&w.ann, 1000, "refunded").await;
    assert_eq!(w.shop.api.available(w.product).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_around_each_reservation_of_the_longer_saga_still_complete() {
    let all = ["loyalty", "payment", "stock", "delivery"];
    crash_around_each(true, &all, Call::Reserve, false, "completed", 2 * 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_around_the_points_confirmation_and_release_still_settle() {
    crash_around_each(true, &["loyalty"], Call::Confirm, false, "completed", 2 * 2).await;
    crash_around_each(true, &["loyalty"], Call::Release, true, "cancelled", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_around_the_points_refund_still_refund_the_order() {
    crash_around_each_cancel(true, &["loyalty"]).await;
}
