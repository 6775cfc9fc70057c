//! payment-svc's errors, each with the status it answers.

use shop_kit::ApiError;

/// What a payment-svc operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: the user has no account yet.
    #[error("no account for this user")]
    NoAccount,
    /// 422 on `Idempotency-Key`: the key was used with another amount.
    #[error("was used before with a different amount")]
    KeyReused,
    /// 422 on `amount`: the balance would pass its limit.
    #[error("the balance would exceed its limit")]
    BalanceLimit,
    /// 503: the database failed; logged, never shown.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let detail = e.to_string();
        match e {
            Error::NoAccount => ApiError::not_found(detail),
            Error::KeyReused => ApiError::invalid_field("Idempotency-Key", detail),
            Error::BalanceLimit => ApiError::invalid_field("amount", detail),
            Error::Db(e) => e.into(),
        }
    }
}
