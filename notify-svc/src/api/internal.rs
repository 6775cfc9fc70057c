//! `/internal/messages`: delivery of messages by other services.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use shop_kit::ApiResult;
use shop_kit::JsonBody;
use shop_kit::auth::InternalAuth;
use shop_kit::contract::notify::SendMessage;

use super::{Message, Tag};
use crate::error::Error;
use crate::store::{NotifyStore, Stored};

pub struct InternalApi {
    pub store: NotifyStore,
    pub streams: std::sync::Arc<super::Streams>,
}

#[derive(ApiResponse)]
enum SendResponse {
    /// Delivered before: the same message is not stored twice.
    #[oai(status = 200)]
    Ok(Json<Message>),
    /// Delivered.
    #[oai(status = 201)]
    Created(Json<Message>),
}

#[OpenApi(prefix_path = "/internal", tag = "Tag::Internal")]
impl InternalApi {
    /// Send a message
    ///
    /// Delivers a message to a user, once per message id (order-svc's outbox calls it).
    ///
    /// 409: another message was sent under this id.
    #[oai(path = "/messages", method = "post", operation_id = "send_message")]
    async fn send(
        &self,
        _auth: InternalAuth,
        body: JsonBody<SendMessage>,
    ) -> ApiResult<SendResponse> {
        if body.text.trim().is_empty() {
            return Err(Error::BlankText.into());
        }
        match self.store.store(&body).await? {
            Stored::New(m) => {
                self.streams.stored(m.user_id);
                Ok(SendResponse::Created(Json(m.into())))
            }
            Stored::Repeat(m) => Ok(SendResponse::Ok(Json(m.into()))),
            Stored::Conflict => Err(Error::IdTaken.into()),
        }
    }
}
