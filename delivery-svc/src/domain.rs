//! Courier values, parsed once at the edge.

/// The most deliveries a courier can take in a day.
pub const MAX_DAILY_CAPACITY: i32 = 10_000;

/// A courier's name: 1..=100 characters, trimmed, not blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourierName(String);

impl CourierName {
    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        shop_kit::text::name(raw, 100)
            .map(Self)
            .ok_or("must be 1 to 100 characters")
    }
}

impl From<CourierName> for String {
    fn from(n: CourierName) -> String {
        n.0
    }
}

/// Deliveries per day: 0..=10000 (0 takes a courier off duty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity(i32);

impl Capacity {
    /// Parses a daily capacity.
    pub fn parse(n: i32) -> Result<Self, &'static str> {
        if (0..=MAX_DAILY_CAPACITY).contains(&n) {
            Ok(Self(n))
        } else {
            Err("must be between 0 and 10000")
        }
    }

    /// Deliveries per day.
    pub fn get(self) -> i32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_and_name_are_bounded() {
        assert!(Capacity::parse(-1).is_err());
        assert!(Capacity::parse(MAX_DAILY_CAPACITY + 1).is_err());
        assert_eq!(Capacity::parse(0).map(Capacity::get), Ok(0));
        assert!(CourierName::parse(" ").is_err());
        assert_eq!(CourierName::parse(" Ann "), Ok(CourierName("Ann".into())));
    }
}
