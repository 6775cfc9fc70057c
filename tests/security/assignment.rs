//! API3 Broken Object Property Level Authorization: fields a caller may not set are ignored.

use reqwest::Method;
use serde_json::json;
use shop_tests::TestShop;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_the_caller_may_not_set_are_ignored() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let admin = api.admin().await;
    let planted = uuid::Uuid::now_v7();
    let (status, user) = api
        .call(
            Method::POST,
            &format!("{}/users", api.user),
            None,
            Some(json!({"username": "eve", "password": "password-eve", "email": "eve@example.com",
                "first_name": "Eve", "last_name": "Doe", "phone": "+4912345678",
                "is_admin": true, "id": planted, "balance": 1_000_000, "created_at": "2000-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["is_admin"], false);
    assert_ne!(user["id"], planted.to_string());
    assert_ne!(user["created_at"], "2000-01-01T00:00:00Z");
    let (_, token) = api.login("eve", "password-eve").await;
    let eve = token["access_token"].as_str().expect("a token").to_owned();
    let (_, balance) = api
        .call(
            Method::GET,
            &format!("{}/balance", api.payment),
            Some(&eve),
            None,
        )
        .await;
    assert_eq!(balance["balance"], 0);

    // Her own profile: no role, no other username.
    let (status, me) = api
        .call(
            Method::PATCH,
            &format!("{}/users/me", api.user),
            Some(&eve),
            Some(json!({"is_admin": true, "username": "root", "id": planted, "first_name": "Eva"})),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["is_admin"].as_bool(), me["username"].as_str()),
        (Some(false), Some("eve"))
    );
    let (_, token) = api.login("eve", "password-eve").await;
    let eve = token["access_token"].as_str().expect("a token").to_owned();
    let (status, _) = api
        .call(
            Method::GET,
            &format!("{}/users", api.user),
            Some(&eve),
            None,
        )
        .await;
    assert_eq!(status, 403, "still not an admin");

    // A deposit naming another user goes to the caller.
    let bob = api.register("bob").await;
    let (status, account) = api
        .call(
            Method::POST,
            &format!("{}/balance/deposit", api.payment),
            Some(&eve),
            Some(json!({"amount": 500, "user_id": bob.id, "balance": 10})),
        )
        .await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["balance"], 500);
    assert_eq!(api.balance(&bob).await, (0, 0));

    // An order's price, total, status, owner and courier come from the shop, not the client.
    let product = api.add_product(&admin, 100, 5).await;
    let courier = api.add_courier(&admin, 5).await;
    let (status, order) = api
        .call(
            Method::POST,
            &format!("{}/orders", api.order),
            Some(&eve),
            Some(
                json!({"product_id": product, "quantity": 2, "unit_price": 1, "total": 2,
                "status": "cancelled", "user_id": bob.id, "courier_id": uuid::Uuid::now_v7(),
                "id": planted}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        (order["unit_price"].as_i64(), order["total"].as_i64()),
        (Some(100), Some(200))
    );
    assert_eq!(order["status"], "completed");
    assert_eq!(order["courier_id"], courier.to_string());
    assert_ne!(order["user_id"], bob.id.to_string());
    assert_ne!(order["id"], planted.to_string());

    // A product's stock changes only through a restock; `available` is not writable.
    let (status, changed) = api
        .call(
            Method::PATCH,
            &format!("{}/products/{product}", api.stock),
            Some(&admin.token),
            Some(
                json!({"available": 1_000_000, "quantity": 1_000_000, "id": planted, "price": 120}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["available"].as_i64(), changed["price"].as_i64()),
        (Some(3), Some(120))
    );
}
