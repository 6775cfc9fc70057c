//! The order saga as a state machine: reserve funds → reserve stock → book a courier (the
//! pivot) → confirm all three → completed. A refusal, or a participant that stays unreachable
//! before the pivot, turns the saga into compensation: everything that may be held (the step
//! that failed included: a late duplicate of its call may still be granted) is released in
//! reverse order, then the order is cancelled. After the pivot the saga only goes forward.
//!
//! The refund saga, run when a shopper cancels a completed order, is the same machine's other
//! path: cancel with delivery (the courier's place), then stock (the units), then payment (the
//! refund), then the order is refunded. It too only goes forward.
//!
//! The state is stored before each call goes out and after its answer comes back, so a restart
//! repeats at most the call in flight, which every participant accepts idempotently.

pub use shop_kit::contract::participant::Refusal;
use shop_kit::contract::participant::Shortage;

use super::FailureReason;

/// The three participants, in saga order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Participant {
    /// payment-svc.
    Payment,
    /// stock-svc.
    Stock,
    /// delivery-svc (the pivot).
    Delivery,
}

impl Participant {
    /// All three in saga order.
    pub const ALL: [Self; 3] = [Self::Payment, Self::Stock, Self::Delivery];

    /// The participant of a stored name (`payment`, `stock`, `delivery`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Its bit in a [`Held`] set (in memory only: the set is stored by names).
    fn bit(self) -> u8 {
        match self {
            Self::Payment => 1,
            Self::Stock => 2,
            Self::Delivery => 4,
        }
    }

    /// The one after it; `None` after the pivot.
    pub fn next(self) -> Option<Self> {
        match self {
            Self::Payment => Some(Self::Stock),
            Self::Stock => Some(Self::Delivery),
            Self::Delivery => None,
        }
    }

    /// The metric and log name: `payment`, `stock`, `delivery`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::Stock => "stock",
            Self::Delivery => "delivery",
        }
    }

    /// How it says it is short, as its contract declares.
    pub fn shortage(self) -> Shortage {
        match self {
            Self::Payment => shop_kit::contract::payment::SHORT,
            Self::Stock => shop_kit::contract::stock::SHORT,
            Self::Delivery => shop_kit::contract::delivery::SHORT,
        }
    }

    /// Why an order is cancelled when this participant refuses: its shortage, or a plain
    /// rejection.
    pub fn refusal_reason(self, refusal: Refusal) -> FailureReason {
        match (self, refusal) {
            (Self::Payment, Refusal::Short) => FailureReason::InsufficientFunds,
            (Self::Stock, Refusal::Short | Refusal::Missing) => FailureReason::OutOfStock,
            (Self::Delivery, Refusal::Short) => FailureReason::NoCourier,
            _ => FailureReason::Rejected,
        }
    }
}

/// A call the saga makes to a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Hold what the order needs.
    Reserve,
    /// Capture what is held.
    Confirm,
    /// Give back what is held (or mark the order released).
    Release,
    /// Give back what a confirmation captured (the refund saga).
    Cancel,
}

impl Action {
    /// The metric and log name: `reserve`, `confirm`, `release`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserve => "reserve",
            Self::Confirm => "confirm",
            Self::Release => "release",
            Self::Cancel => "cancel",
        }
    }
}

/// The participants that may hold something for an order. Stored as their names in saga order
/// (`payment,stock`), never as a count of positions: a participant added to the saga, before or
/// after the others, changes nothing in what a stored order holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Held(u8);

impl Held {
    /// Nobody.
    pub const NONE: Self = Self(0);

    /// `p` and every participant before it in saga order: what may be held once `p`'s
    /// reservation is (or may be) granted.
    pub fn through(p: Participant) -> Self {
        let upto = Participant::ALL.iter().position(|&q| q == p).unwrap_or(0);
        Self(
            Participant::ALL[..=upto]
                .iter()
                .fold(0, |bits, q| bits | q.bit()),
        )
    }

    /// Every participant: what a completed order holds.
    pub fn all() -> Self {
        Self(Participant::ALL.iter().fold(0, |bits, q| bits | q.bit()))
    }

    /// The participants in it, in saga order.
    pub fn participants(self) -> impl Iterator<Item = Participant> {
        Participant::ALL
            .into_iter()
            .filter(move |p| self.0 & p.bit() != 0)
    }

    /// The one given back first: the latest in saga order.
    pub fn last(self) -> Option<Participant> {
        self.participants().last()
    }

    /// The set without `p`.
    pub fn without(self, p: Participant) -> Self {
        Self(self.0 & !p.bit())
    }

    /// Whether nobody holds anything.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many: the count a release before 2026-12-04 stored (`orders.held`), still written
    /// for one release so that replicas of the previous one, in a rollout, read it right.
    pub fn count(self) -> u8 {
        u8::try_from(self.participants().count()).unwrap_or(u8::MAX)
    }

