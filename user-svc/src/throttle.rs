//! Failed-login throttling that nobody can turn against someone else (OWASP's Authentication
//! and Credential Stuffing cheat sheets: limit per client *and* per account, and never let the
//! limit lock the account's owner out).
//!
//! Three counts over a sliding window, kept in the database so that they hold for every replica
//! of user-svc together:
//! - per client address: too many failures from one address (on any accounts) refuse that
//!   address, and only it;
//! - per account and address: too many failures against one account from one address refuse
//!   that address for that account;
//! - per account: many failures against one account (from many addresses: a distributed guess)
//!   put the account on watch, and while it is, an address that has failed against it once is
//!   refused for it. An address that has not failed against it (its owner's) logs in as ever.
//!
//! So a guesser gets at most one try per address at a watched account, and the owner is never
//! refused for what others did.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DbErr;

use crate::store::FailureStore;

/// How many failures each count allows within the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures from one client address, on any accounts, before the address is refused.
    pub per_address: u64,
    /// Failures against one account from one address before that address is refused for it.
    pub per_account_and_address: u64,
    /// Failures against one account, from anywhere, that put it on watch.
    pub watch_account: u64,
    /// How long a failure counts.
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_address: 100,
            per_account_and_address: 10,
            watch_account: 10,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Why a login was refused before its password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures from the client's address.
    Address {
        /// Seconds until the address may try again.
        wait: u64,
    },
    /// Too many failures against the account from the client's address (or one, while the
    /// account is on watch).
    Account {
        /// Seconds until the address may try that account again.
        wait: u64,
    },
}

impl Refusal {
    /// Seconds until the client may try again.
    pub fn wait(self) -> u64 {
        match self {
            Self::Address { wait } | Self::Account { wait } => wait,
        }
    }
}

/// The three counts of failed logins.
#[derive(Clone)]
pub struct LoginGuard {
    store: FailureStore,
    limits: LoginLimits,
    window: TimeDelta,
}

/// The keys of one attempt's counts.
struct Keys {
    address: String,
    pair: String,
    account: String,
}

impl Keys {
    fn of(account: &str, address: IpAddr) -> Self {
        Self {
            address: format!("addr:{address}"),
            pair: format!("pair:{address}|{account}"),
            account: format!("user:{account}"),
        }
    }
}

impl LoginGuard {
    /// A guard counting in `store` with `limits`.
    pub fn new(store: FailureStore, limits: LoginLimits) -> Self {
        Self {
            store,
            limits,
            window: TimeDelta::from_std(limits.window).unwrap_or(TimeDelta::MAX),
        }
    }

    /// Whether a login for `account` (lower-cased username or email) from `address` is refused
    /// now, before its password is checked.
    pub async fn check(&self, account: &str, address: IpAddr) -> Result<Option<Refusal>, DbErr> {
        let keys = Keys::of(account, address);
        let now = Utc::now();
        let since = now - self.window;
        let limits = &self.limits;
        let recent =
            |key: String, limit: u64| async move { self.store.recent(&key, since, limit).await };
        let from_address = recent(keys.address, limits.per_address).await?;
        if let Some(wait) = wait(&from_address, limits.per_address, self.window, now) {
            return Ok(Some(Refusal::Address { wait }));
        }
        let pair = recent(keys.pair, limits.per_account_and_address).await?;
        if let Some(wait) = wait(&pair, limits.per_account_and_address, self.window, now) {
            return Ok(Some(Refusal::Account { wait }));
        }
        if pair.is_empty() {
            return Ok(None); // an address that never failed here: the watch does not apply
        }
        let account = recent(keys.account, limits.watch_account).await?;
        let watched = wait(&account, limits.watch_account, self.window, now);
        // On watch, one failure of this address is enough: it waits until that failure leaves
        // the window or the watch ends, whichever comes first.
        let mine = wait(&pair[..1], 1, self.window, now);
        Ok(watched
            .zip(mine)
            .map(|(w, m)| Refusal::Account { wait: w.min(m) }))
    }

    /// Records a failed login for `account` from `address`, in all three counts.
    pub async fn failed(&self, account: &str, address: IpAddr) -> Result<(), DbErr> {
        let keys = Keys::of(account, address);
        let now = shop_kit::db::now();
        self.store
            .record(
                &[&keys.address, &keys.pair, &keys.account],
                now,
                now - self.window,
            )
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
    let oldest = *recent.get(usize::try_from(limit).ok()?.checked_sub(1)?)?;
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
        // With more failures than the limit, the limit-th newest decides.
        assert_eq!(wait(&[ago(60), ago(300)], 1, window, now), Some(840));
    }
}
