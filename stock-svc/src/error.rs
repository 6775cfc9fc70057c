//! stock-svc's errors, each with the status it answers.

use shop_kit::ApiError;

/// What a stock-svc operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: no such product.
    #[error("no such product")]
    NoSuchProduct,
    /// 503: the database failed; logged, never shown.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let detail = e.to_string();
        match e {
            Error::NoSuchProduct => ApiError::not_found(detail),
            Error::Db(e) => e.into(),
        }
    }
}
