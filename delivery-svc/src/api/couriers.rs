//! `/couriers`: courier administration (admins only).

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shop_kit::JsonBody;
use shop_kit::auth::UserAuth;
use shop_kit::page::{Page, PageRequest};
use shop_kit::{ApiError, ApiResult, FieldErrors};
use uuid::Uuid;

use super::Tag;
use crate::domain::{Capacity, CourierName};
use crate::error::Error;
use crate::store::{DeliveryStore, courier};

pub struct CouriersApi {
    pub store: DeliveryStore,
}

/// A courier.
#[derive(Object, Debug, Clone)]
struct Courier {
    id: Uuid,
    name: String,
    /// Deliveries per day.
    daily_capacity: i32,
    created_at: DateTime<Utc>,
}

impl From<courier::Model> for Courier {
    fn from(c: courier::Model) -> Self {
        Self {
            id: c.id,
            name: c.name,
            daily_capacity: c.daily_capacity,
            created_at: c.created_at,
        }
    }
}

/// A new courier.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
struct NewCourier {
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    name: String,
    /// Deliveries per day, 0..=10000.
    #[oai(validator(minimum(value = "0"), maximum(value = "10000")))]
    daily_capacity: i32,
}

impl poem_openapi::types::Example for NewCourier {
    fn example() -> Self {
        Self {
            name: "Kim Lee".into(),
            daily_capacity: 10,
        }
    }
}

/// Changes to a courier; absent fields stay as they are.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
struct CourierChanges {
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    name: Option<String>,
    /// Deliveries per day, 0..=10000.
    #[oai(validator(minimum(value = "0"), maximum(value = "10000")))]
    daily_capacity: Option<i32>,
}

impl poem_openapi::types::Example for CourierChanges {
    fn example() -> Self {
        Self {
            name: None,
            daily_capacity: Some(12),
        }
    }
}

#[derive(ApiResponse)]
enum CourierResponse {
    /// The courier.
    #[oai(status = 200)]
    Ok(Json<Courier>),
    /// The courier was added.
    #[oai(status = 201)]
    Created(Json<Courier>),
}

#[derive(ApiResponse)]
enum CourierPage {
    /// A page of couriers, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<Courier>>),
}

#[OpenApi(tag = "Tag::Couriers")]
impl CouriersApi {
    /// Add a courier (admin)
    ///
    /// Adds a courier with the number of deliveries a day it takes.
    ///
    /// 201: added; the courier as stored.
    /// 403: only admins add couriers.
    #[oai(path = "/couriers", method = "post", operation_id = "create_courier")]
    async fn create(
        &self,
        auth: UserAuth,
        body: JsonBody<NewCourier>,
    ) -> ApiResult<CourierResponse> {
        auth.0.require_admin()?;
        let (name, capacity) = match (
            CourierName::parse(&body.name),
            Capacity::parse(body.daily_capacity),
        ) {
            (Ok(name), Ok(capacity)) => (name, capacity),
            (name, capacity) => {
                return Err(ApiError::invalid_fields([
                    ("name", name.err()),
                    ("daily_capacity", capacity.err()),
                ]));
            }
        };
        let c = self.store.create_courier(name, capacity).await?;
        Ok(CourierResponse::Created(Json(c.into())))
    }

    /// List couriers (admin)
    ///
    /// The couriers, newest first, a page at a time.
    ///
    /// 403: only admins list couriers.
    #[oai(path = "/couriers", method = "get", operation_id = "list_couriers")]
    async fn list(
        &self,
        auth: UserAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<i64>>,
        #[oai(validator(max_length = 128))] cursor: Query<Option<String>>,
    ) -> ApiResult<CourierPage> {
        auth.0.require_admin()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = self.store.couriers(page).await?;
        let rows = rows.into_iter().map(Courier::from).collect();
        Ok(CourierPage::Ok(Json(Page::from_rows(
            rows,
            page.limit,
            |c| c.id,
        ))))
    }

    /// Change a courier (admin)
    ///
    /// Changes its name or daily capacity; days already booked beyond a lower capacity keep their
    /// bookings.
    ///
    /// 200: the courier as changed.
    /// 403: only admins change couriers.
    /// 404: no such courier.
    #[oai(path = "/couriers/:id", method = "patch", operation_id = "update_courier")]
    async fn update(
        &self,
        auth: UserAuth,
        id: Path<Uuid>,
        body: JsonBody<CourierChanges>,
    ) -> ApiResult<CourierResponse> {
        auth.0.require_admin()?;
        let mut errors = FieldErrors::default();
        let name = errors.check_opt("name", body.name.as_deref(), CourierName::parse);
        let capacity = errors.check_opt("daily_capacity", body.daily_capacity, Capacity::parse);
        errors.finish()?;
        let c = self.store.update_courier(id.0, name, capacity).await?;
        c.map(|c| CourierResponse::Ok(Json(c.into())))
            .ok_or_else(|| Error::NoSuchCourier.into())
    }
}
