//! User values, parsed once at the edge.

use email_address::EmailAddress;

/// A username: 3..=32 of `[a-zA-Z0-9_.-]`.
pub fn username(raw: &str) -> Result<String, &'static str> {
    let ok_len = (3..=32).contains(&raw.len());
    let ok_chars = raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok_len && ok_chars {
        Ok(raw.to_owned())
    } else {
        Err("must be 3 to 32 of letters, digits, '_', '.' and '-'")
    }
}

/// A password: 8..=128 characters.
pub fn password(raw: &str) -> Result<String, &'static str> {
    if (8..=128).contains(&raw.chars().count()) {
        Ok(raw.to_owned())
    } else {
        Err("must be 8 to 128 characters")
    }
}

/// An email address, stored lower-case.
pub fn email(raw: &str) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    if trimmed.len() <= 254 && EmailAddress::is_valid(trimmed) && trimmed.contains('.') {
        Ok(trimmed.to_lowercase())
    } else {
        Err("must be a valid email address")
    }
}

/// A first or last name: 1..=100 characters, not blank.
pub fn name(raw: &str) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || raw.chars().count() > 100 {
        Err("must be 1 to 100 characters")
    } else {
        Ok(trimmed.to_owned())
    }
}

/// A phone number: `+` then 7..=15 digits.
pub fn phone(raw: &str) -> Result<String, &'static str> {
    let digits = raw.strip_prefix('+').unwrap_or("");
    if (7..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(raw.to_owned())
    } else {
        Err("must be '+' followed by 7 to 15 digits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_contract() {
        assert!(username("ab").is_err());
        assert!(username("abc").is_ok());
        assert!(username("a.b-c_d").is_ok());
        assert!(username("with space").is_err());
        assert!(username(&"a".repeat(33)).is_err());
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(password("1234567").is_err());
        assert!(password("12345678").is_ok());
        assert!(password(&"p".repeat(129)).is_err());
    }

    #[test]
    fn emails_are_validated_and_lowercased() {
        assert_eq!(email("Ann@Example.COM"), Ok("ann@example.com".into()));
        assert!(email("not-an-email").is_err());
        assert!(email("a@b").is_err());
    }

    #[test]
    fn phones_are_plus_and_digits() {
        assert!(phone("+4915112345678").is_ok());
        assert!(phone("4915112345678").is_err());
        assert!(phone("+12345").is_err());
        assert!(phone("+1234567890123456").is_err());
        assert!(phone("+12345a789").is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name(" Ann "), Ok("Ann".into()));
        assert!(name("").is_err());
        assert!(name(&"n".repeat(101)).is_err());
    }
}
