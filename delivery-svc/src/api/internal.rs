//! `/internal/`: courier bookings for the order saga.

use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use shop_kit::ApiResult;
use shop_kit::JsonBody;
use shop_kit::auth::InternalAuth;
use shop_kit::contract::delivery::{BookCourier, CourierBooking};
use shop_kit::contract::participant::{self, Reply};
use uuid::Uuid;

use super::Tag;
use crate::error::Error;
use crate::store::DeliveryStore;

pub struct InternalApi {
    pub store: DeliveryStore,
}

#[OpenApi(prefix_path = "/internal", tag = "Tag::Internal")]
impl InternalApi {
    /// Books a courier with free capacity on the date. 409 when none is free, after a release of
    /// the order, or with different values.
    #[oai(path = "/reservations", method = "post", operation_id = "book_courier")]
    async fn reserve(
        &self,
        _auth: InternalAuth,
        body: JsonBody<BookCourier>,
    ) -> ApiResult<Reply<CourierBooking>> {
        let outcome = self.store.reserve(&body).await?;
        participant::reserved(outcome, || Error::NoCourier.into())
    }

    /// Confirms an order's booking.
    #[oai(
        path = "/reservations/:order_id/confirm",
        method = "post",
        operation_id = "confirm_courier"
    )]
    async fn confirm(
        &self,
        _auth: InternalAuth,
        order_id: Path<Uuid>,
    ) -> ApiResult<Reply<CourierBooking>> {
        participant::confirmed(self.store.confirm(order_id.0).await?)
    }

    /// Cancels an order's booking; with nothing booked, refuses a later booking.
    #[oai(
        path = "/reservations/:order_id",
        method = "delete",
        operation_id = "release_courier"
    )]
    async fn release(
        &self,
        _auth: InternalAuth,
        order_id: Path<Uuid>,
    ) -> ApiResult<Reply<CourierBooking>> {
        participant::released(self.store.release(order_id.0).await?)
    }
}
