//! `GET /messages/stream`: a shopper's new messages as Server-Sent Events, resumed with
//! `Last-Event-ID` without losing or repeating one, nobody else's, across two notify-svc
//! instances on one database, and bounded per shopper.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use shop_tests::{Shopper, TestShop};
use uuid::Uuid;

/// One event of a stream.
#[derive(Debug, Clone)]
struct SseEvent {
    id: String,
    event: String,
    data: Value,
}

/// An open stream, read as text.
struct Sse {
    resp: reqwest::Response,
    buf: String,
}

impl Sse {
    /// Opens `base/messages/stream` for `s`, resuming after `last` if given.
    async fn open(base: &str, s: &Shopper, last: Option<&str>) -> Self {
        let resp = open(base, s, last).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Self {
            resp,
            buf: String::new(),
        }
    }

    /// The next event within `within`, skipping keep-alive comments; `None` if none came.
    async fn next(&mut self, within: Duration) -> Option<SseEvent> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if data.is_empty() {
                    continue; // a comment
                }
                return Some(SseEvent {
                    id,
                    event,
                    data: serde_json::from_str(&data).expect("data is JSON"),
                });
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.resp.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) | Ok(Err(_)) => panic!("the stream ended"),
                Err(_) => return None,
            }
        }
    }
}

async fn open(base: &str, s: &Shopper, last: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .get(format!("{base}/messages/stream"))
        .bearer_auth(&s.token);
    if let Some(last) = last {
        req = req.header("Last-Event-ID", last);
    }
    req.send().await.expect("the stream answers")
}

/// A shop with a product and a courier, and shoppers with money.
async fn world(names: &[&str]) -> (TestShop, Uuid, Vec<Shopper>) {
    let shop = TestShop::spawn().await;
    let admin = shop.api.admin().await;
    let product = shop.api.add_product(&admin, 10, 100).await;
    shop.api.add_courier(&admin, 100).await;
    let mut shoppers = Vec::new();
    for name in names {
        let s = shop.api.register(name).await;
        shop.api.deposit(&s, 1_000).await;
        shoppers.push(s);
    }
    (shop, product, shoppers)
}

/// Places an order that completes; returns its id.
async fn order(shop: &TestShop, s: &Shopper, product: Uuid) -> String {
    let (status, order) = shop.api.order(s, product, 1, None).await.parts();
    assert_eq!(status, 201, "{order}");
    order["id"].as_str().unwrap().to_owned()
}

/// Waits until `s` has `n` messages stored.
async fn wait_messages(shop: &TestShop, s: &Shopper, n: usize) {
    let started = Instant::now();
    while shop.api.messages(s).await.len() < n {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "messages not delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_brings_new_messages_and_resumes_after_a_disconnect_without_loss_or_repeat() {
    let (shop, product, shoppers) = world(&["ann", "bob"]).await;
    let (ann, bob) = (&shoppers[0], &shoppers[1]);
    let notify = shop.api.notify.clone();

    let mut stream = Sse::open(&notify, ann, None).await;
    order(&shop, bob, product).await; // bob's message is not ann's to see
    let first_order = order(&shop, ann, product).await;
    let first = stream
        .next(Duration::from_secs(10))
        .await
        .expect("ann's message arrives");
    assert_eq!(first.event, "message");
    assert_eq!(first.data["order_id"], first_order.as_str(), "{first:?}");
    assert_eq!(first.data["user_id"], ann.id.to_string());
    assert_eq!(first.id, first.data["id"].as_str().unwrap());
    drop(stream);

    // Disconnected: two more orders; resuming after the first message brings exactly those.
    let later = [
        order(&shop, ann, product).await,
        order(&shop, ann, product).await,
    ];
    wait_messages(&shop, ann, 3).await;
    let mut resumed = Sse::open(&notify, ann, Some(&first.id)).await;
    for expected in &later {
        let e = resumed
            .next(Duration::from_secs(10))
            .await
            .expect("a message stored while away");
        assert_eq!(e.data["order_id"], expected.as_str(), "{e:?}");
        assert_eq!(e.data["user_id"], ann.id.to_string());
    }
    assert!(
        resumed.next(Duration::from_millis(1500)).await.is_none(),
        "nothing repeated, nobody else's"
    );

    // Resuming after somebody else's message, or an unknown one, is refused.
    let bobs = shop.api.messages(bob).await;
    let bobs_id = bobs[0].id.to_string();
    for last in [bobs_id.as_str(), &Uuid::now_v7().to_string(), "not-an-id"] {
        let resp = open(&notify, ann, Some(last)).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{last}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_stored_through_one_instance_reaches_a_stream_on_another() {
    let (shop, product, shoppers) = world(&["ann"]).await;
    let ann = &shoppers[0];
    let other = shop.another_notify().await;
    let mut stream = Sse::open(&other.url, ann, None).await;
    // order-svc delivers the message to the first instance; the stream is on the second.
    let placed = order(&shop, ann, product).await;
    let e = stream
        .next(Duration::from_secs(10))
        .await
        .expect("the message crosses instances");
    assert_eq!(e.data["order_id"], placed.as_str());
    other.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopper_holds_at_most_four_streams_and_a_closed_one_frees_its_place() {
    let (shop, _, shoppers) = world(&["ann"]).await;
    let ann = &shoppers[0];
    let notify = shop.api.notify.clone();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(Sse::open(&notify, ann, None).await);
    }
    let refused = open(&notify, ann, None).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["status"], 429);

    held.pop(); // the client goes away
    let started = Instant::now();
    loop {
        let resp = open(&notify, ann, None).await;
        if resp.status() == StatusCode::OK {
            break;
        }
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "a closed stream's place is given back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_when_its_token_expires() {
    let (shop, _, shoppers) = world(&["ann"]).await;
    let ann = &shoppers[0];
    // A token of ann's that lives 2 s, signed as user-svc signs.
    let keys = shop_kit::auth::TokenKeys::new(&shop_kit::auth::AuthConfig::signing(
        shop.signing_key.clone(),
        &[],
        2,
    ))
    .unwrap();
    let short = Shopper {
        token: keys.issue(ann.id, false).unwrap(),
        ..ann.clone()
    };
    let opened = Instant::now();
    let mut stream = Sse::open(&shop.api.notify, &short, None).await;
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.resp.chunk()).await {
            Ok(Ok(Some(_))) => continue, // a keep-alive
            Ok(Ok(None)) | Ok(Err(_)) => break opened.elapsed(),
            Err(_) => panic!("the stream outlived its token by 8 s"),
        }
    };
    assert!(ended < Duration::from_secs(4), "ended after {ended:?}");
    // A fresh token opens a new one.
    drop(Sse::open(&shop.api.notify, ann, None).await);
}
