//! `/products`: the public catalogue, and its administration.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shop_kit::JsonBody;
use shop_kit::auth::UserAuth;
use shop_kit::contract::stock::Product;
use shop_kit::page::{Page, PageRequest};
use shop_kit::{ApiError, ApiResult, FieldErrors};
use uuid::Uuid;

use super::Tag;
use crate::domain::{Price, ProductName, Units};
use crate::error::Error;
use crate::store::StockStore;

pub struct ProductsApi {
    pub store: StockStore,
}

/// A new product.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
struct NewProduct {
    /// 1..=200 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"\S"))]
    name: String,
    /// Unit price in cents, 1..=10^10.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000000000")))]
    price: i64,
    /// Units in stock, 0..=10^9.
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    quantity: i64,
}

impl poem_openapi::types::Example for NewProduct {
    fn example() -> Self {
        Self {
            name: "Green tea, 100 g".into(),
            price: 450,
            quantity: 100,
        }
    }
}

/// Changes to a product; absent fields stay as they are.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
struct ProductChanges {
    /// 1..=200 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"\S"))]
    name: Option<String>,
    /// Unit price in cents, 1..=10^10.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000000000")))]
    price: Option<i64>,
}

impl poem_openapi::types::Example for ProductChanges {
    fn example() -> Self {
        Self {
            name: None,
            price: Some(500),
        }
    }
}

/// Units to add.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
struct Restock {
    /// 1..=10^9.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000000")))]
    quantity: i64,
}

impl poem_openapi::types::Example for Restock {
    fn example() -> Self {
        Self { quantity: 50 }
    }
}

#[derive(ApiResponse)]
enum ProductResponse {
    /// The product.
    #[oai(status = 200)]
    Ok(Json<Product>),
    /// The product was created.
    #[oai(status = 201)]
    Created(Json<Product>),
}

#[derive(ApiResponse)]
enum ProductPage {
    /// A page of products, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<Product>>),
}

#[OpenApi(tag = "Tag::Products")]
impl ProductsApi {
    /// List products
    ///
    /// The catalogue, newest first, a page at a time (`limit`, then `cursor` from `next_cursor`).
    /// No token needed.
    #[oai(path = "/products", method = "get", operation_id = "list_products")]
    async fn list(
        &self,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<i64>>,
        #[oai(validator(max_length = 128))] cursor: Query<Option<String>>,
    ) -> ApiResult<ProductPage> {
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = self.store.products(page).await?;
        Ok(ProductPage::Ok(Json(Page::from_rows(
            rows,
            page.limit,
            |p| p.id,
        ))))
    }

    /// Get a product
    ///
    /// No token needed.
    ///
    /// 200: the product.
    /// 404: no such product.
    #[oai(path = "/products/:id", method = "get", operation_id = "get_product")]
    async fn get(&self, id: Path<Uuid>) -> ApiResult<ProductResponse> {
        let product = self.store.product(id.0).await?;
        product
            .map(|p| ProductResponse::Ok(Json(p)))
            .ok_or_else(|| Error::NoSuchProduct.into())
    }

    /// Add a product (admin)
    ///
    /// Adds a product with its price in cents and the units in stock.
    ///
    /// 201: added; the product as stored.
    /// 403: only admins add products.
    #[oai(path = "/products", method = "post", operation_id = "create_product")]
    async fn create(
        &self,
        auth: UserAuth,
        body: JsonBody<NewProduct>,
    ) -> ApiResult<ProductResponse> {
        auth.0.require_admin()?;
        let (name, price, quantity) = match (
            ProductName::parse(&body.name),
            Price::parse(body.price),
            Units::initial(body.quantity),
        ) {
            (Ok(name), Ok(price), Ok(quantity)) => (name, price, quantity),
            (name, price, quantity) => {
                return Err(ApiError::invalid_fields([
                    ("name", name.err()),
                    ("price", price.err()),
                    ("quantity", quantity.err()),
                ]));
            }
        };
        let product = self.store.create(name, price, quantity).await?;
        Ok(ProductResponse::Created(Json(product)))
    }

    /// Change a product (admin)
    ///
    /// Changes its name or price; orders already placed keep the price they were placed at.
    ///
    /// 200: the product as changed.
    /// 403: only admins change products.
    /// 404: no such product.
    #[oai(path = "/products/:id", method = "patch", operation_id = "update_product")]
    async fn update(
        &self,
        auth: UserAuth,
        id: Path<Uuid>,
        body: JsonBody<ProductChanges>,
    ) -> ApiResult<ProductResponse> {
        auth.0.require_admin()?;
        let mut errors = FieldErrors::default();
        let name = errors.check_opt("name", body.name.as_deref(), ProductName::parse);
        let price = errors.check_opt("price", body.price, Price::parse);
        errors.finish()?;
        let product = self.store.update(id.0, name, price).await?;
        product
            .map(|p| ProductResponse::Ok(Json(p)))
            .ok_or_else(|| Error::NoSuchProduct.into())
    }

    /// Restock a product (admin)
    ///
    /// Adds `quantity` units to what can be ordered.
    ///
    /// 200: the product with its new stock.
    /// 403: only admins restock.
    /// 404: no such product.
    #[oai(path = "/products/:id/restock", method = "post", operation_id = "restock_product")]
    async fn restock(
        &self,
        auth: UserAuth,
        id: Path<Uuid>,
        body: JsonBody<Restock>,
    ) -> ApiResult<ProductResponse> {
        auth.0.require_admin()?;
        let quantity =
            Units::moved(body.quantity).map_err(|m| ApiError::invalid_field("quantity", m))?;
        let product = self.store.restock(id.0, quantity).await?;
        product
            .map(|p| ProductResponse::Ok(Json(p)))
            .ok_or_else(|| Error::NoSuchProduct.into())
    }
}
