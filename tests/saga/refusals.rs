use shop_tests::{Order, Problem};

use crate::World;

/// The refused order is stored cancelled with the problem's reason and booked no courier;
/// returns its id.
async fn cancelled_order_holds_nothing(w: &World, problem: &Problem, reason: &str) -> uuid::Uuid {
    let api = &w.shop.api;
    let id = problem.order_id.expect("order_id in the problem");
    assert_eq!(problem.failure_reason.as_deref(), Some(reason));
    let stored: Order = api.get_order(&w.ann, id).await.ok_as(200);
    assert_eq!(stored.status, "cancelled");
    assert_eq!(stored.failure_reason.as_deref(), Some(reason));
    let delivery = api.get_delivery(&w.ann, id).await;
    assert_eq!(delivery.status, 404, "a cancelled order has no delivery");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_funds_is_402_and_nothing_is_held() {
    let w = World::new(1000, 10, 2000, 5).await;
    let problem = w
        .shop
        .api
        .order(&w.ann, w.product, 1000, None)
        .await
        .problem(402);
    let id = cancelled_order_holds_nothing(&w, &problem, "insufficient_funds").await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
    assert_eq!(w.shop.api.available(w.product).await, 2000);
    w.shop.settle().await;
    let messages = w.shop.api.messages(&w.ann).await;
    assert_eq!(
        messages[0].text,
        format!("Order {id} is cancelled: insufficient funds.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_stock_is_409_and_the_funds_come_back() {
    let w = World::new(1000, 10, 3, 5).await;
    let problem = w
        .shop
        .api
        .order(&w.ann, w.product, 4, None)
        .await
        .problem(409);
    let id = cancelled_order_holds_nothing(&w, &problem, "out_of_stock").await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
    assert_eq!(w.shop.api.available(w.product).await, 3);
    w.shop.settle().await;
    let messages = w.shop.api.messages(&w.ann).await;
    assert_eq!(
        messages[0].text,
        format!("Order {id} is cancelled: out of stock.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_courier_is_409_and_funds_and_stock_come_back() {
    let w = World::new(1000, 10, 100, 1).await;
    let date = chrono::Utc::now().date_naive() + chrono::Days::new(2);
    let first: Order = w
        .shop
        .api
        .order(&w.ann, w.product, 1, Some(date))
        .await
        .ok_as(201);
    assert_eq!(first.status, "completed");
    let problem = w
        .shop
        .api
        .order(&w.ann, w.product, 5, Some(date))
        .await
        .problem(409);
    let id = cancelled_order_holds_nothing(&w, &problem, "no_courier").await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (990, 0));
    assert_eq!(w.shop.api.available(w.product).await, 99);
    w.shop.settle().await;
    let messages = w.shop.api.messages(&w.ann).await;
    assert_eq!(
        messages[0].text,
        format!("Order {id} is cancelled: no courier available on {date}.")
    );
    // Another day still has room.
    let next_day: Order = w
        .shop
        .api
        .order(&w.ann, w.product, 1, Some(date + chrono::Days::new(1)))
        .await
        .ok_as(201);
    assert_eq!(next_day.status, "completed");
}
