//! The participant protocol over HTTP: `/internal/reservations` served the same way for every
//! [`Participant`], so payment, stock and delivery differ only in their tables (their
//! [`Ledger`]), their reserve request and their refusal.

use crate::db::Db;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::{OpenApi, Tags};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::{Ledger, LedgerMetrics};
use crate::JsonBody;
use crate::auth::InternalAuth;
use crate::client::{CallError, Reply, ServiceClient};
use crate::contract::participant::{
    HeldFor, ParticipantResult, ReservationList, Shortage, released, reserved, settled,
};
use crate::problem::{ApiError, ApiResult};

/// A ledger that order-svc's saga calls over HTTP.
pub trait Participant:
    Ledger<
        Row: sea_orm::FromQueryResult,
        Reservation: ParseFromJSON + ToJSON + Send + Sync + 'static,
    > + 'static
{
    /// The reserve request as it comes over the wire.
    type Body: ParseFromJSON + DeserializeOwned + Send + Sync + 'static;

    /// Parses the wire request into the ledger's; a 422 names the invalid field.
    fn parse(body: Self::Body) -> Result<Self::Request, ApiError>;

    /// How it refuses when short: its contract's `SHORT` (402 for funds, 409 for stock and
    /// couriers).
    const SHORT: Shortage;
}

/// The protocol's operations on an order's reservation. [`ReservationsApi`] serves them (its
/// `#[oai(path)]`s must be literals: `tests/api` checks every participant's live spec has
/// exactly [`ReservationOp::path`]'s paths) and [`Reservations`] calls them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationOp {
    /// `POST /internal/reservations`.
    Reserve,
    /// `POST /internal/reservations/{order_id}/confirm`.
    Confirm,
    /// `DELETE /internal/reservations/{order_id}`.
    Release,
    /// `POST /internal/reservations/{order_id}/cancel`.
    Cancel,
    /// `GET /internal/reservations`: the reservations by order id, a page at a time.
    List,
}

impl ReservationOp {
    /// Every operation.
    pub const ALL: [Self; 5] = [
        Self::Reserve,
        Self::Confirm,
        Self::Release,
        Self::Cancel,
        Self::List,
    ];

    /// Its method and path for `order_id` (`{order_id}` gives the spec's template).
    pub fn path(self, order_id: impl std::fmt::Display) -> (reqwest::Method, String) {
        use reqwest::Method;
        const BASE: &str = "/internal/reservations";
        match self {
            Self::Reserve => (Method::POST, BASE.to_owned()),
            Self::Confirm => (Method::POST, format!("{BASE}/{order_id}/confirm")),
            Self::Release => (Method::DELETE, format!("{BASE}/{order_id}")),
            Self::Cancel => (Method::POST, format!("{BASE}/{order_id}/cancel")),
            Self::List => (Method::GET, BASE.to_owned()),
        }
    }
}

/// The caller's side of the protocol: one typed call per operation over a participant's
/// client.
#[derive(Clone, Copy)]
pub struct Reservations<'a>(pub &'a ServiceClient);

impl Reservations<'_> {
    /// Holds what `body` asks for its order.
    pub async fn reserve<B: serde::Serialize + Sync>(&self, body: &B) -> Result<Reply, CallError> {
        self.call(ReservationOp::Reserve, Uuid::nil(), Some(body))
            .await
    }

    /// Captures what is held for `order_id`.
    pub async fn confirm(&self, order_id: Uuid) -> Result<Reply, CallError> {
        self.call::<()>(ReservationOp::Confirm, order_id, None)
            .await
    }

    /// Gives back what is held for `order_id` (or leaves the release mark).
    pub async fn release(&self, order_id: Uuid) -> Result<Reply, CallError> {
        self.call::<()>(ReservationOp::Release, order_id, None)
            .await
    }

    /// Gives back what a confirmation captured for `order_id` (a refund).
    pub async fn cancel(&self, order_id: Uuid) -> Result<Reply, CallError> {
        self.call::<()>(ReservationOp::Cancel, order_id, None).await
    }

    /// The reservations of the orders after `after` (from the first without it), by order
    /// id, at most `limit`.
    pub async fn list(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<ReservationList, CallError> {
        let (method, path) = ReservationOp::List.path(Uuid::nil());
        let query = match after {
            Some(after) => format!("{path}?limit={limit}&after={after}"),
            None => format!("{path}?limit={limit}"),
        };
        let reply = self.0.send::<()>(method, &query, None).await?;
        if reply.status != reqwest::StatusCode::OK {
            return Err(reply.unexpected());
        }
        reply.json()
    }

    async fn call<B: serde::Serialize + Sync>(
        &self,
        op: ReservationOp,
        order_id: Uuid,
        body: Option<&B>,
    ) -> Result<Reply, CallError> {
        let (method, path) = op.path(order_id);
        self.0.send(method, &path, body).await
    }
}

