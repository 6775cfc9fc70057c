//! The security suite: attacks on the running shop over HTTP, after the OWASP API Security
//! Top 10 (2023). Every operation of every service is taken from the service's own OpenAPI
//! spec, so that a new endpoint is attacked without anyone adding it here.

mod assignment;
mod bola;
mod input;
mod internal;
mod login;
mod logs;
mod tokens;

use reqwest::Method;
use serde_json::Value;
use shop_tests::TestShop;

/// One operation of a service's spec.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The service, e.g. `payment-svc`.
    pub service: &'static str,
    /// The service's base URL.
    pub base: String,
    /// The method.
    pub method: Method,
    /// The path template, e.g. `/orders/{id}`.
    pub path: String,
    /// Whether it takes the internal token.
    pub internal: bool,
    /// Whether it takes a user's bearer token.
    pub user_auth: bool,
    /// Whether it has a request body.
    pub body: bool,
}

impl Operation {
    /// The URL with every path parameter set to a fresh id.
    pub fn url(&self) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let path = self
            .path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    id.as_str()
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        format!("{}{path}", self.base)
    }
}

/// Every operation of the six services, read from their specs.
pub async fn operations(shop: &TestShop) -> Vec<Operation> {
    let api = &shop.api;
    let services = [
        ("user-svc", "user", &api.user),
        ("order-svc", "order", &api.order),
        ("payment-svc", "payment", &api.payment),
        ("stock-svc", "stock", &api.stock),
        ("delivery-svc", "delivery", &api.delivery),
        ("notify-svc", "notify", &api.notify),
    ];
    let mut ops = Vec::new();
    let specs = services.iter().flat_map(|&(service, docs, base)| {
        let internal = shop_kit::server::docs::WITH_INTERNAL.contains(&docs);
        let public = Some(format!("{base}/{docs}/openapi.json"));
        let internal = internal.then(|| format!("{base}/{docs}/internal/openapi.json"));
        [public, internal]
            .into_iter()
            .flatten()
            .map(move |url| (service, base, url))
    });
    for (service, base, url) in specs {
        let spec: Value = reqwest::get(url)
            .await
            .expect("the spec")
            .json()
            .await
            .expect("JSON");
        for (path, item) in spec["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("operations") {
                let schemes: Vec<String> = op["security"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_object())
                    .flat_map(|s| s.keys().cloned())
                    .collect();
                ops.push(Operation {
                    service,
                    base: base.clone(),
                    method: method.to_uppercase().parse().expect("a method"),
                    path: path.clone(),
                    internal: schemes.iter().any(|s| s == "InternalToken"),
                    user_auth: schemes.iter().any(|s| s == "UserAuth"),
                    body: op.get("requestBody").is_some(),
                });
            }
        }
    }
    assert!(ops.len() > 30, "the specs list the shop's operations");
    ops
}

/// A product, a courier and 1000 cents for `shopper`, and one completed order of theirs.
pub async fn completed_order(shop: &TestShop, shopper: &shop_tests::Shopper) -> String {
    let api = &shop.api;
    let admin = api.admin().await;
    api.deposit(shopper, 1000).await;
    let product = api.add_product(&admin, 100, 10).await;
    api.add_courier(&admin, 10).await;
    let (status, order) = api.order(shopper, product, 1, None).await.parts();
    assert_eq!(status, 201, "{order}");
    order["id"].as_str().expect("an id").to_owned()
}
