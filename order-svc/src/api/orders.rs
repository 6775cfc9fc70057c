//! `/orders`: placing an order (the saga) and reading one's orders.

use std::time::Duration;

use chrono::NaiveDate;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shop_kit::ApiError;
use shop_kit::JsonBody;
use shop_kit::auth::{Caller, UserAuth};
use shop_kit::idempotency::{IdempotencyKey, fingerprint};
use shop_kit::money::Money;
use shop_kit::page::{Page, PageRequest};
use uuid::Uuid;

use super::answers::{answer_for, replay, stored_answer};
use super::{Order, Tag, drive_within, parse_status};
use crate::domain::{DeliveryDate, Quantity, total};
use crate::error::{ApiResult, Error};
use crate::saga::SagaRunner;
use crate::store::{KeyClaim, NewOrder, OrderFilter};

pub struct OrdersApi {
    pub runner: SagaRunner,
    pub request_deadline: Duration,
    pub key_lock: Duration,
}

/// An order to place. The price comes from the catalogue, never from the client.
#[derive(Object, Debug, serde::Serialize, serde::Deserialize)]
struct PlaceOrder {
    /// The product.
    product_id: Uuid,
    /// 1..=1000.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    quantity: i64,
    /// Today (UTC) or later; tomorrow when absent.
    delivery_date: Option<NaiveDate>,
}

