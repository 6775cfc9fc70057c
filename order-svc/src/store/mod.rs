//! The only place order-svc touches its database.

mod audit;
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

impl shop_kit::db::Schema for Migrator {
    fn columns() -> shop_kit::db::Columns {
        shop_kit::db::Columns::default()
            .with::<order::Entity>()
            .with::<outbox::Entity>()
            .with::<idempotency_key::Entity>()
    }
}
pub use orders::{NewOrder, OrderFilter};

use std::sync::Arc;

use crate::domain::SagaDefinition;
use shop_kit::db::Db;

/// Orders, their saga state, the outbox and idempotency keys.
#[derive(Clone)]
pub struct OrderStore {
    db: Db,
    /// The saga whose state it stores: how steps and participants are named.
    saga: Arc<SagaDefinition>,
}

impl OrderStore {
    /// A store on `db` of the shop's saga.
    pub fn new(db: Db) -> Self {
        Self::of(db, Arc::new(SagaDefinition::shop()))
    }

    /// A store on `db` of `saga`.
    pub fn of(db: Db, saga: Arc<SagaDefinition>) -> Self {
        Self { db, saga }
    }

    /// The saga whose state it stores.
    pub fn saga(&self) -> &SagaDefinition {
        &self.saga
    }
}
