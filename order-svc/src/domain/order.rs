//! An order's values.

use chrono::{Days, NaiveDate};
use shop_kit::money::Money;
use uuid::Uuid;

/// Units of a product in one order: 1..=1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i64);

impl Quantity {
    /// Parses a quantity.
    pub fn parse(n: i64) -> Result<Self, &'static str> {
        if (1..=1000).contains(&n) {
            Ok(Self(n))
        } else {
            Err("must be between 1 and 1000")
        }
    }

    /// The number of units.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A delivery date: today (UTC) or later; tomorrow when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryDate(NaiveDate);

impl DeliveryDate {
    /// Parses a requested date against `today`.
    pub fn parse(requested: Option<NaiveDate>, today: NaiveDate) -> Result<Self, &'static str> {
        match requested {
            None => today
                .checked_add_days(Days::new(1))
                .map(Self)
                .ok_or("no date after today"),
            Some(d) if d < today => Err("must be today or later (UTC)"),
            Some(d)
                if d > today
                    .checked_add_days(Days::new(366))
                    .unwrap_or(NaiveDate::MAX) =>
            {
                Err("must be within a year")
            }
            Some(d) => Ok(Self(d)),
        }
    }

    /// The date.
    pub fn get(self) -> NaiveDate {
        self.0
    }
}

/// `unit_price × quantity`, `None` on overflow.
pub fn total(unit_price: Money, quantity: Quantity) -> Option<Money> {
    unit_price.checked_mul(quantity.get())
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// The saga is running (or waiting to be driven on).
    Pending,
    /// Paid, stock sold, courier booked.
    Completed,
    /// Refused or failed; whatever was held was given back.
    Cancelled,
    /// A confirmation or release kept failing: an admin looks at it and re-drives it.
    NeedsAttention,
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl OrderStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [
        Self::Pending,
        Self::Completed,
        Self::Cancelled,
        Self::NeedsAttention,
    ];

    /// Whether the saga is over.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled)
    }

    /// The stored and public name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NeedsAttention => "needs_attention",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Why an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// payment-svc refused: the balance is short.
    InsufficientFunds,
    /// stock-svc refused: not enough units.
    OutOfStock,
    /// delivery-svc refused: no courier free that date.
    NoCourier,
    /// A participant stayed unreachable before the courier was booked.
    ServiceUnavailable,
    /// A participant refused for another reason (a conflicting reservation).
    Rejected,
}

impl FailureReason {
    /// The stored and public name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InsufficientFunds => "insufficient_funds",
            Self::OutOfStock => "out_of_stock",
            Self::NoCourier => "no_courier",
            Self::ServiceUnavailable => "service_unavailable",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::InsufficientFunds,
            Self::OutOfStock,
            Self::NoCourier,
            Self::ServiceUnavailable,
            Self::Rejected,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// The HTTP status `POST /orders` answers with for this reason.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InsufficientFunds => 402,
            Self::OutOfStock | Self::NoCourier | Self::Rejected => 409,
            Self::ServiceUnavailable => 503,
        }
    }
}

/// The message a user gets about an order's outcome (`None` reason: completed).
pub fn message_text(order_id: Uuid, date: NaiveDate, reason: Option<FailureReason>) -> String {
    let why = match reason {
        None => return format!("Order {order_id} is paid and a courier is booked for {date}."),
        Some(FailureReason::InsufficientFunds) => "insufficient funds.".to_owned(),
        Some(FailureReason::OutOfStock) => "out of stock.".to_owned(),
        Some(FailureReason::NoCourier) => format!("no courier available on {date}."),
        Some(FailureReason::ServiceUnavailable) => {
            "a service was unavailable; nothing was charged.".to_owned()
        }
        Some(FailureReason::Rejected) => {
            "it could not be processed; nothing was charged.".to_owned()
        }
    };
    format!("Order {order_id} is cancelled: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn quantity_is_1_to_1000() {
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(1001).is_err());
        assert_eq!(Quantity::parse(1000).map(Quantity::get), Ok(1000));
    }

    #[test]
    fn delivery_date_defaults_to_tomorrow_and_refuses_the_past() {
        let today = day("2026-11-21");
        assert_eq!(
            DeliveryDate::parse(None, today).map(DeliveryDate::get),
            Ok(day("2026-11-22"))
        );
        assert_eq!(
            DeliveryDate::parse(Some(today), today).map(DeliveryDate::get),
            Ok(today)
        );
        assert!(DeliveryDate::parse(Some(day("2026-11-20")), today).is_err());
        assert!(DeliveryDate::parse(Some(day("2028-01-01")), today).is_err());
    }

    #[test]
    fn total_refuses_overflow() {
        let q = Quantity::parse(10).unwrap_or(Quantity(1));
        let cents = |c| Money::from_cents(c).unwrap_or_default();
        assert_eq!(total(cents(150), q), Some(cents(1500)));
        assert_eq!(total(cents(i64::MAX), q), None);
    }

    #[test]
    fn messages_follow_the_contract() {
        let id = Uuid::nil();
        let d = day("2026-11-22");
        assert_eq!(
            message_text(id, d, None),
            format!("Order {id} is paid and a courier is booked for 2026-11-22.")
        );
        assert_eq!(
            message_text(id, d, Some(FailureReason::InsufficientFunds)),
            format!("Order {id} is cancelled: insufficient funds.")
        );
        assert_eq!(
            message_text(id, d, Some(FailureReason::OutOfStock)),
            format!("Order {id} is cancelled: out of stock.")
        );
        assert_eq!(
            message_text(id, d, Some(FailureReason::NoCourier)),
            format!("Order {id} is cancelled: no courier available on 2026-11-22.")
        );
    }

    #[test]
    fn names_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        for r in [
            FailureReason::InsufficientFunds,
            FailureReason::OutOfStock,
            FailureReason::NoCourier,
        ] {
            assert_eq!(FailureReason::parse(r.as_str()), Some(r));
        }
    }
}