#[derive(ApiResponse)]
pub(super) enum PlaceResponse {
    /// Completed: paid, stock sold, courier booked.
    #[oai(status = 201)]
    Created(Json<Order>),
    /// Still running (a participant is slow or unreachable); it finishes in the background.
    #[oai(status = 202)]
    Accepted(Json<Order>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
enum OrderResponse {
    /// The order.
    #[oai(status = 200)]
    Ok(Json<Order>),
}

#[derive(ApiResponse)]
enum OrderPage {
    /// A page of the caller's orders, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<Order>>),
}

impl OrdersApi {
    /// Prices the order, records it (linked to the caller's idempotency key) and runs its saga
    /// up to the request deadline.
    async fn place(
        &self,
        caller: Caller,
        product_id: Uuid,
        quantity: Quantity,
        date: DeliveryDate,
        key: Option<&IdempotencyKey>,
    ) -> ApiResult<PlaceResponse> {
        let runner = &self.runner;
        let product = runner.participants.product(product_id).await?;
        let product = product.ok_or(Error::NoSuchProduct)?;
        let unit_price = Money::from_cents(product.price).ok_or(Error::NoSuchProduct)?;
        let total = total(unit_price, quantity).ok_or(Error::TotalTooLarge)?;
        let new = NewOrder {
            user_id: caller.user_id,
            product_id,
            quantity: quantity.get(),
            unit_price: unit_price.cents(),
            total: total.cents(),
            delivery_date: date.get(),
        };
        let order = runner
            .store
            .create(new, runner.lease_until(), key.map(IdempotencyKey::as_str))
            .await?;
        answer_for(drive_within(runner, order, self.request_deadline).await)
    }

    /// A repeat of a request that died after recording order `id`: the order's answer now.
    async fn resume(&self, caller: Caller, id: Uuid) -> ApiResult<PlaceResponse> {
        let found = self.runner.store.order(id).await?;
        let order = found
            .filter(|o| o.user_id == caller.user_id)
            .ok_or(Error::KeyOrderGone)?;
        answer_for(order)
    }
}

#[OpenApi(tag = "Tag::Orders")]
impl OrdersApi {
    /// Places an order: reserves funds, stock and a courier, then confirms all three. A refusal
    /// cancels the order (402 insufficient funds, 409 out of stock or no courier) after giving
    /// back what was held; when a participant is unreachable past the request deadline, 202 and
    /// the saga finishes in the background. An unknown product is 422 and records no order.
    /// With an `Idempotency-Key` (1..=255 characters, per user, kept at least 24 h) a repeat
    /// returns the first answer; the same key with another body is 422; while the first
    /// request runs, 409. A key whose first request died without answering is released after
    /// `ORDER_SVC_KEY_LOCK_MS` (60 s): a repeat then answers from the order it recorded, or
    /// places the order if it recorded none.
    #[oai(path = "/orders", method = "post", operation_id = "place_order")]
    async fn place_order(
        &self,
        auth: UserAuth,
        body: JsonBody<PlaceOrder>,
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255))] key: Header<
            Option<String>,
        >,
    ) -> ApiResult<PlaceResponse> {
        let caller = auth.0;
        let today = chrono::Utc::now().date_naive();
        let (quantity, date, key) = match (
            Quantity::parse(body.quantity),
            DeliveryDate::parse(body.delivery_date, today),
            key.0.as_deref().map(IdempotencyKey::parse).transpose(),
        ) {
            (Ok(quantity), Ok(date), Ok(key)) => (quantity, date, key),
            (quantity, date, key) => {
                return Err(ApiError::invalid_fields([
                    ("quantity", quantity.err()),
                    ("delivery_date", date.err()),
                    ("Idempotency-Key", key.err()),
                ])
                .into());
            }
        };
        let store = &self.runner.store;
        if let Some(key) = &key {
            let lock = chrono::TimeDelta::from_std(self.key_lock).unwrap_or(chrono::TimeDelta::MAX);
            let claim = store
                .claim_key(
                    caller.user_id,
                    key.as_str(),
                    &fingerprint(&body.0),
                    shop_kit::db::now() - lock,
                )
                .await;
            let answer = match claim? {
                KeyClaim::New => None,
                KeyClaim::Replay { status, body } => return replay(status, &body),
                KeyClaim::Mismatch => return Err(Error::KeyReused.into()),
                KeyClaim::InFlight => return Err(Error::KeyInFlight.into()),
                KeyClaim::Abandoned { order_id } => Some(self.resume(caller, order_id).await),
            };
            let answer = match answer {
                Some(answer) => answer,
                None => {
                    self.place(caller, body.product_id, quantity, date, Some(key))
                        .await
                }
            };
            let (status, stored) = stored_answer(&answer);
            let result = match status {
                // Nothing happened: the key is free for a retry.
                503 => store.forget_key(caller.user_id, key.as_str()).await,
                _ => {
                    store
                        .store_answer(caller.user_id, key.as_str(), status, &stored)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "storing the idempotent answer failed");
            }
            return answer;
        }
        self.place(caller, body.product_id, quantity, date, None)
            .await
    }

    /// The caller's orders, newest first, optionally of one status; cursor pagination.
    #[oai(path = "/orders", method = "get", operation_id = "list_orders")]
    async fn list(
        &self,
        auth: UserAuth,
        #[oai(validator(max_length = 32))] status: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<i64>>,
        #[oai(validator(max_length = 128))] cursor: Query<Option<String>>,
    ) -> ApiResult<OrderPage> {
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let filter = OrderFilter {
            user_id: Some(auth.0.user_id),
            status: parse_status(status.0.as_deref())?,
        };
        let rows = self.runner.store.orders(filter, page).await?;
        let rows = rows.into_iter().map(Order::from).collect();
        Ok(OrderPage::Ok(Json(Page::from_rows(
            rows,
            page.limit,
            |o| o.id,
        ))))
    }

    /// One order: its owner or an admin sees it; another user's is 404.
    #[oai(path = "/orders/:id", method = "get", operation_id = "get_order")]
    async fn get(&self, auth: UserAuth, id: Path<Uuid>) -> ApiResult<OrderResponse> {
        let found = self.runner.store.order(id.0).await?;
        let visible = found.filter(|o| auth.0.is_admin || o.user_id == auth.0.user_id);
        visible
            .map(|o| OrderResponse::Ok(Json(o.into())))
            .ok_or_else(|| Error::NoSuchOrder.into())
    }
}
