//! `GET /messages/stream`: a shopper's new messages as Server-Sent Events.
//!
//! A stream reads the shopper's messages from the database in the order they were stored
//! (`seq`), after the one named by `Last-Event-ID` or, without it, after the last one stored when
//! it opened. It reads again when this instance stores a message for the shopper, and at least
//! every second, so that a message stored through another replica arrives too. It reads only
//! when the client has taken what it sent, so a slow reader holds at most one page of messages
//! and never blocks the writer. Each shopper may hold a few streams open, and the instance a
//! bounded number in all.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use poem::IntoResponse;
use poem_openapi::param::Header;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, OpenApi};
use shop_kit::auth::UserAuth;
use shop_kit::{ApiError, ApiResult};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Message, Tag};
use crate::store::{NotifyStore, message};

/// Streams one shopper may hold open at once.
const PER_USER: usize = 4;
/// Streams one instance holds open at once.
const IN_ALL: usize = 1024;
/// How long a stream waits before it looks for messages stored through another replica.
const POLL: Duration = Duration::from_secs(1);
/// Messages read from the database at a time.
const PAGE: u64 = 100;
/// A comment is sent on an idle stream this often, so that proxies keep it open (and a client
/// that went away is noticed, its place given back).
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// The open streams of one instance, and the signal that a message was stored.
pub struct Streams {
    stored: broadcast::Sender<Uuid>,
    open: Mutex<HashMap<Uuid, usize>>,
    gauge: prometheus::IntGauge,
    stopping: CancellationToken,
}

impl Streams {
    /// No stream open yet; `shop_sse_streams_open` on `registry` counts them, and every stream
    /// ends when `stopping` is cancelled (the instance shuts down; clients resume elsewhere with
    /// `Last-Event-ID`).
    pub fn new(
        registry: &prometheus::Registry,
        stopping: CancellationToken,
    ) -> prometheus::Result<Arc<Self>> {
        let gauge = prometheus::IntGauge::new(
            "shop_sse_streams_open",
            "Message streams (GET /messages/stream) open on this instance.",
        )?;
        registry.register(Box::new(gauge.clone()))?;
        Ok(Arc::new(Self {
            stored: broadcast::channel(1024).0,
            open: Mutex::new(HashMap::new()),
            gauge,
            stopping,
        }))
    }

    /// Tells the streams of `user_id` on this instance that a message was stored. Never waits.
    pub fn stored(&self, user_id: Uuid) {
        let _ = self.stored.send(user_id);
    }

    /// Takes a place for one more stream of `user_id`, or says why not.
    fn admit(self: &Arc<Self>, user_id: Uuid) -> Result<Place, ApiError> {
        let mut open = self
            .open
            .lock()
            .map_err(|_| ApiError::busy("the stream registry is unavailable", 1))?;
        let total: usize = open.values().sum();
        let mine = open.entry(user_id).or_insert(0);
        if *mine >= PER_USER {
            return Err(ApiError::too_many(
                format!("at most {PER_USER} message streams per user are open at once"),
                5,
            ));
        }
        if total >= IN_ALL {
            return Err(ApiError::busy("too many message streams are open", 5));
        }
        *mine += 1;
        self.gauge.inc();
        Ok(Place {
            streams: self.clone(),
            user_id,
        })
    }
}

/// One stream's place; given back when the stream ends (the client went away).
struct Place {
    streams: Arc<Streams>,
    user_id: Uuid,
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Ok(mut open) = self.streams.open.lock()
            && let Some(n) = open.get_mut(&self.user_id)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.user_id);
            }
        }
        self.streams.gauge.dec();
    }
}

/// What a stream sends next.
enum Item {
    /// A message.
    Message(Box<message::Model>),
    /// A keep-alive comment: nothing was sent for `KEEP_ALIVE`.
    KeepAlive,
}

impl Item {
    /// The item as Server-Sent Events text: `id:`, `event: message` and `data:` lines, or a
    /// comment.
    fn encode(self) -> String {
        match self {
            Item::Message(m) => {
                let m = Message::from(*m);
                format!(
                    "id: {}\nevent: message\ndata: {}\n\n",
                    m.id,
                    m.to_json_string()
                )
            }
            Item::KeepAlive => ": keep-alive\n\n".to_owned(),
        }
    }
}

/// Where a stream stands.
struct Cursor {
    store: NotifyStore,
    user_id: Uuid,
    seq: i64,
    page: VecDeque<message::Model>,
    stored: broadcast::Receiver<Uuid>,
    stopping: CancellationToken,
    /// When the caller's token expires: the stream ends then (the client reconnects with a
    /// fresh token and `Last-Event-ID`).
    expires: tokio::time::Instant,
    _place: Place,
}

