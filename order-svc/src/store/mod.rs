//! The only place order-svc touches its database.

mod claims;
mod entities;
mod health;
mod keys;
mod migration;
mod orders;
mod outbox_store;

pub use claims::Found;
pub use entities::{idempotency_key, order, outbox};
pub use health::Backlog;
pub use keys::KeyClaim;
pub use migration::Migrator;
pub use orders::{NewOrder, OrderFilter};

use sea_orm::DatabaseConnection;

/// Orders, their saga state, the outbox and idempotency keys.
#[derive(Clone)]
pub struct OrderStore {
    db: DatabaseConnection,
}

impl OrderStore {
    /// A store on `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}
