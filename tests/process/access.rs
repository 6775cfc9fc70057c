//! The access log: one JSON line per request in every service, inside the request's span, so a
//! trace id found in one service's line leads to the lines of every service the order touched;
//! never a token or a password.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_orders_trace_id_is_in_an_access_line_of_every_service_it_touched() {
    let dbs = Databases::fresh().await;
    let data = tempfile::tempdir().unwrap();
    let data_dir = data_dir(&dbs, &data);
    let log_path = data.path().join("shop.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let base = free_base_port();
    let _child = ShopProcess(
        command(&dbs, &data_dir, base, &[])
            .env("SHOP_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(log))
            .spawn()
            .unwrap(),
    );
    wait_ready(base).await;
    let api = api(base, &data_dir);
    let (product, shoppers) = load::stocked(&api, "acc", 1).await;
    let ann = &shoppers[0];
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let answer = reqwest::Client::new()
        .post(format!("{}/orders", api.order))
        .bearer_auth(&ann.token)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({"product_id": product, "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let order: serde_json::Value = answer.json().await.unwrap();

    // The outcome's message reaches notify-svc through the outbox, in the same trace.
    let wanted = [
        "order-svc",
        "payment-svc",
        "stock-svc",
        "delivery-svc",
        "notify-svc",
    ];
    let started = Instant::now();
    let lines = loop {
        let text = std::fs::read_to_string(&log_path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|l: &serde_json::Value| l["target"] == "access")
            .collect();
        let services: Vec<&str> = lines
            .iter()
            .filter(|l| l["span"]["trace_id"] == trace_id)
            .filter_map(|l| l["span"]["shop.service"].as_str())
            .collect();
        if wanted.iter().all(|w| services.contains(w)) {
            break lines;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the trace's access lines came from {services:?} only"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let placed = lines
        .iter()
        .find(|l| l["span"]["trace_id"] == trace_id && l["fields"]["route"] == "/orders")
        .expect("the POST /orders line");
    assert_eq!(placed["fields"]["method"], "POST");
    assert_eq!(placed["fields"]["status"], 201);
    assert!(placed["fields"]["bytes_in"].as_u64() > Some(0));
    assert!(placed["fields"]["bytes_out"].as_u64() > Some(0));
    assert!(placed["fields"]["duration_ms"].as_f64().is_some());
    assert_eq!(placed["span"]["user_id"], ann.id.to_string());
    assert_eq!(placed["span"]["order_id"], order["id"]);
    // Probes are not logged; no line carries a token or a password.
    let text = std::fs::read_to_string(&log_path).unwrap();
    // A completed order has its end in the log too, in its trace.
    let finished = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "order saga finished")
        .expect("the saga's outcome line");
    assert_eq!(finished["level"], "INFO");
    assert_eq!(finished["fields"]["order_id"], order["id"]);
    assert_eq!(finished["fields"]["status"], "completed");
    let spans = finished["spans"].as_array().expect("the line's spans");
    assert!(
        spans.iter().any(|s| s["trace_id"] == trace_id),
        "{finished}"
    );
    assert!(!lines.iter().any(|l| {
        l["span"]["url.path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/health/"))
    }));
    assert!(!text.contains(&ann.token), "a token in the log");
    assert!(!text.contains("password-acc0"), "a password in the log");
}
