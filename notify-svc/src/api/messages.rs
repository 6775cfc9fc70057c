//! `/messages`: a shopper's messages.

use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use shop_kit::ApiResult;
use shop_kit::auth::UserAuth;
use shop_kit::page::{Page, PageRequest};
use uuid::Uuid;

use super::{Message, Tag};
use crate::store::NotifyStore;

pub struct MessagesApi {
    pub store: NotifyStore,
}

#[derive(ApiResponse)]
enum MessagePage {
    /// A page of the caller's messages, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<Message>>),
}

#[OpenApi(tag = "Tag::Messages")]
impl MessagesApi {
    /// Your messages
    ///
    /// Your messages, newest first, optionally about one order (`order_id`), a page at a time.
    #[oai(path = "/messages", method = "get", operation_id = "list_messages")]
    async fn list(
        &self,
        auth: UserAuth,
        order_id: Query<Option<Uuid>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<i64>>,
        #[oai(validator(max_length = 128))] cursor: Query<Option<String>>,
    ) -> ApiResult<MessagePage> {
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = self
            .store
            .messages(auth.0.user_id, order_id.0, page)
            .await?;
        let rows = rows.into_iter().map(Message::from).collect();
        Ok(MessagePage::Ok(Json(Page::from_rows(
            rows,
            page.limit,
            |m| m.id,
        ))))
    }
}
