//! notify-svc's internal contract.

use super::*;

/// `POST /internal/messages`: deliver a message to a user (idempotent by `id`).
#[derive(Object, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
