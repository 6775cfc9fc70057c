//! The figures of a run: one table, or JSON.

use serde::Serialize;

use crate::Plan;
use crate::books::Books;
use crate::drive::Measured;

/// Requests one order makes between the services, counting the client's: the price lookup,
/// three reservations, three confirmations and the message.
pub const REQUESTS_PER_ORDER: f64 = 9.0;

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub concurrency: usize,
    pub target_rate: Option<f64>,
    pub seconds: f64,
    pub completed: u64,
    pub accepted: u64,
    pub refused: u64,
    pub errors: u64,
    pub reads: u64,
    /// Completed orders per second.
    pub orders_per_second: f64,
    /// Latency of `POST /orders`, in milliseconds.
    pub latency_ms: Latency,
    /// `GET /health/live` answered per second at the same concurrency.
    pub health_per_second: Option<f64>,
    /// orders/s × 9 ÷ health requests/s: the share of the bare request rate the saga reaches.
    pub ratio_to_health: Option<f64>,
    /// The shop process's CPU time (user + system) during the orders phase, in seconds.
    pub shop_cpu_seconds: Option<f64>,
    /// That ÷ completed orders, in milliseconds: what an order costs the shop, whatever share
    /// of the machine the load tool takes.
    pub cpu_ms_per_order: Option<f64>,
    /// Transactions the shop's PostgreSQL databases committed during the orders phase
    /// (`pg_stat_database.xact_commit`; a read in autocommit counts as one).
    pub database_commits: Option<i64>,
    /// That ÷ completed orders.
    pub commits_per_order: Option<f64>,
    /// Calls the services made to each other during the orders phase (every attempt).
    pub internal_calls: Option<f64>,
    /// Those per completed order.
    pub calls_per_order: Option<f64>,
    pub books: Books,
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// What the orders phase cost the shop, where it was measured.
pub(crate) struct Costs {
    /// The shop process's CPU seconds.
    pub(crate) cpu: Option<f64>,
    /// PostgreSQL's commits.
    pub(crate) commits: Option<i64>,
    /// The services' calls to each other.
    pub(crate) calls: Option<f64>,
}

impl Report {
    pub(crate) fn new(
        plan: &Plan,
        m: Measured,
        health: Option<f64>,
        books: Books,
        Costs {
            cpu,
            commits,
            calls,
        }: Costs,
    ) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        let q = |q: f64| ms(m.latency.value_at_quantile(q));
        let seconds = m.elapsed.as_secs_f64().max(0.001);
        let orders_per_second = m.completed as f64 / seconds;
        Self {
            concurrency: plan.concurrency,
            target_rate: plan.rate,
            seconds,
            completed: m.completed,
            accepted: m.accepted,
            refused: m.refused,
            errors: m.errors,
            reads: m.reads,
            orders_per_second,
            latency_ms: Latency {
                min: ms(m.latency.min()),
                p50: q(0.5),
                p90: q(0.9),
                p99: q(0.99),
                p999: q(0.999),
                max: ms(m.latency.max()),
            },
            health_per_second: health,
            ratio_to_health: health
                .filter(|h| *h > 0.0)
                .map(|h| orders_per_second * REQUESTS_PER_ORDER / h),
            shop_cpu_seconds: cpu,
            cpu_ms_per_order: cpu
                .filter(|_| m.completed > 0)
                .map(|c| c * 1000.0 / m.completed as f64),
            database_commits: commits,
            commits_per_order: commits
                .filter(|_| m.completed > 0)
                .map(|c| c as f64 / m.completed as f64),
            internal_calls: calls,
            calls_per_order: calls
                .filter(|_| m.completed > 0)
                .map(|c| c / m.completed as f64),
            books,
        }
    }

    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let l = &self.latency_ms;
        let mut out = String::new();
        let mut row = |k: &str, v: String| out.push_str(&format!("{k:<24} {v}\n"));
        row("concurrency", self.concurrency.to_string());
        if let Some(rate) = self.target_rate {
            row("target rate", format!("{rate:.0} orders/s (open loop)"));
        }
        row("duration", format!("{:.1} s", self.seconds));
        row(
            "orders",
            format!(
                "{} completed, {} accepted (202), {} refused, {} errors",
                self.completed, self.accepted, self.refused, self.errors
            ),
        );
        if self.reads > 0 {
            row("reads", self.reads.to_string());
        }
        row(
            "completed orders/s",
            format!("{:.1}", self.orders_per_second),
        );
        row(
            "latency ms",
            format!(
                "min {:.2}  p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
                l.min, l.p50, l.p90, l.p99, l.p999, l.max
            ),
        );
        if let (Some(c), Some(per)) = (self.shop_cpu_seconds, self.cpu_ms_per_order) {
            row(
                "shop CPU",
                format!("{c:.2} s, {per:.2} ms per completed order"),
            );
        }
        if let (Some(c), Some(per)) = (self.database_commits, self.commits_per_order) {
            row(
                "PostgreSQL commits",
                format!("{c}, {per:.1} per completed order"),
            );
        }
        if let (Some(c), Some(per)) = (self.internal_calls, self.calls_per_order) {
            row(
                "calls between services",
                format!("{c:.0}, {per:.1} per completed order"),
            );
        }
        if let (Some(h), Some(r)) = (self.health_per_second, self.ratio_to_health) {
            row("GET /health/live /s", format!("{h:.0}"));
            row("orders/s × 9 ÷ health/s", format!("{r:.3}"));
        }
        row(
            "books",
            if self.books.balanced() {
                format!(
                    "balanced ({} orders: {} completed, {} cancelled)",
                    self.books.orders, self.books.completed, self.books.cancelled
                )
            } else {
                format!("NOT balanced: {}", self.books.problems.join("; "))
            },
        );
        out
    }
}
