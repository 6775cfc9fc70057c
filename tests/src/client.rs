//! A small typed client of the shop's APIs.

use chrono::NaiveDate;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shop_kit::config::Secret;
use uuid::Uuid;

use crate::answer::{Answer, Balance, Courier, Order, Page, Product, Token, User};
use crate::endpoints::Message;

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Shopper {
    /// The user's id.
    pub id: Uuid,
    /// The bearer token.
    pub token: String,
    /// The username.
    pub username: String,
}

/// Base URLs of the six services and the internal token.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    /// user-svc.
    pub user: String,
    /// order-svc.
    pub order: String,
    /// payment-svc.
    pub payment: String,
    /// stock-svc.
    pub stock: String,
    /// delivery-svc.
    pub delivery: String,
    /// notify-svc.
    pub notify: String,
    internal_token: Secret,
}

/// Reads an answer (its body `Value::Null` when empty or not JSON).
async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

impl Api {
    /// A client of the services at `[user, order, payment, stock, delivery, notify]`.
    pub fn new(urls: [String; 6], internal_token: Secret) -> Self {
        let [user, order, payment, stock, delivery, notify] = urls;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client");
        Self {
            http,
            user,
            order,
            payment,
            stock,
            delivery,
            notify,
            internal_token,
        }
    }

    /// `GET url`, with an optional bearer token.
    pub async fn get(&self, url: &str, token: Option<&str>) -> Answer {
        self.request(Method::GET, url, token, None, &[]).await
    }

    /// `POST url` with a JSON body, with an optional bearer token.
    pub async fn post(&self, url: &str, token: Option<&str>, json: Value) -> Answer {
        self.request(Method::POST, url, token, Some(json), &[])
            .await
    }

