//! Client idempotency keys on `POST /orders` and `POST /balance/deposit`.

use std::time::Duration;

use serde_json::json;
use shop_tests::{Answer, Call, Fault, Order};
use tokio::task::JoinSet;

use crate::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_order_with_the_same_key_returns_the_first_answer() {
    let w = World::new(1000, 10, 100, 10).await;
    let api = &w.shop.api;
    let body = json!({"product_id": w.product, "quantity": 2});
    let key = Some("order-1");
    let first = api.place(&w.ann, body.clone(), key).await;
    let again = api.place(&w.ann, body, key).await;
    assert_eq!(first.body, again.body, "the same answer, byte for byte");
    let first: Order = first.ok_as(201);
    let _: Order = again.ok_as(201);
    let other = json!({"product_id": w.product, "quantity": 3});
    let problem = api.place(&w.ann, other, key).await.problem(422);
    assert_eq!(problem.errors[0].field, "Idempotency-Key");
    // Keys are per user: bob's "order-1" is his own.
    let bob = api.register("bob").await;
    api.deposit(&bob, 100).await;
    let body = json!({"product_id": w.product, "quantity": 1});
    let bobs: Order = api.place(&bob, body, key).await.ok_as(201);
    assert_ne!(bobs.id, first.id);
    w.shop.settle().await;
    assert_eq!(api.balance(&w.ann).await, (980, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_duplicates_place_one_order() {
    let w = World::new(1000, 10, 100, 10).await;
    let mut set = JoinSet::new();
    for _ in 0..50 {
        let (api, ann) = (w.shop.api.clone(), w.ann.clone());
        let body = json!({"product_id": w.product, "quantity": 1});
        set.spawn(async move { api.place(&ann, body, Some("same")).await.parts() });
    }
    let answers = set.join_all().await;
    // A repeat answers the first answer once it is stored; before that, the order the key
    // recorded, as it stands (201 completed, 202 still running), or 409 while the first
    // request has recorded nothing yet.
    let ids: std::collections::HashSet<_> = answers
        .iter()
        .filter(|(s, _)| s.is_success())
        .map(|(_, b)| b["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one order behind every 2xx: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, _)| [201, 202, 409].contains(&s.as_u16())),
        "{answers:?}"
    );
    for (status, body) in &answers {
        if *status == 409 {
            assert!(body["order_id"].is_null(), "{body}");
        }
    }
    let store = w.shop.order_store().await;
    assert_eq!(store.all_orders().await.unwrap().len(), 1);
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (990, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_deposit_with_the_same_key_deposits_once() {
    let w = World::new(0, 10, 100, 10).await;
    let api = &w.shop.api;
    let key = Some("dep-1");
    let first = api.deposit_keyed(&w.ann, json!({"amount": 500}), key).await;
    let again = api.deposit_keyed(&w.ann, json!({"amount": 500}), key).await;
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (200, 200));
    assert_eq!(first.body, again.body);
    let problem = api
        .deposit_keyed(&w.ann, json!({"amount": 7}), key)
        .await
        .problem(422);
    assert_eq!(problem.errors[0].field, "Idempotency-Key");
    assert_eq!(api.balance(&w.ann).await, (500, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_duplicate_deposits_deposit_once() {
    let w = World::new(0, 10, 100, 10).await;
    let mut set = JoinSet::new();
    for _ in 0..50 {
        let (api, ann) = (w.shop.api.clone(), w.ann.clone());
        let body = json!({"amount": 250});
        set.spawn(async move {
            let key = Some("dep-parallel");
            api.deposit_keyed(&ann, body, key).await.parts()
        });
    }
    // A deposit and its key commit together, so a duplicate waits for the first and replays it.
    let answers = set.join_all().await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    assert!(
        answers.iter().all(|(_, b)| *b == answers[0].1),
        "{answers:?}"
    );
    assert_eq!(w.shop.api.balance(&w.ann).await, (250, 0));
}

/// A shop whose order-svc frees a dead request's key after 1 s and takes crashed instances'
/// orders over after 1 s.
async fn crashing_world() -> World {
    World::tuned(1000, 10, 100, 10, |c| {
        c.saga.key_lock = Duration::from_secs(1);
        c.saga.lease_ttl = Duration::from_secs(1);
        c.saga.recovery_interval = Duration::from_millis(100);
    })
    .await
}

/// Sends `POST /orders` with key `key`, expecting no answer: order-svc crashes at the fault
/// `(target, call, crash)` and is started again.
async fn place_into_a_crash(w: &mut World, key: &str, (target, call): (&'static str, Call)) {
    w.shop.faults.inject(target, call, Fault::CrashBefore, 1);
    let (api, ann) = (w.shop.api.clone(), w.ann.clone());
    let body = json!({"product_id": w.product, "quantity": 2});
    let key = key.to_owned();
    let client = tokio::spawn(async move { api.try_place(&ann, body, Some(&key)).await });
    w.shop.faults.crash_asked().await;
    w.shop.restart_order().await;
    assert!(
        client.await.unwrap().is_err(),
        "a crashed order-svc answered"
    );
}

/// Places ann's order of two units again with `key`.
async fn repeat(w: &World, key: &str) -> Answer {
    let body = json!({"product_id": w.product, "quantity": 2});
    w.shop.api.place(&w.ann, body, Some(key)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_whose_request_died_after_recording_the_order_answers_from_that_order() {
    let mut w = crashing_world().await;
    place_into_a_crash(&mut w, "died-late", ("stock", Call::Reserve)).await;
    // After the first request's deadline (here the key's lock, 1 s), whatever became of that
    // request, a repeat answers from the order the key recorded.
    let order = w.shop.api.only_order(&w.ann).await;
    w.shop
        .api
        .wait_order(&w.ann, order.id, &["completed"])
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let answer = repeat(&w, "died-late").await;
    assert_eq!(answer.clone().ok_as::<Order>(201).id, order.id);
    // And that answer is now the stored one.
    assert_eq!(repeat(&w, "died-late").await.body, answer.body);
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (980, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_whose_request_died_before_recording_an_order_places_it_on_a_repeat() {
    let mut w = crashing_world().await;
    // order-svc dies while it looks the product up, before the order is recorded.
    place_into_a_crash(&mut w, "died-early", ("stock", Call::Other)).await;
    repeat(&w, "died-early").await.problem(409);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _: Order = repeat(&w, "died-early").await.ok_as(201);
    assert_eq!(
        w.shop.order_store().await.all_orders().await.unwrap().len(),
        1
    );
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (980, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_past_their_retention_are_swept_and_free_again() {
    let w = World::new(1000, 10, 100, 10).await;
    let first: Order = repeat(&w, "old-key").await.ok_as(201);
    let store = w.shop.order_store().await;
    // Keys created before a cutoff in the future: this one, as if 24 h had passed.
    let later = shop_kit::db::now() + chrono::TimeDelta::seconds(1);
    assert_eq!(store.sweep_keys(later).await.unwrap(), 1);
    let second: Order = repeat(&w, "old-key").await.ok_as(201);
    assert_ne!(second.id, first.id, "a swept key places a new order");
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (960, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_keys_is_swept_in_batches_and_only_what_is_past_the_cutoff() {
    let w = World::new(1000, 10, 100, 10).await;
    let store = w.shop.order_store().await;
    let user = uuid::Uuid::now_v7();
    let claimed = |key: String| {
        let store = store.clone();
        async move {
            store
                .claim_key(
                    user,
                    &key,
                    "fingerprint",
                    (shop_kit::db::now(), shop_kit::db::now()),
                )
                .await
                .unwrap()
        }
    };
    // More than two of the sweep's batches, then one key made after the cutoff.
    for i in 0..2_345 {
        claimed(format!("old-{i}")).await;
    }
    let cutoff = shop_kit::db::now() + chrono::TimeDelta::microseconds(1);
    tokio::time::sleep(Duration::from_millis(5)).await;
    claimed("young".into()).await;
    assert_eq!(store.sweep_keys(cutoff).await.unwrap(), 2_345);
    assert_eq!(store.sweep_keys(cutoff).await.unwrap(), 0);
    let later = shop_kit::db::now() + chrono::TimeDelta::seconds(1);
    assert_eq!(
        store.sweep_keys(later).await.unwrap(),
        1,
        "the young key was kept"
    );
}
