//! Every figure the dashboards show comes from a series the services really export, with the
//! value the shop's own books say.

use shop_tests::TestShop;
use shop_tests::metrics::{scrape, value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_count_what_the_shop_did() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let admin = api.admin().await;
    let ann = api.register("ann").await;
    let (status, _) = api.deposit(&ann, 1000).await;
    assert_eq!(status, 200);
    let product = api.add_product(&admin, 10, 100).await;
    api.add_courier(&admin, 5).await;
    let (status, _) = api.order(&ann, product, 3, None).await.parts();
    assert_eq!(status, 201);
    let (status, _) = api.order(&ann, product, 100, None).await.parts();
    assert_eq!(status, 402);
    let (status, _) = api.login("ann", "wrong-password").await;
    assert_eq!(status, 401);
    shop.settle().await;

    let order = scrape(&api.order).await;
    let placed = |status| {
        value(
            &order,
            "shop_http_requests_total",
            &[("operation", "place_order"), ("status", status)],
        )
    };
    assert_eq!(placed("201"), Some(1.0), "{order}");
    assert_eq!(placed("402"), Some(1.0));
    let bytes = |name| value(&order, name, &[("operation", "place_order")]).unwrap_or(0.0);
    assert!(bytes("shop_http_request_bytes_total") > 0.0);
    assert!(bytes("shop_http_response_bytes_total") > 0.0);
    assert!(value(&order, "shop_http_requests_in_flight", &[]).is_some());
    // Every series names its service under `shop_service`, a label no scraper sets on its own.
    assert_eq!(
        value(&order, "shop_ready", &[("shop_service", "order-svc")]),
        Some(1.0),
        "{order}"
    );
    assert!(value(&order, "shop_db_pool_connections", &[("state", "idle")]).is_some());
    // The harness uses the default pool: 10 connections on PostgreSQL, one on SQLite.
    let limit = if shop.dbs.is_postgres() { 10.0 } else { 1.0 };
    assert_eq!(
        value(&order, "shop_db_pool_max_connections", &[]),
        Some(limit)
    );
    let outcome = |o, r| {
        value(
            &order,
            "shop_saga_outcomes_total",
            &[("outcome", o), ("reason", r)],
        )
    };
    assert_eq!(outcome("completed", ""), Some(1.0));
    assert_eq!(outcome("cancelled", "insufficient_funds"), Some(1.0));
    assert_eq!(
        value(&order, "shop_orders", &[("status", "pending")]),
        Some(0.0)
    );
    assert_eq!(
        value(&order, "shop_outbox_backlog_messages", &[]),
        Some(0.0)
    );
    let attempts = |peer, outcome| {
        value(
            &order,
            "shop_http_client_attempts_total",
            &[("peer", peer), ("outcome", outcome)],
        )
    };
    // Two price lookups, then the completed order's reserve and confirm; payment refuses the
    // second order once (402), and no call needed a retry.
    assert_eq!(attempts("stock-svc", "2xx"), Some(4.0), "{order}");
    assert_eq!(attempts("payment-svc", "4xx"), Some(1.0));
    assert_eq!(attempts("stock-svc", "5xx"), None);

    let payment = scrape(&api.payment).await;
    let step = |text: &str, action, result| {
        value(
            text,
            "shop_reservations_total",
            &[("action", action), ("result", result)],
        )
    };
    assert_eq!(step(&payment, "reserve", "applied"), Some(1.0));
    assert_eq!(step(&payment, "reserve", "short"), Some(1.0));
    let funds = |action| {
        value(
            &payment,
            "shop_payment_funds_cents_total",
            &[("action", action)],
        )
    };
    assert_eq!(funds("confirm"), Some(30.0), "captured: 3 × 10");
    let stock = scrape(&api.stock).await;
    let units = value(&stock, "shop_stock_units_total", &[("action", "confirm")]);
    assert_eq!(units, Some(3.0), "sold");
    let delivery = scrape(&api.delivery).await;
    assert_eq!(step(&delivery, "confirm", "applied"), Some(1.0));

    let user = scrape(&api.user).await;
    let logins = |o| value(&user, "shop_logins_total", &[("outcome", o)]);
    assert!(logins("success").is_some_and(|n| n >= 2.0), "admin and ann");
    assert_eq!(logins("failure"), Some(1.0));
    let created = value(&user, "shop_registrations_total", &[("outcome", "created")]);
    assert_eq!(created, Some(1.0), "{user}");

    // Six services in one process: the process is reported by one of them at most (by none
    // when another test of this binary started a shop first; tests/process checks the shop
    // binary reports it exactly once).
    let mut reporting = 0;
    for url in [
        &api.user,
        &api.order,
        &api.payment,
        &api.stock,
        &api.delivery,
        &api.notify,
    ] {
        if value(&scrape(url).await, "process_resident_memory_bytes", &[]).is_some() {
            reporting += 1;
        }
    }
    assert!(
        reporting <= 1,
        "the process metrics appear {reporting} times"
    );
}
