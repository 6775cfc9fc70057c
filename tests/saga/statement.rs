//! The payment statement: every movement of a shopper's money, newest first, chaining to the
//! balance; the admin sees anyone's, another shopper nobody's.

use reqwest::Method;
use serde_json::{Value, json};

use crate::World;

async fn statement(w: &World, url: &str, token: &str) -> (u16, Value) {
    let (status, body) = w.shop.api.call(Method::GET, url, Some(token), None).await;
    (status.as_u16(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statement_lists_every_movement_and_chains_to_the_balance() {
    // 100 in, one unit of 10 in stock: the first order completes, the second is out of stock.
    let w = World::new(100, 10, 1, 5).await;
    let api = &w.shop.api;
    let (status, _) = api.order(&w.ann, w.product, 1, None).await.parts();
    assert_eq!(status, 201);
    let (status, problem) = api.order(&w.ann, w.product, 1, None).await.parts();
    assert_eq!(status, 409, "{problem}");
    w.shop.settle().await;

    let mine = format!("{}/balance/transactions", api.payment);
    let (status, page) = statement(&w, &mine, &w.ann.token).await;
    assert_eq!(status, 200, "{page}");
    let rows: Vec<(String, i64, i64, i64)> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .rev() // oldest first
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_owned(),
                e["amount"].as_i64().unwrap_or_default(),
                e["balance_after"].as_i64().unwrap_or_default(),
                e["reserved_after"].as_i64().unwrap_or_default(),
            )
        })
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
    let (_, first) = statement(&w, &format!("{mine}?limit=2"), &w.ann.token).await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, second) = statement(&w, &format!("{mine}?limit=2&cursor={cursor}"), &w.ann.token).await;
    let kinds = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .map(|items| items.iter().map(|e| e["kind"].to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(kinds(&first), ["\"release\"", "\"reserve\""]);
    assert_eq!(kinds(&second), ["\"capture\"", "\"reserve\""]);

    // The admin reads ann's; another shopper may not.
    let of_ann = format!("{}/balance/{}/transactions", api.payment, w.ann.id);
    let (status, page) = statement(&w, &of_ann, &w.admin.token).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(5));
    let bob = api.register("bob").await;
    let (status, _) = statement(&w, &of_ann, &bob.token).await;
    assert_eq!(status, 403);
    let (status, page) = statement(&w, &mine, &bob.token).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"], json!([]), "bob has moved no money");
}
