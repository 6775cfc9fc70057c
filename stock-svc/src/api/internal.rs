//! `/internal/reservations` for the order saga: stock held, sold or put back by
//! [`ReservationsApi`](shop_kit::ledger::ReservationsApi) over the units ledger.

use shop_kit::ApiError;
use shop_kit::contract::stock::ReserveStock;
use shop_kit::ledger::Participant;

use crate::domain::{Hold, Units};
use crate::error::Error;
use crate::store::UnitsLedger;

impl Participant for UnitsLedger {
    type Body = ReserveStock;

    fn parse(body: ReserveStock) -> Result<Hold, ApiError> {
        Ok(Hold {
            order_id: body.order_id,
            product_id: body.product_id,
            quantity: Units::moved(body.quantity)
                .map_err(|m| ApiError::invalid_field("quantity", m))?,
        })
    }

    /// 409: out of stock.
    fn short() -> ApiError {
        Error::OutOfStock.into()
    }
}
