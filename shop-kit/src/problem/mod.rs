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
        Some(p) => pattern_in_words(p.trim_matches('"'))
            .unwrap_or_else(|| "has the wrong format".to_owned()),
        None => format!("must satisfy {rule}"),
    }
}

/// A pattern of the shape the API's validators use, `^` literal characters, one character class
/// and its count, `$` (`^[a-zA-Z0-9_.-]{3,32}$`, `^\+[0-9]{7,15}$`), in words ("must be 3 to 32
/// of letters, digits, `_`, `.` or `-`"); `None` for any other pattern.
fn pattern_in_words(pattern: &str) -> Option<String> {
    let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
    let (prefix, rest) = body.split_once('[')?;
    let (class, count) = rest.split_once(']')?;
    let prefix: String = prefix.replace('\\', "");
    let (min, max) = count
        .strip_prefix('{')?
        .strip_suffix('}')?
        .split_once(',')?;
    let mut kinds: Vec<String> = Vec::new();
    let mut chars = class.chars().peekable();
    let mut letters = false;
    while let Some(c) = chars.next() {
        let range = if chars.peek() == Some(&'-') {
            let mut ahead = chars.clone();
            ahead.next();
            ahead.next().map(|end| (c, end))
        } else {
            None
        };
        match range {
            Some((start, end)) => {
                chars.next();
                chars.next();
                match (start, end) {
                    ('a', 'z') | ('A', 'Z') => letters = true,
                    ('0', '9') => kinds.push("digits".into()),
                    _ => kinds.push(format!("`{start}` to `{end}`")),
                }
            }
            None if c == '\\' => {}
            None => kinds.push(format!("`{c}`")),
        }
    }
    if letters {
        kinds.insert(0, "letters".into());
    }
    let last = kinds.pop()?;
    let of = if kinds.is_empty() {
        last
    } else {
        format!("{} or {last}", kinds.join(", "))
    };
    let lead = if prefix.is_empty() {
        String::new()
    } else {
        format!("`{prefix}` then ")
    };
    Some(format!("must be {lead}{min} to {max} of {of}"))
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
        assert_eq!(
            rule_in_words("pattern(\"^[a-zA-Z0-9_.-]{3,32}$\")"),
            "must be 3 to 32 of letters, digits, `_`, `.` or `-`"
        );
        assert_eq!(
            rule_in_words("pattern(\"^\\+[0-9]{7,15}$\")"),
            "must be `+` then 7 to 15 of digits"
        );
        assert_eq!(
            rule_in_words("pattern(\"^(a|b)$\")"),
            "has the wrong format"
        );
        assert_eq!(rule_in_words("multipleOf(3)"), "must satisfy multipleOf(3)");
    }
}
