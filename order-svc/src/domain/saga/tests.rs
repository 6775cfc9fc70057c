//! The saga's state machine, step by step: every path forward and back, in the shop's saga and
//! in one with a participant added before the others.

use super::*;

fn shop() -> SagaDefinition {
    SagaDefinition::shop()
}

/// The shop's participants by name.
fn p(name: &str) -> Participant {
    shop().by_name(name).unwrap_or(Participant::at(99))
}

/// A participant that holds points, added before payment.
fn points() -> ParticipantDef {
    ParticipantDef {
        name: "points",
        reserve_step: "reserve_points",
        ..shop().get(p("payment")).clone()
    }
}

#[test]
fn happy_path_reserves_three_then_confirms() {
    let saga = shop();
    let s = SagaState::start();
    let s = s
        .reserving()
        .reserved(&saga)
        .reserving()
        .reserved(&saga)
        .reserving()
        .reserved(&saga);
    assert_eq!(
        s,
        SagaState {
            step: Step::Confirm,
            held: Held::first(3),
            reason: None
        }
    );
    assert!(s.confirmed().is_done());
}

#[test]
fn a_refusal_compensates_the_refusing_participant_and_what_came_before() {
    let saga = shop();
    let s = SagaState::start().reserving().reserved(&saga).reserving();
    // Stock may hold something while its call is in flight.
    assert_eq!(s.held, Held::through(p("stock")));
    let s = s.refused(FailureReason::OutOfStock);
    assert_eq!(
        s,
        SagaState {
            step: Step::Compensate,
            held: Held::through(p("stock")),
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
    assert_eq!(s.held, Held::through(p("payment")));
    assert_eq!(s.step, Step::Compensate);
    assert!(s.released_one().is_done());
}

#[test]
fn unreachable_before_the_pivot_releases_the_unknown_step_too() {
    let s = SagaState::start()
        .reserving()
        .reserved(&shop())
        .reserving()
        .unreachable();
    assert_eq!(
        s,
        SagaState {
            step: Step::Compensate,
            held: Held::through(p("stock")),
            reason: Some(FailureReason::ServiceUnavailable)
        }
    );
    let s = s.released_one();
    assert_eq!(s.held, Held::through(p("payment")));
    assert!(s.released_one().is_done());
}

#[test]
fn after_the_pivot_there_is_no_way_back() {
    let s = SagaState {
        step: Step::Confirm,
        held: Held::first(3),
        reason: None,
    };
    assert_eq!(s.refused(FailureReason::NoCourier), s);
    assert_eq!(s.unreachable(), s);
}

#[test]
fn refusals_name_the_shortage() {
    let saga = shop();
    let reason = |name, r| saga.refusal_reason(p(name), r);
    assert_eq!(
        reason("payment", Refusal::Short),
        FailureReason::InsufficientFunds
    );
    assert_eq!(
        reason("payment", Refusal::Conflict),
        FailureReason::Rejected
    );
    assert_eq!(reason("stock", Refusal::Missing), FailureReason::OutOfStock);
    assert_eq!(reason("delivery", Refusal::Short), FailureReason::NoCourier);
    assert_eq!(
        reason("delivery", Refusal::Missing),
        FailureReason::Rejected
    );
}

#[test]
fn step_names_round_trip() {
    let saga = shop();
    let steps = saga
        .participants()
        .map(Step::Reserve)
        .chain(Step::FIXED.map(|(s, _)| s));
    let names: Vec<_> = steps
        .map(|step| {
            assert_eq!(saga.parse_step(saga.step_name(step)), Some(step));
            saga.step_name(step)
        })
        .collect();
    assert_eq!(
        names,
        [
            "reserve_funds",
            "reserve_stock",
            "book_courier",
            "confirm",
            "compensate",
            "refund",
            "done"
        ]
    );
    assert_eq!(saga.parse_step("reserve_points"), None);
}

#[test]
fn a_refund_cancels_delivery_then_stock_then_payment() {
    let saga = shop();
    let s = SagaState::refund(&saga);
    let order: Vec<_> =
        std::iter::successors(Some(s), |s| (!s.is_done()).then(|| s.released_one()))
            .filter(|s| !s.is_done())
            .filter_map(|s| s.held.last())
            .map(|p| saga.name(p))
            .collect();
    assert_eq!(order, ["delivery", "stock", "payment"]);
    let done = s.released_one().released_one().released_one();
    assert!(done.is_done());
    assert_eq!(done.reason, None);
    assert_eq!(saga.step_name(s.step), "refund");
}

#[test]
fn what_is_held_is_stored_by_name() {
    let saga = shop();
    let held = Held::through(p("stock"));
    assert_eq!(saga.names(held), "payment,stock");
    assert_eq!(saga.parse_held("payment,stock"), Some(held));
    assert_eq!(saga.parse_held(""), Some(Held::NONE));
    assert_eq!(saga.names(Held::first(3)), "payment,stock,delivery");
    assert_eq!(
        saga.parse_held("payment,points"),
        None,
        "an unknown name is refused"
    );
    assert_eq!(held.without(p("stock")), Held::through(p("payment")));
    assert_eq!(held.last(), Some(p("stock")));
    // The previous release's counts read as the first participants in saga order.
    assert_eq!(saga.first(0), Some(Held::NONE));
    assert_eq!(saga.first(2), Some(held));
    assert_eq!(saga.first(3), Some(Held::first(3)));
    assert_eq!(saga.first(4), None);
    assert_eq!(Held::first(3).count(), 3);
}

#[test]
fn a_participant_added_first_changes_no_stored_name() {
    let shop = shop();
    let Ok(saga) = shop.clone().with(0, points()) else {
        panic!("points is a new participant")
    };
    assert_eq!(saga.len(), 4);
    let names: Vec<_> = saga.participants().map(|q| saga.name(q)).collect();
    assert_eq!(names, ["points", "payment", "stock", "delivery"]);
    // What an order of the shop's saga stored reads the same in the longer one.
    let stored = shop.stored(SagaState {
        step: Step::Reserve(p("stock")),
        held: Held::through(p("stock")),
        reason: None,
    });
    assert_eq!(stored.step, "reserve_stock");
    assert_eq!(stored.holding, "payment,stock");
    let Some(Step::Reserve(at)) = saga.parse_step(stored.step) else {
        panic!("reserve_stock is a step of both")
    };
    assert_eq!(saga.name(at), "stock");
    let held = saga.parse_held(&stored.holding).unwrap_or_default();
    assert_eq!(saga.names(held), "payment,stock");
    // A whole run of the longer saga goes through all four, then gives back in reverse.
    let mut s = SagaState::start();
    let mut reserved = Vec::new();
    while let Step::Reserve(q) = s.step {
        reserved.push(saga.name(q));
        s = s.reserving().reserved(&saga);
    }
    assert_eq!(reserved, names);
    assert_eq!(s.held, Held::first(4));
    let refund = SagaState::refund(&saga);
    assert_eq!(saga.names(refund.held), "points,payment,stock,delivery");
}

#[test]
fn a_definition_refuses_a_name_or_step_twice() {
    let twice = ParticipantDef {
        name: "payment",
        ..points()
    };
    assert!(shop().with(0, twice).is_err());
    let step_taken = ParticipantDef {
        reserve_step: "confirm",
        ..points()
    };
    assert!(shop().with(0, step_taken).is_err());
    let listed = ParticipantDef {
        name: "a,b",
        ..points()
    };
    assert!(shop().with(0, listed).is_err());
    assert!(shop().with(4, points()).is_err(), "no place 4 in three");
    assert!(shop().with(3, points()).is_ok(), "a new pivot");
}
