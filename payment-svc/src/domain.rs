//! Payment domain values, parsed once at the edge.

use shop_kit::money::Money;

/// The largest single deposit, in cents (10^12).
pub const MAX_DEPOSIT: i64 = 1_000_000_000_000;

/// A positive amount of money, as a deposit or a reservation moves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(Money);

impl Amount {
    /// A deposit amount: 1..=10^12 cents.
    pub fn deposit(cents: i64) -> Result<Self, &'static str> {
        match Money::from_cents(cents) {
            Some(m) if (1..=MAX_DEPOSIT).contains(&cents) => Ok(Self(m)),
            _ => Err("must be between 1 and 1000000000000"),
        }
    }

    /// A reservation amount: at least 1 cent.
    pub fn reservation(cents: i64) -> Result<Self, &'static str> {
        match Money::from_cents(cents) {
            Some(m) if cents >= 1 => Ok(Self(m)),
            _ => Err("must be at least 1"),
        }
    }

    /// The amount in cents.
    pub fn cents(self) -> i64 {
        self.0.cents()
    }
}

/// A reservation request, parsed: hold `amount` of `user_id`'s funds for `order_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    /// The order the funds are held for (the idempotency key).
    pub order_id: uuid::Uuid,
    /// The account they are held from.
    pub user_id: uuid::Uuid,
    /// How much.
    pub amount: Amount,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deposit_amount_is_bounded() {
        assert!(Amount::deposit(0).is_err());
        assert!(Amount::deposit(-5).is_err());
        assert!(Amount::deposit(MAX_DEPOSIT + 1).is_err());
        assert_eq!(
            Amount::deposit(MAX_DEPOSIT).map(Amount::cents),
            Ok(MAX_DEPOSIT)
        );
    }
}
