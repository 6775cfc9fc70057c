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

/// The most lines one order has.
pub const MAX_LINES: usize = 20;

/// One line of an order: `quantity` units of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// The product.
    pub product_id: Uuid,
    /// How many.
    pub quantity: Quantity,
}

/// One line of an order, priced from the catalogue when it was placed (stored as JSON with
/// the order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PricedLine {
    /// The product.
    pub product_id: Uuid,
    /// Units, 1 to 1000.
    pub quantity: i64,
    /// Price per unit in cents.
    pub unit_price: i64,
}

/// An order as the saga sees it: what its participants are asked to reserve for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Its id (every participant's idempotency key).
    pub id: Uuid,
    /// The shopper.
    pub user_id: Uuid,
    /// What it costs in cents.
    pub total: i64,
    /// When it is to be delivered.
    pub delivery_date: NaiveDate,
    /// Its lines, priced when it was placed.
    pub lines: Vec<PricedLine>,
}

/// Why an order's lines cannot be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpriced {
    /// The catalogue has no such product (or no price for it).
    NoSuchProduct(Uuid),
    /// The total would not fit in money.
    TotalTooLarge,
}

/// What an order asks for: 1..=20 lines, each product once, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lines(Vec<Line>);

impl Lines {
    /// Parses the lines of an order.
    pub fn parse(lines: Vec<Line>) -> Result<Self, &'static str> {
        if lines.is_empty() || lines.len() > MAX_LINES {
            return Err("must have 1 to 20 lines");
        }
        let mut products: Vec<_> = lines.iter().map(|l| l.product_id).collect();
        products.sort_unstable();
        products.dedup();
        if products.len() != lines.len() {
            return Err("must name each product once");
        }
        Ok(Self(lines))
    }

    /// The lines priced with the catalogue's `prices` (one per line, in order; `None`: no
    /// such product), and the order's total.
    pub fn priced(
        &self,
        prices: impl IntoIterator<Item = Option<i64>>,
    ) -> Result<(Vec<PricedLine>, Money), Unpriced> {
        let mut total = Money::ZERO;
        let mut priced = Vec::with_capacity(self.0.len());
        for (line, price) in self.0.iter().zip(prices) {
            let product_id = line.product_id;
            let unit_price = price
                .and_then(Money::from_cents)
                .ok_or(Unpriced::NoSuchProduct(product_id))?;
            let line_total = unit_price
                .checked_mul(line.quantity.get())
                .ok_or(Unpriced::TotalTooLarge)?;
            total = total
                .checked_add(line_total)
                .ok_or(Unpriced::TotalTooLarge)?;
            priced.push(PricedLine {
                product_id,
                quantity: line.quantity.get(),
                unit_price: unit_price.cents(),
            });
        }
        Ok((priced, total))
    }

    /// The lines.
    pub fn get(&self) -> &[Line] {
        &self.0
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

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum OrderStatus {
    /// The saga is running (or waiting to be driven on).
    Pending,
    /// Paid, stock sold, courier booked.
    Completed,
    /// Refused or failed; whatever was held was given back.
    Cancelled,
    /// Cancelled by its shopper after completion: the refund saga is running.
    Refunding,
    /// Cancelled by its shopper after completion: courier freed, stock returned, funds
    /// refunded.
    Refunded,
    /// A step kept failing: an admin looks at it and re-drives it.
    NeedsAttention,
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl OrderStatus {
    /// The statuses of an order a saga is driving (or will drive on): the order saga's and the
    /// refund saga's.
    pub const ACTIVE: [Self; 2] = [Self::Pending, Self::Refunding];

    /// Whether the saga is over.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled | Self::Refunded)
    }

    /// The stored and public name (`needs_attention`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// Why an order was cancelled. Its stored and public name is the variant's in snake case
/// (`insufficient_funds`); everything else it means is one row of [`FailureReason::row`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
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

/// What a failure reason means: the status `POST /orders` answers with, and why the user's
/// message says the order is cancelled (`{date}`: the delivery date).
struct ReasonRow {
    status: u16,
    why: &'static str,
}

impl FailureReason {
    /// The table of reasons: one row each, in one exhaustive match, so that a new reason cannot
    /// compile without its status and its message.
    const fn row(self) -> ReasonRow {
        let (status, why) = match self {
            Self::InsufficientFunds => (402, "insufficient funds."),
            Self::OutOfStock => (409, "out of stock."),
            Self::NoCourier => (409, "no courier available on {date}."),
            // Recorded and cancelled: 202 with the order, since a 503 says nothing was recorded.
            Self::ServiceUnavailable => (202, "a service was unavailable; nothing was charged."),
            Self::Rejected => (409, "it could not be processed; nothing was charged."),
        };
        ReasonRow { status, why }
    }

    /// The stored and public name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The HTTP status `POST /orders` answers with for this reason.
    pub fn http_status(self) -> u16 {
        self.row().status
    }
}

/// The message a user gets about an order's outcome (`None` reason: completed).
pub fn message_text(order_id: Uuid, date: NaiveDate, reason: Option<FailureReason>) -> String {
    match reason {
        None => format!("Order {order_id} is paid and a courier is booked for {date}."),
        Some(reason) => {
            let why = reason.row().why.replace("{date}", &date.to_string());
            format!("Order {order_id} is cancelled: {why}")
        }
    }
}

/// The message a user gets when the refund saga of their cancellation has finished.
pub fn refund_text(order_id: Uuid, total: i64) -> String {
    format!("Order {order_id} is cancelled and {total} is refunded.")
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
    fn pricing_totals_the_lines_and_refuses_what_it_cannot_price() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let lines = Lines(vec![
            Line {
                product_id: a,
                quantity: Quantity(10),
            },
            Line {
                product_id: b,
                quantity: Quantity(2),
            },
        ]);
        let (priced, total) = lines.priced([Some(150), Some(25)]).unwrap_or_default();
        assert_eq!(total.cents(), 1550);
        assert_eq!(priced[1].unit_price, 25);
        assert_eq!(priced[0].quantity, 10);
        assert_eq!(
            lines.priced([Some(150), None]),
            Err(Unpriced::NoSuchProduct(b))
        );
        assert_eq!(
            lines.priced([Some(i64::MAX), Some(1)]),
            Err(Unpriced::TotalTooLarge)
        );
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
    fn lines_are_1_to_20_each_product_once() {
        let line = |p: u128| Line {
            product_id: Uuid::from_u128(p),
            quantity: Quantity(1),
        };
        assert!(Lines::parse(vec![line(1), line(2)]).is_ok());
        assert!(Lines::parse(vec![line(1), line(1)]).is_err());
        assert!(Lines::parse(vec![]).is_err());
        assert!(Lines::parse((0..21).map(line).collect()).is_err());
        assert!(Lines::parse((0..20).map(line).collect()).is_ok());
        let id = Uuid::nil();
        assert_eq!(
            refund_text(id, 1500),
            format!("Order {id} is cancelled and 1500 is refunded.")
        );
    }

    #[test]
    fn names_round_trip() {
        use strum::VariantArray;
        for &s in OrderStatus::VARIANTS {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::NeedsAttention.as_str(), "needs_attention");
        for &r in FailureReason::VARIANTS {
            assert_eq!(FailureReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(
            FailureReason::InsufficientFunds.as_str(),
            "insufficient_funds"
        );
        assert_eq!(
            FailureReason::parse("Rejected"),
            None,
            "only the stored names"
        );
    }

    #[test]
    fn each_reason_has_its_status_and_message() {
        let (id, date) = (Uuid::nil(), day("2026-12-24"));
        let text = |r| message_text(id, date, Some(r));
        assert_eq!(FailureReason::InsufficientFunds.http_status(), 402);
        assert_eq!(FailureReason::ServiceUnavailable.http_status(), 202);
        assert_eq!(FailureReason::NoCourier.http_status(), 409);
        assert_eq!(
            text(FailureReason::NoCourier),
            format!("Order {id} is cancelled: no courier available on 2026-12-24.")
        );
        assert_eq!(
            text(FailureReason::OutOfStock),
            format!("Order {id} is cancelled: out of stock.")
        );
    }
}
