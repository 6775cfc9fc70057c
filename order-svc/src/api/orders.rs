//! `/orders`: placing an order (the saga) and reading one's orders.

use std::time::Duration;

use futures_util::future::try_join_all;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shop_kit::ApiError;
use shop_kit::JsonBody;
use shop_kit::auth::{Caller, UserAuth};
use shop_kit::contract::stock::one_or_several;
use shop_kit::idempotency::{IdempotencyKey, fingerprint};
use shop_kit::page::{Page, PageRequest};
use uuid::Uuid;

use super::answers::{CancelResponse, Keys, PlaceResponse, cancelled, placed};
use super::progress::{Progress, within};
use super::{Order, Tag, deadline_in, drive_within, order_page};
use crate::domain::{DeliveryDate, Line, Lines, OrderStatus, Quantity, Unpriced};
use crate::error::{ApiResult, Error};
use crate::saga::SagaRunner;
use crate::store::{NewOrder, OrderFilter, order};

pub struct OrdersApi {
    pub runner: SagaRunner,
    pub request_deadline: Duration,
    pub key_lock: Duration,
}

/// One line of an order of several products.
#[derive(Object, Debug, serde::Serialize, serde::Deserialize)]
struct PlaceLine {
    /// The product.
    product_id: Uuid,
    /// 1..=1000.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    quantity: i64,
}

/// An order to place: one product (`product_id` and `quantity`) or several (`items`), never
/// both. The prices come from the catalogue, never from the client.
#[derive(Object, Debug, serde::Serialize, serde::Deserialize)]
struct PlaceOrder {
    /// The product (an order of one product).
    product_id: Option<Uuid>,
    /// 1..=1000 (an order of one product).
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    quantity: Option<i64>,
    /// The lines of an order of several products: 1..=20, each product once; stock is held
    /// for all of them or for none.
    #[oai(validator(min_items = 1, max_items = 20))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    items: Option<Vec<PlaceLine>>,
    /// Today (UTC) or later; tomorrow when absent.
    delivery_date: Option<shop_kit::date::Date>,
}

