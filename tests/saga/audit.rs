//! The books audit in a running shop: a hold for an order order-svc never recorded is found, a
//! dry run of the repair changes nothing, the repair releases it and a second audit finds
//! nothing; only admins audit; and an audit that cannot read a participant answers 503 rather
//! than report books it has not seen.

use reqwest::Method;
use serde_json::{Value, json};
use shop_tests::{Call, Fault, Order};
use uuid::Uuid;

use crate::World;

/// `method` order-svc's `path` as `token`: the status and the body.
async fn admin_call(w: &World, method: Method, path: &str, token: &str) -> (u16, Value) {
    let url = format!("{}{path}", w.shop.api.order);
    let answer = w
        .shop
        .api
        .request(method, &url, Some(token), None, &[])
        .await;
    (answer.status.as_u16(), answer.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_for_an_unknown_order_is_found_then_released_and_a_dry_run_changes_nothing() {
    let w = World::new(1000, 10, 100, 10).await;
    let api = &w.shop.api;
    let _: Order = api.order(&w.ann, w.product, 2, None).await.ok_as(201);
    // Funds held at payment for an order order-svc never recorded.
    let stray = Uuid::now_v7();
    let body = json!({"order_id": stray, "user_id": w.ann.id, "amount": 100});
    let held = api.reservations(&api.payment).reserve(body).await;
    assert_eq!(held.status, 201, "{}", held.body);
    assert_eq!(api.balance(&w.ann).await, (880, 100));

    let admin = w.admin.token.as_str();
    let (status, _) = admin_call(&w, Method::GET, "/admin/audit", &w.ann.token).await;
    assert_eq!(status, 403, "a shopper audits");
    let (status, page) = admin_call(&w, Method::GET, "/admin/audit", admin).await;
    assert_eq!(status, 200, "{page}");
    let findings = page["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{page}");
    assert_eq!(findings[0]["kind"], "held_for_unknown", "{page}");
    assert_eq!(findings[0]["order_id"], stray.to_string(), "{page}");
    assert_eq!(findings[0]["participant"], "payment", "{page}");
    assert_eq!(findings[0]["remedy"], "release", "{page}");
    assert_eq!(
        page["orders"], 1,
        "the completed order was compared: {page}"
    );

    let (status, dry) = admin_call(&w, Method::POST, "/admin/audit/repair", admin).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["applied"], false, "{dry}");
    assert_eq!(dry["repairs"][0]["outcome"], "planned", "{dry}");
    assert_eq!(api.balance(&w.ann).await, (880, 100), "a dry run released");

    let apply = "/admin/audit/repair?apply=true";
    let (status, made) = admin_call(&w, Method::POST, apply, admin).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["repairs"][0]["outcome"], "done", "{made}");
    assert_eq!(api.balance(&w.ann).await, (980, 0));
    let (_, again) = admin_call(&w, Method::GET, "/admin/audit", admin).await;
    assert_eq!(again["findings"], json!([]), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_that_cannot_read_a_participant_answers_503() {
    let w = World::new(1000, 10, 100, 10).await;
    let _: Order = w
        .shop
        .api
        .order(&w.ann, w.product, 1, None)
        .await
        .ok_as(201);
    // stock-svc answers its reservations' list (and nothing else is asked now) with 503.
    w.shop
        .faults
        .inject("stock", Call::Other, Fault::Answer(503), 1000);
    let admin = w.admin.token.clone();
    let (status, body) = admin_call(&w, Method::GET, "/admin/audit", &admin).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.get("findings").is_none(), "{body}");
    w.shop.faults.clear();
    let (status, page) = admin_call(&w, Method::GET, "/admin/audit", &admin).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["findings"], json!([]), "{page}");
}