    /// The first `n` in saga order: how a count stored by a previous release reads.
    pub fn first(n: u8) -> Option<Self> {
        match usize::from(n) {
            0 => Some(Self::NONE),
            n => Participant::ALL.get(n - 1).map(|&p| Self::through(p)),
        }
    }

    /// The stored form: the names in saga order, comma-separated (`""`: nobody).
    pub fn names(self) -> String {
        self.participants()
            .map(Participant::name)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses the stored form; `None` for an unknown name.
    pub fn parse(stored: &str) -> Option<Self> {
        stored
            .split(',')
            .filter(|n| !n.is_empty())
            .try_fold(Self::NONE, |held, name| {
                Participant::from_name(name).map(|p| Self(held.0 | p.bit()))
            })
    }
}

/// What the saga does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Reserve with this participant.
    Reserve(Participant),
    /// Confirm with all three.
    Confirm,
    /// Release with the participants that may hold something, last first.
    Compensate,
    /// Cancel (refund) with the participants that hold something, last first.
    Refund,
    /// Nothing left to do.
    Done,
}

/// The durable state of one order's saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SagaState {
    /// The next step.
    pub step: Step,
    /// The participants that may hold something for the order.
    pub held: Held,
    /// Why the order is being (or was) cancelled.
    pub reason: Option<FailureReason>,
}

impl SagaState {
    /// A new order: nothing held, reserve funds first.
    pub fn start() -> Self {
        Self {
            step: Step::Reserve(Participant::Payment),
            held: Held::NONE,
            reason: None,
        }
    }

    /// The state while a reservation with participant `i` is in flight: it may hold something.
    pub fn reserving(self) -> Self {
        match self.step {
            Step::Reserve(p) => Self {
                held: Held::through(p),
                ..self
            },
            _ => self,
        }
    }

    /// Participant `i` reserved: go on to the next, or to confirmation after the pivot.
    pub fn reserved(self) -> Self {
        match self.step {
            Step::Reserve(p) => Self {
                step: p.next().map_or(Step::Confirm, Step::Reserve),
                held: Held::through(p),
                reason: None,
            },
            _ => self,
        }
    }

    /// Participant `i` refused: compensate it and the ones before it. The refusal itself holds
    /// nothing, but an earlier attempt of the same call, delayed in the network, may still
    /// arrive after it and be granted; the release leaves a mark that refuses it.
    pub fn refused(self, reason: FailureReason) -> Self {
        match self.step {
            Step::Reserve(p) => Self {
                step: Step::Compensate,
                held: Held::through(p),
                reason: Some(reason),
            },
            _ => self,
        }
    }

    /// Participant `i` stayed unreachable past its deadline: it may hold something, so it is
    /// released too.
    pub fn unreachable(self) -> Self {
        match self.step {
            Step::Reserve(p) => Self {
                step: Step::Compensate,
                held: Held::through(p),
                reason: Some(FailureReason::ServiceUnavailable),
            },
            _ => self,
        }
    }

    /// All three confirmed: completed.
    pub fn confirmed(self) -> Self {
        match self.step {
            Step::Confirm => Self {
                step: Step::Done,
                ..self
            },
            _ => self,
        }
    }

    /// A completed order its shopper cancels: all three hold what they captured, and give it
    /// back last first.
    pub fn refund() -> Self {
        Self {
            step: Step::Refund,
            held: Held::all(),
            reason: None,
        }
    }

    /// The last participant that held something released (compensation) or cancelled
    /// (refund): it holds nothing now; when none does, the saga is done.
    pub fn released_one(self) -> Self {
        let (Step::Compensate | Step::Refund, Some(last)) = (self.step, self.held.last()) else {
            return self;
        };
        match self.held.without(last) {
            held if held.is_empty() => Self {
                step: Step::Done,
                held,
                ..self
            },
            held => Self { held, ..self },
        }
    }

    /// Whether the saga has finished.
    pub fn is_done(self) -> bool {
        self.step == Step::Done
    }

    /// The stored name of the step.
    pub fn step_name(self) -> &'static str {
        match self.step {
            Step::Reserve(Participant::Payment) => "reserve_funds",
            Step::Reserve(Participant::Stock) => "reserve_stock",
            Step::Reserve(Participant::Delivery) => "book_courier",
            Step::Confirm => "confirm",
            Step::Compensate => "compensate",
            Step::Refund => "refund",
            Step::Done => "done",
        }
    }

    /// Parses a stored step name.
    pub fn parse_step(s: &str) -> Option<Step> {
        Some(match s {
            "reserve_funds" => Step::Reserve(Participant::Payment),
            "reserve_stock" => Step::Reserve(Participant::Stock),
            "book_courier" => Step::Reserve(Participant::Delivery),
            "confirm" => Step::Confirm,
            "compensate" => Step::Compensate,
            "refund" => Step::Refund,
            "done" => Step::Done,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests;
