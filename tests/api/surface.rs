use reqwest::StatusCode;
use serde_json::json;
use shop_tests::answer::Product;
use shop_tests::{Page, TestShop};

fn urls(shop: &TestShop) -> Vec<(&'static str, String)> {
    let a = &shop.api;
    vec![
        ("user", a.user.clone()),
        ("order", a.order.clone()),
        ("payment", a.payment.clone()),
        ("stock", a.stock.clone()),
        ("delivery", a.delivery.clone()),
        ("notify", a.notify.clone()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_has_health_docs_spec_and_metrics() {
    let shop = TestShop::spawn().await;
    let http = reqwest::Client::new();
    for (docs, url) in urls(&shop) {
        for path in ["/health/live", "/health/ready"] {
            let status = http
                .get(format!("{url}{path}"))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, StatusCode::OK, "{docs} {path}");
        }
        let spec: serde_json::Value = http
            .get(format!("{url}/{docs}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            spec["openapi"].as_str().unwrap().starts_with("3."),
            "{docs} spec"
        );
        assert!(
            !spec["paths"].as_object().unwrap().is_empty(),
            "{docs} spec has paths"
        );
        assert!(
            spec["paths"]
                .as_object()
                .unwrap()
                .keys()
                .all(|p| !p.starts_with("/internal/")),
            "{docs}'s public spec shows no internal operation"
        );
        // The participants serve the reservation protocol on the paths order-svc calls, listed
        // in their internal spec.
        if ["payment", "stock", "delivery"].contains(&docs) {
            let spec: serde_json::Value = http
                .get(format!("{url}/{docs}/internal/openapi.json"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for op in shop_kit::ledger::ReservationOp::ALL {
                let (method, path) = op.path("{order_id}");
                let method = method.as_str().to_lowercase();
                assert!(
                    spec["paths"][&path][&method].is_object(),
                    "{docs} serves no {method} {path}"
                );
            }
        }
        let page = http.get(format!("{url}/{docs}/docs")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{docs} Swagger UI");
        assert!(
            page.text().await.unwrap().contains("swagger"),
            "{docs} Swagger UI page"
        );
        let metrics = http
            .get(format!("{url}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("shop_http_requests_total"),
            "{docs} metrics"
        );
        assert!(
            metrics.contains("shop_http_request_duration_seconds_bucket"),
            "{docs} latency histogram"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_problem_json_and_change_nothing() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/no/such/path", api.order))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(problem["status"], 404);
    assert!(
        problem["title"].is_string()
            && problem["type"].is_string()
            && problem["detail"].is_string()
    );

    let ann = api.register("ann").await;
    let url = format!("{}/balance/deposit", api.payment);
    let bad = http
        .post(&url)
        .bearer_auth(&ann.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    for body in [json!({"amount": "ten"}), json!({})] {
        api.deposit_keyed(&ann, body, None).await.problem(400);
    }
    for amount in [0, -5, 1_000_000_000_001_i64] {
        let body = json!({"amount": amount});
        let problem = api.deposit_keyed(&ann, body, None).await.problem(422);
        assert_eq!(problem.errors[0].field, "amount", "{amount}: {problem:?}");
    }
    let huge = "x".repeat(1024 * 1024 + 1);
    let resp = http
        .post(&url)
        .bearer_auth(&ann.token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await;
    // 413 from the declared length, without reading the body; a client still writing it may
    // see the connection closed before it reads the answer. Either way nothing changed.
    match resp {
        Ok(resp) => assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e:?}"),
    }
    assert_eq!(api.balance(&ann).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_opaque_cursors_and_bounded_limits() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let admin = api.admin().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(api.add_product(&admin, 10, 1).await);
    }
    let first: Page<Product> = api.list_products("limit=2").await.ok_as(200);
    let newest: Vec<_> = first.items.iter().map(|p| p.id).collect();
    assert_eq!(newest, [ids[2], ids[1]], "newest first");
    let cursor = first.next_cursor.expect("a next page");
    let query = format!("limit=2&cursor={cursor}");
    let second: Page<Product> = api.list_products(&query).await.ok_as(200);
    let rest: Vec<_> = second.items.iter().map(|p| p.id).collect();
    assert_eq!(rest, [ids[0]]);
    assert!(second.next_cursor.is_none());
    for bad in ["limit=0", "limit=101", "cursor=%21%21"] {
        let problem = api.list_products(bad).await.problem(422);
        assert!(!problem.errors.is_empty(), "{bad}: {problem:?}");
    }
}
