//! Typed answers, in the style of crates.io's test client: `api.get(url, token).await.ok::<T>()`
//! checks the status and parses the body into what the contract says it is, or panics with the
//! whole answer.

use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

/// An answer: its status and JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: Value,
}

impl Answer {
    /// The body as `T`; panics unless the status is a success and the body parses.
    #[track_caller]
    pub fn ok<T: DeserializeOwned>(self) -> T {
        assert!(
            self.status.is_success(),
            "expected a success, got {}: {}",
            self.status,
            self.body
        );
        self.parse()
    }

    /// The body as `T`; panics unless the status is `status` and the body parses.
    #[track_caller]
    pub fn ok_as<T: DeserializeOwned>(self, status: u16) -> T {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        self.parse()
    }

    /// The status and the raw body, for a test that looks at the wire itself.
    pub fn parts(self) -> (StatusCode, Value) {
        (self.status, self.body)
    }

    /// The problem+json body; panics unless the status is `status`.
    #[track_caller]
    pub fn problem(self, status: u16) -> Problem {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        self.parse()
    }

    #[track_caller]
    fn parse<T: DeserializeOwned>(self) -> T {
        match serde_json::from_value(self.body.clone()) {
            Ok(t) => t,
            Err(e) => panic!(
                "the {} answer is not a {}: {e}: {}",
                self.status,
                std::any::type_name::<T>(),
                self.body
            ),
        }
    }
}

impl From<Answer> for (StatusCode, Value) {
    fn from(a: Answer) -> Self {
        (a.status, a.body)
    }
}

/// A problem (RFC 9457), with order-svc's members when it sends them.
#[derive(Debug, Clone, Deserialize)]
pub struct Problem {
    /// The kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status, repeated.
    pub status: u16,
    /// What went wrong.
    pub detail: String,
    /// Field errors, on 400 and 422.
    #[serde(default)]
    pub errors: Vec<FieldError>,
    /// The order a saga refusal is about.
    pub order_id: Option<Uuid>,
    /// Why the saga cancelled it.
    pub failure_reason: Option<String>,
    /// Out of stock: the first product that was short.
    pub product_id: Option<Uuid>,
}

/// One invalid field.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldError {
    /// Its name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// A user as user-svc shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Its id.
    pub id: Uuid,
    /// Its username.
    pub username: String,
    /// Whether it is an admin.
    pub is_admin: bool,
    /// The first name.
    pub first_name: Option<String>,
}

/// A login's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Token {
    /// The bearer token.
    pub access_token: String,
}

/// A payment account.
#[derive(Debug, Clone, Deserialize)]
pub struct Balance {
    /// Spendable cents.
    pub balance: i64,
    /// Cents held for orders in progress.
    pub reserved: i64,
}

/// A product of the catalogue.
#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    /// Its id.
    pub id: Uuid,
    /// Price per unit in cents.
    pub price: i64,
    /// Units that can be ordered now.
    pub available: i64,
}

/// An order as order-svc shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    /// Its id.
    pub id: Uuid,
    /// Who placed it.
    pub user_id: Uuid,
    /// What (an order of one product).
    pub product_id: Option<Uuid>,
    /// How many (an order of one product).
    pub quantity: Option<i64>,
    /// Cents per unit, from the catalogue (an order of one product).
    pub unit_price: Option<i64>,
    /// Every line.
    pub items: Vec<OrderItem>,
    /// Cents in all.
    pub total: i64,
    /// When it is delivered.
    pub delivery_date: chrono::NaiveDate,
    /// `pending`, `completed`, `cancelled`, `refunding`, `refunded` or `needs_attention`.
    pub status: String,
    /// Why it was cancelled.
    pub failure_reason: Option<String>,
    /// The courier booked.
    pub courier_id: Option<Uuid>,
    /// Its milestones, oldest first.
    #[serde(default)]
    pub timeline: Vec<Milestone>,
}

/// One milestone of an order.
#[derive(Debug, Clone, Deserialize)]
pub struct Milestone {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// `placed`, `completed`, `cancelled`, `refund_requested` or `refunded`.
    pub event: String,
    /// Why it was cancelled.
    pub reason: Option<String>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderItem {
    /// The product.
    pub product_id: Uuid,
    /// How many.
    pub quantity: i64,
    /// Cents per unit, from the catalogue.
    pub unit_price: i64,
    /// `unit_price × quantity`.
    pub line_total: i64,
}

/// A courier.
#[derive(Debug, Clone, Deserialize)]
pub struct Courier {
    /// Its id.
    pub id: Uuid,
}

/// A page of a list.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// The cursor of the next page, if any.
    pub next_cursor: Option<String>,
}
