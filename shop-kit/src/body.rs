//! `JsonBody<T>`: a JSON request body whose every defect is answered with the fields it concerns.
//!
//! poem-openapi's `Json<T>` says *that* a body failed to parse, not *where*. This payload parses
//! the same body three times over, cheapest first, and stops at the first failure:
//! 1. as JSON at all: otherwise 400, field `body`, with the line and column;
//! 2. with serde into `T`, tracking the path: a missing field or a wrong type is 400, an invalid
//!    value (an unknown enum value, a malformed UUID or date, a number out of range) is 422,
//!    both naming the field;
//! 3. with poem-openapi into `T`, which applies the bounds the schema documents (`maxLength`,
//!    `maximum`, …): 422 naming the field.
//!
//! The spec is `T`'s own schema, so the documented and the enforced bounds are the same.

use std::ops::Deref;

use poem::http::StatusCode;
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// A JSON request body of type `T`; see the module documentation.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T> Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        Json::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON + DeserializeOwned> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        parse(&data).map(Self).map_err(Into::into)
    }
}

poem_openapi::impl_apirequest_for_payload!(JsonBody<T>, T: ParseFromJSON + DeserializeOwned);

/// Parses a body; see the module documentation.
pub fn parse<T: ParseFromJSON + DeserializeOwned>(data: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(data).map_err(|e| {
        let message = if data.iter().all(u8::is_ascii_whitespace) {
            "a JSON body is required".to_owned()
        } else {
            format!("not valid JSON: {e}")
        };
        ApiError::field(StatusCode::BAD_REQUEST, "body", message)
    })?;
    // serde would take an array for a struct; the schema says object.
    if matches!(T::schema_ref(), MetaSchemaRef::Reference(_)) && !value.is_object() {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "body",
            "must be a JSON object",
        ));
    }
    if let Err(e) = serde_path_to_error::deserialize::<_, T>(&value) {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        return Err(match message.strip_prefix("missing field `") {
            Some(rest) => {
                let name = rest.split('`').next().unwrap_or_default();
                ApiError::field(StatusCode::BAD_REQUEST, &join(&path, name), "is required")
            }
            // JSON has one number type: an integer too large for the field arrives as a float.
            None if message.starts_with("invalid type: floating point")
                && at(&value, e.path())
                    .is_some_and(|v| v.as_f64().is_some_and(|f| f.fract() == 0.0)) =>
            {
                ApiError::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &join(&path, ""),
                    "is out of range",
                )
            }
            None if message.starts_with("invalid type") => {
                ApiError::field(StatusCode::BAD_REQUEST, &join(&path, ""), message)
            }
            None => ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, &join(&path, ""), message),
        });
    }
    T::parse_from_json(Some(value)).map_err(|e| {
        let message = e.into_message();
        // poem-openapi's validators say "field `name` verification failed. maxLength(100)".
        let (field, message) = message
            .split_once("field `")
            .and_then(|(_, rest)| rest.split_once("` verification failed. "))
            .map_or(("body", message.as_str()), |(field, rule)| (field, rule));
        ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
            crate::problem::rule_in_words(message),
        )
    })
}

/// The value at a serde path.
fn at<'v>(
    value: &'v serde_json::Value,
    path: &serde_path_to_error::Path,
) -> Option<&'v serde_json::Value> {
    path.iter().try_fold(value, |v, segment| match segment {
        serde_path_to_error::Segment::Map { key } => v.get(key),
        serde_path_to_error::Segment::Seq { index } => v.get(index),
        _ => None,
    })
}

/// The field's path: `a.b` from the parent's path (`.` at the top) and the field's name.
fn join(path: &str, name: &str) -> String {
    match (path, name) {
        (".", "") => "body".into(),
        (".", name) => name.into(),
        (path, "") => path.into(),
        (path, name) => format!("{path}.{name}"),
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::Object;
    use serde::Deserialize;

    use super::*;

    #[derive(Object, Deserialize, Debug)]
    struct Inner {
        day: chrono::NaiveDate,
    }

    #[derive(Object, Deserialize, Debug)]
    struct Sample {
        #[oai(validator(max_length = 5))]
        name: String,
        amount: i64,
        id: Option<uuid::Uuid>,
        inner: Option<Inner>,
    }

    fn fails(body: &str) -> (u16, String) {
        match parse::<Sample>(body.as_bytes()) {
            Ok(parsed) => panic!("{body} parsed: {parsed:?}"),
            Err(e) => {
                let p = e.problem();
                let errors = p.errors.clone().unwrap_or_default();
                (
                    p.status,
                    errors.first().map(|e| e.field.clone()).unwrap_or_default(),
                )
            }
        }
    }

    #[test]
    fn every_defect_names_its_field_and_status() {
        let cases = [
            ("", 400, "body"),
            ("{not json", 400, "body"),
            ("[1]", 400, "body"),
            (r#"{"amount": 1}"#, 400, "name"),
            (r#"{"name": 5, "amount": 1}"#, 400, "name"),
            (r#"{"name": null, "amount": 1}"#, 400, "name"),
            (r#"{"name": "a", "amount": "ten"}"#, 400, "amount"),
            (r#"{"name": "a", "amount": 1.5}"#, 400, "amount"),
            (
                r#"{"name": "a", "amount": 99999999999999999999}"#,
                422,
                "amount",
            ),
            (r#"{"name": "a", "amount": 1, "id": "nope"}"#, 422, "id"),
            (
                r#"{"name": "a", "amount": 1, "inner": {"day": "2026-13-01"}}"#,
                422,
                "inner.day",
            ),
            (
                r#"{"name": "a", "amount": 1, "inner": {}}"#,
                400,
                "inner.day",
            ),
            (r#"{"name": "abcdef", "amount": 1}"#, 422, "name"),
        ];
        for (body, status, field) in cases {
            assert_eq!(fails(body), (status, field.to_owned()), "{body}");
        }
        let ok = parse::<Sample>(br#"{"name": "a", "amount": 1, "extra": true}"#);
        assert!(ok.is_ok_and(|s| s.name == "a" && s.amount == 1 && s.id.is_none()));
    }
}
