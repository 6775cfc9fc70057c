//! order-svc's tables.

/// Orders with their saga state.
pub mod order {
    use sea_orm::entity::prelude::*;

    /// An order. `product_id`, `quantity` and `unit_price` are its line's; an order of several
    /// products keeps its lines in `items` (JSON) and there they are the first line's product
    /// and price and the units of all lines. `step`, `holding` (the participants that may hold
    /// something, by name) and `failure_reason` are the saga's durable state; `held` is their
    /// count, as the release before 2026-12-04 stored it, written on for its replicas in a rollout (`short_product_id`: the product a stock refusal named). `lease_owner`
    /// is the token of the claim that drives it (fresh for every claim, so a stale driver's
    /// writes fail) and `lease_until` when the claim runs out; a paused order has no owner and
    /// `lease_until` is its next attempt. `attempts` counts failed attempts at the current step.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "orders")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub product_id: Uuid,
        pub quantity: i64,
        pub unit_price: i64,
        pub total: i64,
        pub delivery_date: Date,
        pub status: String,
        pub step: String,
        pub held: i32,
        pub holding: String,
        pub failure_reason: Option<String>,
        pub courier_id: Option<Uuid>,
        pub lease_owner: Option<Uuid>,
        pub lease_until: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub attempts: i32,
        /// The W3C `traceparent` of the request that placed it.
        pub trace_parent: Option<String>,
        pub items: Option<String>,
        pub short_product_id: Option<Uuid>,
        /// The saga's history: one JSON object per line (`domain::history`).
        pub history: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    use crate::domain::{FailureReason, OrderStatus, SagaDefinition, SagaState};

    pub use crate::domain::PricedLine;

    /// A stored value that no domain type has: a row written by something else, never a
    /// fallback.
    fn corrupt(id: Uuid, column: &str, value: &str) -> DbErr {
        DbErr::Type(format!(
            "order {id}: {column} {value:?} is not a known value"
        ))
    }

    impl Model {
        /// Its status.
        pub fn order_status(&self) -> Result<OrderStatus, DbErr> {
            OrderStatus::parse(&self.status).ok_or_else(|| corrupt(self.id, "status", &self.status))
        }

        /// Why it was cancelled, if it was.
        pub fn reason(&self) -> Result<Option<FailureReason>, DbErr> {
            self.failure_reason
                .as_deref()
                .map(|r| {
                    FailureReason::parse(r).ok_or_else(|| corrupt(self.id, "failure_reason", r))
                })
                .transpose()
        }

        /// Its lines, in the order given.
        pub fn lines(&self) -> Result<Vec<PricedLine>, DbErr> {
            match &self.items {
                Some(items) => {
                    serde_json::from_str(items).map_err(|_| corrupt(self.id, "items", items))
                }
                None => Ok(vec![PricedLine {
                    product_id: self.product_id,
                    quantity: self.quantity,
                    unit_price: self.unit_price,
                }]),
            }
        }

        /// The order as the saga sees it.
        pub fn order(&self) -> Result<crate::domain::Order, DbErr> {
            Ok(crate::domain::Order {
                id: self.id,
                user_id: self.user_id,
                total: self.total,
                delivery_date: self.delivery_date,
                lines: self.lines()?,
            })
        }

        /// Its saga's durable state, as `saga` names steps and participants.
        pub fn saga_state(&self, saga: &SagaDefinition) -> Result<SagaState, DbErr> {
            let step = saga
                .parse_step(&self.step)
                .ok_or_else(|| corrupt(self.id, "step", &self.step))?;
            let counted = u8::try_from(self.held)
                .ok()
                .and_then(|n| saga.first(n))
                .ok_or_else(|| corrupt(self.id, "held", &self.held.to_string()))?;
            let named = saga
                .parse_held(&self.holding)
                .ok_or_else(|| corrupt(self.id, "holding", &self.holding))?;
            // A replica of the previous release, in a rollout, writes the count alone: where
            // the two disagree, the count is the newer write (it counts this release's
            // participants, which are the previous release's).
            let held = if named.count() == counted.count() {
                named
            } else {
                counted
            };
            Ok(SagaState {
                step,
                held,
                reason: self.reason()?,
            })
        }
    }
}

/// Messages to users, written with the order's outcome and sent by the outbox sender.
pub mod outbox {
    use sea_orm::entity::prelude::*;

    /// One message waiting for (or done with) delivery to notify-svc.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub order_id: Uuid,
        pub text: String,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub delivered_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        /// The W3C `traceparent` of the drive that queued it.
        pub trace_parent: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Client idempotency keys of `POST /orders`, with the first answer.
pub mod idempotency_key {
    use sea_orm::entity::prelude::*;

    /// A key, the fingerprint of its request, and the stored answer once there is one.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub fingerprint: String,
        pub response_status: Option<i32>,
        pub response_body: Option<String>,
        pub created_at: DateTimeUtc,
        pub order_id: Option<Uuid>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
