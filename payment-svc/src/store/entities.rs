//! payment-svc's tables.

/// One account per user.
pub mod account {
    use sea_orm::entity::prelude::*;

    /// A user's money: available, held for orders in flight, captured by completed orders, and
    /// refunded (captured, then given back by a cancellation):
    /// `deposited = balance + reserved + captured − refunded`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub balance: i64,
        pub reserved: i64,
        pub captured: i64,
        pub deposited: i64,
        pub refunded: i64,
        /// How many statement entries the account has (the last one's `seq`).
        pub entries: i64,
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

/// The statement: every movement of an account's money.
pub mod entry {
    use sea_orm::entity::prelude::*;

    /// What moved an account's money. Stored as its name; any other value fails to load.
    #[derive(
        Debug,
        Clone,
        Copy,
        PartialEq,
        Eq,
        EnumIter,
        DeriveActiveEnum,
        poem_openapi::Enum,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    #[oai(rename_all = "snake_case")]
    #[serde(rename_all = "snake_case")]
    pub enum Kind {
        /// Money paid in: `amount` is added to the balance.
        #[sea_orm(string_value = "deposit")]
        Deposit,
        /// Money held for an order: `amount` (negative) leaves the balance for `reserved`.
        #[sea_orm(string_value = "reserve")]
        Reserve,
        /// Held money captured by a completed order: 0 on the balance, `reserved` drops.
        #[sea_orm(string_value = "capture")]
        Capture,
        /// Held money given back: `amount` returns from `reserved` to the balance.
        #[sea_orm(string_value = "release")]
        Release,
        /// Captured money given back by a cancelled order: `amount` is added to the balance.
        #[sea_orm(string_value = "refund")]
        Refund,
    }

    /// One movement, numbered per account (`seq` 1, 2, …): `balance_after` is the previous
    /// entry's plus `amount`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_entries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub seq: i64,
        pub kind: Kind,
        pub amount: i64,
        pub balance_after: i64,
        pub reserved_after: i64,
        pub order_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
