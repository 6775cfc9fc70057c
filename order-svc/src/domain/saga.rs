//! The order saga as a state machine: reserve funds → reserve stock → book a courier (the
//! pivot) → confirm all three → completed. A refusal, or a participant that stays unreachable
//! before the pivot, turns the saga into compensation: everything that may be held (the step
//! that failed included: a late duplicate of its call may still be granted) is released in
//! reverse order, then the order is cancelled. After the pivot the saga only goes forward.
//!
//! The state is stored before each call goes out and after its answer comes back, so a restart
//! repeats at most the call in flight, which every participant accepts idempotently.

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

    /// The participant at saga position `i`.
    pub fn at(i: u8) -> Option<Self> {
        Self::ALL.get(usize::from(i)).copied()
    }

    /// Why an order is cancelled when this participant refuses with `status`: its shortage
    /// (402 from payment, 409 or 404 from stock, 409 from delivery), or a plain rejection.
    pub fn refusal_reason_for(self, status: u16) -> FailureReason {
        match (self, status) {
            (Self::Payment, 402) => FailureReason::InsufficientFunds,
            (Self::Stock, 404 | 409) => FailureReason::OutOfStock,
            (Self::Delivery, 409) => FailureReason::NoCourier,
            _ => FailureReason::Rejected,
        }
    }
}

/// What the saga does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Reserve with participant `i` (0, 1, 2).
    Reserve(u8),
    /// Confirm with all three.
    Confirm,
    /// Release the first `held` participants, last first.
    Compensate,
    /// Nothing left to do.
    Done,
}

/// The durable state of one order's saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SagaState {
    /// The next step.
    pub step: Step,
    /// How many participants (in saga order) may hold something for the order.
    pub held: u8,
    /// Why the order is being (or was) cancelled.
    pub reason: Option<FailureReason>,
}

impl SagaState {
    /// A new order: nothing held, reserve funds first.
    pub fn start() -> Self {
        Self {
            step: Step::Reserve(0),
            held: 0,
            reason: None,
        }
    }

    /// The state while a reservation with participant `i` is in flight: it may hold something.
    pub fn reserving(self) -> Self {
        match self.step {
            Step::Reserve(i) => Self {
                held: i + 1,
                ..self
            },
            _ => self,
        }
    }

    /// Participant `i` reserved: go on to the next, or to confirmation after the pivot.
    pub fn reserved(self) -> Self {
        match self.step {
            Step::Reserve(i) if i < 2 => Self {
                step: Step::Reserve(i + 1),
                held: i + 1,
                reason: None,
            },
            Step::Reserve(_) => Self {
                step: Step::Confirm,
                held: 3,
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
            Step::Reserve(i) => Self {
                step: Step::Compensate,
                held: i + 1,
                reason: Some(reason),
            },
            _ => self,
        }
    }

    /// Participant `i` stayed unreachable past its deadline: it may hold something, so it is
    /// released too.
    pub fn unreachable(self) -> Self {
        match self.step {
            Step::Reserve(i) => Self {
                step: Step::Compensate,
                held: i + 1,
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

    /// Participant `held - 1` released: one fewer holds anything; when none does, cancelled.
    pub fn released_one(self) -> Self {
        match self.step {
            Step::Compensate if self.held <= 1 => Self {
                step: Step::Done,
                held: 0,
                ..self
            },
            Step::Compensate => Self {
                held: self.held - 1,
                ..self
            },
            _ => self,
        }
    }

    /// Whether the saga has finished.
    pub fn is_done(self) -> bool {
        self.step == Step::Done
    }

    /// The stored name of the step.
    pub fn step_name(self) -> &'static str {
        match self.step {
            Step::Reserve(0) => "reserve_funds",
            Step::Reserve(1) => "reserve_stock",
            Step::Reserve(_) => "book_courier",
            Step::Confirm => "confirm",
            Step::Compensate => "compensate",
            Step::Done => "done",
        }
    }

    /// Parses a stored step name.
    pub fn parse_step(s: &str) -> Option<Step> {
        Some(match s {
            "reserve_funds" => Step::Reserve(0),
            "reserve_stock" => Step::Reserve(1),
            "book_courier" => Step::Reserve(2),
            "confirm" => Step::Confirm,
            "compensate" => Step::Compensate,
            "done" => Step::Done,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn happy_path_reserves_three_then_confirms() {
        let s = SagaState::start();
        let s = s
            .reserving()
            .reserved()
            .reserving()
            .reserved()
            .reserving()
            .reserved();
        assert_eq!(
            s,
            SagaState {
                step: Step::Confirm,
                held: 3,
                reason: None
            }
        );
        assert!(s.confirmed().is_done());
    }

    #[test]
    fn a_refusal_compensates_the_refusing_participant_and_what_came_before() {
        let s = SagaState::start().reserving().reserved().reserving();
        assert_eq!(s.held, 2); // stock may hold something while its call is in flight
        let s = s.refused(FailureReason::OutOfStock);
        assert_eq!(
            s,
            SagaState {
                step: Step::Compensate,
                held: 2,
                reason: Some(FailureReason::OutOfStock)
            }
        );
        let s = s.released_one().released_one();
        assert!(s.is_done());
        assert_eq!(s.reason, Some(FailureReason::OutOfStock));
    }

    #[test]
    fn a_first_refusal_releases_only_the_refusing_participant() {
        let s = SagaState::start()
            .reserving()
            .refused(FailureReason::InsufficientFunds);
        assert_eq!(s.held, 1);
        assert_eq!(s.step, Step::Compensate);
        assert!(s.released_one().is_done());
    }

    #[test]
    fn unreachable_before_the_pivot_releases_the_unknown_step_too() {
        let s = SagaState::start()
            .reserving()
            .reserved()
            .reserving()
            .unreachable();
        assert_eq!(
            s,
            SagaState {
                step: Step::Compensate,
                held: 2,
                reason: Some(FailureReason::ServiceUnavailable)
            }
        );
        let s = s.released_one();
        assert_eq!(s.held, 1);
        assert!(s.released_one().is_done());
    }

    #[test]
    fn after_the_pivot_there_is_no_way_back() {
        let s = SagaState {
            step: Step::Confirm,
            held: 3,
            reason: None,
        };
        assert_eq!(s.refused(FailureReason::NoCourier), s);
        assert_eq!(s.unreachable(), s);
    }

    #[test]
    fn refusals_name_the_shortage() {
        assert_eq!(
            Participant::Payment.refusal_reason_for(402),
            FailureReason::InsufficientFunds
        );
        assert_eq!(
            Participant::Payment.refusal_reason_for(409),
            FailureReason::Rejected
        );
        assert_eq!(
            Participant::Stock.refusal_reason_for(409),
            FailureReason::OutOfStock
        );
        assert_eq!(
            Participant::Delivery.refusal_reason_for(409),
            FailureReason::NoCourier
        );
    }

    #[test]
    fn step_names_round_trip() {
        for step in [
            Step::Reserve(0),
            Step::Reserve(1),
            Step::Reserve(2),
            Step::Confirm,
            Step::Compensate,
            Step::Done,
        ] {
            let s = SagaState {
                step,
                held: 0,
                reason: None,
            };
            assert_eq!(SagaState::parse_step(s.step_name()), Some(step));
        }
    }
}
