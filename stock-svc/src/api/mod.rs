//! stock-svc's HTTP API.

mod internal;
mod products;

use crate::store::StockStore;

/// Every operation of stock-svc.
pub fn apis(store: StockStore) -> impl poem_openapi::OpenApi {
    (
        products::ProductsApi {
            store: store.clone(),
        },
        store.reservations_api(),
    )
}

#[derive(poem_openapi::Tags)]
enum Tag {
    /// The public catalogue and its administration.
    Products,
}
