//! The participants' protocol, called directly: every internal call is idempotent by order id,
//! a release that comes first refuses the late reservation, and the conflicting cases are 409.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::World;

/// One participant: its base URL and a reserve body for an order.
struct Participant {
    url: String,
    body: Box<dyn Fn(Uuid) -> Value>,
    changed: Box<dyn Fn(Uuid) -> Value>,
}

fn participants(w: &World) -> Vec<(&'static str, Participant)> {
    let ann = w.ann.id;
    let product = w.product;
    let date = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    vec![
        (
            "payment",
            Participant {
                url: w.shop.api.payment.clone(),
                body: Box::new(move |o| json!({"order_id": o, "user_id": ann, "amount": 100})),
                changed: Box::new(move |o| json!({"order_id": o, "user_id": ann, "amount": 101})),
            },
        ),
        (
            "stock",
            Participant {
                url: w.shop.api.stock.clone(),
                body: Box::new(
                    move |o| json!({"order_id": o, "product_id": product, "quantity": 2}),
                ),
                changed: Box::new(
                    move |o| json!({"order_id": o, "product_id": product, "quantity": 3}),
                ),
            },
        ),
        (
            "delivery",
            Participant {
                url: w.shop.api.delivery.clone(),
                body: Box::new(move |o| json!({"order_id": o, "user_id": ann, "date": date})),
                changed: Box::new(
                    move |o| json!({"order_id": o, "user_id": ann, "date": date + chrono::Days::new(1)}),
                ),
            },
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_internal_call_is_idempotent_and_conflicts_are_refused() {
    let mut w = World::new(1000, 10, 100, 10).await;
    // Reservations for orders order-svc never recorded: not the saga's books.
    w.shop.skip_invariants();
    for (name, p) in participants(&w) {
        let r = w.shop.api.reservations(&p.url);
        // reserve twice, confirm twice: one effect.
        let o = Uuid::now_v7();
        assert_eq!(r.reserve((p.body)(o)).await.status, 201, "{name} reserve");
        assert_eq!(
            r.reserve((p.body)(o)).await.status,
            201,
            "{name} repeated reserve"
        );
        assert_eq!(
            r.reserve((p.changed)(o)).await.status,
            409,
            "{name} reserve with other values"
        );
        assert_eq!(r.confirm(o).await.status, 200, "{name} confirm");
        assert_eq!(r.confirm(o).await.status, 200, "{name} repeated confirm");
        assert_eq!(
            r.release(o).await.status,
            409,
            "{name} release after confirm"
        );

        // reserve, release twice, then confirm: refused.
        let o = Uuid::now_v7();
        assert_eq!(r.reserve((p.body)(o)).await.status, 201, "{name} reserve");
        assert_eq!(r.release(o).await.status, 200, "{name} release");
        assert_eq!(r.release(o).await.status, 200, "{name} repeated release");
        assert_eq!(
            r.confirm(o).await.status,
            409,
            "{name} confirm after release"
        );
        assert_eq!(
            r.reserve((p.body)(o)).await.status,
            409,
            "{name} reserve after release"
        );

        // release first: the late reservation is refused, never applied.
        let o = Uuid::now_v7();
        assert_eq!(r.release(o).await.status, 204, "{name} early release");
        assert_eq!(
            r.reserve((p.body)(o)).await.status,
            409,
            "{name} late reserve"
        );
        assert_eq!(
            r.release(o).await.status,
            204,
            "{name} repeated early release"
        );
        assert_eq!(
            r.confirm(Uuid::now_v7()).await.status,
            404,
            "{name} confirm unknown"
        );
    }
    // One capture of 100 cents and two units sold: everything else came back.
    assert_eq!(w.shop.api.balance(&w.ann).await, (900, 0));
    assert_eq!(w.shop.api.available(w.product).await, 98);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_endpoints_need_the_internal_token() {
    let w = World::new(1000, 10, 100, 10).await;
    for (name, p) in participants(&w) {
        let url = format!("{}/internal/reservations", p.url);
        let body = Some((p.body)(Uuid::now_v7()));
        let api = &w.shop.api;
        let (status, problem) = api.call(Method::POST, &url, None, body.clone()).await;
        assert_eq!(status, 401, "{name} without a token: {problem}");
        let (status, _) = api
            .call(Method::POST, &url, Some(&w.ann.token), body.clone())
            .await;
        assert_eq!(status, 401, "{name} with a user's token");
        let (status, _) = api
            .call(Method::POST, &url, Some(&w.admin.token), body)
            .await;
        assert_eq!(status, 401, "{name} with an admin's token");
    }
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_participant_refuses_and_holds_nothing() {
    let w = World::new(50, 10, 1, 0).await;
    let api = &w.shop.api;
    let date = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    let o = Uuid::now_v7();
    let funds = json!({"order_id": o, "user_id": w.ann.id, "amount": 51});
    assert_eq!(
        api.reservations(&api.payment).reserve(funds).await.status,
        402
    );
    let units = json!({"order_id": o, "product_id": w.product, "quantity": 2});
    assert_eq!(
        api.reservations(&api.stock).reserve(units).await.status,
        409
    );
    let unknown = json!({"order_id": o, "product_id": Uuid::now_v7(), "quantity": 1});
    assert_eq!(
        api.reservations(&api.stock).reserve(unknown).await.status,
        404
    );
    let seat = json!({"order_id": o, "user_id": w.ann.id, "date": date});
    assert_eq!(
        api.reservations(&api.delivery).reserve(seat).await.status,
        409
    );
    assert_eq!(api.balance(&w.ann).await, (50, 0));
    assert_eq!(api.available(w.product).await, 1);
}

/// `.../cancel` gives back what a confirmation captured, once: repeats answer the same; it is
/// 409 before the confirmation (cancel racing confirm) and after a release, 404 for an unknown
/// order; a cancelled reservation is never released, and a late repeat of its confirmation
/// changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_refunds_a_confirmed_reservation_once_and_only_that() {
    let mut w = World::new(1000, 10, 100, 10).await;
    // Reservations for orders order-svc never recorded: not the saga's books.
    w.shop.skip_invariants();
    for (name, p) in participants(&w) {
        let r = w.shop.api.reservations(&p.url);
        let o = Uuid::now_v7();
        let reserve = (p.body)(o);
        assert_eq!(r.reserve(reserve).await.status, 201);
        assert_eq!(
            r.cancel(o).await.status,
            409,
            "{name} cancel before confirm"
        );
        assert_eq!(r.confirm(o).await.status, 200);
        let (status, body) = r.cancel(o).await.parts();
        assert_eq!(
            (status.as_u16(), &body["state"]),
            (200, &json!("cancelled")),
            "{name}"
        );
        let (status, again) = r.cancel(o).await.parts();
        assert_eq!(
            (status.as_u16(), &again),
            (200, &body),
            "{name} repeated cancel"
        );
        assert_eq!(
            r.release(o).await.status,
            409,
            "{name} release after cancel"
        );
        assert_eq!(
            r.confirm(o).await.status,
            200,
            "{name} a late repeat of the confirmation"
        );

        let released = Uuid::now_v7();
        let reserve = (p.body)(released);
        assert_eq!(r.reserve(reserve).await.status, 201);
        assert_eq!(r.release(released).await.status, 200);
        assert_eq!(
            r.cancel(released).await.status,
            409,
            "{name} cancel after release"
        );
        assert_eq!(
            r.cancel(Uuid::now_v7()).await.status,
            404,
            "{name} cancel of an unknown order"
        );
    }
    // Everything held came back: nothing captured for good.
    assert_eq!(w.shop.api.balance(&w.ann).await, (1000, 0));
    assert_eq!(w.shop.api.available(w.product).await, 100);
    let store = delivery_svc::store::DeliveryStore::new(
        w.shop.dbs.connect("delivery").await,
        shop_kit::ledger::LedgerMetrics::detached().unwrap(),
    );
    let days = store.courier_days().await.unwrap();
    assert!(days.iter().all(|d| d.booked == 0), "{days:?}");
}
