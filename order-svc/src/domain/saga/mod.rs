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

/// The three participants. What each one is to the saga is its row of [`SAGA`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray)]
pub enum Participant {
    /// payment-svc.
    Payment,
    /// stock-svc.
    Stock,
    /// delivery-svc (the pivot).
    Delivery,
}

/// What a participant is to the saga: one row each, in [`SAGA`].
#[derive(Debug, Clone, Copy)]
pub struct ParticipantRow {
    /// Who.
    pub participant: Participant,
    /// Its stored, metric and log name.
    pub name: &'static str,
    /// The stored name of the step that reserves with it.
    pub reserve_step: &'static str,
    /// How it says it is short, as its contract declares.
    pub shortage: Shortage,
    /// Why an order is cancelled when it is short.
    pub short: FailureReason,
    /// Why an order is cancelled when what it names does not exist (`None`: a plain
    /// rejection).
    pub missing: Option<FailureReason>,
}

/// The saga: its participants in the order it reserves with them; the last is the pivot, after
/// which the saga only goes forward. Compensation and refunds go through them last first.
pub const SAGA: [ParticipantRow; 3] = [
    ParticipantRow {
        participant: Participant::Payment,
        name: "payment",
        reserve_step: "reserve_funds",
        shortage: shop_kit::contract::payment::SHORT,
        short: FailureReason::InsufficientFunds,
        missing: None,
    },
    ParticipantRow {
        participant: Participant::Stock,
        name: "stock",
        reserve_step: "reserve_stock",
        shortage: shop_kit::contract::stock::SHORT,
        short: FailureReason::OutOfStock,
        missing: Some(FailureReason::OutOfStock),
    },
    ParticipantRow {
        participant: Participant::Delivery,
        name: "delivery",
        reserve_step: "book_courier",
        shortage: shop_kit::contract::delivery::SHORT,
        short: FailureReason::NoCourier,
        missing: None,
    },
];

impl Participant {
    /// All of them in saga order.
    pub const ALL: [Self; SAGA.len()] = {
        let mut all = [SAGA[0].participant; SAGA.len()];
        let mut i = 0;
        while i < SAGA.len() {
            all[i] = SAGA[i].participant;
            i += 1;
        }
        all
    };

    /// Its place in the saga.
    fn position(self) -> usize {
        SAGA.iter()
            .position(|r| r.participant == self)
            .unwrap_or(SAGA.len())
    }

    /// Its row of [`SAGA`].
    pub fn row(self) -> &'static ParticipantRow {
        &SAGA[self.position().min(SAGA.len() - 1)]
    }

    /// The participant of a stored name (`payment`, `stock`, `delivery`).
    pub fn from_name(name: &str) -> Option<Self> {
        SAGA.iter().find(|r| r.name == name).map(|r| r.participant)
    }

    /// Its bit in a [`Held`] set (in memory only: the set is stored by names).
    fn bit(self) -> u8 {
        1 << self.position()
    }

    /// The one after it; `None` after the pivot.
    pub fn next(self) -> Option<Self> {
        SAGA.get(self.position() + 1).map(|r| r.participant)
    }

    /// The metric and log name: `payment`, `stock`, `delivery`.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// How it says it is short, as its contract declares.
    pub fn shortage(self) -> Shortage {
        self.row().shortage
    }

    /// Why an order is cancelled when this participant refuses: its shortage, what it does not
    /// have at all, or a plain rejection.
    pub fn refusal_reason(self, refusal: Refusal) -> FailureReason {
        let row = self.row();
        match refusal {
            Refusal::Short => row.short,
            Refusal::Missing => row.missing.unwrap_or(FailureReason::Rejected),
            Refusal::Conflict => FailureReason::Rejected,
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
            Step::Reserve(p) => p.row().reserve_step,
            Step::Confirm => "confirm",
            Step::Compensate => "compensate",
            Step::Refund => "refund",
            Step::Done => "done",
        }
    }

    /// Parses a stored step name.
    pub fn parse_step(s: &str) -> Option<Step> {
        if let Some(row) = SAGA.iter().find(|r| r.reserve_step == s) {
            return Some(Step::Reserve(row.participant));
        }
        Some(match s {
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
