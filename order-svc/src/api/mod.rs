//! order-svc's HTTP API.

mod admin;
mod answers;
mod orders;
mod progress;

use std::time::Duration;

use tokio::time::Instant;

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use poem_openapi::payload::Json;
use shop_kit::page::{Page, PageRequest};
use uuid::Uuid;

use crate::domain::history::{self, Milestone, MilestoneKind};
use crate::domain::{FailureReason, OrderStatus};
use crate::saga::{Drive, SagaRunner};
use crate::store::{OrderFilter, OrderStore, order};

/// Every operation of order-svc.
pub fn apis(runner: SagaRunner, config: &crate::Config) -> impl poem_openapi::OpenApi + use<> {
    (
        orders::OrdersApi {
            runner: runner.clone(),
            request_deadline: config.saga.request_deadline,
            key_lock: config.saga.key_lock,
        },
        admin::AdminApi {
            runner: runner.clone(),
            request_deadline: config.saga.request_deadline,
        },
        admin::AuditApi { runner },
    )
}

/// How long before its deadline a request stops waiting for the saga, to leave time to read
/// the order's state and answer (a quarter of the deadline when that is shorter).
const ANSWER_MARGIN: Duration = Duration::from_millis(300);

/// A request's deadline: `ORDER_SVC_REQUEST_DEADLINE_MS` from now.
fn deadline_in(d: Duration) -> Instant {
    Instant::now() + d
}

/// Drives a claimed order until shortly before `until` and answers its state then; a saga
/// that is not done by then goes on in the background (and, if interrupted, the recovery
/// driver takes it over when its claim runs out).
async fn drive_within(runner: &SagaRunner, order: order::Model, until: Instant) -> order::Model {
    let id = order.id;
    tracing::Span::current().record("order_id", tracing::field::display(id));
    let fallback = order.clone();
    let drive = runner.spawn(order);
    let left = until.saturating_duration_since(Instant::now());
    let wait = left.saturating_sub(ANSWER_MARGIN.min(left / 4));
    let current = match tokio::time::timeout(wait, drive).await {
        Ok(Ok(Ok(Drive::Finished(o) | Drive::Paused(o)))) => o,
        Ok(Ok(Err(e))) => {
            tracing::error!(order_id = %id, error = %e, "saga interrupted by a database error");
            fallback
        }
        Ok(_) | Err(_) => fallback,
    };
    if current.status == OrderStatus::Pending.as_str() {
        let read = tokio::time::timeout_at(until, runner.store.order(id)).await;
        return read.ok().and_then(Result::ok).flatten().unwrap_or(current);
    }
    current
}

#[derive(poem_openapi::Tags)]
enum Tag {
    /// A shopper's orders.
    Orders,
    /// All orders (admins only).
    Admin,
}

/// One line of an order.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    /// The product.
    pub product_id: Uuid,
    /// Units, 1 to 1000.
    pub quantity: i64,
    /// Price per unit in cents, from the catalogue when ordered.
    pub unit_price: i64,
    /// `unit_price × quantity`, in cents.
    pub line_total: i64,
}

/// An order.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct Order {
    /// The order's id.
    pub id: Uuid,
    /// The shopper who placed it.
    pub user_id: Uuid,
    /// The product ordered (an order of one product).
    #[oai(skip_serializing_if_is_none)]
    pub product_id: Option<Uuid>,
    /// Units, 1 to 1000 (an order of one product).
    #[oai(skip_serializing_if_is_none)]
    pub quantity: Option<i64>,
    /// Price per unit in cents, from the catalogue when ordered (an order of one product).
    #[oai(skip_serializing_if_is_none)]
    pub unit_price: Option<i64>,
    /// Every line, in the order given.
    #[oai(default)]
    pub items: Vec<OrderItem>,
    /// The sum of the lines' totals, in cents.
    pub total: i64,
    /// When it is delivered.
    pub delivery_date: shop_kit::date::Date,
    /// `pending`, `completed`, `cancelled`, `refunding` (its shopper cancelled it; the refund
    /// runs), `refunded`, or `needs_attention` (a step kept failing; an admin re-drives it).
    pub status: OrderStatus,
    /// Why it was cancelled.
    #[oai(skip_serializing_if_is_none)]
    pub failure_reason: Option<FailureReason>,
    /// The courier booked.
    #[oai(nullable)]
    pub courier_id: Option<Uuid>,
    /// When it was ordered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// What happened to it, oldest first: placed, then completed or cancelled (with the
    /// reason), a refund requested, refunded.
    #[oai(default)]
    pub timeline: Vec<Milestone>,
}

