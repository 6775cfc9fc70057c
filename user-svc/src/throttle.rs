//! Failed-login throttling: after too many failures for one key within a window, further
//! attempts are refused until the oldest of them leaves the window. The failures live in the
//! database, so the limit holds across every replica of user-svc.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DbErr;

use crate::store::FailureStore;

/// Counts failures per key (a username, a client address) over a sliding window.
#[derive(Clone)]
pub struct Throttle {
    store: FailureStore,
    scope: &'static str,
    limit: u64,
    window: TimeDelta,
}

impl Throttle {
    /// At most `limit` failures per key within `window`; `scope` (`user`, `addr`) keeps the
    /// keys of two throttles apart.
    pub fn new(store: FailureStore, scope: &'static str, limit: u64, window: Duration) -> Self {
        Self {
            store,
            scope,
            limit: limit.max(1),
            window: TimeDelta::from_std(window).unwrap_or(TimeDelta::MAX),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.scope)
    }

    /// `Some(seconds to wait)` when `key` is locked out now.
    pub async fn locked_for(&self, key: &str) -> Result<Option<u64>, DbErr> {
        let now = Utc::now();
        let recent = self
            .store
            .recent(&self.key(key), now - self.window, self.limit)
            .await?;
        Ok(wait(&recent, self.limit, self.window, now))
    }

    /// Records a failure for `key`.
    pub async fn fail(&self, key: &str) -> Result<(), DbErr> {
        let now = shop_kit::db::now();
        self.store
            .record(&self.key(key), now, now - self.window)
            .await
    }
}

/// The seconds until the oldest of the `limit` latest failures (newest first) leaves the
/// window, when there are `limit` of them; at least 1.
fn wait(
    recent: &[DateTime<Utc>],
    limit: u64,
    window: TimeDelta,
    now: DateTime<Utc>,
) -> Option<u64> {
    if (recent.len() as u64) < limit {
        return None;
    }
    let oldest = *recent.last()?;
    let left = (oldest + window - now).num_seconds();
    Some(u64::try_from(left).unwrap_or(0).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_once_the_limit_is_reached_until_the_oldest_leaves() {
        let now = Utc::now();
        let window = TimeDelta::minutes(15);
        let ago = |s| now - TimeDelta::seconds(s);
        assert_eq!(wait(&[ago(1), ago(2)], 3, window, now), None);
        assert_eq!(wait(&[ago(1), ago(2), ago(300)], 3, window, now), Some(600));
        assert_eq!(wait(&[ago(899)], 1, window, now), Some(1));
    }
}
