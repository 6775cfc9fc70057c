use reqwest::Method;

use crate::World;

async fn cancelled_order_holds_nothing(w: &World, order: &serde_json::Value, reason: &str) {
    let api = &w.shop.api;
    let id = order["order_id"].as_str().expect("order_id in the problem");
    assert_eq!(order["failure_reason"], reason);
    let (status, stored) = api
        .call(
            Method::GET,
            &format!("{}/orders/{id}", api.order),
            Some(&w.ann.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(stored["status"], "cancelled");
    assert_eq!(stored["failure_reason"], reason);
    let (status, _) = api
        .call(
            Method::GET,
            &format!("{}/deliveries/{id}", api.delivery),
            Some(&w.ann.token),
            None,
        )
        .await;
    assert_eq!(status, 404, "a cancelled order has no delivery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_funds_is_402_and_nothing_is_held() {
    let w = World::new(1000, 10, 2000, 5).await;
    let (status, problem) = w.shop.api.order(&w.ann, w.product, 1000, None).await;
    assert_eq!(status, 402, "{problem}");
    cancelled_order_holds_nothing(&w, &problem, "insufficient_funds").await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
    assert_eq!(w.shop.api.available(w.product).await, 2000);
    let id = problem["order_id"].as_str().unwrap();
    let messages = w.shop.api.messages(&w.ann).await;
    assert_eq!(
        messages[0]["text"],
        format!("Order {id} is cancelled: insufficient funds.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_stock_is_409_and_the_funds_come_back() {
    let w = World::new(1000, 10, 3, 5).await;
    let (status, problem) = w.shop.api.order(&w.ann, w.product, 4, None).await;
    assert_eq!(status, 409, "{problem}");
    cancelled_order_holds_nothing(&w, &problem, "out_of_stock").await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
    assert_eq!(w.shop.api.available(w.product).await, 3);
    let id = problem["order_id"].as_str().unwrap();
    let messages = w.shop.api.messages(&w.ann).await;
    assert_eq!(
        messages[0]["text"],
        format!("Order {id} is cancelled: out of stock.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_courier_is_409_and_funds_and_stock_come_back() {
    let w = World::new(1000, 10, 100, 1).await;
    let date = chrono::Utc::now().date_naive() + chrono::Days::new(2);
    let (status, first) = w.shop.api.order(&w.ann, w.product, 1, Some(date)).await;
    assert_eq!(status, 201, "{first}");
    let (status, problem) = w.shop.api.order(&w.ann, w.product, 5, Some(date)).await;
    assert_eq!(status, 409, "{problem}");
    cancelled_order_holds_nothing(&w, &problem, "no_courier").await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (990, 0));
    assert_eq!(w.shop.api.available(w.product).await, 99);
    let id = problem["order_id"].as_str().unwrap();
    let messages = w.shop.api.messages(&w.ann).await;
    assert_eq!(
        messages[0]["text"],
        format!("Order {id} is cancelled: no courier available on {date}.")
    );
    // Another day still has room.
    let (status, _) = w
        .shop
        .api
        .order(&w.ann, w.product, 1, Some(date + chrono::Days::new(1)))
        .await;
    assert_eq!(status, 201);
}
