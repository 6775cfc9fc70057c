//! payment-svc's tables.

/// One account per user.
pub mod account {
    use sea_orm::entity::prelude::*;

    /// A user's money: available, held for orders in flight, and captured by completed orders.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub balance: i64,
        pub reserved: i64,
        pub captured: i64,
        pub deposited: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Funds held for orders, one row per order.
pub mod reservation {
    use sea_orm::entity::prelude::*;

    /// A reservation; a released mark left by an early release has no user and amount 0.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "fund_reservations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: Uuid,
        pub user_id: Option<Uuid>,
        pub amount: i64,
        pub state: shop_kit::contract::ReservationState,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Deposits, with the client's idempotency key and the answer given.
pub mod deposit {
    use sea_orm::entity::prelude::*;

    /// One deposit.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deposits")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub amount: i64,
        pub idempotency_key: Option<String>,
        pub balance_after: i64,
        pub reserved_after: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
