//! user-svc's errors, each with the status it answers.

use shop_kit::ApiError;

/// What a user-svc operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: no such user (or, for `/users/me`, the caller's account was deleted).
    #[error("no such user")]
    NoSuchUser,
    /// 409: the username or email is taken.
    #[error("username or email already registered")]
    Taken,
    /// 503: the database failed; logged, never shown.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    /// 503: hashing a password or signing a token failed; logged, never shown.
    #[error("{0}")]
    Crypto(String),
    /// 503 with `Retry-After`: too many passwords are being hashed; the request changed nothing.
    #[error("too many logins and registrations at once; retry in a second")]
    Busy,
}

impl From<jsonwebtoken::errors::Error> for Error {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        Self::Crypto(format!("signing a token failed: {e}"))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::NoSuchUser => ApiError::not_found(e.to_string()),
            Error::Taken => ApiError::conflict(e.to_string()),
            Error::Db(_) | Error::Crypto(_) => ApiError::unavailable(&e),
            Error::Busy => ApiError::busy(e.to_string(), 1),
        }
    }
}
