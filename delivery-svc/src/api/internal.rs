//! `/internal/reservations` for the order saga: couriers booked, confirmed or freed by
//! [`ReservationsApi`](shop_kit::ledger::ReservationsApi) over the seats ledger.

use shop_kit::ApiError;
use shop_kit::contract::delivery::BookCourier;
use shop_kit::contract::participant::Shortage;
use shop_kit::ledger::Participant;

use crate::store::SeatsLedger;

impl Participant for SeatsLedger {
    type Body = BookCourier;

    fn parse(body: BookCourier) -> Result<BookCourier, ApiError> {
        Ok(body)
    }

    const SHORT: Shortage = shop_kit::contract::delivery::SHORT;
}
