//! delivery-svc's internal contract.

use super::*;
use crate::contract::participant::Shortage;

/// How delivery-svc refuses a reservation it is short of couriers for.
pub const SHORT: Shortage = Shortage {
    status: poem::http::StatusCode::CONFLICT,
    detail: "no courier available on that date",
};

/// `POST /internal/reservations`: book a courier with free capacity on `date`.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[oai(example)]
pub struct BookCourier {
    /// The order (the idempotency key).
    pub order_id: Uuid,
    /// Who the delivery is for.
    pub user_id: Uuid,
    /// The day the courier delivers (`YYYY-MM-DD`).
    pub date: crate::date::Date,
}

/// A courier booking.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourierBooking {
    /// The order it is held for (the idempotency key).
    pub order_id: Uuid,
    /// Who the delivery is for.
    pub user_id: Uuid,
    /// The courier chosen.
    pub courier_id: Uuid,
    /// The courier's name.
    pub courier_name: String,
    /// The day the courier delivers (`YYYY-MM-DD`).
    pub date: crate::date::Date,
    /// Where it stands.
    pub state: ReservationState,
}

impl poem_openapi::types::Example for BookCourier {
    fn example() -> Self {
        Self {
            order_id: super::EXAMPLE_ORDER,
            user_id: super::EXAMPLE_USER,
            date: crate::date::Date(
                chrono::NaiveDate::from_ymd_opt(2027, 1, 15).unwrap_or_default(),
            ),
        }
    }
}
