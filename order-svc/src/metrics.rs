//! order-svc's own metrics, on the service's registry.

use std::sync::Arc;

use prometheus::{
    Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};
use shop_kit::metrics::{LATENCY_BUCKETS, ScrapeHook};

use crate::domain::OrderStatus;
use crate::store::{Backlog, OrderStore};

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
    /// `shop_orders{status}`: orders `pending` (in flight), `refunding` and `needs_attention`
    /// now.
    pub orders: IntGaugeVec,
    /// `shop_orders_oldest_age_seconds{status}`: how old the oldest of them is (0: none).
    pub oldest: GaugeVec,
    /// `shop_outbox_backlog_messages`: messages not yet delivered to notify-svc.
    pub outbox_backlog: IntGauge,
    /// `shop_outbox_oldest_age_seconds`: how old the oldest of them is (0: none).
    pub outbox_oldest: Gauge,
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
        let orders = IntGaugeVec::new(
            Opts::new(
                "shop_orders",
                "Orders not terminal, by status: pending, refunding or needs_attention (read at \
                 scrape).",
            ),
            &["status"],
        )?;
        let oldest = GaugeVec::new(
            Opts::new(
                "shop_orders_oldest_age_seconds",
                "Age (since it was placed) of the oldest order of a status, pending, refunding \
                 or needs_attention; 0 when none.",
            ),
            &["status"],
        )?;
        let outbox_backlog = IntGauge::new(
            "shop_outbox_backlog_messages",
            "Messages not yet delivered to notify-svc (read at scrape).",
        )?;
        let outbox_oldest = Gauge::new(
            "shop_outbox_oldest_age_seconds",
            "Age of the oldest undelivered message; 0 when none.",
        )?;
        registry.register(Box::new(orders.clone()))?;
        registry.register(Box::new(oldest.clone()))?;
        registry.register(Box::new(outbox_backlog.clone()))?;
        registry.register(Box::new(outbox_oldest.clone()))?;
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
            orders,
            oldest,
            outbox_backlog,
            outbox_oldest,
        })
    }

    /// A scrape hook that reads the backlog gauges from `store`.
    pub fn read_backlogs(self: &Arc<Self>, store: OrderStore) -> ScrapeHook {
        let metrics = Arc::downgrade(self);
        Arc::new(move || {
            let (metrics, store) = (metrics.clone(), store.clone());
            Box::pin(async move {
                let Some(m) = metrics.upgrade() else {
                    return;
                };
                if let Err(e) = m.read(&store).await {
                    tracing::warn!(error = %e, "the saga's gauges could not be read");
                }
            })
        })
    }

    async fn read(&self, store: &OrderStore) -> Result<(), sea_orm::DbErr> {
        let now = shop_kit::db::now();
        let age = |b: &Backlog| {
            b.oldest
                .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
        };
        for status in [
            OrderStatus::Pending,
            OrderStatus::Refunding,
            OrderStatus::NeedsAttention,
        ] {
            let b = store.backlog(status).await?;
            let label = [status.as_str()];
            self.orders
                .with_label_values(&label)
                .set(i64::try_from(b.count).unwrap_or(i64::MAX));
            self.oldest.with_label_values(&label).set(age(&b));
        }
        let b = store.outbox_backlog().await?;
        self.outbox_backlog
            .set(i64::try_from(b.count).unwrap_or(i64::MAX));
        self.outbox_oldest.set(age(&b));
        Ok(())
    }
}
