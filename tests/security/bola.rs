//! API1 Broken Object Level Authorization and API5 Broken Function Level Authorization: user B
//! on every `{id}` of user A, and a shopper on every admin-only operation.

use reqwest::Method;
use serde_json::json;
use shop_tests::TestShop;

use crate::{completed_order, operations};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_resources_are_404_and_admin_operations_403() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let ann = api.register("ann").await;
    let bob = api.register("bob").await;
    let admin = api.admin().await;
    let order = completed_order(&shop, &ann).await;
    let ann_id = ann.id.to_string();

    // Every public operation with an id in its path, with A's id in it, as B.
    // (path template, URL with A's id, B's status, the admin's status)
    let matrix = [
        (
            "order-svc",
            "/orders/{id}",
            format!("{}/orders/{order}", api.order),
            Method::GET,
            404,
            200,
        ),
        (
            "order-svc",
            "/admin/orders/{id}/history",
            format!("{}/admin/orders/{order}/history", api.order),
            Method::GET,
            403,
            200,
        ),
        (
            "order-svc",
            "/admin/orders/{id}/retry",
            format!("{}/admin/orders/{order}/retry", api.order),
            Method::POST,
            403,
            409,
        ),
        (
            "delivery-svc",
            "/deliveries/{order_id}",
            format!("{}/deliveries/{order}", api.delivery),
            Method::GET,
            404,
            200,
        ),
        (
            "user-svc",
            "/users/{id}",
            format!("{}/users/{ann_id}", api.user),
            Method::GET,
            403,
            200,
        ),
        (
            "user-svc",
            "/users/{id}",
            format!("{}/users/{ann_id}", api.user),
            Method::PATCH,
            403,
            200,
        ),
        (
            "payment-svc",
            "/balance/{user_id}",
            format!("{}/balance/{ann_id}", api.payment),
            Method::GET,
            403,
            200,
        ),
        (
            "payment-svc",
            "/balance/{user_id}/transactions",
            format!("{}/balance/{ann_id}/transactions", api.payment),
            Method::GET,
            403,
            200,
        ),
        // Last: Ann's own call cancels (refunds) her order; the admin's then finds it refunded.
        (
            "order-svc",
            "/orders/{id}/cancel",
            format!("{}/orders/{order}/cancel", api.order),
            Method::POST,
            404,
            200,
        ),
    ];
    let patch = json!({"first_name": "Mallory"});
    for (_, _, url, method, bobs, admins) in &matrix {
        let body = (*method == Method::PATCH).then(|| patch.clone());
        let (status, problem) = api
            .call(method.clone(), url, Some(&bob.token), body.clone())
            .await;
        assert_eq!(status, *bobs, "bob on {method} {url}: {problem}");
        assert_eq!(problem["status"], *bobs);
        let (status, _) = api
            .call(method.clone(), url, Some(&ann.token), body.clone())
            .await;
        assert!(
            matches!(status.as_u16(), 200 | 403),
            "ann on {method} {url}"
        );
        let body = (*method == Method::PATCH).then(|| json!({"last_name": "Lee"}));
        let (status, answer) = api
            .call(method.clone(), url, Some(&admin.token), body)
            .await;
        assert_eq!(status, *admins, "admin on {method} {url}: {answer}");
    }
    // The matrix covers every public operation whose path holds an id.
    let with_ids: Vec<_> = operations(&shop)
        .await
        .into_iter()
        .filter(|op| !op.internal && op.path.contains('{'))
        .filter(|op| {
            !matches!(
                op.path.as_str(),
                "/products/{id}" | "/products/{id}/restock" | "/couriers/{id}"
            )
        })
        .map(|op| (op.service, op.path, op.method))
        .collect();
    for (service, path, method) in &with_ids {
        assert!(
            matrix
                .iter()
                .any(|(s, p, _, m, _, _)| s == service && p == path && m == method),
            "{service} {method} {path} is in the matrix"
        );
    }

    // Lists and filters show B only B's own.
    let (_, mine) = api
        .call(
            Method::GET,
            &format!("{}/orders", api.order),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(mine["items"], json!([]));
    let (status, messages) = api
        .call(
            Method::GET,
            &format!("{}/messages?order_id={order}", api.notify),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!((status.as_u16(), &messages["items"]), (200, &json!([])));
    let (_, balance) = api
        .call(
            Method::GET,
            &format!("{}/balance", api.payment),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(balance["user_id"], bob.id.to_string());
    let (_, ann_now) = api
        .call(
            Method::GET,
            &format!("{}/users/me", api.user),
            Some(&ann.token),
            None,
        )
        .await;
    assert_eq!(ann_now["first_name"], "Test", "bob's PATCH changed nothing");
    assert_eq!(ann_now["last_name"], "Lee", "the admin's did");

    // Admin-only operations of every service, as a shopper: 403, and nothing is created.
    let admin_only = [
        (Method::GET, format!("{}/users", api.user), None),
        (Method::GET, format!("{}/admin/orders", api.order), None),
        (
            Method::POST,
            format!("{}/products", api.stock),
            Some(json!({"name": "Tea", "price": 1, "quantity": 1})),
        ),
        (
            Method::POST,
            format!("{}/couriers", api.delivery),
            Some(json!({"name": "Kim", "daily_capacity": 1})),
        ),
        (Method::GET, format!("{}/couriers", api.delivery), None),
    ];
    for (method, url, body) in admin_only {
        let (status, problem) = api.call(method.clone(), &url, Some(&bob.token), body).await;
        assert_eq!(status, 403, "bob on {method} {url}: {problem}");
    }
    let (_, products) = api
        .call(Method::GET, &format!("{}/products", api.stock), None, None)
        .await;
    assert_eq!(products["items"].as_array().map(Vec::len), Some(1));
}
