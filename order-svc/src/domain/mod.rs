//! Order domain: the values an order is made of and the saga's state machine. Pure: no I/O.

mod order;
mod saga;

pub use order::{
    DeliveryDate, FailureReason, Line, Lines, OrderStatus, PricedLine, Quantity, Unpriced,
    message_text, refund_text,
};
pub use saga::{Action, Held, Participant, Refusal, SagaState, Step};
