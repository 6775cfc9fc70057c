//! API4 Unrestricted Resource Consumption and bad input: every body-taking operation of every
//! service, fed broken and oversized bodies, answers 400/413/415 problem+json naming what is
//! wrong, never 5xx, and writes nothing.

use reqwest::Method;
use serde_json::{Value, json};
use shop_tests::TestShop;

use crate::operations;

/// A broken body: its name, content type, bytes, and the status and field of the answer.
type BodyCase = (
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    u16,
    &'static str,
);

/// A malformed request: method, URL, token, body, and the status and field of the answer.
type FieldCase<'a> = (Method, String, &'a str, Option<Value>, u16, &'static str);

async fn raw(
    method: Method,
    url: &str,
    token: &str,
    content_type: Option<&str>,
    body: reqwest::Body,
) -> (u16, String, Value) {
    let mut req = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.expect("an answer");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, ct, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_and_oversized_bodies_are_refused_everywhere_and_write_nothing() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let admin = api.admin().await;
    let internal = api.internal_token().to_owned();
    let ops: Vec<_> = operations(&shop)
        .await
        .into_iter()
        .filter(|op| op.body)
        .collect();
    assert!(ops.len() >= 15, "{} operations take a body", ops.len());
    let huge = "x".repeat(1024 * 1024 + 1);
    let deep = "[".repeat(100_000);
    let cases: Vec<BodyCase> = vec![
        (
            "malformed JSON",
            Some("application/json"),
            b"{\"a\": ".to_vec(),
            400,
            "body",
        ),
        (
            "empty body",
            Some("application/json"),
            Vec::new(),
            400,
            "body",
        ),
        (
            "an array",
            Some("application/json"),
            b"[1, 2]".to_vec(),
            400,
            "body",
        ),
        (
            "a string",
            Some("application/json"),
            b"\"hi\"".to_vec(),
            400,
            "body",
        ),
        (
            "nested 100000 deep",
            Some("application/json"),
            deep.into_bytes(),
            400,
            "body",
        ),
        (
            "not UTF-8",
            Some("application/json"),
            vec![0xff, 0xfe, 0x7b],
            400,
            "body",
        ),
        (
            "over 1 MiB",
            Some("application/json"),
            huge.clone().into_bytes(),
            413,
            "",
        ),
        (
            "text/plain",
            Some("text/plain"),
            b"{}".to_vec(),
            415,
            "Content-Type",
        ),
        ("no content type", None, b"{}".to_vec(), 415, "Content-Type"),
    ];
    for op in &ops {
        let token = if op.internal { &internal } else { &admin.token };
        let url = op.url();
        for (name, ct, body, status, field) in &cases {
            let (got, content_type, problem) =
                raw(op.method.clone(), &url, token, *ct, body.clone().into()).await;
            assert_eq!(
                got, *status,
                "{name} on {} {}: {problem}",
                op.method, op.path
            );
            assert!(
                content_type.starts_with("application/problem+json"),
                "{name} on {}",
                op.path
            );
            assert_eq!(problem["status"], *status);
            if !field.is_empty() {
                assert_eq!(
                    problem["errors"][0]["field"], *field,
                    "{name} on {}: {problem}",
                    op.path
                );
            }
        }
        // Over the limit without a Content-Length (chunked): read up to the limit, then 413.
        let got = chunked(&op.method, &url, token, huge.as_bytes()).await;
        assert_eq!(got, 413, "chunked on {} {}", op.method, op.path);
    }
    // Nothing was written anywhere.
    let (_, users) = api
        .call(
            Method::GET,
            &format!("{}/users", api.user),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(
        users["items"].as_array().map(Vec::len),
        Some(1),
        "the admin alone"
    );
    for url in [
        format!("{}/products", api.stock),
        format!("{}/couriers", api.delivery),
        format!("{}/admin/orders", api.order),
    ] {
        let (_, page) = api.call(Method::GET, &url, Some(&admin.token), None).await;
        assert_eq!(page["items"], json!([]), "{url}");
    }
    assert_eq!(api.balance(&admin).await, (0, 0));
}

/// Sends `body` with `Transfer-Encoding: chunked` over a plain connection; the status answered.
async fn chunked(method: &Method, url: &str, token: &str, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_at(rest.find('/').expect("a path"));
    let mut conn = tokio::net::TcpStream::connect(host)
        .await
        .expect("connects");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    let mut request = head.into_bytes();
    for chunk in body.chunks(64 * 1024) {
        request.extend(format!("{:x}\r\n", chunk.len()).into_bytes());
        request.extend(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    // The server may answer and close before it has read everything.
    let _ = conn.write_all(&request).await;
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_field_is_named_with_400_or_422() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let admin = api.admin().await;
    let ann = api.register("ann").await;
    let product = api.add_product(&admin, 10, 5).await;
    let (u, o, p, s, d) = (
        &api.user,
        &api.order,
        &api.payment,
        &api.stock,
        &api.delivery,
    );
    let long = "x".repeat(300);
    // (method, URL, token, body, status, field)
    let cases: Vec<FieldCase> = vec![
        (
            Method::POST,
            format!("{p}/balance/deposit"),
            &ann.token,
            Some(json!({"amount": "ten"})),
            400,
            "amount",
        ),
        (
            Method::POST,
            format!("{p}/balance/deposit"),
            &ann.token,
            Some(json!({"amount": 1.5})),
            400,
            "amount",
        ),
        (
            Method::POST,
            format!("{p}/balance/deposit"),
            &ann.token,
            Some(json!({})),
            400,
            "amount",
        ),
        (
            Method::POST,
            format!("{p}/balance/deposit"),
            &ann.token,
            Some(json!({"amount": null})),
            400,
            "amount",
        ),
        (
            Method::POST,
            format!("{p}/balance/deposit"),
            &ann.token,
            Some(json!({"amount": 0})),
            422,
            "amount",
        ),
        (
            Method::POST,
            format!("{p}/balance/deposit"),
            &ann.token,
            Some(json!({"amount": 1_000_000_000_001_i64})),
            422,
            "amount",
        ),
        (
            Method::POST,
            format!("{p}/balance/deposit"),
            &ann.token,
            Some(json!({"amount": 1e30})),
            422,
            "amount",
        ),
        (
            Method::POST,
            format!("{o}/orders"),
            &ann.token,
            Some(json!({"product_id": "not-a-uuid", "quantity": 1})),
            422,
            "product_id",
        ),
        (
            Method::POST,
            format!("{o}/orders"),
            &ann.token,
            Some(json!({"product_id": product, "quantity": 1, "delivery_date": "2026-02-30"})),
            422,
            "delivery_date",
        ),
        (
            Method::POST,
            format!("{o}/orders"),
            &ann.token,
            Some(json!({"product_id": product, "quantity": 1, "delivery_date": "yesterday"})),
            422,
            "delivery_date",
        ),
        // The contract's YYYY-MM-DD, exactly: a date a lenient parser would take is refused.
        (
            Method::POST,
            format!("{o}/orders"),
            &ann.token,
            Some(json!({"product_id": product, "quantity": 1, "delivery_date": "2027-1-5"})),
            422,
            "delivery_date",
        ),
        (
            Method::POST,
            format!("{o}/orders"),
            &ann.token,
            Some(json!({"product_id": product, "quantity": 1, "delivery_date": " 2026-12-05"})),
            422,
            "delivery_date",
        ),
        (
            Method::POST,
            format!("{o}/orders"),
            &ann.token,
            Some(json!({"product_id": product, "quantity": 1, "delivery_date": "2000-01-01"})),
            422,
            "delivery_date",
        ),
        (
            Method::POST,
            format!("{o}/orders"),
            &ann.token,
            Some(json!({"product_id": product, "quantity": 1001})),
            422,
            "quantity",
        ),
        (
            Method::POST,
            format!("{o}/orders"),
            &ann.token,
            Some(json!({"product_id": product, "quantity": "1"})),
            400,
            "quantity",
        ),
        (
            Method::POST,
            format!("{o}/orders"),
            &ann.token,
            Some(json!({"quantity": 1})),
            422,
            "product_id",
        ),
        (
            Method::POST,
            format!("{o}/orders"),
            &ann.token,
            Some(json!({"product_id": uuid::Uuid::now_v7(), "quantity": 1})),
            422,
            "product_id",
        ),
        (
            Method::GET,
            format!("{o}/orders?status=shipped"),
            &ann.token,
            None,
            422,
            "status",
        ),
        (
            Method::GET,
            format!("{o}/orders?limit=0"),
            &ann.token,
            None,
            422,
            "limit",
        ),
        (
            Method::GET,
            format!("{o}/orders?limit=101"),
            &ann.token,
            None,
            422,
            "limit",
        ),
        (
            Method::GET,
            format!("{o}/orders?limit=ten"),
            &ann.token,
            None,
            400,
            "limit",
        ),
        (
            Method::GET,
            format!("{o}/orders?cursor={long}"),
            &ann.token,
            None,
            422,
            "cursor",
        ),
        (
            Method::GET,
            format!("{o}/orders/not-a-uuid"),
            &ann.token,
            None,
            400,
            "path",
        ),
        (
            Method::GET,
            format!("{o}/admin/orders?user_id=42"),
            &admin.token,
            None,
            400,
            "user_id",
        ),
        (
            Method::POST,
            format!("{s}/products"),
            &admin.token,
            Some(json!({"name": long, "price": 1, "quantity": 1})),
            422,
            "name",
        ),
        (
            Method::POST,
            format!("{s}/products"),
            &admin.token,
            Some(json!({"name": "Tea", "price": -1, "quantity": 1})),
            422,
            "price",
        ),
        (
            Method::POST,
            format!("{s}/products"),
            &admin.token,
            Some(json!({"name": "Tea", "price": 1, "quantity": true})),
            400,
            "quantity",
        ),
        (
            Method::POST,
            format!("{s}/products/{product}/restock"),
            &admin.token,
            Some(json!({"quantity": 0})),
            422,
            "quantity",
        ),
        (
            Method::POST,
            format!("{d}/couriers"),
            &admin.token,
            Some(json!({"name": "Kim", "daily_capacity": 10_001})),
            422,
            "daily_capacity",
        ),
        (
            Method::POST,
            format!("{d}/couriers"),
            &admin.token,
            Some(json!({"name": ["Kim"], "daily_capacity": 1})),
            400,
            "name",
        ),
        (
            Method::PATCH,
            format!("{u}/users/me"),
            &ann.token,
            Some(json!({"email": long})),
            422,
            "email",
        ),
        (
            Method::PATCH,
            format!("{u}/users/me"),
            &ann.token,
            Some(json!({"phone": 4912345678_i64})),
            400,
            "phone",
        ),
        (
            Method::POST,
            format!("{u}/auth/login"),
            "",
            Some(json!({"username": long.repeat(2), "password": "x"})),
            422,
            "username",
        ),
    ];
    for (method, url, token, body, status, field) in cases {
        let token = (!token.is_empty()).then_some(token);
        let (got, problem) = api.call(method.clone(), &url, token, body.clone()).await;
        assert_eq!(got, status, "{method} {url} {body:?}: {problem}");
        assert_eq!(
            problem["errors"][0]["field"], field,
            "{method} {url} {body:?}: {problem}"
        );
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let (status, _) = api
        .send(
            Method::POST,
            &format!("{p}/balance/deposit"),
            Some(&ann.token),
            Some(json!({"amount": 5})),
            &[("Idempotency-Key", &"k".repeat(256))],
        )
        .await;
    assert_eq!(status, 422, "an Idempotency-Key over 255 characters");
    assert_eq!(api.balance(&ann).await, (0, 0), "nothing deposited");
    let (_, orders) = api
        .call(
            Method::GET,
            &format!("{o}/admin/orders"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(orders["items"], json!([]), "no order recorded");
    assert_eq!(api.available(product).await, 5);
}
