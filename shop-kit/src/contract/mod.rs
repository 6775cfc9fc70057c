//! The wire contracts of the `/internal/` calls, shared by each server and its caller so both
//! sides use one definition.

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
#[sea_orm(rs_type = "String", db_type = "String(sea_orm::sea_query::StringLen::None)")]
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
    /// Captured, then given back: the shopper cancelled the completed order (a refund).
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl ReservationState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Confirmed => "confirmed",
            Self::Released => "released",
            Self::Cancelled => "cancelled",
        }
    }
}

/// The order, user and product the internal examples name.
pub(crate) const EXAMPLE_ORDER: Uuid = Uuid::from_u128(0x0190_a5d2_7c1e_7000_8000_0000_0000_0001);
pub(crate) const EXAMPLE_USER: Uuid = Uuid::from_u128(0x0190_a5d2_7c1e_7000_8000_0000_0000_0002);
pub(crate) const EXAMPLE_PRODUCT: Uuid = Uuid::from_u128(0x0190_a5d2_7c1e_7000_8000_0000_0000_0003);

pub mod payment;

pub mod stock;

pub mod delivery;

pub mod notify;

/// What a participant (payment, stock, delivery) does with a reserve, confirm or release,
/// given the reservation it already holds for the order. This is the protocol all three keep:
/// every call is idempotent by `order_id`; a release that comes first leaves a mark that refuses
/// the late reservation; release after confirm, confirm after release, and a repeated reserve
/// with different values are refused; only a confirmed reservation can be cancelled (refunded),
/// and a cancelled one is never released.
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
            // A late repeat of the confirmation of an order cancelled since.
            Some(ReservationState::Cancelled) => Self::Repeat,
            Some(ReservationState::Released) => {
                Self::Refuse("the reservation was released and cannot be confirmed")
            }
        }
    }

    /// For a cancel (a refund of a confirmed reservation).
    pub fn on_cancel(held: Option<ReservationState>) -> Self {
        match held {
            None => Self::Missing,
            Some(ReservationState::Confirmed) => Self::Apply,
            Some(ReservationState::Cancelled) => Self::Repeat,
            Some(ReservationState::Reserved) => {
                Self::Refuse("the reservation is not confirmed and cannot be cancelled")
            }
            Some(ReservationState::Released) => {
                Self::Refuse("the reservation was released and cannot be cancelled")
            }
        }
    }

    /// For a release.
    pub fn on_release(held: Option<ReservationState>) -> Self {
        match held {
            None => Self::MarkReleased,
            Some(ReservationState::Reserved) => Self::Apply,
            Some(ReservationState::Released) => Self::Repeat,
            Some(ReservationState::Confirmed | ReservationState::Cancelled) => {
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
        assert!(matches!(
            Decision::on_release(Some(Cancelled)),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn only_a_confirmed_reservation_is_cancelled() {
        assert_eq!(Decision::on_cancel(None), Decision::Missing);
        assert_eq!(Decision::on_cancel(Some(Confirmed)), Decision::Apply);
        assert_eq!(Decision::on_cancel(Some(Cancelled)), Decision::Repeat);
        assert!(matches!(
            Decision::on_cancel(Some(Reserved)),
            Decision::Refuse(_)
        ));
        assert!(matches!(
            Decision::on_cancel(Some(Released)),
            Decision::Refuse(_)
        ));
        assert_eq!(Decision::on_confirm(Some(Cancelled)), Decision::Repeat);
        assert_eq!(
            Decision::on_reserve(Some((Cancelled, true))),
            Decision::Repeat
        );
    }
}

/// What a participant's store answers to a reserve, confirm or release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// Done now or before (idempotent repeat); `T` is the reservation.
    Done(T),
    /// A release that found nothing held and left its mark.
    Marked,
    /// Not enough funds, stock or couriers: 402 or 409; stock names the first product short.
    Short(Option<Uuid>),
    /// Refused by the protocol (see [`Decision`]): 409 with this reason.
    Refused(&'static str),
    /// No such reservation (or unknown product): 404.
    Missing,
}

pub mod participant;
