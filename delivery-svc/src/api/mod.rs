//! delivery-svc's HTTP API.

mod couriers;
mod deliveries;
mod internal;

use crate::store::DeliveryStore;

/// Every operation of delivery-svc.
pub fn apis(store: DeliveryStore) -> impl poem_openapi::OpenApi {
    (
        couriers::CouriersApi {
            store: store.clone(),
        },
        deliveries::DeliveriesApi {
            store: store.clone(),
        },
        store.reservations_api(),
    )
}

#[derive(poem_openapi::Tags)]
enum Tag {
    /// Couriers (admins only).
    Couriers,
    /// A shopper's deliveries.
    Deliveries,
}
