//! A service's errors as one table: each variant with its message and the problem it answers,
//! and the database's failure (503, logged, never shown) added to every table.

/// Declares a service's error enum: each variant with its doc, its message, and the
/// [`ApiError`](crate::ApiError) constructor that answers it (`not_found`, `conflict`, or
/// `invalid_field` with the field it names); a `Db` variant for the database's failures is
/// added, answered 503.
///
/// ```ignore
/// shop_kit::service_errors! {
///     /// What a stock-svc operation can fail with.
///     pub enum Error {
///         /// 404: no such product.
///         NoSuchProduct("no such product") => not_found,
///         /// 422 on `amount`.
///         TooMuch("is too large") => invalid_field("amount"),
///     }
/// }
/// ```
#[macro_export]
macro_rules! service_errors {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $variant:ident ($message:literal) => $answer:ident $(($field:literal))?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, thiserror::Error)]
        $vis enum $name {
            $(
                $(#[doc = $doc])*
                #[error($message)]
                $variant,
            )*
            /// 503: the database failed; logged, never shown.
            #[error(transparent)]
            Db(#[from] sea_orm::DbErr),
        }

        impl From<$name> for $crate::ApiError {
            fn from(e: $name) -> Self {
                match e {
                    $( $name::$variant => $crate::ApiError::$answer($($field,)? $message), )*
                    $name::Db(e) => e.into(),
                }
            }
        }
    };
}
