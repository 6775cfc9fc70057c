//! The saga as data: its participants in the order it reserves with them, each with the
//! request it reserves with, how it says it is short and what its refusals mean. order-svc's
//! drive, recovery, compensation and refund interpret it; [`SagaDefinition::shop`] is the
//! shop's own, and another participant is one more [`ParticipantDef`] ([`SagaDefinition::with`]).
//!
//! Every participant speaks the one reservation protocol (`shop_kit::ledger`): reserve, confirm,
//! release, cancel by order id. What differs is data, here.

use serde_json::Value;
use shop_kit::contract::delivery::BookCourier;
use shop_kit::contract::participant::{Refusal, Shortage};
use shop_kit::contract::payment::ReserveFunds;
use shop_kit::contract::stock::{ReserveStock, StockLine};

use super::{Held, Participant, SagaState, Step};
use crate::domain::{FailureReason, Order};

/// What an order keeps from a participant's answer to its reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keeps {
    /// Nothing: the reservation is known by the order's id.
    Nothing,
    /// The courier booked (`courier_id` of the answer), shown with the order.
    Courier,
}

/// One participant of the saga.
#[derive(Debug, Clone)]
pub struct ParticipantDef {
    /// Its stored, metric and log name, and the name its base URL is configured under.
    pub name: &'static str,
    /// The stored name of the step that reserves with it.
    pub reserve_step: &'static str,
    /// The body of its reservation for an order, built from the types of its contract.
    pub reserve: fn(&Order) -> serde_json::Result<Value>,
    /// How it says it is short, as its contract declares.
    pub shortage: Shortage,
    /// Why an order is cancelled when it is short.
    pub short: FailureReason,
    /// Why an order is cancelled when what it names does not exist (`None`: a plain
    /// rejection).
    pub missing: Option<FailureReason>,
    /// What the order keeps from its answer to the reservation.
    pub keeps: Keeps,
}

/// The saga: its participants in the order it reserves with them. The last is the pivot, after
/// which the saga only goes forward; compensation and refunds go through them last first.
#[derive(Debug, Clone)]
pub struct SagaDefinition {
    participants: Vec<ParticipantDef>,
}

/// A saga state as `orders` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// `step`: the step's name.
    pub step: &'static str,
    /// `holding`: the names of the participants that may hold something, in saga order.
    pub holding: String,
    /// `held`: their count, as the release before 2026-12-04 read it.
    pub held: i32,
}

fn funds(o: &Order) -> serde_json::Result<Value> {
    serde_json::to_value(ReserveFunds {
        order_id: o.id,
        user_id: o.user_id,
        amount: o.total,
    })
}

fn stock(o: &Order) -> serde_json::Result<Value> {
    let lines: Vec<StockLine> = o
        .lines
        .iter()
        .map(|l| StockLine {
            product_id: l.product_id,
            quantity: l.quantity,
        })
        .collect();
    serde_json::to_value(ReserveStock::of(o.id, &lines))
}

fn courier(o: &Order) -> serde_json::Result<Value> {
    serde_json::to_value(BookCourier {
        order_id: o.id,
        user_id: o.user_id,
        date: shop_kit::date::Date(o.delivery_date),
    })
}

/// The most participants a saga has (a [`Held`] set is one bit each).
pub const MAX_PARTICIPANTS: usize = 64;

impl SagaDefinition {
    /// The shop's saga: reserve funds → reserve stock → book a courier (the pivot).
    pub fn shop() -> Self {
        Self {
            participants: vec![
                ParticipantDef {
                    name: "payment",
                    reserve_step: "reserve_funds",
                    reserve: funds,
                    shortage: shop_kit::contract::payment::SHORT,
                    short: FailureReason::InsufficientFunds,
                    missing: None,
                    keeps: Keeps::Nothing,
                },
                ParticipantDef {
                    name: "stock",
                    reserve_step: "reserve_stock",
                    reserve: stock,
                    shortage: shop_kit::contract::stock::SHORT,
                    short: FailureReason::OutOfStock,
                    missing: Some(FailureReason::OutOfStock),
                    keeps: Keeps::Nothing,
                },
                ParticipantDef {
                    name: "delivery",
                    reserve_step: "book_courier",
                    reserve: courier,
                    shortage: shop_kit::contract::delivery::SHORT,
                    short: FailureReason::NoCourier,
                    missing: None,
                    keeps: Keeps::Courier,
                },
            ],
        }
    }

