//! Money: a non-negative count of minor units (cents), with checked arithmetic only.

use std::fmt;

/// An amount of money in cents, never negative. Every operation that could overflow or go
/// below zero answers `None` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    /// Nothing.
    pub const ZERO: Self = Self(0);

    /// `cents` as money; `None` when negative.
    pub fn from_cents(cents: i64) -> Option<Self> {
        (cents >= 0).then_some(Self(cents))
    }

    /// The amount in cents.
    pub fn cents(self) -> i64 {
        self.0
    }

    /// `self + other`; `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// `self - other`; `None` when it would go below zero.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).and_then(Self::from_cents)
    }

    /// `self × n` for `n` units; `None` on overflow or a negative `n`.
    pub fn checked_mul(self, n: i64) -> Option<Self> {
        self.0.checked_mul(n).and_then(Self::from_cents)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn arithmetic_is_checked_and_never_negative() {
        let ten = Money::from_cents(10);
        assert_eq!(Money::from_cents(-1), None);
        assert_eq!(ten.and_then(|t| t.checked_mul(3)), Money::from_cents(30));
        assert_eq!(ten.and_then(|t| t.checked_mul(-1)), None);
        assert_eq!(
            ten.and_then(|t| t.checked_sub(Money::from_cents(11)?)),
            None
        );
        assert_eq!(
            Money::from_cents(i64::MAX).and_then(|m| m.checked_mul(2)),
            None
        );
        assert_eq!(
            Money::from_cents(i64::MAX).and_then(|m| m.checked_add(Money::from_cents(1)?)),
            None
        );
    }
}
