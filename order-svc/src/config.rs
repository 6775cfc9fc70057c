//! order-svc's configuration.

use std::time::Duration;

use std::sync::Arc;

use shop_kit::config::CommonConfig;
use shop_kit::topology::{DELIVERY, NOTIFY, ORDER, PAYMENT, STOCK};

use crate::domain::SagaDefinition;

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
    /// Participants beyond the shop's own (a test shop's), by name.
    pub others: Vec<(&'static str, String)>,
}

impl ServiceUrls {
    /// The default ports on `127.0.0.1`, or `SHOP_{PAYMENT,STOCK,DELIVERY,NOTIFY}_URL`.
    pub fn from_env() -> Self {
        Self {
            payment: PAYMENT.url_from_env(),
            stock: STOCK.url_from_env(),
            delivery: DELIVERY.url_from_env(),
            notify: NOTIFY.url_from_env(),
            others: Vec::new(),
        }
    }

    /// The service a saga participant of this name is and its base URL.
    pub fn participant(&self, name: &str) -> Option<(&'static str, &str)> {
        let own = [
            (PAYMENT, &self.payment),
            (STOCK, &self.stock),
            (DELIVERY, &self.delivery),
        ];
        own.into_iter()
            .map(|(service, url)| (service.short, service.name, url.as_str()))
            .chain(self.others.iter().map(|(n, url)| (*n, *n, url.as_str())))
            .find(|(short, ..)| *short == name)
            .map(|(_, service, url)| (service, url))
    }
}

/// Everything order-svc reads at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address, database, token and internal secrets.
    pub common: CommonConfig,
    /// Where the participants are.
    pub urls: ServiceUrls,
    /// The saga's timings and limits.
    pub saga: SagaSettings,
    /// The saga's participants: the shop's own unless a test shop adds one.
    pub definition: Arc<SagaDefinition>,
}

/// The saga's timings and limits. Each is declared once, here: its meaning, its
/// `ORDER_SVC_*` variable and its default.
#[derive(Clone, Debug, clap::Args)]
pub struct SagaSettings {
    /// How long `POST /orders` waits for the saga before answering 202.
    #[arg(long, env = "ORDER_SVC_REQUEST_DEADLINE_MS", default_value = "5000", value_parser = millis)]
    pub request_deadline: Duration,
    /// How often the recovery driver looks for orders to drive on.
    #[arg(long, env = "ORDER_SVC_RECOVERY_INTERVAL_MS", default_value = "2000", value_parser = millis)]
    pub recovery_interval: Duration,
    /// How long an instance's claim on an order lasts without being renewed.
    #[arg(long, env = "ORDER_SVC_LEASE_TTL_MS", default_value = "15000", value_parser = millis)]
    pub lease_ttl: Duration,
    /// Timeout of one call attempt to a participant.
    #[arg(long, env = "ORDER_SVC_CALL_TIMEOUT_MS", default_value = "2000", value_parser = millis)]
    pub call_timeout: Duration,
    /// Retries of a call after its first attempt.
    #[arg(long, env = "ORDER_SVC_CALL_RETRIES", default_value = "3")]
    pub call_retries: u32,
    /// The total time a saga step's call may take, retries and backoff included.
    #[arg(long, env = "ORDER_SVC_STEP_DEADLINE_MS", default_value = "10000", value_parser = millis)]
    pub step_deadline: Duration,
    /// Failed attempts at a release (or any refused confirmation or release) before the order
    /// is marked `needs_attention`, at least 1. Confirmations that cannot get through are
    /// retried forever.
    #[arg(long, env = "ORDER_SVC_RELEASE_ATTEMPTS", default_value = "10",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub release_attempts: u32,
    /// Wait before re-driving an order paused by a failed attempt; doubled per attempt.
    #[arg(long, env = "ORDER_SVC_RETRY_BACKOFF_MS", default_value = "1000", value_parser = millis)]
    pub retry_backoff: Duration,
    /// The cap of that wait.
    #[arg(long, env = "ORDER_SVC_RETRY_BACKOFF_MAX_MS", default_value = "60000", value_parser = millis)]
    pub retry_backoff_max: Duration,
    /// How long an `Idempotency-Key` whose request left no answer counts as running (409);
    /// after that a repeat answers from the order the first request recorded, or runs anew if
    /// it recorded none.
    #[arg(long, env = "ORDER_SVC_KEY_LOCK_MS", default_value = "60000", value_parser = millis)]
    pub key_lock: Duration,
    /// How often the books audit runs, publishing `shop_books_discrepancies`; 0: never.
    #[arg(long, env = "ORDER_SVC_AUDIT_INTERVAL_SECS", default_value = "3600")]
    pub audit_interval_secs: u64,
}

