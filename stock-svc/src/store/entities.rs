//! stock-svc's tables.

/// The catalogue.
pub mod product {
    use sea_orm::entity::prelude::*;

    /// A product with its stock: `available` to order, `reserved` by orders in flight, `sold`
    /// to completed orders, `returned` by cancelled ones, and `stocked` (every unit ever
    /// added) for the audit: `stocked = available + reserved + sold − returned`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "products")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub price: i64,
        pub available: i64,
        pub reserved: i64,
        pub sold: i64,
        pub stocked: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub returned: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Stock held for orders, one row per order.
pub mod reservation {
    use sea_orm::entity::prelude::*;

    /// A reservation; a released mark left by an early release has no product. `product_id` is
    /// the first line's product and `quantity` the units of all lines; `items` holds the lines
    /// as JSON (`[{"product_id":…,"quantity":…}]`) when there is more than one.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "stock_reservations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: Uuid,
        pub product_id: Option<Uuid>,
        pub quantity: i64,
        pub state: shop_kit::contract::ReservationState,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub items: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
