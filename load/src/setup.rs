//! What a run creates through the public API before it places an order: products, couriers,
//! and shoppers with money, all named after the run so that runs never share books.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::client::Http;
use crate::{Plan, Urls};

/// Units of each product: more than any run can use.
const PLENTY: i64 = 100_000_000;
/// Bookings a courier takes a day (the most delivery-svc allows); all orders are for tomorrow,
/// so the couriers of a run take `couriers × 10,000` orders.
const COURIER_DAY: i64 = 10_000;
/// Each shopper's deposit, in cents: enough for millions of orders.
pub const DEPOSIT: i64 = 1_000_000_000;
/// What one unit costs, in cents.
pub const PRICE: i64 = 100;

/// A shopper of the run.
#[derive(Debug, Clone)]
pub struct Shopper {
    pub id: Uuid,
    pub token: String,
    /// What it deposited.
    pub deposit: i64,
}

/// A product of the run, and how many units it was stocked with.
#[derive(Debug, Clone)]
pub struct Product {
    pub id: Uuid,
    pub stocked: i64,
}

/// Everything the run created.
pub struct World {
    pub shoppers: Vec<Shopper>,
    pub products: Vec<Product>,
    /// With `--mix`: a shopper without money (its orders are refused 402).
    pub poor: Option<Shopper>,
    /// With `--mix`: a product without stock (its orders are refused 409).
    pub empty: Option<Product>,
}

impl World {
    pub async fn create(
        http: &Http,
        urls: &Urls,
        admin_password: &str,
        plan: &Plan,
    ) -> anyhow::Result<Self> {
        let run = &Uuid::now_v7().simple().to_string()[20..];
        let admin = login(http, urls, "admin", admin_password).await?;
        let mut products = Vec::new();
        for i in 0..plan.products.max(1) {
            products.push(product(http, urls, &admin, &format!("load {run} {i}"), PLENTY).await?);
        }
        for i in 0..plan.couriers.max(1) {
            let body = json!({"name": format!("load {run} {i}"), "daily_capacity": COURIER_DAY});
            let url = format!("{}/couriers", urls.delivery);
            http.expect(
                Method::POST,
                &url,
                Some(&admin),
                Some(&body),
                StatusCode::CREATED,
            )
            .await?;
        }
        let mut shoppers = Vec::new();
        for i in 0..plan.shoppers.max(1) {
            shoppers.push(shopper(http, urls, &format!("load-{run}-{i}"), DEPOSIT).await?);
        }
        let (poor, empty) = if plan.mix {
            (
                Some(shopper(http, urls, &format!("load-{run}-poor"), 0).await?),
                Some(product(http, urls, &admin, &format!("load {run} none"), 0).await?),
            )
        } else {
            (None, None)
        };
        Ok(Self {
            shoppers,
            products,
            poor,
            empty,
        })
    }
}

async fn login(http: &Http, urls: &Urls, username: &str, password: &str) -> anyhow::Result<String> {
    let body = json!({"username": username, "password": password});
    let url = format!("{}/auth/login", urls.user);
    let token = http
        .expect(Method::POST, &url, None, Some(&body), StatusCode::OK)
        .await?;
    token["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("login of {username}: no token in {token}"))
}

async fn product(
    http: &Http,
    urls: &Urls,
    admin: &str,
    name: &str,
    quantity: i64,
) -> anyhow::Result<Product> {
    let body = json!({"name": name, "price": PRICE, "quantity": quantity});
    let url = format!("{}/products", urls.stock);
    let p = http
        .expect(
            Method::POST,
            &url,
            Some(admin),
            Some(&body),
            StatusCode::CREATED,
        )
        .await?;
    Ok(Product {
        id: id_of(&p)?,
        stocked: quantity,
    })
}

async fn shopper(http: &Http, urls: &Urls, name: &str, deposit: i64) -> anyhow::Result<Shopper> {
    let password = format!("{name}-password");
    let body = json!({
        "username": name,
        "password": password,
        "email": format!("{name}@load.example.com"),
        "first_name": "Load",
        "last_name": "Shopper",
        "phone": "+4912345678",
    });
    let url = format!("{}/users", urls.user);
    let user = http
        .expect(Method::POST, &url, None, Some(&body), StatusCode::CREATED)
        .await?;
    let token = login(http, urls, name, &password).await?;
    if deposit > 0 {
        let url = format!("{}/balance/deposit", urls.payment);
        let body = json!({"amount": deposit});
        http.expect(
            Method::POST,
            &url,
            Some(&token),
            Some(&body),
            StatusCode::OK,
        )
        .await?;
    }
    Ok(Shopper {
        id: id_of(&user)?,
        token,
        deposit,
    })
}

fn id_of(v: &Value) -> anyhow::Result<Uuid> {
    v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no id in {v}"))
}
