//! delivery-svc's tables.

/// Couriers.
pub mod courier {
    use sea_orm::entity::prelude::*;

    /// A courier and how many deliveries a day it takes.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "couriers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub daily_capacity: i32,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// How many deliveries each courier has booked on each day.
pub mod courier_day {
    use sea_orm::entity::prelude::*;

    /// Bookings of one courier on one date.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "courier_days")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub courier_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub date: Date,
        pub booked: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Courier bookings held for orders, one row per order.
pub mod booking {
    use sea_orm::entity::prelude::*;

    /// A booking; a released mark left by an early release has no courier.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bookings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: Uuid,
        pub user_id: Option<Uuid>,
        pub courier_id: Option<Uuid>,
        pub courier_name: String,
        pub date: Option<Date>,
        pub state: shop_kit::contract::ReservationState,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
