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

use super::FailureReason;

mod definition;

pub use definition::{Keeps, ParticipantDef, SagaDefinition, Stored};

/// A participant: its place in a [`SagaDefinition`], in memory only (what is stored names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Participant(u8);

impl Participant {
    /// The first participant of every saga.
    pub const FIRST: Self = Self(0);

    /// The participant at `index` in its definition.
    pub(crate) fn at(index: usize) -> Self {
        Self(u8::try_from(index).unwrap_or(u8::MAX))
    }

    /// Its place in its definition.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// Its bit in a [`Held`] set.
    fn bit(self) -> u64 {
        1u64.checked_shl(u32::from(self.0)).unwrap_or(0)
    }

    /// The one after it in a saga of `count` participants; `None` after the pivot (the last).
    pub fn next(self, count: usize) -> Option<Self> {
        let next = self.index() + 1;
        (next < count).then(|| Self::at(next))
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
/// (`payment,stock`, see [`SagaDefinition::stored`]), never as a count of positions: a
/// participant added to the saga, before or after the others, changes nothing in what a stored
/// order holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Held(u64);

impl Held {
    /// Nobody.
    pub const NONE: Self = Self(0);

    /// `p` and every participant before it in saga order: what may be held once `p`'s
    /// reservation is (or may be) granted.
    pub fn through(p: Participant) -> Self {
        Self::first(p.index() + 1)
    }

    /// The first `n` participants in saga order (all of a saga of `n`: what a completed order
    /// holds).
    pub fn first(n: usize) -> Self {
        Self(match u32::try_from(n) {
            Ok(n) if n < 64 => (1u64 << n) - 1,
            _ => u64::MAX,
        })
    }

    /// The set with `p` in it.
    pub fn with(self, p: Participant) -> Self {
        Self(self.0 | p.bit())
    }

    /// The participants in it, in saga order.
    pub fn participants(self) -> impl Iterator<Item = Participant> {
        (0..64)
            .map(Participant::at)
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
        u8::try_from(self.0.count_ones()).unwrap_or(u8::MAX)
    }
}

/// What the saga does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Reserve with this participant.
    Reserve(Participant),
    /// Confirm with every participant.
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
    /// A new order: nothing held, reserve with the first participant.
    pub fn start() -> Self {
        Self {
            step: Step::Reserve(Participant::FIRST),
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

    /// The participant reserved: go on to the next of `saga`, or to confirmation after the
    /// pivot.
    pub fn reserved(self, saga: &SagaDefinition) -> Self {
        match self.step {
            Step::Reserve(p) => Self {
                step: p.next(saga.len()).map_or(Step::Confirm, Step::Reserve),
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

    /// Every participant confirmed: completed.
    pub fn confirmed(self) -> Self {
        match self.step {
            Step::Confirm => Self {
                step: Step::Done,
                ..self
            },
            _ => self,
        }
    }

    /// A completed order its shopper cancels: every participant of `saga` holds what it
    /// captured, and gives it back last first.
    pub fn refund(saga: &SagaDefinition) -> Self {
        Self {
            step: Step::Refund,
            held: Held::first(saga.len()),
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
}

impl Step {
    /// The stored names of the steps that are not a reservation (a reservation's is its
    /// participant's `reserve_step`).
    pub const FIXED: [(Self, &'static str); 4] = [
        (Self::Confirm, "confirm"),
        (Self::Compensate, "compensate"),
        (Self::Refund, "refund"),
        (Self::Done, "done"),
    ];

    /// The stored name of a step that is not a reservation.
    pub fn fixed_name(self) -> Option<&'static str> {
        Self::FIXED
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, n)| *n)
    }
}

#[cfg(test)]
mod tests;
