//! What the participant protocol did, counted: `shop_reservations_total{action, result}` and
//! the amount each applied step moved, under a name of the participant's own (cents of money,
//! units of stock, bookings).

use prometheus::{IntCounterVec, Opts, Registry};

use crate::contract::Outcome;

/// A step of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Take what an order needs.
    Reserve,
    /// Capture it.
    Confirm,
    /// Give it back (or mark the order released).
    Release,
    /// Give back what a confirmation captured (a refund).
    Cancel,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Self::Reserve => "reserve",
            Self::Confirm => "confirm",
            Self::Release => "release",
            Self::Cancel => "cancel",
        }
    }
}

/// A participant's protocol metrics.
#[derive(Clone)]
pub struct LedgerMetrics {
    steps: IntCounterVec,
    amounts: IntCounterVec,
}

impl LedgerMetrics {
    /// Registers `shop_reservations_total{action, result}` and the amount counter `amount_name`
    /// (`shop_payment_funds_cents_total`, …) with `amount_help`.
    pub fn new(
        registry: &Registry,
        amount_name: &str,
        amount_help: &str,
    ) -> prometheus::Result<Self> {
        let steps = IntCounterVec::new(
            Opts::new(
                "shop_reservations_total",
                "Reservation protocol calls, by action (reserve, confirm, release, cancel) and result \
                 (applied, repeated, short, missing, refused, marked).",
            ),
            &["action", "result"],
        )?;
        let amounts = IntCounterVec::new(Opts::new(amount_name, amount_help), &["action"])?;
        registry.register(Box::new(steps.clone()))?;
        registry.register(Box::new(amounts.clone()))?;
        Ok(Self { steps, amounts })
    }

    /// Metrics on a registry of their own that nobody scrapes: for a store opened by an audit
    /// or a tool rather than by the service.
    pub fn detached() -> prometheus::Result<Self> {
        Self::new(
            &Registry::new(),
            "shop_detached_amount_total",
            "Not scraped.",
        )
    }

    /// Counts one call's outcome; `applied` is the amount it moved when it moved something now
    /// (a repeat moves nothing).
    pub fn count<T>(&self, step: Step, outcome: &Outcome<T>, applied: Option<i64>) {
        let result = match (outcome, applied) {
            (Outcome::Done(_), Some(_)) => "applied",
            (Outcome::Done(_), None) => "repeated",
            (Outcome::Marked, _) => "marked",
            (Outcome::Short(_), _) => "short",
            (Outcome::Refused(_), _) => "refused",
            (Outcome::Missing, _) => "missing",
        };
        self.steps.with_label_values(&[step.as_str(), result]).inc();
        if let Some(amount) = applied {
            self.amounts
                .with_label_values(&[step.as_str()])
                .inc_by(u64::try_from(amount).unwrap_or(0));
        }
    }
}
