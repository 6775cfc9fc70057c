//! The front door and the one docs page: the `shop` binary's front door routes every request by
//! its path as the chart's Ingress does, so a shopper's whole journey runs on one base URL, and
//! every service's docs page there is the one page of all six specs; what no Ingress routes
//! (`/internal/`, the internal docs, health, metrics) is not reachable through it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_door_routes_as_the_ingress_and_serves_one_docs_page() {
    let shop = started(&[]).await;
    let base = shop.base;
    let front = format!("http://127.0.0.1:{}", base - 1);
    let api = shop_tests::Api::new(
        std::array::from_fn(|_| front.clone()),
        shop_kit::config::Secret::new("not used"),
    );
    // A shopper's journey on the one base URL.
    let admin = api.admin().await;
    let product = api.add_product(&admin, 25, 10).await;
    api.add_courier(&admin, 5).await;
    let ann = api.register("ann").await;
    assert_eq!(api.deposit(&ann, 1000).await.0, 200);
    let order: shop_tests::Order = api.order(&ann, product, 2, None).await.ok_as(201);
    assert_eq!(order.total, 50);
    let delivery = api.get_delivery(&ann, order.id).await;
    assert_eq!(delivery.status, 200, "{}", delivery.body);
    // Its history names the trace each step ran in: the order's one trace.
    let history: shop_tests::History = api.order_history(&admin, order.id).await.ok_as(200);
    let traces: std::collections::HashSet<_> =
        history.events.iter().map(|e| e.trace_id.clone()).collect();
    assert_eq!(traces.len(), 1, "one trace: {:?}", history.events);
    let trace = traces.into_iter().next().flatten().unwrap_or_default();
    assert_eq!(trace.len(), 32, "a trace id: {trace:?}");

    // One docs page: every service's lists the six specs, its own first.
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    let page = get(format!("{front}/stock/docs"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<title>stock-svc API · the shop</title>"));
    assert!(page.contains(r#"specs.find(s => s.name === "stock-svc")"#));
    assert!(
        page.contains(r#"<select id="shop-spec""#),
        "the selector of specs"
    );
    for s in shop_kit::topology::SERVICES {
        assert!(
            page.contains(&format!("/{}/openapi.json", s.short)),
            "{}",
            s.name
        );
        let spec: serde_json::Value = get(format!("{front}/{}/openapi.json", s.short))
            .await
            .json()
            .await
            .unwrap();
        assert!(spec["info"]["description"].is_string(), "{}", s.name);
        let paths = spec["paths"].as_object().unwrap();
        assert!(
            paths.keys().all(|p| !p.starts_with("/internal/")),
            "{}'s public spec has no internal operation",
            s.name
        );
    }

    // What no Ingress routes is 404 at the front door, and served on the service's own port.
    for path in [
        "/internal/reservations",
        "/payment/internal/docs",
        "/payment/internal/openapi.json",
        "/health/ready",
        "/metrics",
    ] {
        let status = get(format!("{front}{path}")).await.status();
        assert_eq!(status, 404, "{path}");
    }
    let payment = format!("http://127.0.0.1:{}", base + 2);
    let internal: serde_json::Value = get(format!("{payment}/payment/internal/openapi.json"))
        .await
        .json()
        .await
        .unwrap();
    let paths = internal["paths"].as_object().unwrap();
    assert!(!paths.is_empty() && paths.keys().all(|p| p.starts_with("/internal/")));
}
