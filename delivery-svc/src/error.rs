//! delivery-svc's errors, each with the status it answers.

use shop_kit::ApiError;

/// What a delivery-svc operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: no such courier.
    #[error("no such courier")]
    NoSuchCourier,
    /// 404: no live booking for this order (none, released, or another user's).
    #[error("no delivery for this order")]
    NoDelivery,
    /// 503: the database failed; logged, never shown.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let detail = e.to_string();
        match e {
            Error::NoSuchCourier | Error::NoDelivery => ApiError::not_found(detail),
            Error::Db(e) => e.into(),
        }
    }
}
