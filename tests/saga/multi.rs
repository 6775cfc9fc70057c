//! Orders of several products: every line priced from the catalogue, stock taken for all lines
//! or none (the refusal names the first product short), each refusal giving everything back,
//! and racing multi-line orders over overlapping products that neither oversell nor deadlock.

use serde_json::json;
use shop_tests::{Order, OrderItem, Page};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::World;

/// A world with two more products: (price 10, 100 units) as `w.product`, then `more`.
async fn with_products(funds: i64, more: &[(i64, i64)], capacity: i64) -> (World, Vec<Uuid>) {
    let w = World::new(funds, 10, 100, capacity).await;
    let mut products = vec![w.product];
    for &(price, units) in more {
        products.push(w.shop.api.add_product(&w.admin, price, units).await);
    }
    (w, products)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_of_two_products_takes_both_and_prices_each_line() {
    let (w, p) = with_products(1000, &[(25, 10)], 5).await;
    let api = &w.shop.api;
    let order: Order = api
        .order_items(&w.ann, &[(p[1], 2), (p[0], 3)])
        .await
        .ok_as(201);
    assert_eq!(order.status, "completed");
    assert_eq!(
        order.items,
        [
            OrderItem {
                product_id: p[1],
                quantity: 2,
                unit_price: 25,
                line_total: 50
            },
            OrderItem {
                product_id: p[0],
                quantity: 3,
                unit_price: 10,
                line_total: 30
            },
        ]
    );
    assert_eq!(order.total, 80);
    assert_eq!(
        (order.product_id, order.quantity, order.unit_price),
        (None, None, None),
        "an order of several products has no single product"
    );
    assert_eq!(api.balance(&w.ann).await, (920, 0));
    assert_eq!(api.available(p[0]).await, 97);
    assert_eq!(api.available(p[1]).await, 8);
    let stored: Order = api.get_order(&w.ann, order.id).await.ok_as(200);
    assert_eq!(stored.items, order.items);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_short_of_stock_releases_every_line_and_is_named() {
    let (w, p) = with_products(1000, &[(5, 3), (7, 50)], 5).await;
    let api = &w.shop.api;
    let problem = api
        .order_items(&w.ann, &[(p[0], 2), (p[1], 4), (p[2], 1)])
        .await
        .problem(409);
    assert_eq!(problem.failure_reason.as_deref(), Some("out_of_stock"));
    assert_eq!(problem.product_id, Some(p[1]), "{problem:?}");
    let id = problem.order_id.expect("order id");
    assert_eq!(api.available(p[0]).await, 100);
    assert_eq!(api.available(p[1]).await, 3);
    assert_eq!(api.available(p[2]).await, 50);
    assert_eq!(api.balance(&w.ann).await, (1000, 0));
    w.shop.settle().await;
    let messages = api.messages(&w.ann).await;
    assert_eq!(
        messages[0].text,
        format!("Order {id} is cancelled: out of stock.")
    );
    // The stock's own refusal names the product too.
    let problem = api
        .reservations(&api.stock)
        .reserve(json!({"order_id": Uuid::now_v7(), "items": [
            {"product_id": p[2], "quantity": 1},
            {"product_id": p[1], "quantity": 9},
        ]}))
        .await
        .problem(409);
    assert_eq!(problem.product_id, Some(p[1]), "{problem:?}");
    assert_eq!(
        api.available(p[2]).await,
        50,
        "the first line was rolled back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_of_a_multi_line_order_gives_everything_back() {
    let (w, p) = with_products(100, &[(20, 10)], 1).await;
    let api = &w.shop.api;
    // Funds: 10 × 3 + 20 × 4 = 110 > 100.
    let problem = api
        .order_items(&w.ann, &[(p[0], 3), (p[1], 4)])
        .await
        .problem(402);
    assert_eq!(
        problem.failure_reason.as_deref(),
        Some("insufficient_funds")
    );
    assert_eq!(problem.product_id, None);
    // Courier: the only place of tomorrow goes to the first order, the second is refused.
    api.order_items(&w.ann, &[(p[0], 1), (p[1], 1)])
        .await
        .ok_as::<Order>(201);
    let problem = api
        .order_items(&w.ann, &[(p[0], 1), (p[1], 1)])
        .await
        .problem(409);
    assert_eq!(problem.failure_reason.as_deref(), Some("no_courier"));
    assert_eq!(api.balance(&w.ann).await, (70, 0));
    assert_eq!(api.available(p[0]).await, 99);
    assert_eq!(api.available(p[1]).await, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_lines_are_422_and_record_nothing() {
    let (w, p) = with_products(1000, &[(20, 10)], 5).await;
    let api = &w.shop.api;
    let line = |p: Uuid, q: i64| json!({"product_id": p, "quantity": q});
    let bodies = [
        json!({"product_id": p[0], "quantity": 1, "items": [line(p[1], 1)]}),
        json!({"delivery_date": null}),
        json!({"product_id": p[0]}),
        json!({"items": []}),
        json!({"items": [line(p[0], 1), line(p[0], 2)]}),
        json!({"items": [line(p[0], 0)]}),
        json!({"items": [line(p[0], 1001)]}),
        json!({"items": (0..21).map(|_| line(Uuid::now_v7(), 1)).collect::<Vec<_>>()}),
        json!({"items": [line(p[0], 1), line(Uuid::now_v7(), 1)]}),
    ];
    for body in bodies {
        let problem = api.place(&w.ann, body.clone(), None).await.problem(422);
        assert!(!problem.errors.is_empty(), "{body}: {problem:?}");
    }
    let page: Page<Order> = api.list_orders(&w.ann, "").await.ok();
    assert!(page.items.is_empty(), "no order recorded: {page:?}");
    assert_eq!(api.balance(&w.ann).await, (1000, 0));
}

/// 40 orders of two or three lines over products A (5 units), B (3 units) and C (plenty),
/// listed in every order, race at once: each takes both A and B or neither, so exactly
/// min(5, 3) = 3 complete, whatever the interleaving, and nothing stays reserved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_racing_multi_line_orders_over_scarce_stock_complete_exactly_as_many_as_it_allows() {
    let (w, p) = with_products(0, &[(10, 5), (10, 3)], 100).await;
    let (c, a, b) = (p[0], p[1], p[2]);
    let api = &w.shop.api;
    let orderings = [
        vec![(a, 1), (b, 1)],
        vec![(b, 1), (a, 1)],
        vec![(c, 1), (b, 1), (a, 1)],
        vec![(a, 1), (c, 2), (b, 1)],
    ];
    let mut shoppers = Vec::new();
    for i in 0..8 {
        let s = api.register(&format!("racer{i}")).await;
        api.deposit(&s, 1000).await;
        shoppers.push(s);
    }
    let mut racing = JoinSet::new();
    for i in 0..40 {
        let api = api.clone();
        let s = shoppers[i % shoppers.len()].clone();
        let lines = orderings[i % orderings.len()].clone();
        racing.spawn(async move {
            let (status, body) = api.order_items(&s, &lines).await.parts();
            match status.as_u16() {
                // Slower than the request deadline (a loaded machine): it finishes behind.
                202 => {
                    let id = body["id"].as_str().and_then(|i| i.parse().ok());
                    let id = id.expect("order id");
                    let done = api.wait_order(&s, id, &["completed", "cancelled"]).await;
                    done.status == "completed"
                }
                201 => true,
                409 => false,
                other => panic!("an order answered {other}: {body}"),
            }
        });
    }
    let mut completed = 0;
    while let Some(done) = racing.join_next().await {
        completed += usize::from(done.expect("client"));
    }
    assert_eq!(completed, 3);
    assert_eq!(api.available(a).await, 2);
    assert_eq!(api.available(b).await, 0);
}
