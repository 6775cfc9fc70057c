//! Orders left behind by a crashed order-svc instance (its lease ran out mid-saga) are finished
//! or compensated by the recovery driver of the instance that runs now.

use chrono::TimeDelta;
use order_svc::domain::{SagaState, Step};
use order_svc::store::{NewOrder, order};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::World;

/// Records an order as a crashed instance would have left it: leased to someone gone.
async fn abandoned(w: &World, quantity: i64, state: SagaState) -> order::Model {
    let store = w.shop.order_store().await;
    let new = NewOrder {
        user_id: w.ann.id,
        product_id: w.product,
        quantity,
        unit_price: 10,
        total: 10 * quantity,
        delivery_date: chrono::Utc::now().date_naive() + chrono::Days::new(1),
    };
    let expired = shop_kit::db::now() - TimeDelta::seconds(1);
    let o = store.create(new, Uuid::now_v7(), expired).await.unwrap();
    let owner = o.lease_owner.unwrap();
    assert!(
        store
            .save_state(o.id, owner, state, None, expired)
            .await
            .unwrap()
    );
    o
}

async fn wait_terminal(w: &World, id: Uuid) -> serde_json::Value {
    for _ in 0..200 {
        let url = format!("{}/orders/{id}", w.shop.api.order);
        let (_, o) = w
            .shop
            .api
            .call(Method::GET, &url, Some(&w.ann.token), None)
            .await;
        if o["status"] != "pending" {
            return o;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("order {id} stayed pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_abandoned_while_reserving_stock_is_finished() {
    let mut w = World::new(1000, 10, 100, 5).await;
    // The crashed instance had reserved funds and sent the stock reservation.
    let state = SagaState {
        step: Step::Reserve(1),
        held: 2,
        reason: None,
    };
    let o = abandoned(&w, 2, state).await;
    let funds = json!({"order_id": o.id, "user_id": w.ann.id, "amount": 20});
    let url = format!("{}/internal/reservations", w.shop.api.payment);
    assert_eq!(
        w.shop.api.internal(Method::POST, &url, Some(funds)).await.0,
        201
    );
    w.shop.restart_order().await;
    let finished = wait_terminal(&w, o.id).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    w.shop.check_invariants().await;
    assert_eq!(w.shop.api.balance(&w.ann).await, (980, 0));
    assert_eq!(w.shop.api.available(w.product).await, 98);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_abandoned_while_compensating_is_cancelled_and_gives_everything_back() {
    let w = World::new(1000, 10, 100, 5).await;
    let state = SagaState {
        step: Step::Compensate,
        held: 2,
        reason: Some(order_svc::domain::FailureReason::NoCourier),
    };
    let o = abandoned(&w, 3, state).await;
    let api = &w.shop.api;
    let funds = json!({"order_id": o.id, "user_id": w.ann.id, "amount": 30});
    assert_eq!(
        api.internal(
            Method::POST,
            &format!("{}/internal/reservations", api.payment),
            Some(funds)
        )
        .await
        .0,
        201
    );
    let units = json!({"order_id": o.id, "product_id": w.product, "quantity": 3});
    assert_eq!(
        api.internal(
            Method::POST,
            &format!("{}/internal/reservations", api.stock),
            Some(units)
        )
        .await
        .0,
        201
    );
    let finished = wait_terminal(&w, o.id).await;
    assert_eq!(finished["status"], "cancelled", "{finished}");
    assert_eq!(finished["failure_reason"], "no_courier");
    w.shop.check_invariants().await;
    assert_eq!(api.balance(&w.ann).await, (1000, 0));
    assert_eq!(api.available(w.product).await, 100);
}
