//! `/internal/`: stock reservations for the order saga.

use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use shop_kit::JsonBody;
use shop_kit::auth::InternalAuth;
use shop_kit::contract::participant::{self, Reply};
use shop_kit::contract::stock::{ReserveStock, StockReservation};
use shop_kit::{ApiError, ApiResult};
use uuid::Uuid;

use super::Tag;
use crate::domain::{Hold, Units};
use crate::error::Error;
use crate::store::StockStore;

pub struct InternalApi {
    pub store: StockStore,
}

#[OpenApi(prefix_path = "/internal", tag = "Tag::Internal")]
impl InternalApi {
    /// Holds stock for an order: `available` drops. 409 when out of stock, after a release of
    /// the order, or with different values; 404 for an unknown product.
    #[oai(
        path = "/reservations",
        method = "post",
        operation_id = "reserve_stock"
    )]
    async fn reserve(
        &self,
        _auth: InternalAuth,
        body: JsonBody<ReserveStock>,
    ) -> ApiResult<Reply<StockReservation>> {
        let hold = Hold {
            order_id: body.order_id,
            product_id: body.product_id,
            quantity: Units::moved(body.quantity)
                .map_err(|m| ApiError::invalid_field("quantity", m))?,
        };
        let outcome = self.store.reserve(&hold).await?;
        participant::reserved(outcome, || Error::OutOfStock.into())
    }

    /// Marks the stock held for an order as sold.
    #[oai(
        path = "/reservations/:order_id/confirm",
        method = "post",
        operation_id = "confirm_stock"
    )]
    async fn confirm(
        &self,
        _auth: InternalAuth,
        order_id: Path<Uuid>,
    ) -> ApiResult<Reply<StockReservation>> {
        participant::confirmed(self.store.confirm(order_id.0).await?)
    }

    /// Puts the stock held for an order back; with nothing held, refuses a later reservation.
    #[oai(
        path = "/reservations/:order_id",
        method = "delete",
        operation_id = "release_stock"
    )]
    async fn release(
        &self,
        _auth: InternalAuth,
        order_id: Path<Uuid>,
    ) -> ApiResult<Reply<StockReservation>> {
        participant::released(self.store.release(order_id.0).await?)
    }
}
