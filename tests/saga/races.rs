//! Many orders at once: conditional updates let exactly as many through as there is stock or
//! money for, on either database.

use tokio::task::JoinSet;

use crate::World;

async fn place_in_parallel(w: &World, orders: usize) -> (usize, usize) {
    let mut set = JoinSet::new();
    for _ in 0..orders {
        let api = w.shop.api.clone();
        let ann = w.ann.clone();
        let product = w.product;
        set.spawn(async move { api.order(&ann, product, 1, None).await.status.as_u16() });
    }
    let statuses = set.join_all().await;
    let completed = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| matches!(**s, 402 | 409)).count();
    assert_eq!(
        completed + refused,
        orders,
        "every order completes or is refused: {statuses:?}"
    );
    (completed, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_orders_against_five_units_complete_exactly_five() {
    let w = World::new(100_000, 10, 5, 100).await;
    let (completed, _) = place_in_parallel(&w, 40).await;
    assert_eq!(completed, 5);
    assert_eq!(w.shop.api.available(w.product).await, 0);
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (100_000 - 50, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_orders_against_funds_for_two_complete_exactly_two() {
    let w = World::new(20, 10, 100, 100).await;
    let (completed, _) = place_in_parallel(&w, 40).await;
    assert_eq!(completed, 2);
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (0, 0));
    assert_eq!(w.shop.api.available(w.product).await, 98);
}
