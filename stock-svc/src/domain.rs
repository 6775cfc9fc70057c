//! Catalogue values, parsed once at the edge.

use shop_kit::money::Money;

/// The highest unit price, in cents.
pub const MAX_PRICE: i64 = 10_000_000_000;
/// The most units one product can hold or one request can move.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// A product's name: 1..=200 characters, trimmed, not blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        shop_kit::text::name(raw, 200)
            .map(Self)
            .ok_or("must be 1 to 200 characters")
    }
}

impl From<ProductName> for String {
    fn from(n: ProductName) -> String {
        n.0
    }
}

/// A unit price: 1..=10^10 cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(Money);

impl Price {
    /// Parses a price in cents.
    pub fn parse(cents: i64) -> Result<Self, &'static str> {
        match Money::from_cents(cents) {
            Some(m) if (1..=MAX_PRICE).contains(&cents) => Ok(Self(m)),
            _ => Err("must be between 1 and 10000000000"),
        }
    }

    /// The price in cents.
    pub fn cents(self) -> i64 {
        self.0.cents()
    }
}

/// A number of units: a stock level, or what a restock or a reservation moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Units(i64);

impl Units {
    /// An initial stock level: 0..=10^9.
    pub fn initial(units: i64) -> Result<Self, &'static str> {
        if (0..=MAX_QUANTITY).contains(&units) {
            Ok(Self(units))
        } else {
            Err("must be between 0 and 1000000000")
        }
    }

    /// A quantity moved by a restock or a reservation: 1..=10^9.
    pub fn moved(units: i64) -> Result<Self, &'static str> {
        if (1..=MAX_QUANTITY).contains(&units) {
            Ok(Self(units))
        } else {
            Err("must be between 1 and 1000000000")
        }
    }

    /// The count.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// The most lines one reservation holds.
pub const MAX_LINES: usize = 100;

/// One line of a reservation: `quantity` units of `product_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Line {
    /// The product the units are held from.
    pub product_id: uuid::Uuid,
    /// How many.
    pub quantity: Units,
}

/// A reservation request, parsed: hold every line for `order_id`, all or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The order the units are held for (the idempotency key).
    pub order_id: uuid::Uuid,
    /// 1..=100 lines, each product once, in the order of the request.
    pub lines: Vec<Line>,
}

impl Hold {
    /// A hold of `lines`: 1..=100, each product once.
    pub fn new(order_id: uuid::Uuid, lines: Vec<Line>) -> Result<Self, &'static str> {
        if lines.is_empty() || lines.len() > MAX_LINES {
            return Err("must have 1 to 100 lines");
        }
        let mut products: Vec<_> = lines.iter().map(|l| l.product_id).collect();
        products.sort_unstable();
        products.dedup();
        if products.len() != lines.len() {
            return Err("must name each product once");
        }
        Ok(Self { order_id, lines })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ProductName::parse("  tea "), Ok(ProductName("tea".into())));
        assert!(ProductName::parse("   ").is_err());
        assert!(ProductName::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn prices_and_quantities_are_bounded() {
        assert!(Price::parse(0).is_err());
        assert!(Price::parse(MAX_PRICE + 1).is_err());
        assert!(Units::initial(0).is_ok());
        assert!(Units::initial(-1).is_err());
        assert!(Units::moved(0).is_err());
        assert!(Units::moved(MAX_QUANTITY).is_ok());
    }

    #[test]
    fn a_hold_names_each_product_once() {
        let line = |p: u128| Line {
            product_id: uuid::Uuid::from_u128(p),
            quantity: Units(1),
        };
        let order = uuid::Uuid::nil();
        assert!(Hold::new(order, vec![line(1), line(2)]).is_ok());
        assert!(Hold::new(order, vec![line(1), line(1)]).is_err());
        assert!(Hold::new(order, vec![]).is_err());
        assert!(Hold::new(order, (0..=100).map(line).collect()).is_err());
    }
}
