//! Courier values, parsed once at the edge.

/// The most deliveries a courier can take in a day.
pub const MAX_DAILY_CAPACITY: i32 = 10_000;

/// A courier's name: 1..=100 characters, not blank.
pub fn name(raw: &str) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || raw.chars().count() > 100 {
        Err("must be 1 to 100 characters")
    } else {
        Ok(trimmed.to_owned())
    }
}

/// Deliveries per day: 0..=10000 (0 takes a courier off duty).
pub fn daily_capacity(n: i32) -> Result<i32, &'static str> {
    if (0..=MAX_DAILY_CAPACITY).contains(&n) {
        Ok(n)
    } else {
        Err("must be between 0 and 10000")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_and_name_are_bounded() {
        assert!(daily_capacity(-1).is_err());
        assert!(daily_capacity(MAX_DAILY_CAPACITY + 1).is_err());
        assert_eq!(daily_capacity(0), Ok(0));
        assert!(name(" ").is_err());
        assert_eq!(name(" Ann "), Ok("Ann".into()));
    }
}
