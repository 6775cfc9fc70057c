//! notify-svc's errors, each with the status it answers.

use shop_kit::ApiError;

/// What a notify-svc operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 422 on `text`: nothing to read.
    #[error("must not be blank")]
    BlankText,
    /// 409: another message was stored under this id.
    #[error("another message was sent under this id")]
    IdTaken,
    /// 503: the database failed; logged, never shown.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let detail = e.to_string();
        match e {
            Error::BlankText => ApiError::invalid_field("text", detail),
            Error::IdTaken => ApiError::conflict(detail),
            Error::Db(e) => e.into(),
        }
    }
}
