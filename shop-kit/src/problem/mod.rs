//! RFC 9457 problem details: the one error body every service answers with.

use poem::http::StatusCode;
use poem_openapi::Object;
use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
use serde::{Deserialize, Serialize};

mod edge;
mod error;
mod errors;
mod fields;

pub use edge::{plain, problem_for_error, with_problem_errors};
pub use error::{ApiError, ApiResult};
pub use fields::{FieldError, FieldErrors};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An `application/problem+json` body (RFC 9457).
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI reference naming the kind of problem; `about:blank` when the status says it all.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Field-level validation errors.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl Problem {
    /// A problem of `status` with `detail`; the title is the status's reason phrase.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
        }
    }
}

/// A problem+json body: [`Problem`] itself, or a service's own body that flattens a `Problem`
/// and adds extension members (RFC 9457 §3.2), such as order-svc's `order_id`.
pub trait ProblemBody:
    Type + ToJSON + ParseFromJSON + Serialize + From<Problem> + Send + Sync + 'static
{
    /// The standard members.
    fn base(&self) -> &Problem;
}

impl ProblemBody for Problem {
    fn base(&self) -> &Problem {
        self
    }
}

/// A service's own problem body, with members beyond [`Problem`]'s: its operations answer
/// `ApiError<ItsBody>`, and every shop-kit [`ApiError`] converts into that with `?`.
pub trait ProblemExtension: ProblemBody {}

/// Displays an error with its whole `source()` chain.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// A validator's rule, as poem-openapi states it (`minimum(1, exclusive: false)`), in plain
/// words for the one who broke it (`must be at least 1`).
pub fn rule_in_words(rule: &str) -> String {
    let arg = |name: &str| {
        rule.strip_prefix(name)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
    };
    let plural = |n: &str, one: &str, many: &str| match n {
        "1" => format!("{n} {one}"),
        _ => format!("{n} {many}"),
    };
    if let Some(args) = arg("minimum") {
        return match args.split_once(", exclusive: ") {
            Some((n, "true")) => format!("must be more than {n}"),
            Some((n, _)) => format!("must be at least {n}"),
            None => format!("must be at least {args}"),
        };
    }
    if let Some(args) = arg("maximum") {
        return match args.split_once(", exclusive: ") {
            Some((n, "true")) => format!("must be less than {n}"),
            Some((n, _)) => format!("must be at most {n}"),
            None => format!("must be at most {args}"),
        };
    }
    if let Some(n) = arg("minLength") {
        return format!(
            "must be at least {} long",
            plural(n, "character", "characters")
        );
    }
    if let Some(n) = arg("maxLength") {
        return format!(
            "must be at most {} long",
            plural(n, "character", "characters")
        );
    }
    if let Some(n) = arg("minItems") {
        return format!("must have at least {}", plural(n, "item", "items"));
    }
    if let Some(n) = arg("maxItems") {
        return format!("must have at most {}", plural(n, "item", "items"));
    }
    match arg("pattern") {
        Some("\"\\S\"") => "must not be blank".to_owned(),
        Some(p) => format!("has the wrong format (must match {p})"),
        None => format!("must satisfy {rule}"),
    }
}

#[cfg(test)]
mod words {
    use super::rule_in_words;

    #[test]
    fn rules_read_as_plain_words() {
        assert_eq!(
            rule_in_words("minimum(1, exclusive: false)"),
            "must be at least 1"
        );
        assert_eq!(
            rule_in_words("maximum(100, exclusive: false)"),
            "must be at most 100"
        );
        assert_eq!(
            rule_in_words("maxLength(100)"),
            "must be at most 100 characters long"
        );
        assert_eq!(
            rule_in_words("minLength(1)"),
            "must be at least 1 character long"
        );
        assert_eq!(rule_in_words("maxItems(20)"), "must have at most 20 items");
        assert_eq!(rule_in_words("pattern(\"\\S\")"), "must not be blank");
        assert_eq!(rule_in_words("multipleOf(3)"), "must satisfy multipleOf(3)");
    }
}
