//! order-svc's configuration.

use std::time::Duration;

use shop_kit::config::{CommonConfig, env_parse};
use shop_kit::topology::{DELIVERY, NOTIFY, ORDER, PAYMENT, STOCK};

/// Base URLs of the services order-svc calls.
#[derive(Clone, Debug)]
pub struct ServiceUrls {
    /// payment-svc.
    pub payment: String,
    /// stock-svc.
    pub stock: String,
    /// delivery-svc.
    pub delivery: String,
    /// notify-svc.
    pub notify: String,
}

impl ServiceUrls {
    /// The default ports on `127.0.0.1`, or `SHOP_{PAYMENT,STOCK,DELIVERY,NOTIFY}_URL`.
    pub fn from_env() -> Self {
        Self {
            payment: PAYMENT.url_from_env(),
            stock: STOCK.url_from_env(),
            delivery: DELIVERY.url_from_env(),
            notify: NOTIFY.url_from_env(),
        }
    }
}

/// Everything order-svc reads at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address, database, token and internal secrets.
    pub common: CommonConfig,
    /// Where the participants are.
    pub urls: ServiceUrls,
    /// How long `POST /orders` waits for the saga before answering 202.
    pub request_deadline: Duration,
    /// How often the recovery driver looks for orders to drive on.
    pub recovery_interval: Duration,
    /// How long an instance's claim on an order lasts without being renewed.
    pub lease_ttl: Duration,
    /// Timeout of one call attempt to a participant.
    pub call_timeout: Duration,
    /// Retries of a call after its first attempt.
    pub call_retries: u32,
    /// The total time a saga step's call may take, retries and backoff included.
    pub step_deadline: Duration,
    /// Failed attempts at a release (or any refused confirmation or release) before the order
    /// is marked `needs_attention`. Confirmations that cannot get through are retried forever.
    pub release_attempts: u32,
    /// Wait before re-driving an order paused by a failed attempt; doubled per attempt.
    pub retry_backoff: Duration,
    /// The cap of that wait.
    pub retry_backoff_max: Duration,
    /// How long an `Idempotency-Key` whose request left no answer counts as running (409);
    /// after that a repeat answers from the order the first request recorded, or runs anew if
    /// it recorded none.
    pub key_lock: Duration,
}

impl Config {
    /// Defaults around `common` and `urls`: 5 s request deadline, 2 s recovery interval, 15 s
    /// lease, 2 s call timeout, 3 retries, 10 s per step, 10 release attempts, 1 s to 60 s
    /// backoff, 60 s key lock.
    pub fn new(common: CommonConfig, urls: ServiceUrls) -> Self {
        Self {
            common,
            urls,
            request_deadline: Duration::from_secs(5),
            recovery_interval: Duration::from_secs(2),
            lease_ttl: Duration::from_secs(15),
            call_timeout: Duration::from_secs(2),
            call_retries: 3,
            step_deadline: Duration::from_secs(10),
            release_attempts: 10,
            retry_backoff: Duration::from_secs(1),
            retry_backoff_max: Duration::from_secs(60),
            key_lock: Duration::from_secs(60),
        }
    }

    /// Reads `ORDER_SVC_*` (`_REQUEST_DEADLINE_MS`, `_RECOVERY_INTERVAL_MS`, `_LEASE_TTL_MS`,
    /// `_CALL_TIMEOUT_MS`, `_CALL_RETRIES`, `_STEP_DEADLINE_MS`, `_RELEASE_ATTEMPTS`,
    /// `_RETRY_BACKOFF_MS`, `_RETRY_BACKOFF_MAX_MS`, `_KEY_LOCK_MS`), the service URLs and the
    /// shared `SHOP_*` variables.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::new(CommonConfig::from_env(&ORDER)?, ServiceUrls::from_env()).tuned_from_env()
    }

    /// These settings with the saga's timings and limits read from `ORDER_SVC_*` where set.
    pub fn tuned_from_env(self) -> anyhow::Result<Self> {
        let ms = shop_kit::config::env_millis;
        Ok(Self {
            request_deadline: ms("ORDER_SVC_REQUEST_DEADLINE_MS", self.request_deadline)?,
            recovery_interval: ms("ORDER_SVC_RECOVERY_INTERVAL_MS", self.recovery_interval)?,
            lease_ttl: ms("ORDER_SVC_LEASE_TTL_MS", self.lease_ttl)?,
            call_timeout: ms("ORDER_SVC_CALL_TIMEOUT_MS", self.call_timeout)?,
            call_retries: env_parse("ORDER_SVC_CALL_RETRIES", self.call_retries)?,
            step_deadline: ms("ORDER_SVC_STEP_DEADLINE_MS", self.step_deadline)?,
            release_attempts: env_parse("ORDER_SVC_RELEASE_ATTEMPTS", self.release_attempts)?
                .max(1),
            retry_backoff: ms("ORDER_SVC_RETRY_BACKOFF_MS", self.retry_backoff)?,
            retry_backoff_max: ms("ORDER_SVC_RETRY_BACKOFF_MAX_MS", self.retry_backoff_max)?,
            key_lock: ms("ORDER_SVC_KEY_LOCK_MS", self.key_lock)?,
            ..self
        })
    }
}
