//! user-svc's own metrics, on the service's registry.

use prometheus::{IntCounterVec, Opts, Registry};

/// Logins and registrations.
#[derive(Clone)]
pub struct UserMetrics {
    /// `shop_logins_total{outcome}`: `success`, `failure` (wrong credentials) or `throttled`
    /// (refused with 429 before the password was checked).
    pub logins: IntCounterVec,
    /// `shop_registrations_total{outcome}`: `created` or `taken` (username or email in use).
    pub registrations: IntCounterVec,
}

impl UserMetrics {
    /// Creates and registers the metrics.
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let logins = IntCounterVec::new(
            Opts::new(
                "shop_logins_total",
                "Login attempts, by outcome: success, failure or throttled.",
            ),
            &["outcome"],
        )?;
        let registrations = IntCounterVec::new(
            Opts::new(
                "shop_registrations_total",
                "Registrations, by outcome: created or taken.",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(registrations.clone()))?;
        Ok(Self {
            logins,
            registrations,
        })
    }
}
