//! The order saga end to end over real HTTP between the services, on SQLite or PostgreSQL:
//! the happy path, orders of several products, every refusal with its compensations, the
//! refund saga of a cancellation, the participants' protocol, races,
//! idempotency keys, injected faults, crashes at every step boundary, graceful shutdown, and a
//! seeded random simulation. Every test ends with the shop's invariants.
#![allow(clippy::unwrap_used)]

mod attention;
mod crashes;
mod faults;
mod happy;
mod idempotency;
mod multi;
mod participants;
mod races;
mod recovery;
mod refunds;
mod refusals;
mod shutdown;
mod simulation;
mod statement;
mod stored;

use shop_tests::{Shopper, TestShop};
use uuid::Uuid;

/// A shop with an admin, one shopper holding `funds`, a product of `price` with `units` in
/// stock, and one courier with `capacity` per day.
pub struct World {
    pub shop: TestShop,
    pub admin: Shopper,
    pub ann: Shopper,
    pub product: Uuid,
    pub courier: Uuid,
}

impl World {
    pub async fn new(funds: i64, price: i64, units: i64, capacity: i64) -> Self {
        Self::tuned(funds, price, units, capacity, |_| {}).await
    }

    /// Like [`World::new`], with order-svc's configuration adjusted.
    pub async fn tuned(
        funds: i64,
        price: i64,
        units: i64,
        capacity: i64,
        tune: impl FnOnce(&mut order_svc::Config),
    ) -> Self {
        let shop = TestShop::spawn_with(tune).await;
        let admin = shop.api.admin().await;
        let ann = shop.api.register("ann").await;
        if funds > 0 {
            let (status, body) = shop.api.deposit(&ann, funds).await;
            assert_eq!(status, 200, "deposit: {body}");
        }
        let product = shop.api.add_product(&admin, price, units).await;
        let courier = shop.api.add_courier(&admin, capacity).await;
        Self {
            shop,
            admin,
            ann,
            product,
            courier,
        }
    }
}
