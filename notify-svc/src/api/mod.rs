//! notify-svc's HTTP API.

mod internal;
mod messages;
mod stream;

use std::sync::Arc;

pub use stream::Streams;

use crate::store::NotifyStore;

/// Every operation of notify-svc.
pub fn apis(store: NotifyStore, streams: Arc<Streams>) -> impl poem_openapi::OpenApi {
    (
        messages::MessagesApi {
            store: store.clone(),
        },
        stream::StreamApi {
            store: store.clone(),
            streams: streams.clone(),
        },
        internal::InternalApi { store, streams },
    )
}

#[derive(poem_openapi::Tags)]
enum Tag {
    /// A shopper's messages.
    Messages,
    /// Service-to-service calls.
    Internal,
}

/// A message as users see it.
#[derive(poem_openapi::Object, Debug, Clone)]
pub struct Message {
    /// The message's id.
    pub id: uuid::Uuid,
    /// The user it is for.
    pub user_id: uuid::Uuid,
    /// The order it is about.
    #[oai(nullable)]
    pub order_id: Option<uuid::Uuid>,
    /// What the user reads.
    pub text: String,
    /// When it was stored.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<crate::store::message::Model> for Message {
    fn from(m: crate::store::message::Model) -> Self {
        Self {
            id: m.id,
            user_id: m.user_id,
            order_id: m.order_id,
            text: m.text,
            created_at: m.created_at,
        }
    }
}
