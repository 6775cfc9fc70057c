//! A blip is not an outage: a participant restarted in a second, under load, cancels nothing.
//! Reservations it could not take while it was down are tried again with backoff until it is
//! back, so every order completes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use shop_tests::{Answer, Shopper};

use super::World;

/// Orders one unit at a time for `shopper` until `stop`; every answer.
async fn keep_ordering(
    api: shop_tests::Api,
    shopper: Shopper,
    product: uuid::Uuid,
    stop: Arc<AtomicBool>,
) -> Vec<Answer> {
    let mut answers = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        answers.push(api.order(&shopper, product, 1, None).await);
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_restarted_under_load_cancels_no_order() {
    // A lease of 6 s gives reservations 3 s of patience, as a cluster's 15 s give 7.5 s.
    let mut w = World::tuned(100_000, 1, 100_000, 10_000, |c| {
        c.saga.lease_ttl = Duration::from_secs(6);
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut shoppers = tokio::task::JoinSet::new();
    for i in 0..4 {
        let s = w.shop.api.register(&format!("blip{i}")).await;
        w.fund(&s, 100_000).await;
        shoppers.spawn(keep_ordering(
            w.shop.api.clone(),
            s,
            w.product,
            stop.clone(),
        ));
    }
    // Orders are flowing; then payment-svc stops and is back 1.2 s later.
    let faults = w.shop.faults.clone();
    faults
        .wait_for_calls("payment", faults.calls("payment") + 20)
        .await;
    w.shop.restart_payment(Duration::from_millis(1200)).await;
    // And flowing again through the restarted one.
    faults
        .wait_for_calls("payment", faults.calls("payment") + 20)
        .await;
    stop.store(true, Ordering::Relaxed);
    let answers: Vec<Answer> = shoppers.join_all().await.into_iter().flatten().collect();
    w.shop.settle().await;
    let statuses: std::collections::BTreeMap<u16, usize> =
        answers.iter().fold(Default::default(), |mut m, a| {
            *m.entry(a.status.as_u16()).or_default() += 1;
            m
        });
    println!("a payment-svc restart under load: answers {statuses:?}");
    let cancelled: Vec<_> = w
        .shop
        .order_store()
        .await
        .all_orders()
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.status != "completed")
        .map(|o| (o.id, o.status, o.failure_reason))
        .collect();
    assert!(cancelled.is_empty(), "orders not completed: {cancelled:?}");
    assert!(
        statuses.keys().all(|s| [201, 202].contains(s)),
        "{statuses:?}"
    );
}
