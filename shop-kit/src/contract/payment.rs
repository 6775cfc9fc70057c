//! payment-svc's internal contract.

use super::*;
use crate::contract::participant::Shortage;

/// How payment-svc refuses a reservation it is short of funds for.
pub const SHORT: Shortage = Shortage {
    status: poem::http::StatusCode::PAYMENT_REQUIRED,
    detail: "insufficient funds",
};

/// `POST /internal/reservations`: hold `amount` of the user's funds for an order.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[oai(example)]
pub struct ReserveFunds {
    /// The order the funds are held for (the idempotency key).
    pub order_id: Uuid,
    /// The account the funds are held from.
    pub user_id: Uuid,
    /// How much, in cents.
    pub amount: i64,
}

/// A funds reservation.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundsReservation {
    /// The order it is held for (the idempotency key).
    pub order_id: Uuid,
    /// The account the funds are held from.
    pub user_id: Uuid,
    /// How much, in cents.
    pub amount: i64,
    /// Where it stands.
    pub state: ReservationState,
}

/// `PUT /internal/accounts/{user_id}`: open an account with balance 0 (idempotent).
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[oai(example)]
pub struct Account {
    /// The account's owner.
    pub user_id: Uuid,
    /// Available funds, in cents.
    pub balance: i64,
    /// Funds held by orders in flight, in cents.
    pub reserved: i64,
}

impl poem_openapi::types::Example for ReserveFunds {
    fn example() -> Self {
        Self {
            order_id: super::EXAMPLE_ORDER,
            user_id: super::EXAMPLE_USER,
            amount: 450,
        }
    }
}

impl poem_openapi::types::Example for Account {
    fn example() -> Self {
        Self {
            user_id: super::EXAMPLE_USER,
            balance: 550,
            reserved: 0,
        }
    }
}
