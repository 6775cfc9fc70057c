//! Client `Idempotency-Key` headers (IETF draft "The Idempotency-Key HTTP Header Field").

use sha2::{Digest, Sha256};

/// How long keys are kept, in hours.
pub const KEY_RETENTION_HOURS: i64 = 24;

/// A client's idempotency key: 1..=255 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses the header's value.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if (1..=255).contains(&raw.chars().count()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be 1 to 255 characters")
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fingerprint of a request body, to tell a replay from a different request under one key.
pub fn fingerprint(body: &impl serde::Serialize) -> String {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_length_is_bounded() {
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
    }

    #[test]
    fn fingerprint_tells_bodies_apart() {
        assert_eq!(fingerprint(&("a", 1)), fingerprint(&("a", 1)));
        assert_ne!(fingerprint(&("a", 1)), fingerprint(&("a", 2)));
    }
}