    /// This saga with `participant` at `position` (0: before all the others; its length:
    /// after the pivot, as the new pivot). Refused when a name or a step name would be there
    /// twice or would read as another step, or when there would be too many participants.
    pub fn with(mut self, position: usize, participant: ParticipantDef) -> Result<Self, String> {
        let taken = |n: &str| {
            Step::FIXED.iter().any(|(_, f)| *f == n)
                || self
                    .participants
                    .iter()
                    .any(|p| p.name == n || p.reserve_step == n)
        };
        if participant.name.is_empty() || participant.name.contains(',') {
            return Err(format!(
                "participant name {:?} must be non-empty, without commas",
                participant.name
            ));
        }
        if taken(participant.name) || taken(participant.reserve_step) {
            return Err(format!(
                "participant {:?} (step {:?}) is already in the saga",
                participant.name, participant.reserve_step
            ));
        }
        if self.participants.len() >= MAX_PARTICIPANTS || position > self.participants.len() {
            return Err(format!(
                "no place {position} in a saga of {} participants",
                self.participants.len()
            ));
        }
        self.participants.insert(position, participant);
        Ok(self)
    }

    /// How many participants it has.
    pub fn len(&self) -> usize {
        self.participants.len()
    }

    /// Whether it has none (never: it starts from [`Self::shop`]).
    pub fn is_empty(&self) -> bool {
        self.participants.is_empty()
    }

    /// Its participants in saga order.
    pub fn participants(&self) -> impl Iterator<Item = Participant> + use<> {
        (0..self.len()).map(Participant::at)
    }

    /// What `p` is (a participant of this definition).
    pub fn get(&self, p: Participant) -> &ParticipantDef {
        &self.participants[p.index().min(self.len().saturating_sub(1))]
    }

    /// The metric and log name of `p`.
    pub fn name(&self, p: Participant) -> &'static str {
        self.get(p).name
    }

    /// The participant of a stored name.
    pub fn by_name(&self, name: &str) -> Option<Participant> {
        self.participants
            .iter()
            .position(|d| d.name == name)
            .map(Participant::at)
    }

    /// Why an order is cancelled when `p` refuses: its shortage, what it does not have at all,
    /// or a plain rejection.
    pub fn refusal_reason(&self, p: Participant, refusal: Refusal) -> FailureReason {
        let def = self.get(p);
        match refusal {
            Refusal::Short => def.short,
            Refusal::Missing => def.missing.unwrap_or(FailureReason::Rejected),
            Refusal::Conflict => FailureReason::Rejected,
        }
    }

    /// How `state` is stored.
    pub fn stored(&self, state: SagaState) -> Stored {
        Stored {
            step: self.step_name(state.step),
            holding: self.names(state.held),
            held: i32::from(state.held.count()),
        }
    }

    /// The stored name of a step.
    pub fn step_name(&self, step: Step) -> &'static str {
        match step {
            Step::Reserve(p) => self.get(p).reserve_step,
            fixed => fixed.fixed_name().unwrap_or("done"),
        }
    }

    /// Parses a stored step name.
    pub fn parse_step(&self, s: &str) -> Option<Step> {
        let reserve = self.participants.iter().position(|d| d.reserve_step == s);
        match reserve {
            Some(i) => Some(Step::Reserve(Participant::at(i))),
            None => Step::FIXED.iter().find(|(_, n)| *n == s).map(|(st, _)| *st),
        }
    }

    /// The stored form of a held set: the names in saga order, comma-separated (`""`:
    /// nobody).
    pub fn names(&self, held: Held) -> String {
        held.participants()
            .filter(|p| p.index() < self.len())
            .map(|p| self.name(p))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses the stored form of a held set; `None` for a name not in this saga.
    pub fn parse_held(&self, stored: &str) -> Option<Held> {
        stored
            .split(',')
            .filter(|n| !n.is_empty())
            .try_fold(Held::NONE, |held, name| {
                self.by_name(name).map(|p| held.with(p))
            })
    }

    /// How a count stored by the previous release reads: its first `n` participants. `None`
    /// for more than there are.
    pub fn first(&self, n: u8) -> Option<Held> {
        let n = usize::from(n);
        (n <= self.len()).then(|| Held::first(n))
    }
}
