//! User values, parsed once at the edge.

use email_address::EmailAddress;

/// A username: 3..=32 of `[a-zA-Z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a username as given.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let ok_len = (3..=32).contains(&raw.len());
        let ok_chars = raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if ok_len && ok_chars {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be 3 to 32 of letters, digits, '_', '.' and '-'")
        }
    }
}

/// A new password in clear: 8..=128 characters. It lives until it is hashed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Parses a password as given.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if (8..=128).contains(&raw.chars().count()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be 8 to 128 characters")
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// An email address, trimmed and lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an address: valid, with a dot in its domain, at most 254 characters.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let trimmed = raw.trim();
        if trimmed.len() <= 254 && EmailAddress::is_valid(trimmed) && trimmed.contains('.') {
            Ok(Self(trimmed.to_lowercase()))
        } else {
            Err("must be a valid email address")
        }
    }
}

/// A first or last name: 1..=100 characters, trimmed, not blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        shop_kit::text::name(raw, 100)
            .map(Self)
            .ok_or("must be 1 to 100 characters")
    }
}

/// A phone number: `+` then 7..=15 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let digits = raw.strip_prefix('+').unwrap_or("");
        if (7..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be '+' followed by 7 to 15 digits")
        }
    }
}

/// The stored text of each value.
macro_rules! stored_as_text {
    ($($t:ty),*) => {$(
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    )*};
}
stored_as_text!(Username, Password, Email, Name, Phone);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_contract() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse("a.b-c_d").is_ok());
        assert!(Username::parse("with space").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"p".repeat(129)).is_err());
    }

    #[test]
    fn emails_are_validated_and_lowercased() {
        assert_eq!(
            Email::parse("Ann@Example.COM"),
            Ok(Email("ann@example.com".into()))
        );
        assert!(Email::parse("not-an-email").is_err());
        assert!(Email::parse("a@b").is_err());
    }

    #[test]
    fn phones_are_plus_and_digits() {
        assert!(Phone::parse("+4915112345678").is_ok());
        assert!(Phone::parse("4915112345678").is_err());
        assert!(Phone::parse("+12345").is_err());
        assert!(Phone::parse("+1234567890123456").is_err());
        assert!(Phone::parse("+12345a789").is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse(" Ann "), Ok(Name("Ann".into())));
        assert!(Name::parse("").is_err());
        assert!(Name::parse(&"n".repeat(101)).is_err());
    }
}
