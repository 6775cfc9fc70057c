//! The wire contracts of the `/internal/` calls, shared by each server and its caller so both
//! sides use one definition.

use chrono::NaiveDate;
use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The life of a reservation held for an order.
///
/// Stored as its name; a row with any other value fails to load, loudly.
#[derive(
    Enum,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    sea_orm::EnumIter,
    sea_orm::DeriveActiveEnum,
)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(sea_orm::sea_query::StringLen::None)"
)]
pub enum ReservationState {
    /// Held for the order.
    #[sea_orm(string_value = "reserved")]
    Reserved,
    /// Captured: the order completed.
    #[sea_orm(string_value = "confirmed")]
    Confirmed,
    /// Given back (or refused in advance when the release came first).
    #[sea_orm(string_value = "released")]
    Released,
}

impl ReservationState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Confirmed => "confirmed",
            Self::Released => "released",
        }
    }
}

/// payment-svc's internal contract.
pub mod payment {
    use super::*;

    /// `POST /internal/reservations`: hold `amount` of the user's funds for an order.
    #[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ReserveFunds {
        /// The order the funds are held for (the idempotency key).
        pub order_id: Uuid,
        /// The account the funds are held from.
        pub user_id: Uuid,
        /// How much, in cents.
        pub amount: i64,
    }

    /// A funds reservation.
    #[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct FundsReservation {
        /// The order it is held for (the idempotency key).
        pub order_id: Uuid,
        /// The account the funds are held from.
        pub user_id: Uuid,
        /// How much, in cents.
        pub amount: i64,
        /// Where it stands.
        pub state: ReservationState,
    }

    /// `PUT /internal/accounts/{user_id}`: open an account with balance 0 (idempotent).
    #[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Account {
        /// The account's owner.
        pub user_id: Uuid,
        /// Available funds, in cents.
        pub balance: i64,
        /// Funds held by orders in flight, in cents.
        pub reserved: i64,
    }
}

/// stock-svc's internal contract.
pub mod stock {
    use super::*;

    /// `POST /internal/reservations`: hold `quantity` of a product for an order.
    #[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ReserveStock {
        /// The order (the idempotency key).
        pub order_id: Uuid,
        /// The product the units are held from.
        pub product_id: Uuid,
        /// Units, 1 to 10^9.
        pub quantity: i64,
    }

    /// A stock reservation.
    #[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct StockReservation {
        /// The order it is held for (the idempotency key).
        pub order_id: Uuid,
        /// The product the units are held from.
        pub product_id: Uuid,
        /// Units, 1 to 10^9.
        pub quantity: i64,
        /// Where it stands.
        pub state: ReservationState,
    }

    /// A catalogue entry as the public API shows it.
    #[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Product {
        /// The product's id.
        pub id: Uuid,
        /// Its name.
        pub name: String,
        /// Unit price, in cents.
        pub price: i64,
        /// Units available to order now.
        pub available: i64,
    }
}

/// delivery-svc's internal contract.
pub mod delivery {
    use super::*;

    /// `POST /internal/reservations`: book a courier with free capacity on `date`.
    #[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct BookCourier {
        /// The order (the idempotency key).
        pub order_id: Uuid,
        /// Who the delivery is for.
        pub user_id: Uuid,
        /// The day the courier delivers (`YYYY-MM-DD`).
        pub date: NaiveDate,
    }

    /// A courier booking.
    #[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct CourierBooking {
        /// The order it is held for (the idempotency key).
        pub order_id: Uuid,
        /// Who the delivery is for.
        pub user_id: Uuid,
        /// The courier chosen.
        pub courier_id: Uuid,
        /// The courier's name.
        pub courier_name: String,
        /// The day the courier delivers (`YYYY-MM-DD`).
        pub date: NaiveDate,
        /// Where it stands.
        pub state: ReservationState,
    }
}

/// notify-svc's internal contract.
pub mod notify {
    use super::*;

    /// `POST /internal/messages`: deliver a message to a user (idempotent by `id`).
    #[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SendMessage {
        /// The message's id (the idempotency key).
        pub id: Uuid,
        /// The user it is for.
        pub user_id: Uuid,
        /// The order it is about.
        #[oai(nullable)]
        pub order_id: Option<Uuid>,
        /// What the user reads, not blank.
        #[oai(validator(max_length = 2000))]
        pub text: String,
    }
}

/// What a participant (payment, stock, delivery) does with a reserve, confirm or release,
/// given the reservation it already holds for the order. This is the protocol all three keep:
/// every call is idempotent by `order_id`; a release that comes first leaves a mark that refuses
/// the late reservation; release after confirm, confirm after release, and a repeated reserve
/// with different values are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Do it now.
    Apply,
    /// Nothing held yet: record a released mark so a late reservation is refused.
    MarkReleased,
    /// Already done: answer as the first time.
    Repeat,
    /// Refuse with 409 and this reason.
    Refuse(&'static str),
    /// No reservation for this order: 404.
    Missing,
}

impl Decision {
    /// For a reserve; `same_values` says whether the held reservation matches the request.
    pub fn on_reserve(held: Option<(ReservationState, bool)>) -> Self {
        match held {
            None => Self::Apply,
            Some((ReservationState::Released, _)) => {
                Self::Refuse("the order was released; a late reservation is refused")
            }
            Some((_, false)) => {
                Self::Refuse("this order already holds a reservation with different values")
            }
            Some((_, true)) => Self::Repeat,
        }
    }

