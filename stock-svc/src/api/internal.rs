//! `/internal/reservations` for the order saga: stock held, sold or put back by
//! [`ReservationsApi`](shop_kit::ledger::ReservationsApi) over the units ledger.

use shop_kit::ApiError;
use shop_kit::contract::participant::Shortage;
use shop_kit::contract::stock::ReserveStock;
use shop_kit::ledger::Participant;

use crate::domain::{Hold, Line, Units};
use crate::store::UnitsLedger;

impl Participant for UnitsLedger {
    type Body = ReserveStock;

    /// One product (`product_id`, `quantity`) or several (`items`), never both.
    fn parse(body: ReserveStock) -> Result<Hold, ApiError> {
        let line = |product_id, quantity, field: &str| {
            Units::moved(quantity)
                .map(|quantity| Line {
                    product_id,
                    quantity,
                })
                .map_err(|m| ApiError::invalid_field(field, m))
        };
        let lines = match (body.product_id, body.quantity, body.items) {
            (Some(product_id), Some(quantity), None) => {
                vec![line(product_id, quantity, "quantity")?]
            }
            (None, None, Some(items)) => items
                .into_iter()
                .map(|l| line(l.product_id, l.quantity, "items"))
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(ApiError::invalid_field(
                    "items",
                    "give either product_id and quantity, or items",
                ));
            }
        };
        Hold::new(body.order_id, lines).map_err(|m| ApiError::invalid_field("items", m))
    }

    const SHORT: Shortage = shop_kit::contract::stock::SHORT;
}
