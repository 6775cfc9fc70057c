//! Catalogue values, parsed once at the edge.

/// The highest unit price, in cents.
pub const MAX_PRICE: i64 = 10_000_000_000;
/// The most units one product can hold or one request can move.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// A product's name: 1..=200 characters, not blank.
pub fn name(raw: &str) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || raw.chars().count() > 200 {
        Err("must be 1 to 200 characters")
    } else {
        Ok(trimmed.to_owned())
    }
}

/// A unit price in cents: 1..=10^10.
pub fn price(cents: i64) -> Result<i64, &'static str> {
    if (1..=MAX_PRICE).contains(&cents) {
        Ok(cents)
    } else {
        Err("must be between 1 and 10000000000")
    }
}

/// An initial stock level: 0..=10^9.
pub fn initial_quantity(units: i64) -> Result<i64, &'static str> {
    if (0..=MAX_QUANTITY).contains(&units) {
        Ok(units)
    } else {
        Err("must be between 0 and 1000000000")
    }
}

/// A quantity moved by a restock or a reservation: 1..=10^9.
pub fn moved_quantity(units: i64) -> Result<i64, &'static str> {
    if (1..=MAX_QUANTITY).contains(&units) {
        Ok(units)
    } else {
        Err("must be between 1 and 1000000000")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("  tea "), Ok("tea".into()));
        assert!(name("   ").is_err());
        assert!(name(&"x".repeat(201)).is_err());
    }

    #[test]
    fn prices_and_quantities_are_bounded() {
        assert!(price(0).is_err());
        assert!(price(MAX_PRICE + 1).is_err());
        assert!(initial_quantity(0).is_ok());
        assert!(initial_quantity(-1).is_err());
        assert!(moved_quantity(0).is_err());
        assert!(moved_quantity(MAX_QUANTITY).is_ok());
    }
}
