//! notify-svc's internal contract.

use super::*;

/// `POST /internal/messages`: deliver a message to a user (idempotent by `id`).
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[oai(example)]
pub struct SendMessage {
    /// The message's id (the idempotency key).
    pub id: Uuid,
    /// The user it is for.
    pub user_id: Uuid,
    /// The order it is about.
    #[oai(nullable)]
    pub order_id: Option<Uuid>,
    /// What the user reads, not blank.
    #[oai(validator(max_length = 2000))]
    pub text: String,
}

impl poem_openapi::types::Example for SendMessage {
    fn example() -> Self {
        Self {
            id: uuid::Uuid::from_u128(0x0190_a5d2_7c1e_7000_8000_0000_0000_0004),
            user_id: super::EXAMPLE_USER,
            order_id: Some(super::EXAMPLE_ORDER),
            text: "Order 0190a5d2-7c1e-7000-8000-000000000001 is paid and a courier is booked for 2027-01-15."
                .into(),
        }
    }
}
