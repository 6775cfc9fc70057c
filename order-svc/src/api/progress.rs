//! What a saga request has written so far, so that the answer its deadline gives is true: 503
//! ("nothing was recorded") only while nothing may have been stored, 202 with the order once
//! its row may be committed (an outage can swallow a commit's acknowledgement, never the
//! commit), and a key the request claimed is never left locked for a minute after it gave up.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shop_kit::ApiError;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use uuid::Uuid;

use super::answers::{SagaAnswer, answer};
use crate::error::ApiResult;
use crate::store::{OrderStore, order};

/// How long, after a request gave up at its deadline, its key is tried to be set free while the
/// database does not answer.
const KEY_PATIENCE: Duration = Duration::from_secs(300);

/// Keys being set free in the background at once; beyond that a key stays locked for
/// `ORDER_SVC_KEY_LOCK_MS`, as it would after a crash.
static FREEING: Semaphore = Semaphore::const_new(1024);

#[derive(Default)]
struct State {
    /// The order as it is being written (or was written): the deadline's 202 shows it.
    order: Option<order::Model>,
    /// The key this request claimed anew (its own, to set free if it gives up).
    key: Option<(Uuid, String)>,
}

/// A request's progress, shared between its work and its deadline.
#[derive(Clone, Default)]
pub(super) struct Progress(Arc<Mutex<State>>);

impl Progress {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on `o` may be stored (its write is on its way).
    pub(super) fn writing(&self, o: &order::Model) {
        self.state().order = Some(o.clone());
    }

    /// This request claimed `key` of `user_id` anew.
    pub(super) fn claimed(&self, user_id: Uuid, key: &str) {
        self.state().key = Some((user_id, key.to_owned()));
    }
}

/// Runs `work` until `until`. Past it, the answer says what is known: 202 with the order (its
/// `Location` to follow it) when its write was on its way, else 503 — nothing was stored. A key
/// the request claimed, and that no recorded order holds, is set free in the background, so that
/// a repeat runs anew rather than wait for the key's lock.
pub(super) async fn within<T: SagaAnswer>(
    until: Instant,
    store: &OrderStore,
    progress: Progress,
    work: impl Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    if let Ok(answer) = tokio::time::timeout_at(until, work).await {
        return answer;
    }
    let (written, key) = {
        let mut state = progress.state();
        (state.order.take(), state.key.take())
    };
    if let Some((user_id, key)) = key {
        set_free(store.clone(), user_id, key);
    }
    match written {
        Some(o) => {
            tracing::warn!(
                order_id = %o.id,
                "the request's deadline passed after its write was sent: answering 202, the \
                 outcome follows"
            );
            answer(202, o)
        }
        None => {
            tracing::warn!("the request's deadline passed before anything was written");
            Err(ApiError::busy(
                "nothing was recorded: the database did not answer in time; retry later",
                1,
            )
            .into())
        }
    }
}

/// Deletes `key` unless a recorded order holds it, retrying while the database does not answer.
fn set_free(store: OrderStore, user_id: Uuid, key: String) {
    let Ok(permit) = FREEING.try_acquire() else {
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let started = Instant::now();
        let mut pause = Duration::from_millis(200);
        while started.elapsed() < KEY_PATIENCE {
            match store.forget_unlinked_key(user_id, &key).await {
                Ok(()) => return,
                Err(e) => tracing::debug!(error = %e, "setting a key free failed; retrying"),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    });
}
