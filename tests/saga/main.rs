//! The order saga end to end over real HTTP between the services, on SQLite or PostgreSQL:
//! the happy path, orders of several products, every refusal with its compensations, the
//! refund saga of a cancellation, the participants' protocol, races,
//! idempotency keys, injected faults, crashes at every step boundary, graceful shutdown, and a
//! seeded random simulation. Every test ends with the shop's invariants.
#![allow(clippy::unwrap_used)]

pub mod attention;
mod audit;
mod blips;
mod connections;
pub mod crashes;
mod faults;
mod happy;
mod history;
mod idempotency;
mod loyalty;
mod multi;
mod participants;
mod races;
mod recovery;
pub mod refunds;
mod refusals;
mod replicas;
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
        Self::stocked(shop, funds, price, units, capacity).await
    }

    /// Like [`World::tuned`], in a shop whose saga has the test-only loyalty participant
    /// first, before payment; every shopper has as many points as funds.
    pub async fn loyal(
        funds: i64,
        price: i64,
        units: i64,
        capacity: i64,
        tune: impl FnOnce(&mut order_svc::Config),
    ) -> Self {
        let shop = TestShop::spawn_loyal(0, tune).await;
        Self::stocked(shop, funds, price, units, capacity).await
    }

    async fn stocked(shop: TestShop, funds: i64, price: i64, units: i64, capacity: i64) -> Self {
        let admin = shop.api.admin().await;
        let ann = shop.api.register("ann").await;
        let mut w = Self {
            shop,
            admin,
            ann,
            product: Uuid::nil(),
            courier: Uuid::nil(),
        };
        w.fund(&w.ann, funds).await;
        w.product = w.shop.api.add_product(&w.admin, price, units).await;
        w.courier = w.shop.api.add_courier(&w.admin, capacity).await;
        w
    }

    /// Whether the shop's saga has the loyalty participant.
    pub fn is_loyal(&self) -> bool {
        self.shop.services.loyalty.is_some()
    }

    /// Deposits `funds` for `s` (and grants as many points in a loyal shop).
    pub async fn fund(&self, s: &Shopper, funds: i64) {
        if funds > 0 {
            let (status, body) = self.shop.api.deposit(s, funds).await;
            assert_eq!(status, 200, "deposit: {body}");
        }
        if self.is_loyal() {
            self.shop.grant_points(s, funds).await;
        }
    }

    /// A new shopper with `funds` (and as many points in a loyal shop).
    pub async fn shopper(&self, name: &str, funds: i64) -> Shopper {
        let s = self.shop.api.register(name).await;
        self.fund(&s, funds).await;
        s
    }

    /// Asserts `s` has `free` funds (and points in a loyal shop) and nothing reserved.
    pub async fn assert_free(&self, s: &Shopper, free: i64, what: &str) {
        assert_eq!(self.shop.api.balance(s).await, (free, 0), "{what}: funds");
        if self.is_loyal() {
            assert_eq!(self.shop.points(s).await, (free, 0), "{what}: points");
        }
    }
}