    /// Sends a request; panics when no answer comes.
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        json: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        self.try_request(method, url, token, json, headers)
            .await
            .expect("the shop answers")
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        json: Option<Value>,
    ) -> (StatusCode, Value) {
        self.send(method, url, token, json, &[]).await
    }

    /// Like [`Api::call`], with extra headers.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        json: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        self.request(method, url, token, json, headers).await.into()
    }

    /// Like [`Api::send`], for a request that may get no answer (its service crashes).
    pub async fn try_send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        json: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        Ok(self
            .try_request(method, url, token, json, headers)
            .await?
            .into())
    }

    /// Like [`Api::request`], for a request that may get no answer.
    pub async fn try_request(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        json: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, reqwest::Error> {
        let mut req = self.http.request(method, url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(json) = json {
            req = req.json(&json);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Ok(answer(req.send().await?).await)
    }

    /// The internal token.
    pub fn internal_token(&self) -> &str {
        self.internal_token.expose()
    }

    /// Calls an `/internal/` endpoint with the internal token.
    pub async fn internal(
        &self,
        method: Method,
        url: &str,
        json: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.internal_token.expose().to_owned();
        self.call(method, url, Some(&token), json).await
    }

    /// Logs in and returns the token.
    pub async fn login(&self, username: &str, password: &str) -> (StatusCode, Value) {
        let url = format!("{}/auth/login", self.user);
        self.call(
            Method::POST,
            &url,
            None,
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    /// Registers `username` (password `password-<username>`) and logs in.
    pub async fn register(&self, username: &str) -> Shopper {
        let body = json!({
            "username": username,
            "password": format!("password-{username}"),
            "email": format!("{username}@example.com"),
            "first_name": "Test",
            "last_name": "Shopper",
            "phone": "+4912345678",
        });
        let user: User = self
            .post(&format!("{}/users", self.user), None, body)
            .await
            .ok();
        let token = self.token(username, &format!("password-{username}")).await;
        Shopper {
            id: user.id,
            token,
            username: username.to_owned(),
        }
    }

    /// Logs in; panics unless it succeeds.
    async fn token(&self, username: &str, password: &str) -> String {
        let url = format!("{}/auth/login", self.user);
        let login = json!({"username": username, "password": password});
        self.post(&url, None, login)
            .await
            .ok::<Token>()
            .access_token
    }

    /// Logs in as the admin.
    pub async fn admin(&self) -> Shopper {
        let token = self.token("admin", crate::shop::ADMIN_PASSWORD).await;
        let me: User = self
            .get(&format!("{}/users/me", self.user), Some(&token))
            .await
            .ok();
        assert!(me.is_admin, "{me:?}");
        Shopper {
            id: me.id,
            token,
            username: me.username,
        }
    }

    /// Deposits `amount` for a shopper.
    pub async fn deposit(&self, s: &Shopper, amount: i64) -> (StatusCode, Value) {
        let url = format!("{}/balance/deposit", self.payment);
        self.call(
            Method::POST,
            &url,
            Some(&s.token),
            Some(json!({"amount": amount})),
        )
        .await
    }

    /// A shopper's balance: `(balance, reserved)`.
    pub async fn balance(&self, s: &Shopper) -> (i64, i64) {
        let url = format!("{}/balance", self.payment);
        let b: Balance = self.get(&url, Some(&s.token)).await.ok();
        (b.balance, b.reserved)
    }

    /// Adds a product as the admin; returns its id.
    pub async fn add_product(&self, admin: &Shopper, price: i64, quantity: i64) -> Uuid {
        let body = json!({"name": "Tea", "price": price, "quantity": quantity});
        let url = format!("{}/products", self.stock);
        let p: Product = self.post(&url, Some(&admin.token), body).await.ok();
        assert_eq!((p.price, p.available), (price, quantity), "{p:?}");
        p.id
    }

    /// Units of a product available now.
    pub async fn available(&self, product: Uuid) -> i64 {
        let url = format!("{}/products/{product}", self.stock);
        self.get(&url, None).await.ok::<Product>().available
    }

    /// Adds a courier as the admin; returns its id.
    pub async fn add_courier(&self, admin: &Shopper, daily_capacity: i64) -> Uuid {
        let body = json!({"name": "Courier", "daily_capacity": daily_capacity});
        let url = format!("{}/couriers", self.delivery);
        self.post(&url, Some(&admin.token), body)
            .await
            .ok::<Courier>()
            .id
    }

    /// Places an order: `.ok_as::<Order>(201)`, or `.problem(409)` for a refusal.
    pub async fn order(
        &self,
        s: &Shopper,
        product: Uuid,
        quantity: i64,
        date: Option<NaiveDate>,
    ) -> Answer {
        let mut body = json!({"product_id": product, "quantity": quantity});
        if let Some(date) = date {
            body["delivery_date"] = json!(date);
        }
        let url = format!("{}/orders", self.order);
        self.post(&url, Some(&s.token), body).await
    }

    /// Places an order of several products (`(product, quantity)` lines): `.ok_as::<Order>(201)`,
    /// or `.problem(409)` for a refusal.
    pub async fn order_items(&self, s: &Shopper, lines: &[(Uuid, i64)]) -> Answer {
        let items: Vec<Value> = lines
            .iter()
            .map(|(product, quantity)| json!({"product_id": product, "quantity": quantity}))
            .collect();
        self.place(s, json!({ "items": items }), None).await
    }

    /// Cancels order `id` as shopper `s`: `.ok_as::<Order>(200)` once refunded.
    pub async fn cancel(&self, s: &Shopper, id: Uuid) -> Answer {
        self.cancel_keyed(s, id, None).await
    }

    /// Waits (up to 30 s) until order `id` is in one of `statuses`; returns it.
    pub async fn wait_order(&self, s: &Shopper, id: Uuid, statuses: &[&str]) -> Order {
        let url = format!("{}/orders/{id}", self.order);
        let mut last = Value::Null;
        for _ in 0..600 {
            if let Ok(a) = self
                .try_request(Method::GET, &url, Some(&s.token), None, &[])
                .await
                && a.status == StatusCode::OK
            {
                if statuses.iter().any(|st| a.body["status"] == *st) {
                    return a.ok_as(200);
                }
                last = a.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("order {id} did not become {statuses:?}: {last}");
    }

    /// A shopper's only order (for a test whose request got no answer).
    pub async fn only_order(&self, s: &Shopper) -> Order {
        let page: Page<Order> = self.list_orders(s, "").await.ok();
        assert_eq!(page.items.len(), 1, "one order: {page:?}");
        page.items[0].clone()
    }

    /// A shopper's messages, newest first.
    pub async fn messages(&self, s: &Shopper) -> Vec<Message> {
        let url = format!("{}/messages?limit=100", self.notify);
        self.get(&url, Some(&s.token))
            .await
            .ok::<Page<Message>>()
            .items
    }
}