impl PlaceOrder {
    /// The lines, and the field that named them (for the errors about them); on an error, the
    /// field to name and what is wrong.
    fn lines(&self) -> Result<(Lines, &'static str), (&'static str, &'static str)> {
        let items = self.items.as_ref().map(|items| items.iter());
        let (pairs, field) = one_or_several(self.product_id, self.quantity, items, |l| {
            (l.product_id, l.quantity)
        })?;
        let lines = pairs
            .into_iter()
            .map(|(product_id, quantity)| {
                Quantity::parse(quantity).map(|quantity| Line {
                    product_id,
                    quantity,
                })
            })
            .collect::<Result<_, _>>()
            .map_err(|m| (field, m))?;
        let lines = Lines::parse(lines).map_err(|m| ("items", m))?;
        Ok((lines, field))
    }
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
    fn keys(&self, caller: &Caller) -> Keys<'_> {
        Keys {
            store: &self.runner.store,
            lock: self.key_lock,
            running: (self.request_deadline + Duration::from_secs(1)).min(self.key_lock),
            user_id: caller.user_id,
        }
    }

    /// Prices every line from the catalogue (concurrently), records the order (linked to the
    /// caller's idempotency key) and runs its saga up to the request deadline.
    async fn place(
        &self,
        caller: Caller,
        (lines, field): (Lines, &'static str),
        date: DeliveryDate,
        key: Option<&IdempotencyKey>,
        until: tokio::time::Instant,
        progress: &Progress,
    ) -> ApiResult<PlaceResponse> {
        let runner = &self.runner;
        let participants = &runner.participants;
        let products = try_join_all(
            lines
                .get()
                .iter()
                .map(|l| participants.product(l.product_id)),
        )
        .await?;
        let prices = products.iter().map(|p| p.as_ref().map(|p| p.price));
        let (priced, total) = lines.priced(prices).map_err(|e| match e {
            // The one-product form names its product, the other its items.
            Unpriced::NoSuchProduct(product_id) => Error::NoSuchProduct {
                field: if field == "items" {
                    "items"
                } else {
                    "product_id"
                },
                product_id,
            },
            Unpriced::TotalTooLarge => Error::TotalTooLarge { field },
        })?;
        let new = NewOrder {
            user_id: caller.user_id,
            lines: priced,
            total: total.cents(),
            delivery_date: date.get(),
        };
        let row = runner.store.new_order(new, runner.lease_until())?;
        progress.writing(&row);
        let order = runner
            .store
            .record(row, key.map(IdempotencyKey::as_str))
            .await?;
        placed(drive_within(runner, order, until).await)
    }

    /// A repeat of a request that died after recording order `id`: the order's answer now.
    async fn resume(&self, caller: Caller, id: Uuid) -> ApiResult<PlaceResponse> {
        let found = self.runner.store.order(id).await?;
        let order = found
            .filter(|o| o.user_id == caller.user_id)
            .ok_or(Error::KeyOrderGone)?;
        placed(order)
    }

    /// Starts (or finds) the refund saga of the caller's order `id` and drives it up to the
    /// request deadline.
    async fn cancel_order(
        &self,
        caller: Caller,
        id: Uuid,
        until: tokio::time::Instant,
        progress: &Progress,
    ) -> ApiResult<CancelResponse> {
        let runner = &self.runner;
        let store = &runner.store;
        let today = chrono::Utc::now().date_naive();
        let mine = |o: &order::Model| caller.is_admin || o.user_id == caller.user_id;
        let found = store.order(id).await?.filter(mine);
        let o = found.ok_or(Error::NoSuchOrder)?;
        if o.status == OrderStatus::Completed.as_str() {
            // The refund may start from here on: its deadline answers 202 with the order.
            let mut refunding = o.clone();
            refunding.status = OrderStatus::Refunding.as_str().into();
            progress.writing(&refunding);
        }
        if let Some(claimed) = store
            .start_refund(id, today, runner.lease_until(), caller.user_id)
            .await?
        {
            tracing::info!(order_id = %id, "the shopper cancels the order: refunding");
            return cancelled(drive_within(runner, claimed, until).await);
        }
        // Not started now: it was not completed, its date has come, or a racing cancellation
        // started it first.
        let o = store.order(id).await?.unwrap_or(o);
        let refund_started = Some(o.step.as_str()) == crate::domain::Step::Refund.fixed_name();
        match o.order_status()? {
            OrderStatus::Refunded | OrderStatus::Refunding => cancelled(o),
            OrderStatus::NeedsAttention if refund_started => cancelled(o),
            OrderStatus::Completed => Err(Error::DeliveryDue {
                order_id: o.id,
                date: o.delivery_date,
            }
            .into()),
            status => Err(Error::NotCancellable {
                order_id: o.id,
                status,
            }
            .into()),
        }
    }
}

