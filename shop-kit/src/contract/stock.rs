//! stock-svc's internal contract.

use super::*;
use crate::contract::participant::Shortage;

/// How stock-svc refuses a reservation it is short of units for.
pub const SHORT: Shortage = Shortage {
    status: poem::http::StatusCode::CONFLICT,
    detail: "out of stock",
};

/// One line of a stock reservation: `quantity` units of a product.
#[derive(Object, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLine {
    /// The product the units are held from.
    pub product_id: Uuid,
    /// Units, 1 to 10^9.
    pub quantity: i64,
}

/// `POST /internal/reservations`: hold units for an order, all lines or none. Either
/// `product_id` and `quantity` (one product) or `items` (one or more, each product once).
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[oai(example)]
pub struct ReserveStock {
    /// The order (the idempotency key).
    pub order_id: Uuid,
    /// The product the units are held from (one-product form).
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<Uuid>,
    /// Units, 1 to 10^9 (one-product form).
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    /// The lines (several-product form): 1 to 100, each product once.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<StockLine>>,
}

/// A stock reservation.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReservation {
    /// The order it is held for (the idempotency key).
    pub order_id: Uuid,
    /// The product of its first line.
    pub product_id: Uuid,
    /// Units of all its lines.
    pub quantity: i64,
    /// Every line, in the order of the request.
    pub items: Vec<StockLine>,
    /// Where it stands.
    pub state: ReservationState,
}

/// A catalogue entry as the public API shows it.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[oai(example)]
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

/// Lines read from the one-or-several form, as `(product, quantity)` pairs, with the field an
/// error about them names; or the field that is wrong and what is wrong with it.
pub type OneOrSeveral = Result<(Vec<(Uuid, i64)>, &'static str), (&'static str, &'static str)>;

/// The lines of a request in the one-or-several form (`product_id` and `quantity` for one
/// product, `items` for several, never both), as `(product, quantity)` pairs with the field an
/// error about them names (`quantity` or `items`); on a wrong mix, the field and what is wrong.
/// Both sides of the form use it: order-svc's `POST /orders` and stock-svc's reservation.
pub fn one_or_several<L>(
    product_id: Option<Uuid>,
    quantity: Option<i64>,
    items: Option<impl IntoIterator<Item = L>>,
    line: impl Fn(L) -> (Uuid, i64),
) -> OneOrSeveral {
    match (product_id, quantity, items) {
        (Some(product_id), Some(quantity), None) => Ok((vec![(product_id, quantity)], "quantity")),
        (None, None, Some(items)) => Ok((items.into_iter().map(line).collect(), "items")),
        (None, Some(_), None) => Err(("product_id", "is required with quantity")),
        (Some(_), None, None) => Err(("quantity", "is required with product_id")),
        _ => Err(("items", "give either product_id and quantity, or items")),
    }
}

impl ReserveStock {
    /// The reservation of `lines` for an order: the one-product form for one line, `items`
    /// for several.
    pub fn of(order_id: Uuid, lines: &[StockLine]) -> Self {
        match lines {
            [line] => Self {
                order_id,
                product_id: Some(line.product_id),
                quantity: Some(line.quantity),
                items: None,
            },
            lines => Self {
                order_id,
                product_id: None,
                quantity: None,
                items: Some(lines.to_vec()),
            },
        }
    }
}

impl poem_openapi::types::Example for ReserveStock {
    fn example() -> Self {
        Self {
            order_id: super::EXAMPLE_ORDER,
            product_id: Some(super::EXAMPLE_PRODUCT),
            quantity: Some(1),
            items: None,
        }
    }
}

impl poem_openapi::types::Example for Product {
    fn example() -> Self {
        Self {
            id: super::EXAMPLE_PRODUCT,
            name: "Green tea, 100 g".into(),
            price: 450,
            available: 99,
        }
    }
}