    /// For a confirm.
    pub fn on_confirm(held: Option<ReservationState>) -> Self {
        match held {
            None => Self::Missing,
            Some(ReservationState::Reserved) => Self::Apply,
            Some(ReservationState::Confirmed) => Self::Repeat,
            Some(ReservationState::Released) => {
                Self::Refuse("the reservation was released and cannot be confirmed")
            }
        }
    }

    /// For a release.
    pub fn on_release(held: Option<ReservationState>) -> Self {
        match held {
            None => Self::MarkReleased,
            Some(ReservationState::Reserved) => Self::Apply,
            Some(ReservationState::Released) => Self::Repeat,
            Some(ReservationState::Confirmed) => {
                Self::Refuse("the reservation was confirmed and cannot be released")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReservationState::*;

    #[test]
    fn reserve_is_idempotent_and_refused_after_release() {
        assert_eq!(Decision::on_reserve(None), Decision::Apply);
        assert_eq!(
            Decision::on_reserve(Some((Reserved, true))),
            Decision::Repeat
        );
        assert_eq!(
            Decision::on_reserve(Some((Confirmed, true))),
            Decision::Repeat
        );
        assert!(matches!(
            Decision::on_reserve(Some((Reserved, false))),
            Decision::Refuse(_)
        ));
        assert!(matches!(
            Decision::on_reserve(Some((Released, true))),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn confirm_and_release_exclude_each_other() {
        assert_eq!(Decision::on_confirm(None), Decision::Missing);
        assert_eq!(Decision::on_confirm(Some(Reserved)), Decision::Apply);
        assert_eq!(Decision::on_confirm(Some(Confirmed)), Decision::Repeat);
        assert!(matches!(
            Decision::on_confirm(Some(Released)),
            Decision::Refuse(_)
        ));
        assert_eq!(Decision::on_release(None), Decision::MarkReleased);
        assert_eq!(Decision::on_release(Some(Reserved)), Decision::Apply);
        assert_eq!(Decision::on_release(Some(Released)), Decision::Repeat);
        assert!(matches!(
            Decision::on_release(Some(Confirmed)),
            Decision::Refuse(_)
        ));
    }
}

/// What a participant's store answers to a reserve, confirm or release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// Done now or before (idempotent repeat); `T` is the reservation.
    Done(T),
    /// A release that found nothing held and left its mark.
    Marked,
    /// Not enough funds, stock or couriers: 402 or 409.
    Short,
    /// Refused by the protocol (see [`Decision`]): 409 with this reason.
    Refused(&'static str),
    /// No such reservation (or unknown product): 404.
    Missing,
}

/// The server side of the participant protocol: one response type and the mapping of
/// [`Outcome`]s to statuses, shared by payment, stock and delivery.
pub mod participant {
    use poem_openapi::ApiResponse;
    use poem_openapi::payload::Json;
    use poem_openapi::types::{ParseFromJSON, ToJSON};

    use super::Outcome;
    use crate::problem::{ApiError, ApiResult};

    /// The answer to a reserve, confirm or release.
    #[derive(ApiResponse)]
    pub enum Reply<T: ParseFromJSON + ToJSON + Send + Sync> {
        /// Confirmed or released (now or before).
        #[oai(status = 200)]
        Ok(Json<T>),
        /// Reserved (now or before: a repeat answers the same).
        #[oai(status = 201)]
        Created(Json<T>),
        /// Released before anything was held: a later reservation of this order is refused.
        #[oai(status = 204)]
        Marked,
    }

    fn refusal<T>(outcome: Outcome<T>, short: impl FnOnce() -> ApiError) -> ApiError {
        match outcome {
            Outcome::Short => short(),
            Outcome::Refused(why) => ApiError::conflict(why),
            _ => ApiError::not_found("no reservation for this order"),
        }
    }

    /// Maps a reserve's outcome: 201, or `short()` (402/409), 409, 404.
    pub fn reserved<T: ParseFromJSON + ToJSON + Send + Sync>(
        outcome: Outcome<T>,
        short: impl FnOnce() -> ApiError,
    ) -> ApiResult<Reply<T>> {
        match outcome {
            Outcome::Done(r) => Ok(Reply::Created(Json(r))),
            other => Err(refusal(other, short)),
        }
    }

    /// Maps a confirm's outcome: 200, 409 or 404.
    pub fn confirmed<T: ParseFromJSON + ToJSON + Send + Sync>(
        outcome: Outcome<T>,
    ) -> ApiResult<Reply<T>> {
        match outcome {
            Outcome::Done(r) => Ok(Reply::Ok(Json(r))),
            other => Err(refusal(other, || ApiError::conflict("cannot confirm"))),
        }
    }

    /// Maps a release's outcome: 200, 204 (mark left) or 409.
    pub fn released<T: ParseFromJSON + ToJSON + Send + Sync>(
        outcome: Outcome<T>,
    ) -> ApiResult<Reply<T>> {
        match outcome {
            Outcome::Done(r) => Ok(Reply::Ok(Json(r))),
            Outcome::Marked => Ok(Reply::Marked),
            other => Err(refusal(other, || ApiError::conflict("cannot release"))),
        }
    }
}
