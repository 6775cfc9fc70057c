//! stock-svc's internal contract.

use super::*;

/// `POST /internal/reservations`: hold `quantity` of a product for an order.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveStock {
    /// The order (the idempotency key).
    pub order_id: Uuid,
    /// The product the units are held from.
    pub product_id: Uuid,
    /// Units, 1 to 10^9.
    pub quantity: i64,
}

/// A stock reservation.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReservation {
    /// The order it is held for (the idempotency key).
    pub order_id: Uuid,
    /// The product the units are held from.
    pub product_id: Uuid,
    /// Units, 1 to 10^9.
    pub quantity: i64,
    /// Where it stands.
    pub state: ReservationState,
}

/// A catalogue entry as the public API shows it.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// The product's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Unit price, in cents.
    pub price: i64,
    /// Units available to order now.
    pub available: i64,
}
