//! `/balance/transactions`: the statement, every movement of an account's money.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shop_kit::ApiResult;
use shop_kit::auth::UserAuth;
use shop_kit::page::{Page, PageRequest};
use uuid::Uuid;

use super::Tag;
use crate::store::{PaymentStore, entry};

pub struct StatementApi {
    pub store: PaymentStore,
}

/// One movement of the account's money. Entries chain: each `balance_after` is the previous
/// one plus `amount`.
#[derive(Object, Debug, Clone)]
struct Entry {
    /// The entry's id (UUID v7: newer entries sort after older ones).
    id: Uuid,
    /// What moved the money.
    kind: entry::Kind,
    /// Its signed effect on `balance`, in cents (a capture moves reserved money out: 0).
    amount: i64,
    /// The balance after it, in cents.
    balance_after: i64,
    /// The money held for orders in flight after it, in cents.
    reserved_after: i64,
    /// The order it was for; none for a deposit.
    #[oai(skip_serializing_if_is_none)]
    order_id: Option<Uuid>,
    /// When it happened.
    created_at: DateTime<Utc>,
}

impl From<entry::Model> for Entry {
    fn from(e: entry::Model) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            amount: e.amount,
            balance_after: e.balance_after,
            reserved_after: e.reserved_after,
            order_id: e.order_id,
            created_at: e.created_at,
        }
    }
}

#[derive(ApiResponse)]
enum StatementPage {
    /// A page of the statement, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<Entry>>),
}

impl StatementApi {
    async fn page(
        &self,
        user_id: Uuid,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> ApiResult<StatementPage> {
        let page = PageRequest::parse(limit, cursor)?;
        let rows = self.store.statement(user_id, page).await?;
        let rows = rows.into_iter().map(Entry::from).collect();
        Ok(StatementPage::Ok(Json(Page::from_rows(
            rows,
            page.limit,
            |e| e.id,
        ))))
    }
}

#[OpenApi(tag = "Tag::Balance")]
impl StatementApi {
    /// Your statement
    ///
    /// Every movement of your money, newest first: deposits, reservations for orders, captures,
    /// releases and refunds. Each entry is written in the same transaction as the balance change it
    /// records, so the statement always adds up to the balance. A page at a time (`limit`, then
    /// `cursor` from `next_cursor`).
    #[oai(path = "/balance/transactions", method = "get", operation_id = "get_statement")]
    async fn mine(
        &self,
        auth: UserAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<i64>>,
        #[oai(validator(max_length = 128))] cursor: Query<Option<String>>,
    ) -> ApiResult<StatementPage> {
        self.page(auth.0.user_id, limit.0, cursor.0.as_deref())
            .await
    }

    /// A user's statement (admin)
    ///
    /// Any user's statement, newest first, a page at a time.
    ///
    /// 403: only admins read other users' statements.
    #[oai(
        path = "/balance/:user_id/transactions",
        method = "get",
        operation_id = "get_user_statement"
    )]
    async fn of_user(
        &self,
        auth: UserAuth,
        user_id: Path<Uuid>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<i64>>,
        #[oai(validator(max_length = 128))] cursor: Query<Option<String>>,
    ) -> ApiResult<StatementPage> {
        auth.0.require_admin()?;
        self.page(user_id.0, limit.0, cursor.0.as_deref()).await
    }
}
