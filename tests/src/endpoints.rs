//! One helper per endpoint the suites call, in the style of crates.io's `RequestHelper`: the
//! path is built here once, the suites say what they ask and read the typed answer
//! ([`Answer::ok_as`], [`Answer::problem`]) instead of building URLs and reading JSON by hand.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use shop_kit::ledger::ReservationOp;
use uuid::Uuid;

use crate::answer::Answer;
use crate::client::{Api, Shopper};

/// A delivery as delivery-svc shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Delivery {
    /// The order.
    pub order_id: Uuid,
    /// The courier booked.
    pub courier_id: Uuid,
    /// The day.
    pub date: chrono::NaiveDate,
    /// `reserved` or `confirmed`.
    pub status: String,
}

/// One entry of an account's statement.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    /// `deposit`, `reserve`, `capture`, `release` or `refund`.
    pub kind: String,
    /// Its signed effect on the balance, in cents.
    pub amount: i64,
    /// The balance after it.
    pub balance_after: i64,
    /// The funds held for orders after it.
    pub reserved_after: i64,
    /// The order it was for.
    pub order_id: Option<Uuid>,
}

/// A message to a user.
#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    /// Its id.
    pub id: Uuid,
    /// The order it is about.
    pub order_id: Option<Uuid>,
    /// What it says.
    pub text: String,
}

/// An order's saga history, as admins read it.
#[derive(Debug, Clone, Deserialize)]
pub struct History {
    /// The order.
    pub order_id: Uuid,
    /// Its status now.
    pub status: String,
    /// Its saga's step now.
    pub step: String,
    /// What happened, oldest first.
    pub events: Vec<HistoryEvent>,
}

/// One entry of an order's history.
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryEvent {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// `recorded`, `call`, `paused`, `resumed`, `retried`, `refund_requested`, `finished`.
    pub event: String,
    /// The participant called.
    pub participant: Option<String>,
    /// The call.
    pub action: Option<String>,
    /// Which attempt of the step.
    pub attempt: Option<u32>,
    /// `done`, `refused` or `unreachable`.
    pub answer: Option<String>,
    /// The refusal or the error.
    pub detail: Option<String>,
    /// How long the call took.
    pub duration_ms: Option<u64>,
    /// The step the saga goes on to after it.
    pub next_step: Option<String>,
    /// The order's status after it.
    pub status: Option<String>,
    /// Why it was cancelled.
    pub reason: Option<String>,
    /// Who did it.
    pub by: Option<Uuid>,
    /// The trace it happened in.
    pub trace_id: Option<String>,
}

