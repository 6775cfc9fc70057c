//! Internal endpoints: only the internal token opens them, and no Ingress routes them.

use serde_json::json;
use shop_kit::topology::{NEVER_ROUTED, is_routed};
use shop_tests::TestShop;

use crate::operations;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_operations_need_the_internal_token_and_are_never_routed() {
    let mut shop = TestShop::spawn().await;
    // The internal calls here are made directly, for orders order-svc never recorded.
    shop.skip_invariants();
    let api = &shop.api;
    let ann = api.register("ann").await;
    let admin = api.admin().await;
    let ops = operations(&shop).await;
    let internal: Vec<_> = ops
        .iter()
        .filter(|op| op.path.starts_with("/internal/"))
        .collect();
    assert!(
        internal.len() >= 10,
        "reserve, confirm, release ×3, accounts, messages"
    );
    for op in &ops {
        let under_internal = op.path.starts_with("/internal/");
        assert_eq!(
            op.internal, under_internal,
            "{} {} {}: token scheme",
            op.service, op.method, op.path
        );
        assert!(
            !(op.internal && op.user_auth),
            "{} {}: one scheme",
            op.method,
            op.path
        );
        assert_eq!(
            is_routed(op.service, &op.path),
            !under_internal,
            "{} {}: routed by its Ingress exactly when public",
            op.service,
            op.path
        );
    }
    for service in [
        "user-svc",
        "order-svc",
        "payment-svc",
        "stock-svc",
        "delivery-svc",
        "notify-svc",
    ] {
        for path in ["/health/live", "/health/ready", "/metrics"] {
            assert!(!is_routed(service, path), "{service} {path}");
        }
    }
    assert!(NEVER_ROUTED.contains(&"/internal/"));

    let token = api.internal_token().to_owned();
    let mut near_miss = token.clone().into_bytes();
    let last = near_miss.len() - 1;
    near_miss[last] = if near_miss[last] == b'0' { b'1' } else { b'0' };
    let near_miss = String::from_utf8(near_miss).expect("ASCII");
    let wrong: [(&str, Option<&str>); 6] = [
        ("no token", None),
        ("a shopper's token", Some(&ann.token)),
        ("the admin's token", Some(&admin.token)),
        ("a random token", Some("0123456789abcdef")),
        (
            "the internal token but its last character",
            Some(&near_miss),
        ),
        (
            "the internal token with a suffix",
            Some(&format!("{token}x")),
        ),
    ];
    let body = json!({"order_id": uuid::Uuid::now_v7(), "user_id": ann.id, "amount": 1,
        "product_id": uuid::Uuid::now_v7(), "quantity": 1, "date": "2099-01-01",
        "id": uuid::Uuid::now_v7(), "text": "hi"});
    for op in &internal {
        let url = op.url();
        let json = op.body.then(|| body.clone());
        for (who, token) in &wrong {
            let (status, problem) = api
                .call(op.method.clone(), &url, *token, json.clone())
                .await;
            assert_eq!(status, 401, "{who} on {} {}: {problem}", op.method, op.path);
        }
        let (status, answer) = api
            .call(op.method.clone(), &url, Some(&token), json.clone())
            .await;
        assert!(
            status != 401 && !status.is_server_error(),
            "the internal token on {} {}: {status} {answer}",
            op.method,
            op.path
        );
    }
}
