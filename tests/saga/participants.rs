//! The participants' protocol, called directly: every internal call is idempotent by order id,
//! a release that comes first refuses the late reservation, and the conflicting cases are 409.

use reqwest::{Method, StatusCode};
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

async fn call(w: &World, method: Method, url: String, body: Option<Value>) -> StatusCode {
    w.shop.api.internal(method, &url, body).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_internal_call_is_idempotent_and_conflicts_are_refused() {
    let mut w = World::new(1000, 10, 100, 10).await;
    // Reservations for orders order-svc never recorded: not the saga's books.
    w.shop.skip_invariants();
    for (name, p) in participants(&w) {
        let reservations = format!("{}/internal/reservations", p.url);
        // reserve twice, confirm twice: one effect.
        let o = Uuid::now_v7();
        assert_eq!(
            call(&w, Method::POST, reservations.clone(), Some((p.body)(o))).await,
            201,
            "{name} reserve"
        );
        assert_eq!(
            call(&w, Method::POST, reservations.clone(), Some((p.body)(o))).await,
            201,
            "{name} repeated reserve"
        );
        assert_eq!(
            call(&w, Method::POST, reservations.clone(), Some((p.changed)(o))).await,
            409,
            "{name} reserve with other values"
        );
        assert_eq!(
            call(
                &w,
                Method::POST,
                format!("{reservations}/{o}/confirm"),
                None
            )
            .await,
            200,
            "{name} confirm"
        );
        assert_eq!(
            call(
                &w,
                Method::POST,
                format!("{reservations}/{o}/confirm"),
                None
            )
            .await,
            200,
            "{name} repeated confirm"
        );
        assert_eq!(
            call(&w, Method::DELETE, format!("{reservations}/{o}"), None).await,
            409,
            "{name} release after confirm"
        );

        // reserve, release twice, then confirm: refused.
        let o = Uuid::now_v7();
        assert_eq!(
            call(&w, Method::POST, reservations.clone(), Some((p.body)(o))).await,
            201,
            "{name} reserve"
        );
        assert_eq!(
            call(&w, Method::DELETE, format!("{reservations}/{o}"), None).await,
            200,
            "{name} release"
        );
        assert_eq!(
            call(&w, Method::DELETE, format!("{reservations}/{o}"), None).await,
            200,
            "{name} repeated release"
        );
        assert_eq!(
            call(
                &w,
                Method::POST,
                format!("{reservations}/{o}/confirm"),
                None
            )
            .await,
            409,
            "{name} confirm after release"
        );
        assert_eq!(
            call(&w, Method::POST, reservations.clone(), Some((p.body)(o))).await,
            409,
            "{name} reserve after release"
        );

        // release first: the late reservation is refused, never applied.
        let o = Uuid::now_v7();
        assert_eq!(
            call(&w, Method::DELETE, format!("{reservations}/{o}"), None).await,
            204,
            "{name} early release"
        );
        assert_eq!(
            call(&w, Method::POST, reservations.clone(), Some((p.body)(o))).await,
            409,
            "{name} late reserve"
        );
        assert_eq!(
            call(&w, Method::DELETE, format!("{reservations}/{o}"), None).await,
            204,
            "{name} repeated early release"
        );
        assert_eq!(
            call(
                &w,
                Method::POST,
                format!("{reservations}/{}/confirm", Uuid::now_v7()),
                None
            )
            .await,
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
        api.internal(
            Method::POST,
            &format!("{}/internal/reservations", api.payment),
            Some(funds)
        )
        .await
        .0,
        402
    );
    let units = json!({"order_id": o, "product_id": w.product, "quantity": 2});
    assert_eq!(
        api.internal(
            Method::POST,
            &format!("{}/internal/reservations", api.stock),
            Some(units)
        )
        .await
        .0,
        409
    );
    let unknown = json!({"order_id": o, "product_id": Uuid::now_v7(), "quantity": 1});
    assert_eq!(
        api.internal(
            Method::POST,
            &format!("{}/internal/reservations", api.stock),
            Some(unknown)
        )
        .await
        .0,
        404
    );
    let seat = json!({"order_id": o, "user_id": w.ann.id, "date": date});
    assert_eq!(
        api.internal(
            Method::POST,
            &format!("{}/internal/reservations", api.delivery),
            Some(seat)
        )
        .await
        .0,
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
        let reservations = format!("{}/internal/reservations", p.url);
        let cancel = |o: Uuid| format!("{reservations}/{o}/cancel");
        let confirm = |o: Uuid| format!("{reservations}/{o}/confirm");
        let o = Uuid::now_v7();
        let reserve = Some((p.body)(o));
        assert_eq!(
            call(&w, Method::POST, reservations.clone(), reserve).await,
            201
        );
        assert_eq!(
            call(&w, Method::POST, cancel(o), None).await,
            409,
            "{name} cancel before confirm"
        );
        assert_eq!(call(&w, Method::POST, confirm(o), None).await, 200);
        let (status, body) = w.shop.api.internal(Method::POST, &cancel(o), None).await;
        assert_eq!(
            (status.as_u16(), &body["state"]),
            (200, &json!("cancelled")),
            "{name}"
        );
        let (status, again) = w.shop.api.internal(Method::POST, &cancel(o), None).await;
        assert_eq!(
            (status.as_u16(), &again),
            (200, &body),
            "{name} repeated cancel"
        );
        assert_eq!(
            call(&w, Method::DELETE, format!("{reservations}/{o}"), None).await,
            409,
            "{name} release after cancel"
        );
        assert_eq!(
            call(&w, Method::POST, confirm(o), None).await,
            200,
            "{name} a late repeat of the confirmation"
        );

        let released = Uuid::now_v7();
        let reserve = Some((p.body)(released));
        assert_eq!(
            call(&w, Method::POST, reservations.clone(), reserve).await,
            201
        );
        let release = format!("{reservations}/{released}");
        assert_eq!(call(&w, Method::DELETE, release, None).await, 200);
        assert_eq!(
            call(&w, Method::POST, cancel(released), None).await,
            409,
            "{name} cancel after release"
        );
        assert_eq!(
            call(&w, Method::POST, cancel(Uuid::now_v7()), None).await,
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
