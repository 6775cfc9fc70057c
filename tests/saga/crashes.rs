//! order-svc crashes at every step boundary of the saga, forward and compensating: just before
//! each outgoing call reaches its participant (after the state that precedes it was stored),
//! and just after (the participant committed, order-svc never stored the answer), and around
//! the outbox's delivery of the message. A new instance starts on the same database and port,
//! and every order reaches the terminal state it would have reached without the crash.

use std::time::Duration;

use serde_json::json;
use shop_tests::{Call, Fault};

use crate::World;

/// order-svc's claims last 1 s, so that a new instance takes a crashed one's orders over
/// quickly.
pub fn quick_takeover(c: &mut order_svc::Config) {
    c.saga.lease_ttl = Duration::from_secs(1);
    c.saga.recovery_interval = Duration::from_millis(100);
    c.saga.call_timeout = Duration::from_millis(300);
    c.saga.call_retries = 1;
}

/// A shop that takes a crashed order-svc's orders over quickly; with the loyalty participant
/// in its saga when `loyal`.
pub async fn world(loyal: bool) -> World {
    match loyal {
        true => World::loyal(0, 10, 1000, 100, quick_takeover).await,
        false => World::tuned(0, 10, 1000, 100, quick_takeover).await,
    }
}

/// Crashes order-svc at `(target, call, crash)` during one order of a new shopper (whose
/// courier is refused when `refuse_courier`), restarts it, and checks the order ends `expect`.
async fn crash_at(
    w: &mut World,
    n: usize,
    (target, call, crash): (&'static str, Call, Fault),
    refuse_courier: bool,
    expect: &str,
) {
    let point = format!("{crash:?} {target} {call:?}");
    let shopper = w.shopper(&format!("crash{n}"), 100).await;
    if refuse_courier {
        w.shop
            .faults
            .inject("delivery", Call::Reserve, Fault::Answer(409), 1);
    }
    w.shop.faults.inject(target, call, crash, 1);
    let client = {
        let (api, shopper) = (w.shop.api.clone(), shopper.clone());
        let body = json!({"product_id": w.product, "quantity": 2});
        tokio::spawn(async move { api.try_place(&shopper, body, None).await })
    };
    tokio::time::timeout(Duration::from_secs(20), w.shop.faults.crash_asked())
        .await
        .unwrap_or_else(|_| panic!("{point}: the crash point was never reached"));
    w.shop.restart_order().await;
    let answer = client.await.unwrap();
    if call != Call::Message {
        assert!(
            answer.is_err(),
            "{point}: a crashed order-svc answered {answer:?}"
        );
    }
    let order = w.shop.api.only_order(&shopper).await;
    let done = w
        .shop
        .api
        .wait_order(&shopper, order.id, &["completed", "cancelled"])
        .await;
    assert_eq!(done.status, expect, "{point}: {done:?}");
    let expected = if expect == "completed" { 80 } else { 100 };
    w.assert_free(&shopper, expected, &point).await;
}

/// Crashes order-svc before and after `call` to each of `targets`, one order each, then checks
/// the invariants and that `units_sold` units are gone from stock; in a shop with the loyalty
/// participant when `loyal`.
pub async fn crash_around_each(
    loyal: bool,
    targets: &[&'static str],
    call: Call,
    refuse_courier: bool,
    expect: &str,
    units_sold: i64,
) {
    let mut w = world(loyal).await;
    let mut n = 0;
    for &target in targets {
        for crash in [Fault::CrashBefore, Fault::CrashAfter] {
            n += 1;
            crash_at(&mut w, n, (target, call, crash), refuse_courier, expect).await;
        }
    }
    // Every message is delivered exactly once (checked by the invariants).
    w.shop.settle().await;
    assert_eq!(w.shop.api.available(w.product).await, 1000 - units_sold);
}

const PARTICIPANTS: [&str; 3] = ["payment", "stock", "delivery"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_around_each_reservation_still_complete_the_order() {
    crash_around_each(
        false,
        &PARTICIPANTS,
        Call::Reserve,
        false,
        "completed",
        2 * 6,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_around_each_confirmation_still_complete_the_order() {
    crash_around_each(
        false,
        &PARTICIPANTS,
        Call::Confirm,
        false,
        "completed",
        2 * 6,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_around_each_release_still_cancel_the_order_and_give_everything_back() {
    crash_around_each(
        false,
        &["stock", "payment"],
        Call::Release,
        true,
        "cancelled",
        0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_around_the_message_still_deliver_it_once() {
    crash_around_each(false, &["notify"], Call::Message, false, "completed", 2 * 2).await;
}
