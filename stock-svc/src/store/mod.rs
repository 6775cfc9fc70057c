//! The only place stock-svc touches its database.

mod entities;
mod migration;
mod units;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use shop_kit::contract::stock::Product;
use shop_kit::db::now;
use shop_kit::ledger;

use crate::domain::{Price, ProductName, Units};
use shop_kit::db::Db;
use shop_kit::page::PageRequest;
use uuid::Uuid;

pub use entities::{product, reservation};
pub use migration::Migrator;

impl shop_kit::db::Schema for Migrator {
    fn columns() -> shop_kit::db::Columns {
        shop_kit::db::Columns::default()
            .with::<product::Entity>()
            .with::<reservation::Entity>()
    }
}
pub use units::{UnitsLedger, lines};

/// The catalogue and stock reservations.
#[derive(Clone)]
pub struct StockStore {
    db: Db,
    metrics: ledger::LedgerMetrics,
}

impl StockStore {
    /// A store on `db`, counting its reservation protocol in `metrics`.
    pub fn new(db: Db, metrics: ledger::LedgerMetrics) -> Self {
        Self { db, metrics }
    }

    /// Adds a product with `quantity` units in stock.
    #[tracing::instrument(skip(self))]
    pub async fn create(
        &self,
        name: ProductName,
        price: Price,
        quantity: Units,
    ) -> Result<Product, DbErr> {
        let row = product::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(name.into()),
            price: Set(price.cents()),
            available: Set(quantity.get()),
            reserved: Set(0),
            sold: Set(0),
            stocked: Set(quantity.get()),
            returned: Set(0),
            created_at: Set(now()),
            updated_at: Set(now()),
        };
        Ok(to_product(
            shop_kit::db::insert_returning(&self.db, row).await?,
        ))
    }

    /// One product.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn product(&self, id: Uuid) -> Result<Option<Product>, DbErr> {
        Ok(product::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(to_product))
    }

    /// A page of the catalogue, newest first (`limit + 1` rows to tell whether more follow).
    pub async fn products(&self, page: PageRequest) -> Result<Vec<Product>, DbErr> {
        let mut query = product::Entity::find()
            .order_by_desc(product::Column::Id)
            .limit(page.limit + 1);
        if let Some(before) = page.before {
            query = query.filter(product::Column::Id.lt(before));
        }
        Ok(query
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_product)
            .collect())
    }

    /// Changes a product's name or price; `None` when it does not exist.
    #[tracing::instrument(skip(self))]
    pub async fn update(
        &self,
        id: Uuid,
        name: Option<ProductName>,
        price: Option<Price>,
    ) -> Result<Option<Product>, DbErr> {
        let Some(found) = product::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        let mut row: product::ActiveModel = found.into();
        if let Some(name) = name {
            row.name = Set(name.into());
        }
        if let Some(price) = price {
            row.price = Set(price.cents());
        }
        row.updated_at = Set(now());
        Ok(Some(to_product(
            shop_kit::db::update_returning(&self.db, row).await?,
        )))
    }

    /// Adds `quantity` units; `None` when the product does not exist or would overflow.
    #[tracing::instrument(skip(self))]
    pub async fn restock(&self, id: Uuid, quantity: Units) -> Result<Option<Product>, DbErr> {
        let quantity = quantity.get();
        let res = product::Entity::update_many()
            .col_expr(
                product::Column::Available,
                Expr::col(product::Column::Available).add(quantity),
            )
            .col_expr(
                product::Column::Stocked,
                Expr::col(product::Column::Stocked).add(quantity),
            )
            .col_expr(product::Column::UpdatedAt, Expr::value(now()))
            .filter(product::Column::Id.eq(id))
            .filter(product::Column::Stocked.lte(i64::MAX - quantity))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Ok(None);
        }
        self.product(id).await
    }

    /// Every product with its counters (for audits and tests).
    pub async fn all_products(&self) -> Result<Vec<product::Model>, DbErr> {
        product::Entity::find().all(&self.db).await
    }

    /// `/internal/reservations` over this store's ledger.
    pub fn reservations_api(&self) -> ledger::ReservationsApi<UnitsLedger> {
        ledger::ReservationsApi::new(UnitsLedger, self.db.clone(), self.metrics.clone())
    }

    /// Every reservation (for audits and tests).
    pub async fn reservations(&self) -> Result<Vec<reservation::Model>, DbErr> {
        reservation::Entity::find().all(&self.db).await
    }
}

fn to_product(p: product::Model) -> Product {
    Product {
        id: p.id,
        name: p.name,
        price: p.price,
        available: p.available,
    }
}