#[OpenApi(tag = "Tag::Orders")]
impl OrdersApi {
    /// Place an order
    ///
    /// Orders one product (`product_id`, `quantity`) or several (`items`; stock is held for all
    /// lines or none), delivered on `delivery_date` (tomorrow when left out). The saga reserves the
    /// funds, the stock and a courier, then confirms all three (201, `completed`), or gives back
    /// what it held and cancels the order. A participant that cannot be reached is tried again
    /// with backoff for a few seconds (a restart is no outage). When a service is slow past the
    /// request deadline the answer is 202 (`pending`) and the saga finishes in the background.
    /// Every outcome sends you a message. Send an `Idempotency-Key` to make a retry safe: a repeat
    /// answers the first answer, or, once the first request's deadline has passed without one,
    /// the order's state.
    ///
    /// 201: completed: paid, the stock sold, a courier booked.
    /// 202: the order is recorded and its outcome follows (`Location`): still running, or
    /// cancelled because a service stayed unavailable (`failure_reason: service_unavailable`;
    /// nothing was charged), or the database's answer was late, and the order, whose id this is,
    /// may be recorded (a `GET` of `Location` that answers 404 means it was not).
    /// 402: insufficient funds; the order is recorded cancelled and nothing was charged.
    /// 409: out of stock (`product_id` names the first product short) or no courier free that day;
    /// the order is recorded cancelled and nothing was charged. Or: a request with this
    /// `Idempotency-Key` is still running (within its deadline).
    /// 422: a field is invalid (an unknown product, a past date), or the `Idempotency-Key` was used
    /// with another body; no order is recorded.
    /// 503: nothing was recorded (the database or the catalogue did not answer in time); retry
    /// after `Retry-After` seconds, with the same `Idempotency-Key`.
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
        let (lines, date, key) = match (
            body.lines(),
            DeliveryDate::parse(body.delivery_date.map(|d| d.0), today),
            key.0.as_deref().map(IdempotencyKey::parse).transpose(),
        ) {
            (Ok(lines), Ok(date), Ok(key)) => (lines, date, key),
            (lines, date, key) => {
                let (field, error) = lines.err().unzip();
                return Err(ApiError::invalid_fields([
                    (field.unwrap_or("items"), error),
                    ("delivery_date", date.err()),
                    ("Idempotency-Key", key.err()),
                ])
                .into());
            }
        };
        let key = key.as_ref();
        let until = deadline_in(self.request_deadline);
        let keys = self.keys(&caller);
        let request = fingerprint(&body.0);
        let progress = Progress::default();
        let told = &progress;
        let placing = keys.run(key, &request, told, |abandoned| async move {
            match abandoned {
                Some(order_id) => self.resume(caller, order_id).await,
                None => self.place(caller, lines, date, key, until, told).await,
            }
        });
        within(until, &self.runner.store, progress.clone(), placing).await
    }

    /// Cancel an order
    ///
    /// Cancels a completed order whose delivery date is after today (UTC), by its owner or an admin:
    /// the refund saga frees the courier's place, returns the stock and refunds the money, then the
    /// order is `refunded` (200; you get a message). 202 when a service is slow and the refund
    /// finishes in the background. Cancelling a refunded order again answers it again.
    ///
    /// 404: no such order, or another user's.
    /// 409: the order is not completed (pending, or cancelled by the saga), or its delivery date has
    /// come. Or: a request with this `Idempotency-Key` is still running.
    /// 422: the `Idempotency-Key` was used with another request.
    #[oai(path = "/orders/:id/cancel", method = "post", operation_id = "cancel_order")]
    async fn cancel(
        &self,
        auth: UserAuth,
        id: Path<Uuid>,
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255))] key: Header<
            Option<String>,
        >,
    ) -> ApiResult<CancelResponse> {
        let caller = auth.0;
        let key = key.0.as_deref().map(IdempotencyKey::parse).transpose();
        let key = key.map_err(|m| ApiError::invalid_field("Idempotency-Key", m))?;
        let request = fingerprint(&("cancel", id.0));
        let until = deadline_in(self.request_deadline);
        let keys = self.keys(&caller);
        let progress = Progress::default();
        let cancelling = keys.run(key.as_ref(), &request, &progress, |_| {
            self.cancel_order(caller, id.0, until, &progress)
        });
        within(until, &self.runner.store, progress.clone(), cancelling).await
    }

    /// Your orders
    ///
    /// Your orders, newest first, optionally of one `status`, a page at a time (`limit`, then
    /// `cursor` from `next_cursor`).
    #[oai(path = "/orders", method = "get", operation_id = "list_orders")]
    async fn list(
        &self,
        auth: UserAuth,
        status: Query<Option<OrderStatus>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<i64>>,
        #[oai(validator(max_length = 128))] cursor: Query<Option<String>>,
    ) -> ApiResult<OrderPage> {
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let filter = OrderFilter {
            user_id: Some(auth.0.user_id),
            status: status.0,
        };
        Ok(OrderPage::Ok(
            order_page(&self.runner.store, filter, page).await?,
        ))
    }

    /// Get an order
    ///
    /// One order with its lines and milestones; its owner or an admin sees it.
    ///
    /// 404: no such order, or another user's.
    #[oai(path = "/orders/:id", method = "get", operation_id = "get_order")]
    async fn get(&self, auth: UserAuth, id: Path<Uuid>) -> ApiResult<OrderResponse> {
        let found = self.runner.store.order(id.0).await?;
        let visible = found.filter(|o| auth.0.is_admin || o.user_id == auth.0.user_id);
        let o = visible.ok_or(Error::NoSuchOrder)?;
        Ok(OrderResponse::Ok(Json(o.try_into()?)))
    }
}
