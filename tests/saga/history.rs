//! Each order's saga history, written with the state it describes: admins read every call, its
//! answer and attempt, pauses, takeovers, re-drives and the outcome; the shopper reads the
//! milestones on the order itself.

use shop_tests::{History, Order};

use crate::World;

/// The history's entries in short (`call payment reserve done`), oldest first.
fn summaries(h: &History) -> Vec<String> {
    h.events.iter().map(|e| e.summary()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_then_refunded_order_tells_its_whole_story() {
    let w = World::new(1000, 10, 100, 5).await;
    let api = &w.shop.api;
    let order: Order = api.order(&w.ann, w.product, 2, None).await.ok_as(201);
    let h: History = api.order_history(&w.admin, order.id).await.ok_as(200);
    assert_eq!((h.order_id, h.status.as_str()), (order.id, "completed"));
    let steps = summaries(&h);
    assert_eq!(
        steps[..4],
        [
            "recorded",
            "call payment reserve done",
            "call stock reserve done",
            "call delivery reserve done",
        ],
        "{steps:?}"
    );
    let mut confirms = steps[4..7].to_vec();
    confirms.sort();
    assert_eq!(
        confirms,
        [
            "call delivery confirm done",
            "call payment confirm done",
            "call stock confirm done"
        ]
    );
    assert_eq!(steps[7..], ["finished completed"]);
    let reserve = &h.events[1];
    assert_eq!(reserve.attempt, Some(1));
    assert_eq!(reserve.next_step.as_deref(), Some("reserve_stock"));
    assert!(reserve.duration_ms.is_some());
    assert!(h.events.windows(2).all(|p| p[0].at <= p[1].at), "in order");

    let refunded: Order = api.cancel(&w.ann, order.id).await.ok_as(200);
    let milestones: Vec<_> = refunded.timeline.iter().map(|m| m.event.as_str()).collect();
    assert_eq!(
        milestones,
        ["placed", "completed", "refund_requested", "refunded"]
    );
    let h: History = api.order_history(&w.admin, order.id).await.ok_as(200);
    let requested = h.events.iter().find(|e| e.event == "refund_requested");
    assert_eq!(requested.and_then(|e| e.by), Some(w.ann.id));
    let steps = summaries(&h);
    assert_eq!(
        steps[steps.len() - 4..],
        [
            "call delivery cancel done",
            "call stock cancel done",
            "call payment cancel done",
            "finished refunded"
        ]
    );
    // Only admins read histories.
    api.order_history(&w.ann, order.id).await.problem(403);
    api.order_history(&w.admin, uuid::Uuid::now_v7())
        .await
        .problem(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_shows_what_refused_and_what_was_given_back() {
    let w = World::new(1000, 10, 3, 5).await;
    let api = &w.shop.api;
    let problem = api.order(&w.ann, w.product, 4, None).await.problem(409);
    let id = problem.order_id.expect("order id");
    let h: History = api.order_history(&w.admin, id).await.ok_as(200);
    assert_eq!(
        summaries(&h),
        [
            "recorded",
            "call payment reserve done",
            "call stock reserve refused",
            "call stock release done",
            "call payment release done",
            "finished cancelled",
        ]
    );
    assert_eq!(h.events[2].detail.as_deref(), Some("short"));
    assert_eq!(h.events[5].reason.as_deref(), Some("out_of_stock"));
    let order: Order = api.get_order(&w.ann, id).await.ok_as(200);
    let last = order.timeline.last().expect("milestones");
    assert_eq!(
        (last.event.as_str(), last.reason.as_deref()),
        ("cancelled", Some("out_of_stock"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pauses_attention_and_the_admins_retry_are_in_the_history() {
    let (w, order) = crate::attention::stuck_release(2, 1).await;
    let f = &w.shop.faults;
    let api = &w.shop.api;
    api.wait_order(&w.ann, order.id, &["needs_attention"]).await;
    f.clear();
    let done: Order = api.retry(&w.admin, order.id).await.ok_as(200);
    assert_eq!(done.status, "cancelled");
    let h: History = api.order_history(&w.admin, order.id).await.ok_as(200);
    let steps = summaries(&h);
    let paused: Vec<_> = h.events.iter().filter(|e| e.event == "paused").collect();
    assert_eq!(paused.len(), 2, "{steps:?}");
    assert_eq!(paused[1].status.as_deref(), Some("needs_attention"));
    assert_eq!(paused[1].attempt, Some(2));
    let unreachable = h
        .events
        .iter()
        .find(|e| e.answer.as_deref() == Some("unreachable"))
        .expect("the failed release");
    assert!(unreachable.detail.is_some(), "the error is kept");
    assert!(
        steps.iter().any(|s| s == "resumed"),
        "the recovery driver took the paused order over: {steps:?}"
    );
    let retried = h.events.iter().find(|e| e.event == "retried");
    assert_eq!(retried.and_then(|e| e.by), Some(w.admin.id));
    assert_eq!(steps.last().map(String::as_str), Some("finished cancelled"));
}

/// A history is bounded: once it holds 64 KiB, the writes that store the saga's state go on,
/// and append no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_stops_growing_at_its_cap() {
    use order_svc::domain::history::{Event, EventKind};
    use order_svc::domain::{PricedLine, SagaState};
    use order_svc::store::{Found, NewOrder};

    let mut w = World::new(1000, 10, 100, 5).await;
    // An order recorded by hand and never driven: not the saga's books.
    w.shop.skip_invariants();
    let store = w.shop.order_store().await;
    let until = shop_kit::db::now() + chrono::TimeDelta::minutes(5);
    let new = NewOrder {
        user_id: w.ann.id,
        lines: vec![PricedLine {
            product_id: w.product,
            quantity: 1,
            unit_price: 10,
        }],
        total: 10,
        delivery_date: chrono::Utc::now().date_naive() + chrono::Days::new(1),
    };
    let o = store.create(new, until, None).await.unwrap();
    let lease = o.lease_owner.unwrap();
    let big = Event {
        detail: Some("x".repeat(4000)),
        ..Event::now(EventKind::Call)
    };
    let mut lengths = Vec::new();
    for _ in 0..40 {
        let state = SagaState::start().reserving();
        let saved = store
            .save_state(
                o.id,
                lease,
                state,
                Found::default(),
                until,
                std::slice::from_ref(&big),
            )
            .await
            .unwrap();
        assert!(saved, "the state is still stored");
        let row = store.order(o.id).await.unwrap().unwrap();
        lengths.push(row.history.len());
    }
    let last = *lengths.last().unwrap();
    assert!(
        lengths.windows(2).any(|p| p[0] < p[1]),
        "it grew: {lengths:?}"
    );
    assert!(
        (64 * 1024..64 * 1024 + 4200).contains(&last),
        "it stopped just past 64 KiB: {lengths:?}"
    );
    assert_eq!(lengths[lengths.len() - 5..], [last; 5], "and stays there");
}
