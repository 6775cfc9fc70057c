//! The payment statement: every movement of a shopper's money, newest first, chaining to the
//! balance; the admin sees anyone's, another shopper nobody's.

use shop_tests::{Entry, Order, Page};

use crate::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statement_lists_every_movement_and_chains_to_the_balance() {
    // 100 in, one unit of 10 in stock: the first order completes, the second is out of stock.
    let w = World::new(100, 10, 1, 5).await;
    let api = &w.shop.api;
    let _: Order = api.order(&w.ann, w.product, 1, None).await.ok_as(201);
    api.order(&w.ann, w.product, 1, None).await.problem(409);
    w.shop.settle().await;

    let page: Page<Entry> = api.statement(&w.ann, "").await.ok_as(200);
    let rows: Vec<(String, i64, i64, i64)> = page
        .items
        .into_iter()
        .rev() // oldest first
        .map(|e| (e.kind, e.amount, e.balance_after, e.reserved_after))
        .collect();
    let expected = [
        ("deposit", 100, 100, 0),
        ("reserve", -10, 90, 10),
        ("capture", 0, 90, 0),
        ("reserve", -10, 80, 10),
        ("release", 10, 90, 0),
    ]
    .map(|(k, a, b, r)| (k.to_owned(), a, b, r));
    assert_eq!(rows, expected);
    assert_eq!(api.balance(&w.ann).await, (90, 0));

    // Pages of two, newest first, joined by the cursor.
    let first: Page<Entry> = api.statement(&w.ann, "limit=2").await.ok_as(200);
    let cursor = first.next_cursor.clone().expect("a next page");
    let query = format!("limit=2&cursor={cursor}");
    let second: Page<Entry> = api.statement(&w.ann, &query).await.ok_as(200);
    let kinds =
        |page: &Page<Entry>| -> Vec<String> { page.items.iter().map(|e| e.kind.clone()).collect() };
    assert_eq!(kinds(&first), ["release", "reserve"]);
    assert_eq!(kinds(&second), ["capture", "reserve"]);

    // The admin reads ann's; another shopper may not.
    let page: Page<Entry> = api.statement_of(&w.admin, w.ann.id, "").await.ok_as(200);
    assert_eq!(page.items.len(), 5);
    let bob = api.register("bob").await;
    api.statement_of(&bob, w.ann.id, "").await.problem(403);
    let page: Page<Entry> = api.statement(&bob, "").await.ok_as(200);
    assert!(page.items.is_empty(), "bob has moved no money");
}
