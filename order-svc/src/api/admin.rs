//! `/admin/orders`: every order, for admins.

use std::time::Duration;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shop_kit::auth::UserAuth;
use shop_kit::page::{Page, PageRequest};
use uuid::Uuid;

use super::answers::{SagaAnswer, answer};
use super::progress::{Progress, within};
use super::{Order, Tag, deadline_in, drive_within, order_page};
use crate::audit;
use crate::domain::OrderStatus;
use crate::domain::history::{self, Event};
use crate::error::{ApiResult, Error};
use crate::saga::SagaRunner;
use crate::store::OrderFilter;

pub struct AdminApi {
    pub runner: SagaRunner,
    pub request_deadline: Duration,
}

#[derive(ApiResponse)]
pub(super) enum RetryResponse {
    /// The saga finished: the order is completed, cancelled or refunded.
    #[oai(status = 200)]
    Finished(Json<Order>),
    /// The saga goes on in the background (or was set aside again).
    #[oai(status = 202)]
    Accepted(Json<Order>, #[oai(header = "Location")] String),
}

impl SagaAnswer for RetryResponse {
    fn parts(&self) -> (u16, &Order) {
        match self {
            Self::Finished(o) => (200, &o.0),
            Self::Accepted(o, _) => (202, &o.0),
        }
    }

    fn rebuild(status: u16, order: Order) -> Option<Self> {
        let location = format!("/orders/{}", order.id);
        match status {
            200 => Some(Self::Finished(Json(order))),
            202 => Some(Self::Accepted(Json(order), location)),
            _ => None,
        }
    }
}

/// An order's saga history.
#[derive(Object, Debug, Clone)]
struct OrderHistory {
    /// The order.
    order_id: Uuid,
    /// Its status now.
    status: String,
    /// The step its saga is at (`done` when it is over).
    step: String,
    /// Everything that happened to it, oldest first: recorded, each call to a participant with
    /// its answer, pauses, takeovers, re-drives, the end. Orders recorded before the history
    /// was kept have none.
    events: Vec<Event>,
}

#[derive(ApiResponse)]
enum HistoryResponse {
    /// The order's history.
    #[oai(status = 200)]
    Ok(Json<OrderHistory>),
}

#[derive(ApiResponse)]
enum OrderPage {
    /// A page of orders, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<Order>>),
}

#[OpenApi(tag = "Tag::Admin")]
impl AdminApi {
    /// List all orders (admin)
    ///
    /// Every order, newest first, optionally of one `status` (`needs_attention`: the orders an admin
    /// should look at) or one user, a page at a time.
    ///
    /// 403: only admins list every order.
    #[oai(path = "/admin/orders", method = "get", operation_id = "admin_list_orders")]
    async fn list(
        &self,
        auth: UserAuth,
        status: Query<Option<OrderStatus>>,
        user_id: Query<Option<Uuid>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<i64>>,
        #[oai(validator(max_length = 128))] cursor: Query<Option<String>>,
    ) -> ApiResult<OrderPage> {
        auth.0.require_admin()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let filter = OrderFilter {
            user_id: user_id.0,
            status: status.0,
        };
        Ok(OrderPage::Ok(
            order_page(&self.runner.store, filter, page).await?,
        ))
    }

    /// An order's saga history (admin)
    ///
    /// Everything the saga did for an order, oldest first: the calls it made (to which participant,
    /// which action, which attempt, what the participant answered, how long it took, in which
    /// trace), the step each reached, pauses, takeovers after a restart, re-drives and who asked for
    /// them, and the outcome.
    ///
    /// 403: only admins read histories.
    /// 404: no such order.
    #[oai(path = "/admin/orders/:id/history", method = "get", operation_id = "admin_order_history")]
    async fn history(&self, auth: UserAuth, id: Path<Uuid>) -> ApiResult<HistoryResponse> {
        auth.0.require_admin()?;
        let found = self.runner.store.order(id.0).await?;
        let o = found.ok_or(Error::NoSuchOrder)?;
        Ok(HistoryResponse::Ok(Json(OrderHistory {
            order_id: o.id,
            events: history::parse(&o.history),
            status: o.status,
            step: o.step,
        })))
    }

