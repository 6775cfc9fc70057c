use shop_tests::{Delivery, Order, Page};

use crate::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_order_takes_money_stock_and_a_courier_and_sends_one_message() {
    let w = World::new(1000, 10, 100, 5).await;
    let api = &w.shop.api;
    let date = chrono::Utc::now().date_naive() + chrono::Days::new(3);
    let placed = api.order(&w.ann, w.product, 1, Some(date)).await;
    // A completed order has no failure_reason at all on the wire, not a null one.
    assert!(
        placed.body.get("failure_reason").is_none(),
        "{}",
        placed.body
    );
    let order: Order = placed.ok_as(201);
    assert_eq!(order.status, "completed");
    assert_eq!(order.user_id, w.ann.id);
    assert_eq!(order.product_id, Some(w.product));
    assert_eq!(
        (order.quantity, order.unit_price, order.total),
        (Some(1), Some(10), 10)
    );
    assert_eq!(order.items.len(), 1, "a one-product order has one line");
    assert_eq!(order.delivery_date, date);
    assert_eq!(order.courier_id, Some(w.courier));
    let id = order.id;

    assert_eq!(api.balance(&w.ann).await, (990, 0));
    assert_eq!(api.available(w.product).await, 99);
    let delivery: Delivery = api.get_delivery(&w.ann, id).await.ok_as(200);
    assert_eq!(delivery.status, "confirmed");
    assert_eq!(delivery.date, date);
    assert_eq!(delivery.courier_id, w.courier);
    let fetched: Order = api.get_order(&w.ann, id).await.ok_as(200);
    assert_eq!(fetched.status, "completed");

    w.shop.settle().await;
    let messages = api.messages(&w.ann).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].text,
        format!("Order {id} is paid and a courier is booked for {date}.")
    );
    assert_eq!(messages[0].order_id, Some(id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_date_defaults_to_tomorrow_and_the_past_is_refused() {
    let w = World::new(1000, 10, 100, 5).await;
    let api = &w.shop.api;
    let order: Order = api.order(&w.ann, w.product, 2, None).await.ok_as(201);
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    assert_eq!(order.delivery_date, tomorrow);
    let yesterday = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let problem = api
        .order(&w.ann, w.product, 1, Some(yesterday))
        .await
        .problem(422);
    assert_eq!(problem.errors[0].field, "delivery_date");
    for quantity in [0, 1001] {
        let problem = api
            .order(&w.ann, w.product, quantity, None)
            .await
            .problem(422);
        assert_eq!(problem.errors[0].field, "quantity");
    }
    w.shop.settle().await;
    assert_eq!(api.balance(&w.ann).await, (980, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_product_is_422_and_records_no_order() {
    let w = World::new(1000, 10, 100, 5).await;
    let api = &w.shop.api;
    let problem = api
        .order(&w.ann, uuid::Uuid::now_v7(), 1, None)
        .await
        .problem(422);
    assert_eq!(problem.errors[0].field, "product_id");
    let page: Page<Order> = api.list_orders(&w.ann, "").await.ok_as(200);
    assert!(page.items.is_empty(), "{page:?}");
    w.shop.settle().await;
    assert_eq!(api.balance(&w.ann).await, (1000, 0));
}