impl poem_openapi::types::Example for Order {
    fn example() -> Self {
        let id = Uuid::from_u128(0x0190_a5d2_7c1e_7000_8000_0000_0000_0001);
        let product_id = Uuid::from_u128(0x0190_a5d2_7c1e_7000_8000_0000_0000_0003);
        let placed = DateTime::<Utc>::from_timestamp(1_796_000_000, 0).unwrap_or_default();
        let delivery = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap_or_default();
        Self {
            id,
            user_id: Uuid::from_u128(0x0190_a5d2_7c1e_7000_8000_0000_0000_0002),
            product_id: Some(product_id),
            quantity: Some(1),
            unit_price: Some(450),
            items: vec![OrderItem {
                product_id,
                quantity: 1,
                unit_price: 450,
                line_total: 450,
            }],
            total: 450,
            delivery_date: shop_kit::date::Date(delivery),
            status: OrderStatus::Completed,
            failure_reason: None,
            courier_id: Some(Uuid::from_u128(0x0190_a5d2_7c1e_7000_8000_0000_0000_0005)),
            created_at: placed,
            updated_at: placed,
            timeline: vec![
                Milestone {
                    at: placed,
                    event: MilestoneKind::Placed,
                    reason: None,
                },
                Milestone {
                    at: placed,
                    event: MilestoneKind::Completed,
                    reason: None,
                },
            ],
        }
    }
}

impl TryFrom<order::Model> for Order {
    type Error = sea_orm::DbErr;

    fn try_from(o: order::Model) -> Result<Self, Self::Error> {
        let lines = o.lines()?;
        let one = match lines.as_slice() {
            [line] => Some(*line),
            _ => None,
        };
        let items = lines
            .into_iter()
            .map(|l| OrderItem {
                product_id: l.product_id,
                quantity: l.quantity,
                unit_price: l.unit_price,
                line_total: l.unit_price.saturating_mul(l.quantity),
            })
            .collect();
        let timeline = milestones(&o);
        Ok(Self {
            timeline,
            id: o.id,
            user_id: o.user_id,
            product_id: one.map(|l| l.product_id),
            quantity: one.map(|l| l.quantity),
            unit_price: one.map(|l| l.unit_price),
            items,
            total: o.total,
            delivery_date: shop_kit::date::Date(o.delivery_date),
            status: o.order_status()?,
            failure_reason: o.reason()?,
            courier_id: o.courier_id,
            created_at: o.created_at,
            updated_at: o.updated_at,
        })
    }
}

/// The shopper's milestones of an order: from its history, or, for an order recorded before the
/// history was kept, its placing and its status now.
fn milestones(o: &order::Model) -> Vec<Milestone> {
    if !o.history.is_empty() {
        return history::timeline(&history::parse(&o.history));
    }
    let placed = Milestone {
        at: o.created_at,
        event: MilestoneKind::Placed,
        reason: None,
    };
    let now = MilestoneKind::ended(&o.status);
    std::iter::once(placed)
        .chain(now.map(|event| Milestone {
            at: o.updated_at,
            event,
            reason: o.failure_reason.clone(),
        }))
        .collect()
}

/// A page of the orders `filter` selects, as the API shows them, newest first.
async fn order_page(
    store: &OrderStore,
    filter: OrderFilter,
    page: PageRequest,
) -> Result<Json<Page<Order>>, sea_orm::DbErr> {
    let rows = store.orders(filter, page).await?;
    let orders = rows
        .into_iter()
        .map(Order::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Page::from_rows(orders, page.limit, |o| o.id)))
}

/// Swagger UI's proposed `POST /orders` body: one unit of the newest product of the catalogue
/// (a placeholder id while it is empty), delivered tomorrow (the default), so that "Execute"
/// as proposed places an order.
pub fn place_order_example(
    catalogue: crate::client::Participants,
) -> shop_kit::server::LiveExamples {
    std::sync::Arc::new(move |mut spec| {
        let catalogue = catalogue.clone();
        Box::pin(async move {
            let newest = tokio::time::timeout(Duration::from_secs(1), catalogue.newest_product());
            let product = match newest.await {
                Ok(Ok(Some(id))) => id,
                _ => Uuid::nil(),
            };
            let example = serde_json::json!({"product_id": product, "quantity": 1});
            if let Some(media) =
                spec.pointer_mut("/paths/~1orders/post/requestBody/content/application~1json")
            {
                media["example"] = example;
            }
            spec
        })
    })
}
