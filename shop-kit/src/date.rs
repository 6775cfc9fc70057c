//! A calendar date on the wire exactly as the contract writes it: `YYYY-MM-DD` (RFC 3339's
//! `full-date`), nothing shorter, padded or longer; chrono's own parsing also takes `2027-1-5`.

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDate;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// A date written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

impl Date {
    /// Parses exactly `YYYY-MM-DD`, or says what is wrong.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let shaped = raw.len() == 10
            && raw.bytes().enumerate().all(|(i, c)| match i {
                4 | 7 => c == b'-',
                _ => c.is_ascii_digit(),
            });
        if !shaped {
            return Err("must be a date written YYYY-MM-DD");
        }
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(Self)
            .map_err(|_| "is not a date of the calendar")
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <Cow<'de, str>>::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl Type for Date {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date")))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ParseFromJSON for Date {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(raw) => Self::parse(&raw).map_err(ParseError::custom),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Date {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::Date;

    #[test]
    fn only_yyyy_mm_dd_is_a_date() {
        assert_eq!(
            Date::parse("2026-12-05").map(|d| d.to_string()).as_deref(),
            Ok("2026-12-05")
        );
        for bad in [
            "2027-1-5",
            " 2026-12-05",
            "2026-12-05 ",
            "2026-12-5",
            "+2026-12-05",
            "20261205",
            "",
        ] {
            assert_eq!(
                Date::parse(bad),
                Err("must be a date written YYYY-MM-DD"),
                "{bad:?}"
            );
        }
        assert_eq!(
            Date::parse("2026-02-30"),
            Err("is not a date of the calendar")
        );
    }
}
