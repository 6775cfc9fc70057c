//! Replicas of order-svc on one database share its background work: each outbox message is
//! claimed by one replica and sent once, and the replicas' delivery counters add up to the
//! messages there are.

use shop_tests::metrics::{scrape, value};
use shop_tests::{Call, Fault};

use super::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_order_replicas_send_each_message_once() {
    let w = World::new(10_000, 10, 100, 100).await;
    let second = w.shop.another_order().await;
    let mut through_second = w.shop.api.clone();
    through_second.order = second.url.clone();
    // Slow deliveries keep each batch in flight long enough for the other replica's sender to
    // look at the outbox meanwhile.
    w.shop.faults.inject(
        "notify",
        Call::Message,
        Fault::Delay(std::time::Duration::from_millis(300)),
        24,
    );
    for i in 0..24 {
        let api = if i % 2 == 0 {
            &w.shop.api
        } else {
            &through_second
        };
        let answer = api.order(&w.ann, w.product, 1, None).await;
        assert_eq!(answer.status, 201, "order {i}: {}", answer.body);
    }
    w.shop.settle().await;
    let messages = w.shop.order_store().await.all_messages().await.unwrap();
    assert_eq!(messages.len(), 24, "one message per completed order");
    let delivered = |text: &str| {
        value(
            text,
            "shop_outbox_deliveries_total",
            &[("result", "delivered")],
        )
        .unwrap_or(0.0)
    };
    let first = delivered(&scrape(&w.shop.api.order).await);
    let other = delivered(&scrape(&second.url).await);
    assert_eq!(first + other, 24.0, "sent: {first} + {other}");
    let received = value(
        &scrape(&w.shop.api.notify).await,
        "shop_http_requests_total",
        &[("operation", "send_message")],
    );
    assert_eq!(
        received,
        Some(24.0),
        "notify-svc was sent each message once"
    );
    second.stop().await;
}
