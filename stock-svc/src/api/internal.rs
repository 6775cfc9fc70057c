//! `/internal/reservations` for the order saga: stock held, sold or put back by
//! [`ReservationsApi`](shop_kit::ledger::ReservationsApi) over the units ledger.

use shop_kit::ApiError;
use shop_kit::contract::participant::Shortage;
use shop_kit::contract::stock::{ReserveStock, one_or_several};
use shop_kit::ledger::Participant;

use crate::domain::{Hold, Line, Units};
use crate::store::UnitsLedger;

impl Participant for UnitsLedger {
    type Body = ReserveStock;

    /// One product (`product_id`, `quantity`) or several (`items`), never both.
    fn parse(body: ReserveStock) -> Result<Hold, ApiError> {
        let (lines, field) = one_or_several(body.product_id, body.quantity, body.items, |l| {
            (l.product_id, l.quantity)
        })
        .map_err(|(field, message)| ApiError::invalid_field(field, message))?;
        let lines = lines
            .into_iter()
            .map(|(product_id, quantity)| {
                Units::moved(quantity)
                    .map(|quantity| Line {
                        product_id,
                        quantity,
                    })
                    .map_err(|m| ApiError::invalid_field(field, m))
            })
            .collect::<Result<_, _>>()?;
        Hold::new(body.order_id, lines).map_err(|m| ApiError::invalid_field("items", m))
    }

    const SHORT: Shortage = shop_kit::contract::stock::SHORT;
}
