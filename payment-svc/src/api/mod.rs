//! payment-svc's HTTP API.

mod balance;
mod internal;
mod statement;

use crate::store::PaymentStore;

/// Every operation of payment-svc.
pub fn apis(store: PaymentStore) -> impl poem_openapi::OpenApi {
    (
        balance::BalanceApi {
            store: store.clone(),
        },
        statement::StatementApi {
            store: store.clone(),
        },
        store.reservations_api(),
        internal::InternalApi { store },
    )
}

#[derive(poem_openapi::Tags)]
enum Tag {
    /// A shopper's balance.
    Balance,
    /// Service-to-service calls of the order saga.
    Internal,
}