/// A duration in milliseconds.
fn millis(raw: &str) -> Result<Duration, std::num::ParseIntError> {
    raw.parse().map(Duration::from_millis)
}

/// The settings alone, as a command whose only input is the environment.
#[derive(clap::Parser)]
#[command(name = "order-svc")]
struct Settings {
    #[command(flatten)]
    saga: SagaSettings,
}

impl SagaSettings {
    /// The defaults, whatever the environment says.
    pub fn defaults() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        let command = Settings::command().mut_args(|a| a.env(None::<&'static str>));
        let matches = command.get_matches_from(["order-svc"]);
        match Settings::from_arg_matches(&matches) {
            Ok(s) => s.saga,
            Err(e) => unreachable!("the defaults parse: {e}"),
        }
    }

    /// Each setting from its `ORDER_SVC_*` variable where set, else its default. An invalid
    /// value is refused naming its variable.
    pub fn from_env() -> anyhow::Result<Self> {
        use clap::{CommandFactory, Parser};
        Settings::try_parse_from(["order-svc"])
            .map(|s| s.saga)
            .map_err(|e| {
                let said = e.to_string();
                let variable = Settings::command()
                    .get_arguments()
                    .filter(|a| {
                        a.get_long()
                            .is_some_and(|l| said.contains(&format!("--{l}")))
                    })
                    .find_map(|a| a.get_env().map(|v| v.to_string_lossy().into_owned()));
                let first = said.lines().next().unwrap_or_default();
                anyhow::anyhow!("{}: {first}", variable.as_deref().unwrap_or("ORDER_SVC_*"))
            })
    }
}

impl Config {
    /// The defaults of every setting around `common` and `urls`.
    pub fn new(common: CommonConfig, urls: ServiceUrls) -> Self {
        Self {
            common,
            urls,
            saga: SagaSettings::defaults(),
            definition: Arc::new(SagaDefinition::shop()),
        }
    }

    /// Reads the saga's settings from `ORDER_SVC_*` ([`SagaSettings`]), the service URLs and
    /// the shared `SHOP_*` variables.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::new(CommonConfig::from_env(&ORDER)?, ServiceUrls::from_env()).tuned_from_env()
    }

    /// These settings with the saga's timings and limits read from `ORDER_SVC_*` where set.
    pub fn tuned_from_env(self) -> anyhow::Result<Self> {
        Ok(Self {
            saga: SagaSettings::from_env()?,
            ..self
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn each_setting_has_its_default() {
        let d = SagaSettings::defaults();
        assert_eq!(d.request_deadline, Duration::from_secs(5));
        assert_eq!(d.recovery_interval, Duration::from_secs(2));
        assert_eq!(d.lease_ttl, Duration::from_secs(15));
        assert_eq!(d.call_timeout, Duration::from_secs(2));
        assert_eq!(d.call_retries, 3);
        assert_eq!(d.step_deadline, Duration::from_secs(10));
        assert_eq!(d.release_attempts, 10);
        assert_eq!(d.retry_backoff, Duration::from_secs(1));
        assert_eq!(d.retry_backoff_max, Duration::from_secs(60));
        assert_eq!(d.key_lock, Duration::from_secs(60));
    }

    #[test]
    fn a_bad_setting_is_refused_naming_it() {
        let parse = |args: &[&str]| {
            Settings::try_parse_from([&["order-svc"], args].concat()).map(|s| s.saga)
        };
        let e = parse(&["--release-attempts", "0"])
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("--release-attempts")));
        assert!(parse(&["--lease-ttl", "soon"]).is_err());
        let tuned = parse(&["--lease-ttl", "1500"]).ok().map(|s| s.lease_ttl);
        assert_eq!(tuned, Some(Duration::from_millis(1500)));
    }
}
