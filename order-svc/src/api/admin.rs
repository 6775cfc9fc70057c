//! `/admin/orders`: every order, for admins.

use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use shop_kit::auth::UserAuth;
use shop_kit::page::{Page, PageRequest};
use shop_kit::{ApiError, ApiResult};
use uuid::Uuid;

use super::{Order, Tag, parse_status};
use crate::saga::SagaRunner;
use crate::store::OrderFilter;

pub struct AdminApi {
    pub runner: SagaRunner,
}

#[derive(ApiResponse)]
enum OrderPage {
    /// A page of orders, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<Order>>),
}

#[OpenApi(tag = "Tag::Admin")]
impl AdminApi {
    /// All orders, newest first, optionally of one status or one user (admins only).
    #[oai(
        path = "/admin/orders",
        method = "get",
        operation_id = "admin_list_orders"
    )]
    async fn list(
        &self,
        auth: UserAuth,
        status: Query<Option<String>>,
        user_id: Query<Option<Uuid>>,
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<OrderPage> {
        auth.0.require_admin()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let filter = OrderFilter {
            user_id: user_id.0,
            status: parse_status(status.0.as_deref())?,
        };
        let rows = self
            .runner
            .store
            .orders(filter, page)
            .await
            .map_err(|e| ApiError::unavailable(&e))?;
        let rows = rows.into_iter().map(Order::from).collect();
        Ok(OrderPage::Ok(Json(Page::from_rows(
            rows,
            page.limit,
            |o| o.id,
        ))))
    }
}