impl HistoryEvent {
    /// `event participant action answer` (the parts it has), for comparing a history at a
    /// glance.
    pub fn summary(&self) -> String {
        [
            Some(self.event.as_str()),
            self.participant.as_deref(),
            self.action.as_deref(),
            self.answer.as_deref(),
            self.status.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// `Idempotency-Key: key`, when there is one.
fn keyed(key: Option<&str>) -> Vec<(&str, &str)> {
    key.map(|k| ("Idempotency-Key", k)).into_iter().collect()
}

impl Api {
    /// `POST /users` with `body`: registration.
    pub async fn post_user(&self, body: Value) -> Answer {
        self.post(&format!("{}/users", self.user), None, body).await
    }

    /// `GET /users`, with `token`.
    pub async fn list_users(&self, token: Option<&str>) -> Answer {
        self.get(&format!("{}/users", self.user), token).await
    }

    /// `PATCH /users/me` with `body`.
    pub async fn update_me(&self, s: &Shopper, body: Value) -> Answer {
        let url = format!("{}/users/me", self.user);
        self.request(Method::PATCH, &url, Some(&s.token), Some(body), &[])
            .await
    }

    /// `GET /balance`, with `token`.
    pub async fn get_balance(&self, token: Option<&str>) -> Answer {
        self.get(&format!("{}/balance", self.payment), token).await
    }

    /// `POST /products` with `body`, with `token`.
    pub async fn post_product(&self, token: Option<&str>, body: Value) -> Answer {
        self.post(&format!("{}/products", self.stock), token, body)
            .await
    }

    /// `POST /orders` with `body` (and an `Idempotency-Key`).
    pub async fn place(&self, s: &Shopper, body: Value, key: Option<&str>) -> Answer {
        self.try_place(s, body, key)
            .await
            .expect("order-svc answers")
    }

    /// [`Api::place`] for a request that may get no answer (order-svc crashes).
    pub async fn try_place(
        &self,
        s: &Shopper,
        body: Value,
        key: Option<&str>,
    ) -> Result<Answer, reqwest::Error> {
        let url = format!("{}/orders", self.order);
        self.try_request(Method::POST, &url, Some(&s.token), Some(body), &keyed(key))
            .await
    }

    /// `GET /orders/{id}`.
    pub async fn get_order(&self, s: &Shopper, id: Uuid) -> Answer {
        self.get(&format!("{}/orders/{id}", self.order), Some(&s.token))
            .await
    }

    /// `GET /orders?{query}`: the shopper's orders.
    pub async fn list_orders(&self, s: &Shopper, query: &str) -> Answer {
        self.get(&format!("{}/orders?{query}", self.order), Some(&s.token))
            .await
    }

    /// `POST /orders/{id}/cancel` (with an `Idempotency-Key`).
    pub async fn cancel_keyed(&self, s: &Shopper, id: Uuid, key: Option<&str>) -> Answer {
        self.try_cancel(s, id, key)
            .await
            .expect("order-svc answers")
    }

    /// [`Api::cancel_keyed`] for a request that may get no answer (order-svc crashes).
    pub async fn try_cancel(
        &self,
        s: &Shopper,
        id: Uuid,
        key: Option<&str>,
    ) -> Result<Answer, reqwest::Error> {
        let url = format!("{}/orders/{id}/cancel", self.order);
        self.try_request(Method::POST, &url, Some(&s.token), None, &keyed(key))
            .await
    }

    /// `GET /admin/orders?{query}`.
    pub async fn admin_orders(&self, admin: &Shopper, query: &str) -> Answer {
        let url = format!("{}/admin/orders?{query}", self.order);
        self.get(&url, Some(&admin.token)).await
    }

    /// `GET /admin/orders/{id}/history`.
    pub async fn order_history(&self, s: &Shopper, id: Uuid) -> Answer {
        let url = format!("{}/admin/orders/{id}/history", self.order);
        self.get(&url, Some(&s.token)).await
    }

    /// `POST /admin/orders/{id}/retry`.
    pub async fn retry(&self, admin: &Shopper, id: Uuid) -> Answer {
        let url = format!("{}/admin/orders/{id}/retry", self.order);
        self.request(Method::POST, &url, Some(&admin.token), None, &[])
            .await
    }

    /// `POST /balance/deposit` with `body` (and an `Idempotency-Key`).
    pub async fn deposit_keyed(&self, s: &Shopper, body: Value, key: Option<&str>) -> Answer {
        let url = format!("{}/balance/deposit", self.payment);
        self.request(Method::POST, &url, Some(&s.token), Some(body), &keyed(key))
            .await
    }

    /// `GET /balance/transactions?{query}`: the caller's statement.
    pub async fn statement(&self, s: &Shopper, query: &str) -> Answer {
        let url = format!("{}/balance/transactions?{query}", self.payment);
        self.get(&url, Some(&s.token)).await
    }

    /// `GET /balance/{user}/transactions?{query}`: a user's statement, as `caller`.
    pub async fn statement_of(&self, caller: &Shopper, user: Uuid, query: &str) -> Answer {
        let url = format!("{}/balance/{user}/transactions?{query}", self.payment);
        self.get(&url, Some(&caller.token)).await
    }

    /// `GET /deliveries/{order}`.
    pub async fn get_delivery(&self, s: &Shopper, order: Uuid) -> Answer {
        let url = format!("{}/deliveries/{order}", self.delivery);
        self.get(&url, Some(&s.token)).await
    }

    /// `GET /products?{query}`.
    pub async fn list_products(&self, query: &str) -> Answer {
        self.get(&format!("{}/products?{query}", self.stock), None)
            .await
    }

    /// The reservation protocol of the participant at `base` (its paths as
    /// [`ReservationOp`] declares them), called with the internal token.
    pub fn reservations<'a>(&'a self, base: &'a str) -> Reservations<'a> {
        Reservations { api: self, base }
    }
}

/// One participant's `/internal/reservations`.
pub struct Reservations<'a> {
    api: &'a Api,
    base: &'a str,
}

impl Reservations<'_> {
    async fn call(&self, op: ReservationOp, order: Uuid, body: Option<Value>) -> Answer {
        let (method, path) = op.path(order);
        let url = format!("{}{path}", self.base);
        let token = self.api.internal_token().to_owned();
        self.api
            .request(method, &url, Some(&token), body, &[])
            .await
    }

    /// Reserves what `body` asks.
    pub async fn reserve(&self, body: Value) -> Answer {
        self.call(ReservationOp::Reserve, Uuid::nil(), Some(body))
            .await
    }

    /// Confirms an order's reservation.
    pub async fn confirm(&self, order: Uuid) -> Answer {
        self.call(ReservationOp::Confirm, order, None).await
    }

    /// Releases an order's reservation.
    pub async fn release(&self, order: Uuid) -> Answer {
        self.call(ReservationOp::Release, order, None).await
    }

    /// Cancels an order's confirmed reservation.
    pub async fn cancel(&self, order: Uuid) -> Answer {
        self.call(ReservationOp::Cancel, order, None).await
    }
}
