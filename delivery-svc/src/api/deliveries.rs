//! `/deliveries`: a shopper's view of a courier booking.

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shop_kit::ApiResult;
use shop_kit::auth::UserAuth;
use shop_kit::contract::ReservationState;
use uuid::Uuid;

use super::Tag;
use crate::error::Error;
use crate::store::DeliveryStore;

pub struct DeliveriesApi {
    pub store: DeliveryStore,
}

/// A delivery booked for an order.
#[derive(Object, Debug)]
struct Delivery {
    order_id: Uuid,
    courier_id: Uuid,
    courier_name: String,
    date: shop_kit::date::Date,
    /// `reserved` or `confirmed`.
    status: ReservationState,
}

#[derive(ApiResponse)]
enum DeliveryResponse {
    /// The delivery.
    #[oai(status = 200)]
    Ok(Json<Delivery>),
}

#[OpenApi(tag = "Tag::Deliveries")]
impl DeliveriesApi {
    /// The delivery of an order
    ///
    /// The courier and day booked for an order; its owner or an admin sees it.
    ///
    /// 404: no delivery for this order: none was booked, the order was cancelled or refunded, or it
    /// is another user's.
    #[oai(path = "/deliveries/:order_id", method = "get", operation_id = "get_delivery")]
    async fn get(&self, auth: UserAuth, order_id: Path<Uuid>) -> ApiResult<DeliveryResponse> {
        let booking = self.store.booking(order_id.0).await?;
        let visible = booking.filter(|b| auth.0.is_admin || b.user_id == auth.0.user_id);
        let b = visible.ok_or(Error::NoDelivery)?;
        Ok(DeliveryResponse::Ok(Json(Delivery {
            order_id: b.order_id,
            courier_id: b.courier_id,
            courier_name: b.courier_name,
            date: b.date,
            status: b.state,
        })))
    }
}