    /// Re-drive an order (admin)
    ///
    /// Drives an order set aside as `needs_attention` (or a pending one waiting for its next
    /// attempt) on at once, with its attempts cleared: 200 when the saga finishes within the request
    /// deadline, 202 when it goes on in the background. Its history says who re-drove it.
    ///
    /// 403: only admins re-drive orders.
    /// 404: no such order.
    /// 409: the order is finished, or being driven right now.
    #[oai(path = "/admin/orders/:id/retry", method = "post", operation_id = "admin_retry_order")]
    async fn retry(&self, auth: UserAuth, id: Path<Uuid>) -> ApiResult<RetryResponse> {
        auth.0.require_admin()?;
        let until = deadline_in(self.request_deadline);
        let progress = Progress::default();
        let retrying = self.redrive(auth.0.user_id, id.0, until, &progress);
        within(until, &self.runner.store, progress.clone(), retrying).await
    }
}

#[derive(ApiResponse)]
enum AuditResponse {
    /// A page of the audit: the disagreements in its range of orders.
    #[oai(status = 200)]
    Ok(Json<audit::AuditPage>),
}

#[derive(ApiResponse)]
enum RepairResponse {
    /// A page of repairs: made, or (a dry run) planned.
    #[oai(status = 200)]
    Ok(Json<audit::RepairPage>),
}

/// `/admin/audit`: the books audit and its repairs.
pub struct AuditApi {
    pub runner: SagaRunner,
}

#[OpenApi(tag = "Tag::Admin")]
impl AuditApi {
    /// Audit the books (admin)
    ///
    /// Compares every finished order with what payment, stock and delivery hold for it (each
    /// through its own `GET /internal/reservations`), a range of orders at a time: from the
    /// first, or `after` an order id (a page's `next`), at most `limit` orders (1 to 1000,
    /// default 500). Each disagreement is named by kind (`held_for_finished`, `held_for_unknown`,
    /// `captured_for_unknown`, `captured_for_cancelled`, `unconfirmed`, `refund_half_done`) with
    /// its remedy. Orders that changed within the last minute are still moving and left for the
    /// next audit. Nothing is changed.
    ///
    /// 403: only admins audit.
    /// 503: a participant did not answer; nothing is known of this page.
    #[oai(path = "/admin/audit", method = "get", operation_id = "admin_audit")]
    async fn audit(
        &self,
        auth: UserAuth,
        after: Query<Option<Uuid>>,
        #[oai(
            default = "shop_kit::page::long_page_size",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<AuditResponse> {
        auth.0.require_admin()?;
        let page = audit::page(&self.runner, after.0, limit.0).await?;
        Ok(AuditResponse::Ok(Json(page)))
    }

    /// Repair the books (admin)
    ///
    /// Audits a page as `GET /admin/audit` does and, with `apply=true`, repairs each
    /// disagreement through the participants' own operations and the saga: a reservation held
    /// for a finished or unknown order is released, a refund half done is finished, a completed
    /// order's missing confirmation is re-driven (a participant with nothing to confirm refuses
    /// it, and the order is set aside), what only a person can decide is set aside as
    /// `needs_attention`, and money or stock captured for an unknown order is listed as
    /// `manual`. Without `apply` (the default) it changes nothing and says what it would do.
    /// Each repair is in the order's history, with the admin who asked.
    ///
    /// 403: only admins repair.
    /// 503: a participant did not answer; what was repaired before is in the histories.
    #[oai(path = "/admin/audit/repair", method = "post", operation_id = "admin_audit_repair")]
    async fn repair(
        &self,
        auth: UserAuth,
        after: Query<Option<Uuid>>,
        #[oai(
            default = "shop_kit::page::long_page_size",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
        #[oai(default)] apply: Query<bool>,
    ) -> ApiResult<RepairResponse> {
        auth.0.require_admin()?;
        let by = Some(auth.0.user_id);
        let page = audit::repair(&self.runner, after.0, limit.0, apply.0, by).await?;
        Ok(RepairResponse::Ok(Json(page)))
    }
}

impl AdminApi {
    /// Claims order `id` for a re-drive by `admin` and drives it up to `until`; once the claim
    /// may be written, `progress` knows the order (a deadline then answers 202 with it).
    async fn redrive(
        &self,
        admin: Uuid,
        id: Uuid,
        until: tokio::time::Instant,
        progress: &Progress,
    ) -> ApiResult<RetryResponse> {
        let store = &self.runner.store;
        let found = store.order(id).await?.ok_or(Error::NoSuchOrder)?;
        progress.writing(&found);
        let claimed = store
            .claim_for_redrive(id, self.runner.lease_until(), admin)
            .await?;
        let Some(order) = claimed else {
            let found = store.order(id).await?.unwrap_or(found);
            return Err(Error::NotRedrivable {
                order_id: found.id,
                status: found.order_status()?,
            }
            .into());
        };
        tracing::info!(order_id = %order.id, step = %order.step, "an admin re-drives the order");
        let current = drive_within(&self.runner, order, until).await;
        let terminal = current.order_status()?.is_terminal();
        answer(if terminal { 200 } else { 202 }, current)
    }
}
