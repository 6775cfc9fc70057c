//! Field-level validation errors, named as in the request.

use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::ApiError;

/// One invalid field of a request.
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's name, as in the request.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Collects field errors while a handler parses its input, so that one 422 names them all.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the parsed value, or records the field's error.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, &'static str>) -> Option<T> {
        parsed
            .map_err(|m| self.0.push(FieldError::new(field, m)))
            .ok()
    }

    /// Like [`FieldErrors::check`] for an optional field.
    pub fn check_opt<T, U>(
        &mut self,
        field: &str,
        value: Option<T>,
        parse: impl FnOnce(T) -> Result<U, &'static str>,
    ) -> Option<U> {
        value.and_then(|v| self.check(field, parse(v)))
    }

    /// 422 naming every recorded field, or `Ok` when there is none.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(self.0))
        }
    }
}
