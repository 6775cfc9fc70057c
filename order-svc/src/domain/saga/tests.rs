//! The saga's state machine, step by step: every path forward and back.

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
            held: Held::all(),
            reason: None
        }
    );
    assert!(s.confirmed().is_done());
}

#[test]
fn a_refusal_compensates_the_refusing_participant_and_what_came_before() {
    let s = SagaState::start().reserving().reserved().reserving();
    // Stock may hold something while its call is in flight.
    assert_eq!(s.held, Held::through(Participant::Stock));
    let s = s.refused(FailureReason::OutOfStock);
    assert_eq!(
        s,
        SagaState {
            step: Step::Compensate,
            held: Held::through(Participant::Stock),
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
    assert_eq!(s.held, Held::through(Participant::Payment));
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
            held: Held::through(Participant::Stock),
            reason: Some(FailureReason::ServiceUnavailable)
        }
    );
    let s = s.released_one();
    assert_eq!(s.held, Held::through(Participant::Payment));
    assert!(s.released_one().is_done());
}

#[test]
fn after_the_pivot_there_is_no_way_back() {
    let s = SagaState {
        step: Step::Confirm,
        held: Held::all(),
        reason: None,
    };
    assert_eq!(s.refused(FailureReason::NoCourier), s);
    assert_eq!(s.unreachable(), s);
}

#[test]
fn refusals_name_the_shortage() {
    assert_eq!(
        Participant::Payment.refusal_reason(Refusal::Short),
        FailureReason::InsufficientFunds
    );
    assert_eq!(
        Participant::Payment.refusal_reason(Refusal::Conflict),
        FailureReason::Rejected
    );
    assert_eq!(
        Participant::Stock.refusal_reason(Refusal::Missing),
        FailureReason::OutOfStock
    );
    assert_eq!(
        Participant::Delivery.refusal_reason(Refusal::Short),
        FailureReason::NoCourier
    );
}

#[test]
fn step_names_round_trip() {
    for step in [
        Step::Reserve(Participant::Payment),
        Step::Reserve(Participant::Stock),
        Step::Reserve(Participant::Delivery),
        Step::Confirm,
        Step::Compensate,
        Step::Done,
    ] {
        let s = SagaState {
            step,
            held: Held::NONE,
            reason: None,
        };
        assert_eq!(SagaState::parse_step(s.step_name()), Some(step));
    }
}

#[test]
fn a_refund_cancels_delivery_then_stock_then_payment() {
    let s = SagaState::refund();
    let order: Vec<_> =
        std::iter::successors(Some(s), |s| (!s.is_done()).then(|| s.released_one()))
            .filter(|s| !s.is_done())
            .filter_map(|s| s.held.last())
            .collect();
    assert_eq!(
        order,
        [
            Participant::Delivery,
            Participant::Stock,
            Participant::Payment
        ]
    );
    let done = s.released_one().released_one().released_one();
    assert!(done.is_done());
    assert_eq!(done.reason, None);
    assert_eq!(SagaState::parse_step(s.step_name()), Some(Step::Refund));
}

#[test]
fn what_is_held_is_stored_by_name() {
    let held = Held::through(Participant::Stock);
    assert_eq!(held.names(), "payment,stock");
    assert_eq!(Held::parse("payment,stock"), Some(held));
    assert_eq!(Held::parse(""), Some(Held::NONE));
    assert_eq!(Held::all().names(), "payment,stock,delivery");
    assert_eq!(
        Held::parse("payment,loyalty"),
        None,
        "an unknown name is refused"
    );
    assert_eq!(
        held.without(Participant::Stock),
        Held::through(Participant::Payment)
    );
    assert_eq!(held.last(), Some(Participant::Stock));
    // The previous release's counts read as the first participants in saga order.
    assert_eq!(Held::first(0), Some(Held::NONE));
    assert_eq!(Held::first(2), Some(held));
    assert_eq!(Held::first(3), Some(Held::all()));
    assert_eq!(Held::first(4), None);
    assert_eq!(Held::all().count(), 3);
}

#[test]
fn every_participant_has_one_row_and_its_names_are_its_own() {
    use strum::VariantArray;
    for p in Participant::VARIANTS {
        assert_eq!(
            SAGA.iter().filter(|r| r.participant == *p).count(),
            1,
            "{p:?}"
        );
        assert_eq!(Participant::from_name(p.name()), Some(*p));
        let reserve = SagaState {
            step: Step::Reserve(*p),
            held: Held::NONE,
            reason: None,
        };
        assert_eq!(
            SagaState::parse_step(reserve.step_name()),
            Some(reserve.step)
        );
    }
    assert_eq!(Participant::ALL.len(), Participant::VARIANTS.len());
    assert_eq!(Participant::Payment.next(), Some(Participant::Stock));
    assert_eq!(Participant::Delivery.next(), None, "the pivot is last");
}
