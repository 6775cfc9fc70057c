//! The request bodies of `/users`, with the bounds their schemas document, and their parsing
//! into domain values.

use std::borrow::Cow;

use poem_openapi::Object;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use shop_kit::{ApiError, ApiResult};

use crate::domain::{Email, Name, Password, Phone, Username};
use crate::store::NewUser;

/// An email address as a request carries it. Its schema documents the rule (at most 254
/// characters, `local@domain.tld`); [`Email::parse`] applies it, in the handler, beside the
/// other fields' rules, so that one 422 names every invalid field.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(transparent)]
pub(super) struct EmailText(pub(super) String);

impl Type for EmailText {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_email".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            max_length: Some(254),
            pattern: Some(
                r"^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9]+(-[A-Za-z0-9]+)*(\.[A-Za-z0-9]+(-[A-Za-z0-9]+)*)+$".into(),
            ),
            ..MetaSchema::new_with_format("string", "email")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for EmailText {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        match value {
            Some(serde_json::Value::String(s)) => Ok(Self(s)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for EmailText {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.0.clone()))
    }
}

/// A registration. Fields the caller may not set (such as `is_admin`) are ignored.
#[derive(Object, serde::Deserialize)]
#[oai(example)]
pub(super) struct Registration {
    /// 3..=32 of `[a-zA-Z0-9_.-]`.
    #[oai(validator(pattern = r"^[a-zA-Z0-9_.-]{3,32}$"))]
    pub(super) username: String,
    /// 8..=128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub(super) password: String,
    /// A valid email address, at most 254 characters.
    pub(super) email: EmailText,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub(super) first_name: String,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub(super) last_name: String,
    /// `+` then 7..=15 digits.
    #[oai(validator(pattern = r"^\+[0-9]{7,15}$"))]
    pub(super) phone: String,
}

impl poem_openapi::types::Example for Registration {
    fn example() -> Self {
        Self {
            username: "ann".into(),
            password: "correct-horse-1".into(),
            email: EmailText("ann@example.com".into()),
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            phone: "+4915112345678".into(),
        }
    }
}

/// Changes to one's own profile. A new `password` needs the `current_password`.
#[derive(Object, serde::Deserialize, Default)]
#[oai(example)]
pub(super) struct ProfileChanges {
    /// A valid email address, at most 254 characters.
    pub(super) email: Option<EmailText>,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub(super) first_name: Option<String>,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub(super) last_name: Option<String>,
    /// `+` then 7..=15 digits.
    #[oai(validator(pattern = r"^\+[0-9]{7,15}$"))]
    pub(super) phone: Option<String>,
    /// A new password, 8..=128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub(super) password: Option<String>,
    /// The current password; required to set a new one.
    #[oai(validator(max_length = 128))]
    pub(super) current_password: Option<String>,
}

impl poem_openapi::types::Example for ProfileChanges {
    fn example() -> Self {
        Self {
            first_name: Some("Annie".into()),
            ..Self::default()
        }
    }
}

/// Changes an admin makes to a user.
#[derive(Object, serde::Deserialize, Default)]
#[oai(example)]
pub(super) struct AdminChanges {
    /// A valid email address, at most 254 characters.
    pub(super) email: Option<EmailText>,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub(super) first_name: Option<String>,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub(super) last_name: Option<String>,
    /// `+` then 7..=15 digits.
    #[oai(validator(pattern = r"^\+[0-9]{7,15}$"))]
    pub(super) phone: Option<String>,
    /// A new password, 8..=128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub(super) password: Option<String>,
    /// Grants or revokes the admin role.
    pub(super) is_admin: Option<bool>,
}

impl poem_openapi::types::Example for AdminChanges {
    fn example() -> Self {
        Self {
            is_admin: Some(true),
            ..Self::default()
        }
    }
}

/// The profile fields either kind of change sets.
pub(super) struct ProfileFields<'a> {
    pub(super) email: Option<&'a str>,
    pub(super) first_name: Option<&'a str>,
    pub(super) last_name: Option<&'a str>,
    pub(super) phone: Option<&'a str>,
    pub(super) password: Option<&'a str>,
}

/// The profile fields of a change.
macro_rules! profile_fields {
    ($change:ty) => {
        impl $change {
            pub(super) fn fields(&self) -> ProfileFields<'_> {
                ProfileFields {
                    email: self.email.as_ref().map(|e| e.0.as_str()),
                    first_name: self.first_name.as_deref(),
                    last_name: self.last_name.as_deref(),
                    phone: self.phone.as_deref(),
                    password: self.password.as_deref(),
                }
            }
        }
    };
}
profile_fields!(ProfileChanges);
profile_fields!(AdminChanges);

impl Registration {
    /// The registration parsed into a new user (the password still in clear), or a 422 naming
    /// every invalid field.
    pub(super) fn parse(&self) -> ApiResult<(NewUser, Password)> {
        let parsed = (
            Username::parse(&self.username),
            Password::parse(&self.password),
            Email::parse(&self.email.0),
            Name::parse(&self.first_name),
            Name::parse(&self.last_name),
            Phone::parse(&self.phone),
        );
        match parsed {
            (Ok(username), Ok(password), Ok(email), Ok(first_name), Ok(last_name), Ok(phone)) => {
                let new = NewUser {
                    username,
                    email,
                    password_hash: String::new(),
                    first_name,
                    last_name,
                    phone,
                    is_admin: false,
                };
                Ok((new, password))
            }
            (username, password, email, first_name, last_name, phone) => {
                Err(ApiError::invalid_fields([
                    ("username", username.err()),
                    ("password", password.err()),
                    ("email", email.err()),
                    ("first_name", first_name.err()),
                    ("last_name", last_name.err()),
                    ("phone", phone.err()),
                ]))
            }
        }
    }
}