impl Cursor {
    /// The next message, or a keep-alive after `KEEP_ALIVE` without one; `None` ends the
    /// stream (the client reconnects with `Last-Event-ID`).
    async fn next(mut self) -> Option<(Item, Self)> {
        let idle_since = tokio::time::Instant::now();
        loop {
            if self.stopping.is_cancelled() || tokio::time::Instant::now() >= self.expires {
                return None;
            }
            if let Some(m) = self.page.pop_front() {
                self.seq = m.seq;
                return Some((Item::Message(Box::new(m)), self));
            }
            if idle_since.elapsed() >= KEEP_ALIVE {
                return Some((Item::KeepAlive, self));
            }
            match self.store.after(self.user_id, self.seq, PAGE).await {
                Ok(rows) if !rows.is_empty() => {
                    self.page.extend(rows);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, user_id = %self.user_id, "a message stream ends: reading failed");
                    return None;
                }
            }
            let poll =
                tokio::time::sleep(POLL.min(KEEP_ALIVE.saturating_sub(idle_since.elapsed())));
            tokio::pin!(poll);
            loop {
                tokio::select! {
                    _ = &mut poll => break,
                    _ = self.stopping.cancelled() => return None,
                    _ = tokio::time::sleep_until(self.expires) => return None,
                    stored = self.stored.recv() => match stored {
                        Ok(user_id) if user_id == self.user_id => break,
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => return None,
                    },
                }
            }
        }
    }
}

pub struct StreamApi {
    pub store: NotifyStore,
    pub streams: Arc<Streams>,
}

/// A `text/event-stream` body of messages.
struct Events(BoxStream<'static, Item>);

impl Payload for Events {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            items: Some(Box::new(Message::schema_ref())),
            ..MetaSchema::new_with_format("array", "event-stream")
        }))
    }

    fn register(registry: &mut Registry) {
        Message::register(registry);
    }
}

impl IntoResponse for Events {
    fn into_response(self) -> poem::Response {
        let body = self.0.map(|item| Ok::<_, std::io::Error>(item.encode()));
        poem::Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .header("Cache-Control", "no-cache")
            .body(poem::Body::from_bytes_stream(body))
    }
}

#[derive(ApiResponse)]
enum StreamResponse {
    /// Server-Sent Events: `id:` the message id, `event: message`, `data:` the message as JSON;
    /// a `:` comment after 5 s without a message.
    #[oai(status = 200)]
    Ok(Events),
}

#[OpenApi(tag = "Tag::Messages")]
impl StreamApi {
    /// Your messages, live
    ///
    /// Your new messages as they arrive, as Server-Sent Events (`id:` the message id, `data:` the
    /// message as JSON; a comment every 5 s when there is none). With `Last-Event-ID` the messages
    /// stored after that one come first. The stream ends when your token expires: reconnect with a
    /// fresh token and `Last-Event-ID`. Swagger UI shows the events only once the stream ends; use
    /// `curl -N` to watch them.
    ///
    /// 429: you have 4 streams open already.
    #[oai(path = "/messages/stream", method = "get", operation_id = "stream_messages")]
    async fn stream(
        &self,
        auth: UserAuth,
        #[oai(name = "Last-Event-ID", validator(max_length = 64))] last_event_id: Header<
            Option<String>,
        >,
    ) -> ApiResult<StreamResponse> {
        let user_id = auth.0.user_id;
        let seq = match last_event_id.0.as_deref() {
            None => self.store.last_seq(user_id).await?,
            Some(raw) => {
                let id = Uuid::parse_str(raw.trim()).ok();
                let seq = match id {
                    Some(id) => self.store.seq_of(user_id, id).await?,
                    None => None,
                };
                seq.ok_or_else(|| {
                    ApiError::invalid_field("Last-Event-ID", "is not one of your message ids")
                })?
            }
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let left = Duration::from_secs(auth.0.expires_at.saturating_sub(now));
        let cursor = Cursor {
            store: self.store.clone(),
            user_id,
            seq,
            page: VecDeque::new(),
            stored: self.streams.stored.subscribe(),
            stopping: self.streams.stopping.clone(),
            expires: tokio::time::Instant::now() + left,
            _place: self.streams.admit(user_id)?,
        };
        let items = futures_util::stream::unfold(cursor, Cursor::next).boxed();
        Ok(StreamResponse::Ok(Events(items)))
    }
}
