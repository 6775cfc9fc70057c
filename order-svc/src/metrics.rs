//! order-svc's own metrics, on the service's registry.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use shop_kit::metrics::LATENCY_BUCKETS;

/// Saga outcomes and timings.
pub struct SagaMetrics {
    /// `shop_saga_outcomes_total{outcome, reason}`: finished sagas.
    pub outcomes: IntCounterVec,
    /// `shop_saga_duration_seconds{outcome}`: from order to terminal status.
    pub duration: HistogramVec,
    /// `shop_saga_step_duration_seconds{participant, action, result}`: each remote step.
    pub steps: HistogramVec,
    /// `shop_outbox_deliveries_total{result}`: message deliveries to notify-svc.
    pub deliveries: IntCounterVec,
    /// `shop_saga_needs_attention_total{participant, action}`: orders set aside for an admin.
    pub attention: IntCounterVec,
}

impl SagaMetrics {
    /// Creates and registers the metrics.
    pub fn new(registry: &Registry) -> anyhow::Result<Self> {
        let outcomes = IntCounterVec::new(
            Opts::new(
                "shop_saga_outcomes_total",
                "Order sagas finished, by outcome and failure reason.",
            ),
            &["outcome", "reason"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "shop_saga_duration_seconds",
                "Time from order to terminal status.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["outcome"],
        )?;
        let steps = HistogramVec::new(
            HistogramOpts::new(
                "shop_saga_step_duration_seconds",
                "Duration of each saga call.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["participant", "action", "result"],
        )?;
        let deliveries = IntCounterVec::new(
            Opts::new(
                "shop_outbox_deliveries_total",
                "Message deliveries to notify-svc, by result.",
            ),
            &["result"],
        )?;
        let attention = IntCounterVec::new(
            Opts::new(
                "shop_saga_needs_attention_total",
                "Orders set aside as needs_attention, by the participant and action that kept failing.",
            ),
            &["participant", "action"],
        )?;
        registry.register(Box::new(outcomes.clone()))?;
        registry.register(Box::new(attention.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(steps.clone()))?;
        registry.register(Box::new(deliveries.clone()))?;
        Ok(Self {
            outcomes,
            duration,
            steps,
            deliveries,
            attention,
        })
    }
}
