//! One trace follows an order: the `shop` binary exports its spans over OTLP/HTTP to a receiver
//! in this test (switched on by `OTEL_EXPORTER_OTLP_ENDPOINT`, as in production), the order is
//! placed with a W3C `traceparent`, and the spans of order-svc, payment, stock, delivery and
//! notify all carry its trace id and hang, through their parents, under the `POST /orders` span.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use poem::listener::{Acceptor, Listener};
use poem::web::Data;
use poem::{EndpointExt, Route, handler, http::StatusCode, post};
use prost::Message;

use super::*;

/// A span as received, with the `service.name` of the process that sent it.
#[derive(Debug, Clone)]
struct Received {
    process: String,
    trace_id: String,
    span_id: String,
    parent: String,
    name: String,
    kind: i32,
    attributes: HashMap<String, String>,
}

type Inbox = Arc<Mutex<Vec<Received>>>;

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(kvs: &[KeyValue]) -> HashMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect()
}

#[handler]
fn collect(body: Vec<u8>, inbox: Data<&Inbox>) -> StatusCode {
    let Ok(export) = ExportTraceServiceRequest::decode(body.as_slice()) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut inbox = inbox.lock().unwrap();
    for resource_spans in export.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        let process = resource.get("service.name").cloned().unwrap_or_default();
        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
            inbox.push(Received {
                process: process.clone(),
                trace_id: hex::encode(&span.trace_id),
                span_id: hex::encode(&span.span_id),
                parent: hex::encode(&span.parent_span_id),
                name: span.name,
                kind: span.kind,
                attributes: attributes(&span.attributes),
            });
        }
    }
    StatusCode::OK
}

/// Starts the OTLP/HTTP receiver; returns its base URL and what it receives.
async fn receiver() -> (String, Inbox) {
    let inbox = Inbox::default();
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let app = Route::new()
        .at("/v1/traces", post(collect))
        .data(inbox.clone());
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (format!("http://127.0.0.1:{port}"), inbox)
}

/// The spans of `trace_id` received so far.
fn of_trace(inbox: &Inbox, trace_id: &str) -> Vec<Received> {
    let inbox = inbox.lock().unwrap();
    inbox
        .iter()
        .filter(|s| s.trace_id == trace_id)
        .cloned()
        .collect()
}

/// The services whose server spans are in `spans`.
fn serving(spans: &[Received]) -> BTreeSet<String> {
    spans
        .iter()
        .filter(|s| s.kind == SpanKind::Server as i32)
        .filter_map(|s| s.attributes.get("shop.service").cloned())
        .collect()
}

/// Whether one span continues `client_span` and every span reaches it through parents that
/// are in `spans`.
fn every_chain_reaches(spans: &[Received], client_span: &str) -> bool {
    let by_id: HashMap<&str, &Received> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    spans.iter().all(|span| {
        let mut at = span;
        for _ in 0..64 {
            if at.parent == client_span {
                return true;
            }
            match by_id.get(at.parent.as_str()) {
                Some(parent) => at = parent,
                None => return false,
            }
        }
        false
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_keeps_one_trace_through_every_service() {
    let (collector, inbox) = receiver().await;
    let dbs = Databases::fresh().await;
    let data = tempfile::tempdir().unwrap();
    let base = free_base_port();
    let mut cmd = command(&dbs, data.path(), base, &[]);
    cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100");
    let _shop = ShopProcess(cmd.spawn().expect("the shop binary starts"));
    wait_ready(base).await;
    let api = api(base, data.path());
    let admin = api.admin().await;
    let product = api.add_product(&admin, 250, 10).await;
    api.add_courier(&admin, 10).await;
    let ann = api.register("ann").await;
    api.deposit(&ann, 10_000).await;

    // The shopper's own client span: the order's trace continues it.
    let trace_id = hex::encode(rand::random::<[u8; 16]>());
    let client_span = hex::encode(rand::random::<[u8; 8]>());
    let traceparent = format!("00-{trace_id}-{client_span}-01");
    let (status, order) = api
        .send(
            Method::POST,
            &format!("{}/orders", api.order),
            Some(&ann.token),
            Some(json!({"product_id": product, "quantity": 2})),
            &[("traceparent", traceparent.as_str())],
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{order}");
    assert_eq!(order["status"], "completed", "{order}");

    let expected: BTreeSet<String> = [
        "order-svc",
        "payment-svc",
        "stock-svc",
        "delivery-svc",
        "notify-svc",
    ]
    .map(String::from)
    .into();
    // Spans arrive in batches as they end, a child's before its parent's (notify-svc's server
    // span before the outbox's call that is its parent): wait for every chain to be whole.
    let started = Instant::now();
    let spans = loop {
        let spans = of_trace(&inbox, &trace_id);
        let complete = serving(&spans).is_superset(&expected)
            && spans.iter().any(|s| s.name == "deliver message")
            && every_chain_reaches(&spans, &client_span);
        if complete || started.elapsed() > Duration::from_secs(30) {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let names: Vec<String> = spans
        .iter()
        .map(|s| format!("{} {} <- {}", s.name, s.span_id, s.parent))
        .collect();
    assert!(
        serving(&spans).is_superset(&expected),
        "server spans of every service the order touched share its trace id: {names:#?}"
    );

    let roots: Vec<&Received> = spans.iter().filter(|s| s.parent == client_span).collect();
    assert_eq!(
        roots.len(),
        1,
        "one span continues the client's: {names:#?}"
    );
    let root = roots[0];
    assert_eq!(root.name, "POST /orders", "{:?}", root.attributes);
    assert_eq!(root.kind, SpanKind::Server as i32);
    assert_eq!(root.attributes["shop.service"], "order-svc");
    assert_eq!(root.attributes["http.route"], "/orders");
    assert_eq!(root.attributes["http.response.status_code"], "201");
    assert_eq!(root.process, "shop");

    // Every span reaches the root through parents that are themselves in the trace.
    let by_id: HashMap<&str, &Received> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    for span in &spans {
        let mut at = span;
        let mut hops = 0;
        while at.span_id != root.span_id {
            at = by_id.get(at.parent.as_str()).unwrap_or_else(|| {
                panic!("{} has a parent outside the trace: {names:#?}", span.name)
            });
            hops += 1;
            assert!(hops < 64, "a parent cycle: {names:#?}");
        }
    }

    // The participants' calls are client spans of order-svc, and the message went out after
    // the answer, from the outbox, in the same trace.
    let client_calls = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Client as i32)
        .count();
    assert!(
        client_calls >= 8,
        "a price lookup, three reservations, three confirmations and the message: {names:#?}"
    );
    assert!(
        spans.iter().any(|s| s.name == "deliver message"),
        "{names:#?}"
    );
}