/// `/internal/reservations` of one participant.
pub struct ReservationsApi<P> {
    ledger: P,
    db: Db,
    metrics: LedgerMetrics,
}

impl<P: Participant> ReservationsApi<P> {
    /// The API of `ledger`'s tables on `db`, counting in `metrics`.
    pub fn new(ledger: P, db: Db, metrics: LedgerMetrics) -> Self {
        Self {
            ledger,
            db,
            metrics,
        }
    }
}

#[derive(Tags)]
enum Tag {
    /// Service-to-service calls of the order saga.
    Internal,
}

#[OpenApi(prefix_path = "/internal", tag = "Tag::Internal")]
impl<P: Participant> ReservationsApi<P> {
    /// Reserve for an order
    ///
    /// Holds what the request asks for its order (201); a repeat answers the same.
    ///
    /// 402: payment-svc: not enough funds.
    /// 404: stock-svc: no such product (`product_id` names it).
    /// 409: short (stock-svc: not enough units, `product_id` names the first; delivery-svc: no
    /// courier free that day), or the order was released before or reserved with other values.
    #[oai(path = "/reservations", method = "post", operation_id = "reserve")]
    async fn reserve(
        &self,
        _auth: InternalAuth,
        body: JsonBody<P::Body>,
    ) -> ParticipantResult<P::Reservation> {
        let req = P::parse(body.0)?;
        let outcome = super::reserve(&self.ledger, &self.db, &self.metrics, &req).await?;
        reserved(outcome, P::SHORT)
    }

    /// Confirm an order's reservation
    ///
    /// Captures what is held: the funds are taken, the stock sold, the courier booked for good. A
    /// repeat answers the same.
    ///
    /// 404: nothing was reserved for this order.
    /// 409: the reservation was released.
    #[oai(path = "/reservations/:order_id/confirm", method = "post", operation_id = "confirm")]
    async fn confirm(
        &self,
        _auth: InternalAuth,
        order_id: Path<Uuid>,
    ) -> ParticipantResult<P::Reservation> {
        settled(super::confirm(&self.ledger, &self.db, &self.metrics, order_id.0).await?)
    }

    /// Release an order's reservation
    ///
    /// Gives back what is held (200); with nothing held, leaves a mark (204) that refuses a later
    /// reservation of the order. A repeat answers the same.
    ///
    /// 409: the reservation was confirmed (cancel it instead).
    #[oai(path = "/reservations/:order_id", method = "delete", operation_id = "release")]
    async fn release(
        &self,
        _auth: InternalAuth,
        order_id: Path<Uuid>,
    ) -> ParticipantResult<P::Reservation> {
        released(super::release(&self.ledger, &self.db, &self.metrics, order_id.0).await?)
    }

    /// List reservations
    ///
    /// Every order's reservation, by order id, after `after` (from the first without it), at most
    /// `limit` (1 to 1000, default 500): its state only. `next` is the last order id of a full
    /// page: the next page is `after` it. What order-svc's books audit compares with its orders.
    #[oai(path = "/reservations", method = "get", operation_id = "list_reservations")]
    async fn list(
        &self,
        _auth: InternalAuth,
        after: Query<Option<Uuid>>,
        #[oai(
            default = "crate::page::long_page_size",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Json<ReservationList>> {
        let limit = limit.0;
        let rows = super::list::<P>(&self.db, after.0, u64::from(limit)).await?;
        let next = (rows.len() == limit as usize)
            .then(|| rows.last().map(|(id, _)| *id))
            .flatten();
        let items = rows
            .into_iter()
            .map(|(order_id, state)| HeldFor { order_id, state })
            .collect();
        Ok(Json(ReservationList { items, next }))
    }

    /// Cancel an order's confirmed reservation
    ///
    /// Gives back what a confirmation captured, for a completed order its shopper cancelled: the
    /// funds are refunded, the units go back on sale, the courier's place is freed. A repeat answers
    /// the same.
    ///
    /// 404: nothing was reserved for this order.
    /// 409: the reservation is not confirmed (reserved or released).
    #[oai(path = "/reservations/:order_id/cancel", method = "post", operation_id = "cancel")]
    async fn cancel(
        &self,
        _auth: InternalAuth,
        order_id: Path<Uuid>,
    ) -> ParticipantResult<P::Reservation> {
        settled(super::cancel(&self.ledger, &self.db, &self.metrics, order_id.0).await?)
    }
}
