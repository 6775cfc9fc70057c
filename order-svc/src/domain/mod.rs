//! Order domain: the values an order is made of and the saga's state machine. Pure: no I/O.

pub mod history;
mod order;
mod saga;

pub use order::{
    DeliveryDate, FailureReason, Line, Lines, Order, OrderStatus, PricedLine, Quantity, Unpriced,
    message_text, refund_text,
};
pub use saga::{
    Action, Held, Keeps, Participant, ParticipantDef, Refusal, SagaDefinition, SagaState, Step,
    Stored,
};
