//! An order's saga history: what happened to it, in order, appended with the very write that
//! stores the state it describes (one column of the order's row, one JSON object per line), so
//! that it costs the saga no write of its own. Admins read all of it; the shopper reads the
//! milestones ([`timeline`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum EventKind {
    /// The order was recorded, its first call in flight.
    Recorded,
    /// A call to a participant and its answer.
    Call,
    /// A step did not get through: the saga waits, or the order needs attention.
    Paused,
    /// A driver took the order over (after a restart, or when its retry came).
    Resumed,
    /// An admin re-drove it.
    Retried,
    /// Its shopper (or an admin) cancelled it after completion: the refund saga starts.
    RefundRequested,
    /// The saga ended: completed, cancelled or refunded.
    Finished,
    /// The books audit found it disagreeing with a participant (`detail`: how), and what
    /// repaired it (`action`).
    Audited,
}

/// One entry of an order's history. Only the fields its kind has are set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, poem_openapi::Object)]
#[oai(rename = "HistoryEntry")]
pub struct Event {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub event: EventKind,
    /// The participant called (`call`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub participant: Option<String>,
    /// The call: `reserve`, `confirm`, `release` or `cancel` (`call`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub action: Option<String>,
    /// Which attempt of the step this was, from 1 (`call`, `paused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub attempt: Option<u32>,
    /// The answer: `done`, `refused` or `unreachable` (`call`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub answer: Option<String>,
    /// What the answer said: the refusal (`short`, `missing`, `conflict`) or the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// How long the call took, retries included, in milliseconds (`call`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub duration_ms: Option<u64>,
    /// The step the saga goes on to after it: after payment's reservation, `reserve_stock`.
    /// (Stored as `step`.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none, rename = "next_step")]
    pub step: Option<String>,
    /// The order's status after it (`paused`, `finished`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub status: Option<String>,
    /// Why the order was cancelled (`finished`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    /// Who did it: the admin who re-drove it, the user who cancelled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub by: Option<Uuid>,
    /// The trace it happened in (open it in the tracing UI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub trace_id: Option<String>,
}

impl Event {
    /// An entry of `kind`, now, in the current trace.
    pub fn now(kind: EventKind) -> Self {
        let trace_id = shop_kit::telemetry::trace_id(&tracing::Span::current());
        Self {
            at: shop_kit::db::now(),
            event: kind,
            participant: None,
            action: None,
            attempt: None,
            answer: None,
            detail: None,
            duration_ms: None,
            step: None,
            status: None,
            reason: None,
            by: None,
            trace_id,
        }
    }

    /// The same, with the step the saga reached.
    pub fn step(self, step: &str) -> Self {
        Self {
            step: Some(step.to_owned()),
            ..self
        }
    }

    /// Its stored form: one line of JSON.
    pub fn line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// The stored form of `events`, to append.
pub fn lines(events: &[Event]) -> String {
    events.iter().map(Event::line).collect()
}

/// Parses a stored history; a line that does not parse (written by a later release) is
/// skipped.
pub fn parse(stored: &str) -> Vec<Event> {
    stored
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Whether a pause at `attempt` is worth an entry: the first ten, then every power of two, so
/// that a confirmation retried for days adds a few entries, not thousands.
pub fn records_pause(attempt: u32) -> bool {
    attempt <= 10 || attempt.is_power_of_two()
}

/// What a shopper sees of an order's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, poem_openapi::Enum)]
#[oai(rename_all = "snake_case", rename = "MilestoneKind")]
pub enum MilestoneKind {
    /// Placed.
    Placed,
    /// Paid, stock sold and a courier booked.
    Completed,
    /// Cancelled by the saga (the reason says why); nothing was charged.
    Cancelled,
    /// Cancelled by its shopper after completion: being refunded.
    RefundRequested,
    /// Refunded.
    Refunded,
}

impl MilestoneKind {
    /// The milestone a saga's end reaches: completed, cancelled or refunded.
    pub fn ended(status: &str) -> Option<Self> {
        match status {
            "completed" => Some(Self::Completed),
            "cancelled" => Some(Self::Cancelled),
            "refunded" => Some(Self::Refunded),
            _ => None,
        }
    }
}

/// One milestone of an order.
#[derive(Debug, Clone, PartialEq, Eq, poem_openapi::Object)]
pub struct Milestone {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub event: MilestoneKind,
    /// Why it was cancelled (`cancelled`).
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
}

/// The shopper's milestones of a history.
pub fn timeline(events: &[Event]) -> Vec<Milestone> {
    events
        .iter()
        .filter_map(|e| {
            let event = match e.event {
                EventKind::Recorded => MilestoneKind::Placed,
                EventKind::RefundRequested => MilestoneKind::RefundRequested,
                EventKind::Finished => MilestoneKind::ended(e.status.as_deref()?)?,
                _ => return None,
            };
            let reason = (event == MilestoneKind::Cancelled)
                .then(|| e.reason.clone())
                .flatten();
            Some(Milestone {
                at: e.at,
                event,
                reason,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_round_trips_and_skips_what_it_cannot_read() {
        let mut call = Event::now(EventKind::Call).step("reserve_stock");
        call.participant = Some("payment".into());
        call.answer = Some("done".into());
        let stored = lines(&[Event::now(EventKind::Recorded), call.clone()]);
        let read = parse(&format!("{stored}{{\"event\":\"from_the_future\"}}\n"));
        assert_eq!(read.len(), 2);
        assert_eq!(read[1], call);
        assert!(
            !stored.contains("null"),
            "unset fields are left out: {stored}"
        );
    }

    #[test]
    fn the_timeline_keeps_the_milestones() {
        let finished = |status: &str, reason: Option<&str>| Event {
            status: Some(status.into()),
            reason: reason.map(Into::into),
            ..Event::now(EventKind::Finished)
        };
        let events = [
            Event::now(EventKind::Recorded),
            Event::now(EventKind::Call),
            finished("completed", None),
            Event::now(EventKind::RefundRequested),
            finished("refunded", None),
        ];
        let kinds: Vec<_> = timeline(&events).iter().map(|m| m.event).collect();
        use MilestoneKind::*;
        assert_eq!(kinds, [Placed, Completed, RefundRequested, Refunded]);
        let cancelled = timeline(&[finished("cancelled", Some("out_of_stock"))]);
        assert_eq!(cancelled[0].reason.as_deref(), Some("out_of_stock"));
    }

    #[test]
    fn pauses_are_recorded_sparsely() {
        let recorded: Vec<u32> = (1..=300).filter(|&a| records_pause(a)).collect();
        assert_eq!(
            recorded,
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 32, 64, 128, 256]
        );
    }
}
