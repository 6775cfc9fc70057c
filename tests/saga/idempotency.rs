//! Client idempotency keys on `POST /orders` and `POST /balance/deposit`.

use reqwest::Method;
use serde_json::json;
use tokio::task::JoinSet;

use crate::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_order_with_the_same_key_returns_the_first_answer() {
    let w = World::new(1000, 10, 100, 10).await;
    let api = &w.shop.api;
    let url = format!("{}/orders", api.order);
    let body = json!({"product_id": w.product, "quantity": 2});
    let key = [("Idempotency-Key", "order-1")];
    let (s1, first) = api
        .send(
            Method::POST,
            &url,
            Some(&w.ann.token),
            Some(body.clone()),
            &key,
        )
        .await;
    let (s2, again) = api
        .send(Method::POST, &url, Some(&w.ann.token), Some(body), &key)
        .await;
    assert_eq!((s1.as_u16(), s2.as_u16()), (201, 201), "{first} / {again}");
    assert_eq!(first, again);
    let other = json!({"product_id": w.product, "quantity": 3});
    let (status, problem) = api
        .send(Method::POST, &url, Some(&w.ann.token), Some(other), &key)
        .await;
    assert_eq!(status, 422, "{problem}");
    // Keys are per user: bob's "order-1" is his own.
    let bob = api.register("bob").await;
    api.deposit(&bob, 100).await;
    let body = json!({"product_id": w.product, "quantity": 1});
    let (status, bobs) = api
        .send(Method::POST, &url, Some(&bob.token), Some(body), &key)
        .await;
    assert_eq!(status, 201, "{bobs}");
    assert_ne!(bobs["id"], first["id"]);
    w.shop.check_invariants().await;
    assert_eq!(api.balance(&w.ann).await, (980, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_duplicates_place_one_order() {
    let w = World::new(1000, 10, 100, 10).await;
    let mut set = JoinSet::new();
    for _ in 0..20 {
        let api = w.shop.api.clone();
        let token = w.ann.token.clone();
        let body = json!({"product_id": w.product, "quantity": 1});
        set.spawn(async move {
            let url = format!("{}/orders", api.order);
            api.send(
                Method::POST,
                &url,
                Some(&token),
                Some(body),
                &[("Idempotency-Key", "same")],
            )
            .await
        });
    }
    let answers = set.join_all().await;
    let ids: std::collections::HashSet<_> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one order behind every 201: {answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{answers:?}"
    );
    w.shop.check_invariants().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (990, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_deposit_with_the_same_key_deposits_once() {
    let w = World::new(0, 10, 100, 10).await;
    let api = &w.shop.api;
    let url = format!("{}/balance/deposit", api.payment);
    let key = [("Idempotency-Key", "dep-1")];
    let (s1, first) = api
        .send(
            Method::POST,
            &url,
            Some(&w.ann.token),
            Some(json!({"amount": 500})),
            &key,
        )
        .await;
    let (s2, again) = api
        .send(
            Method::POST,
            &url,
            Some(&w.ann.token),
            Some(json!({"amount": 500})),
            &key,
        )
        .await;
    assert_eq!((s1.as_u16(), s2.as_u16()), (200, 200));
    assert_eq!(first, again);
    let (status, _) = api
        .send(
            Method::POST,
            &url,
            Some(&w.ann.token),
            Some(json!({"amount": 7})),
            &key,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(api.balance(&w.ann).await, (500, 0));
    w.shop.check_invariants().await;
}
