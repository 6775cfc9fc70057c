//! Orders left behind by a crashed order-svc instance (its lease ran out mid-saga) are finished
//! or compensated by the recovery driver of the instance that runs now.

use chrono::TimeDelta;
use order_svc::domain::{FailureReason, Held, Participant, SagaDefinition, SagaState, Step};
use order_svc::store::{Found, NewOrder, order};
use reqwest::Method;
use serde_json::json;

use crate::World;

/// Records an order leased to an instance that is about to crash.
async fn record(w: &World, quantity: i64) -> order::Model {
    let new = NewOrder {
        user_id: w.ann.id,
        lines: vec![order::PricedLine {
            product_id: w.product,
            quantity,
            unit_price: 10,
        }],
        total: 10 * quantity,
        delivery_date: chrono::Utc::now().date_naive() + chrono::Days::new(1),
    };
    let live = shop_kit::db::now() + TimeDelta::seconds(60);
    let store = w.shop.order_store().await;
    store.create(new, live, None).await.unwrap()
}

/// Leaves the order in `state` with its lease run out, as a crashed instance would.
async fn abandon(w: &World, o: &order::Model, state: SagaState) {
    let expired = shop_kit::db::now() - TimeDelta::seconds(1);
    let store = w.shop.order_store().await;
    let saved = store
        .save_state(
            o.id,
            o.lease_owner.unwrap(),
            state,
            Found::default(),
            expired,
            &[],
        )
        .await;
    assert!(saved.unwrap());
}

async fn reserve(w: &World, base: &str, body: serde_json::Value) {
    let url = format!("{base}/internal/reservations");
    let (status, answer) = w.shop.api.internal(Method::POST, &url, Some(body)).await;
    assert_eq!(status, 201, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_abandoned_while_reserving_stock_is_finished() {
    let mut w = World::new(1000, 10, 100, 5).await;
    let o = record(&w, 2).await;
    // The crashed instance had reserved funds and sent the stock reservation.
    let payment = w.shop.api.payment.clone();
    reserve(
        &w,
        &payment,
        json!({"order_id": o.id, "user_id": w.ann.id, "amount": 20}),
    )
    .await;
    w.shop.restart_order().await;
    abandon(
        &w,
        &o,
        SagaState {
            step: Step::Reserve(the_stock()),
            held: Held::through(the_stock()),
            reason: None,
        },
    )
    .await;
    let finished = w
        .shop
        .api
        .wait_order(&w.ann, o.id, &["completed", "cancelled"])
        .await;
    assert_eq!(finished.status, "completed", "{finished:?}");
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (980, 0));
    assert_eq!(w.shop.api.available(w.product).await, 98);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_abandoned_while_compensating_is_cancelled_and_gives_everything_back() {
    let w = World::new(1000, 10, 100, 5).await;
    let o = record(&w, 3).await;
    let (payment, stock) = (w.shop.api.payment.clone(), w.shop.api.stock.clone());
    reserve(
        &w,
        &payment,
        json!({"order_id": o.id, "user_id": w.ann.id, "amount": 30}),
    )
    .await;
    reserve(
        &w,
        &stock,
        json!({"order_id": o.id, "product_id": w.product, "quantity": 3}),
    )
    .await;
    let state = SagaState {
        step: Step::Compensate,
        held: Held::through(the_stock()),
        reason: Some(FailureReason::NoCourier),
    };
    abandon(&w, &o, state).await;
    let finished = w
        .shop
        .api
        .wait_order(&w.ann, o.id, &["completed", "cancelled"])
        .await;
    assert_eq!(finished.status, "cancelled", "{finished:?}");
    assert_eq!(finished.failure_reason.as_deref(), Some("no_courier"));
    w.shop.settle().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
    assert_eq!(w.shop.api.available(w.product).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_claiming_at_once_never_both_win_an_order() {
    let w = World::new(1000, 10, 100, 5).await;
    let mut ids = std::collections::HashSet::new();
    for _ in 0..40 {
        let o = record(&w, 1).await;
        abandon(&w, &o, SagaState::start()).await;
        ids.insert(o.id);
    }
    // Two more claimers race the shop's own recovery driver; their claims run out after a
    // second, and the driver then finishes every order.
    let (a, b) = (w.shop.order_store().await, w.shop.order_store().await);
    let until = shop_kit::db::now() + TimeDelta::seconds(1);
    let mut claimed = Vec::new();
    for _ in 0..5 {
        let (x, y) = tokio::join!(a.claim_due(until, 100), b.claim_due(until, 100));
        claimed.extend(x.unwrap().into_iter().map(|o| o.id));
        claimed.extend(y.unwrap().into_iter().map(|o| o.id));
    }
    let unique: std::collections::HashSet<_> = claimed.iter().copied().collect();
    assert_eq!(unique.len(), claimed.len(), "an order was claimed twice");
    assert!(unique.is_subset(&ids));
}

/// stock-svc in the shop's saga.
fn the_stock() -> Participant {
    SagaDefinition::shop().by_name("stock").unwrap()
}
