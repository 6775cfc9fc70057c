//! A small typed client of the shop's APIs.

use chrono::NaiveDate;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shop_kit::config::Secret;
use uuid::Uuid;

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

/// Parses a body as JSON (`Value::Null` when empty or not JSON).
async fn body(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
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
        self.try_send(method, url, token, json, headers)
            .await
            .expect("the shop answers")
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
        Ok(body(req.send().await?).await)
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
        let (status, user) = self
            .call(
                Method::POST,
                &format!("{}/users", self.user),
                None,
                Some(body),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "registration of {username}: {user}"
        );
        let (status, token) = self.login(username, &format!("password-{username}")).await;
        assert_eq!(status, StatusCode::OK, "login of {username}: {token}");
        Shopper {
            id: user["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("user id"),
            token: token["access_token"].as_str().expect("token").to_owned(),
            username: username.to_owned(),
        }
    }

    /// Logs in as the admin.
    pub async fn admin(&self) -> Shopper {
        let (status, token) = self.login("admin", crate::shop::ADMIN_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "admin login: {token}");
        let token = token["access_token"].as_str().expect("token").to_owned();
        let (_, me) = self
            .call(
                Method::GET,
                &format!("{}/users/me", self.user),
                Some(&token),
                None,
            )
            .await;
        Shopper {
            id: me["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("admin id"),
            token,
            username: "admin".into(),
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
        let (status, b) = self
            .call(
                Method::GET,
                &format!("{}/balance", self.payment),
                Some(&s.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "balance: {b}");
        (
            b["balance"].as_i64().expect("balance"),
            b["reserved"].as_i64().expect("reserved"),
        )
    }

    /// Adds a product as the admin; returns its id.
    pub async fn add_product(&self, admin: &Shopper, price: i64, quantity: i64) -> Uuid {
        let body = json!({"name": "Tea", "price": price, "quantity": quantity});
        let (status, p) = self
            .call(
                Method::POST,
                &format!("{}/products", self.stock),
                Some(&admin.token),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "product: {p}");
        p["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("product id")
    }

    /// Units of a product available now.
    pub async fn available(&self, product: Uuid) -> i64 {
        let (status, p) = self
            .call(
                Method::GET,
                &format!("{}/products/{product}", self.stock),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "product: {p}");
        p["available"].as_i64().expect("available")
    }

    /// Adds a courier as the admin; returns its id.
    pub async fn add_courier(&self, admin: &Shopper, daily_capacity: i64) -> Uuid {
        let body = json!({"name": "Courier", "daily_capacity": daily_capacity});
        let (status, c) = self
            .call(
                Method::POST,
                &format!("{}/couriers", self.delivery),
                Some(&admin.token),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "courier: {c}");
        c["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("courier id")
    }

    /// Places an order.
    pub async fn order(
        &self,
        s: &Shopper,
        product: Uuid,
        quantity: i64,
        date: Option<NaiveDate>,
    ) -> (StatusCode, Value) {
        let mut body = json!({"product_id": product, "quantity": quantity});
        if let Some(date) = date {
            body["delivery_date"] = json!(date);
        }
        self.call(
            Method::POST,
            &format!("{}/orders", self.order),
            Some(&s.token),
            Some(body),
        )
        .await
    }

    /// Waits (up to 30 s) until order `id` is in one of `statuses`; returns it.
    pub async fn wait_order(&self, s: &Shopper, id: &str, statuses: &[&str]) -> Value {
        let url = format!("{}/orders/{id}", self.order);
        let mut last = Value::Null;
        for _ in 0..600 {
            if let Ok((StatusCode::OK, o)) = self
                .try_send(Method::GET, &url, Some(&s.token), None, &[])
                .await
            {
                if statuses.iter().any(|st| o["status"] == *st) {
                    return o;
                }
                last = o;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("order {id} did not become {statuses:?}: {last}");
    }

    /// A shopper's only order (for a test whose request got no answer).
    pub async fn only_order(&self, s: &Shopper) -> Value {
        let url = format!("{}/orders", self.order);
        let (status, page) = self.call(Method::GET, &url, Some(&s.token), None).await;
        assert_eq!(status, StatusCode::OK, "orders: {page}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), 1, "one order: {page}");
        items[0].clone()
    }

    /// A shopper's messages, newest first.
    pub async fn messages(&self, s: &Shopper) -> Vec<Value> {
        let url = format!("{}/messages?limit=100", self.notify);
        let (status, page) = self.call(Method::GET, &url, Some(&s.token), None).await;
        assert_eq!(status, StatusCode::OK, "messages: {page}");
        page["items"].as_array().cloned().unwrap_or_default()
    }
}
