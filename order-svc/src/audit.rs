//! The books audit: every finished order against what each participant holds for it, read
//! through the participants' own protocol (`GET /internal/reservations`, a page at a time), and
//! each disagreement named by kind with its remedy. The remedies go through the participants'
//! idempotent operations and the saga (a release, a refund, a re-driven confirmation), or set
//! the order aside for a person: never an edit of another service's rows.
//!
//! A page covers a range of order ids, so the audit runs in bounded memory on any number of
//! orders: up to `limit` orders and `limit` reservations per participant, cut at the smallest
//! id any full list reached. The participants are read before the orders, so a reservation
//! always finds its order when there is one (an order is recorded before its first call); a
//! disagreement is then read again at its participant, and one that moved meanwhile (a saga
//! or refund in flight) is left for the next audit. An order's status changes only once its
//! participants have answered (and to `refunding` before a refund's first call), so what is the
//! same before and after the order was read was the same when it was read.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use poem_openapi::{Enum, Object};
use prometheus::{Gauge, IntGaugeVec, Opts, Registry};
use shop_kit::contract::ReservationState;
use shop_kit::problem::ProblemBody;
use uuid::Uuid;

use crate::client::Answer;
use crate::domain::history::{Event, EventKind};
use crate::domain::{Held, OrderStatus, Participant, SagaState, Step};
use crate::error::ApiResult;
use crate::saga::SagaRunner;

/// A kind of disagreement between order-svc and a participant.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[oai(rename_all = "snake_case")]
pub enum Kind {
    /// A reservation still held for an order that was cancelled or refunded.
    HeldForFinished,
    /// A reservation held for an order order-svc does not know.
    HeldForUnknown,
    /// Funds, units or a courier captured for an order order-svc does not know.
    CapturedForUnknown,
    /// Captured for an order that was cancelled (its shopper was told nothing was charged).
    CapturedForCancelled,
    /// A completed order a participant has not confirmed.
    Unconfirmed,
    /// A refund done at some participants and not at others.
    RefundHalfDone,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::HeldForFinished,
        Self::HeldForUnknown,
        Self::CapturedForUnknown,
        Self::CapturedForCancelled,
        Self::Unconfirmed,
        Self::RefundHalfDone,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HeldForFinished => "held_for_finished",
            Self::HeldForUnknown => "held_for_unknown",
            Self::CapturedForUnknown => "captured_for_unknown",
            Self::CapturedForCancelled => "captured_for_cancelled",
            Self::Unconfirmed => "unconfirmed",
            Self::RefundHalfDone => "refund_half_done",
        }
    }
}

/// What repairs a disagreement.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum Remedy {
    /// The participant's release: it gives back what it holds.
    Release,
    /// The participant's cancel: it gives back what it captured (a refund).
    Cancel,
    /// The order's confirmation re-driven by the saga (a participant with nothing to confirm
    /// refuses, and the saga sets the order aside).
    Confirm,
    /// The order set aside as `needs_attention`: a person decides.
    Attention,
    /// Nothing the shop can do on its own (no order to attach it to): a person decides.
    Manual,
}

impl Remedy {
    fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Cancel => "cancel",
            Self::Confirm => "confirm",
            Self::Attention => "attention",
            Self::Manual => "manual",
        }
    }
}

/// The disagreement, if any, between an order (`None`: order-svc does not know it) and what a
/// participant holds for it (`None`: nothing), with its remedy. Orders still moving or set
/// aside for a person are never judged.
pub fn judge(order: Option<OrderStatus>, held: Option<ReservationState>) -> Option<(Kind, Remedy)> {
    use OrderStatus as O;
    use ReservationState as R;
    let found = match (order, held) {
        (Some(O::Pending | O::Refunding | O::NeedsAttention), _) => return None,
        (None, Some(R::Reserved)) => (Kind::HeldForUnknown, Remedy::Release),
        (None, Some(R::Confirmed)) => (Kind::CapturedForUnknown, Remedy::Manual),
        (Some(O::Cancelled | O::Refunded), Some(R::Reserved)) => {
            (Kind::HeldForFinished, Remedy::Release)
        }
        (Some(O::Cancelled), Some(R::Confirmed)) => (Kind::CapturedForCancelled, Remedy::Attention),
        (Some(O::Completed), Some(R::Cancelled)) => (Kind::RefundHalfDone, Remedy::Attention),
        (Some(O::Refunded), Some(R::Confirmed)) => (Kind::RefundHalfDone, Remedy::Cancel),
        (Some(O::Completed), Some(R::Confirmed)) => return None,
        (Some(O::Completed), _) => (Kind::Unconfirmed, Remedy::Confirm),
        // Nothing held, given back, or captured and given back: nothing moved.
        _ => return None,
    };
    Some(found)
}

/// One disagreement.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What disagrees.
    pub kind: Kind,
    /// The order.
    pub order_id: Uuid,
    /// The participant that disagrees with order-svc.
    pub participant: String,
    /// What it holds for the order (absent: nothing).
    #[oai(skip_serializing_if_is_none)]
    pub held: Option<ReservationState>,
    /// The order's status (absent: order-svc does not know the order).
    #[oai(skip_serializing_if_is_none)]
    pub order_status: Option<String>,
    /// What repairs it.
    pub remedy: Remedy,
}

/// One page of the audit.
#[derive(Object, Debug, Clone)]
pub struct AuditPage {
    /// Orders this page compared.
    pub orders: u64,
    /// Disagreements it left for the next audit: the participant's side moved while the page
    /// was read (a saga in flight).
    pub moving: u64,
    /// The disagreements found, by order.
    pub findings: Vec<Finding>,
    /// Where the next page starts (`after`); absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<Uuid>,
}

/// A repair, planned or made.
#[derive(Object, Debug, Clone)]
pub struct Repair {
    /// The disagreement.
    #[oai(flatten)]
    pub finding: Finding,
    /// `planned` (a dry run), `done`, or why not: `skipped` (the order moved on), `refused`,
    /// `failed` (a participant did not answer), `manual`.
    pub outcome: String,
}

/// One page of repairs.
#[derive(Object, Debug, Clone)]
pub struct RepairPage {
    /// Whether the repairs were made (`false`: a dry run that says what it would do).
    pub applied: bool,
    /// Orders this page compared.
    pub orders: u64,
    /// The repairs, by order.
    pub repairs: Vec<Repair>,
    /// Where the next page starts (`after`); absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<Uuid>,
}

/// Audits the orders after `after` (from the first without it): at most `limit` orders and
/// `limit` reservations of each participant.
pub async fn page(runner: &SagaRunner, after: Option<Uuid>, limit: u32) -> ApiResult<AuditPage> {
    let saga = runner.saga();
    let mut lists = Vec::new();
    for p in saga.participants() {
        lists.push((p, runner.participants.list(p, after, limit).await?));
    }
    let orders = runner.store.statuses_after(after, u64::from(limit)).await?;
    // The range every list covers whole: up to the smallest last id of a full one.
    let full_orders = (orders.len() == limit as usize)
        .then(|| orders.last().map(|o| o.0))
        .flatten();
    let next = lists
        .iter()
        .filter_map(|(_, l)| l.next)
        .chain(full_orders)
        .min();
    let within = |id: &Uuid| next.is_none_or(|n| *id <= n);
    let statuses: BTreeMap<Uuid, OrderStatus> = orders
        .into_iter()
        .filter(|o| within(&o.0))
        .filter_map(|(id, status)| Some((id, OrderStatus::parse(&status)?)))
        .collect();
    let mut found = Vec::new();
    for (p, list) in &lists {
        let name = saga.name(*p);
        let mut seen = HashSet::new();
        for h in list.items.iter().filter(|h| within(&h.order_id)) {
            seen.insert(h.order_id);
            let order = statuses.get(&h.order_id).copied();
            found.extend(finding(name, h.order_id, order, Some(h.state)).map(|f| (*p, f)));
        }
        for (id, status) in statuses.iter().filter(|(id, _)| !seen.contains(*id)) {
            found.extend(finding(name, *id, Some(*status), None).map(|f| (*p, f)));
        }
    }
    let mut findings = Vec::with_capacity(found.len());
    let mut moving = 0;
    for (p, f) in found {
        match held_now(runner, p, f.order_id).await? == f.held {
            true => findings.push(f),
            false => moving += 1,
        }
    }
    findings.sort_by(|a, b| (a.order_id, &a.participant).cmp(&(b.order_id, &b.participant)));
    Ok(AuditPage {
        orders: statuses.len() as u64,
        moving,
        findings,
        next,
    })
}

/// What participant `p` holds for order `order_id` now.
async fn held_now(
    runner: &SagaRunner,
    p: Participant,
    order_id: Uuid,
) -> ApiResult<Option<ReservationState>> {
    let before = Uuid::from_u128(order_id.as_u128().saturating_sub(1));
    let list = runner.participants.list(p, Some(before), 1).await?;
    Ok(list
        .items
        .first()
        .filter(|h| h.order_id == order_id)
        .map(|h| h.state))
}

fn finding(
    participant: &str,
    order_id: Uuid,
    order: Option<OrderStatus>,
    held: Option<ReservationState>,
) -> Option<Finding> {
    let (kind, remedy) = judge(order, held)?;
    Some(Finding {
        kind,
        order_id,
        participant: participant.to_owned(),
        held,
        order_status: order.map(|o| o.as_str().to_owned()),
        remedy,
    })
}

/// Audits a page as [`page`] does and repairs what it finds (`apply`), or says what it would
/// do; `by` is the admin who asked.
pub async fn repair(
    runner: &SagaRunner,
    after: Option<Uuid>,
    limit: u32,
    apply: bool,
    by: Option<Uuid>,
) -> ApiResult<RepairPage> {
    let audited = page(runner, after, limit).await?;
    let mut repairs = Vec::with_capacity(audited.findings.len());
    // An order's own remedy (its confirmation re-driven, set aside) mends it for every
    // participant that disagrees on it: it is made once.
    let mut mended: Vec<(Uuid, Remedy, String)> = Vec::new();
    for finding in audited.findings {
        let once = matches!(finding.remedy, Remedy::Confirm | Remedy::Attention);
        let earlier = mended
            .iter()
            .find(|(id, remedy, _)| once && *id == finding.order_id && *remedy == finding.remedy);
        let outcome = match (apply, earlier) {
            (false, _) => "planned".to_owned(),
            (true, Some((_, _, outcome))) => outcome.clone(),
            (true, None) => repair_one(runner, &finding, by).await?,
        };
        if once {
            mended.push((finding.order_id, finding.remedy, outcome.clone()));
        }
        repairs.push(Repair { finding, outcome });
    }
    Ok(RepairPage {
        applied: apply,
        orders: audited.orders,
        repairs,
        next: audited.next,
    })
}

async fn repair_one(runner: &SagaRunner, f: &Finding, by: Option<Uuid>) -> ApiResult<String> {
    let saga = runner.saga();
    let Some(p) = saga.by_name(&f.participant) else {
        return Ok("failed: no such participant".to_owned());
    };
    let event = Event {
        by,
        participant: Some(f.participant.clone()),
        detail: Some(f.kind.as_str().to_owned()),
        action: Some(f.remedy.as_str().to_owned()),
        ..Event::now(EventKind::Audited)
    };
    let status = f.order_status.as_deref().and_then(OrderStatus::parse);
    let outcome = match (f.remedy, status) {
        (Remedy::Release | Remedy::Cancel, _) => {
            let answer = match f.remedy {
                Remedy::Cancel => runner.participants.cancel(p, f.order_id).await,
                _ => runner.participants.release(p, f.order_id).await,
            };
            let outcome = answered(answer);
            if outcome == "done" && status.is_some() {
                runner.store.note(f.order_id, &event).await?;
            }
            outcome
        }
        (Remedy::Confirm, Some(from)) => {
            let state = SagaState {
                step: Step::Confirm,
                held: Held::first(saga.len()),
                reason: None,
            };
            moved_on(runner.store.reopen(f.order_id, from, state, &event).await?)
        }
        (Remedy::Attention, Some(from)) => {
            moved_on(runner.store.set_aside(f.order_id, from, &event).await?)
        }
        _ => "manual".to_owned(),
    };
    tracing::warn!(
        order_id = %f.order_id,
        participant = %f.participant,
        kind = f.kind.as_str(),
        remedy = f.remedy.as_str(),
        outcome,
        "books audit repair"
    );
    Ok(outcome)
}

fn answered(answer: Answer<()>) -> String {
    match answer {
        Answer::Done(()) => "done".to_owned(),
        Answer::Refused(refusal, _) => format!("refused: {}", refusal.as_str()),
        Answer::Unreachable(e) => format!("failed: {e}"),
    }
}

fn moved_on(done: bool) -> String {
    match done {
        true => "done".to_owned(),
        false => "skipped: the order moved on".to_owned(),
    }
}

/// The audit's gauges.
#[derive(Clone)]
pub struct BooksMetrics {
    /// `shop_books_discrepancies{kind}`: what the last whole audit found.
    pub discrepancies: IntGaugeVec,
    /// `shop_books_audit_timestamp_seconds`: when the last whole audit ended.
    pub audited_at: Gauge,
}

impl BooksMetrics {
    /// Creates and registers the gauges.
    pub fn new(registry: &Registry) -> anyhow::Result<Self> {
        let discrepancies = IntGaugeVec::new(
            Opts::new(
                "shop_books_discrepancies",
                "Disagreements between order-svc's orders and what the participants hold for \
                 them, by kind, as the last whole books audit found them.",
            ),
            &["kind"],
        )?;
        let audited_at = Gauge::new(
            "shop_books_audit_timestamp_seconds",
            "When the last whole books audit ended (Unix time; 0: none yet).",
        )?;
        registry.register(Box::new(discrepancies.clone()))?;
        registry.register(Box::new(audited_at.clone()))?;
        for kind in Kind::ALL {
            discrepancies.with_label_values(&[kind.as_str()]).set(0);
        }
        Ok(Self {
            discrepancies,
            audited_at,
        })
    }
}

/// Audits every order, a page at a time, and publishes the counts by kind.
pub async fn audit_all(
    runner: &SagaRunner,
    metrics: &BooksMetrics,
    limit: u32,
) -> ApiResult<BTreeMap<Kind, i64>> {
    let mut counts: BTreeMap<Kind, i64> = Kind::ALL.iter().map(|k| (*k, 0)).collect();
    let mut after = None;
    loop {
        let audited = page(runner, after, limit).await?;
        for f in &audited.findings {
            *counts.entry(f.kind).or_default() += 1;
        }
        match audited.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    for (kind, n) in &counts {
        metrics
            .discrepancies
            .with_label_values(&[kind.as_str()])
            .set(*n);
    }
    metrics
        .audited_at
        .set(shop_kit::db::now().timestamp_millis() as f64 / 1000.0);
    Ok(counts)
}

/// Every `interval` (none: never), audits the books; stops with `stop`.
pub async fn run_periodically(
    runner: SagaRunner,
    metrics: BooksMetrics,
    interval: Option<Duration>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Some(interval) = interval else {
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match audit_all(&runner, &metrics, 500).await {
            Ok(counts) => {
                let found: i64 = counts.values().sum();
                tracing::info!(found, "books audit done");
            }
            Err(e) => {
                let detail = &e.problem().base().detail;
                tracing::warn!(error = %detail, "books audit failed; next time");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus as O;
    use ReservationState as R;

    #[test]
    fn each_disagreement_has_its_kind_and_remedy_and_agreement_has_none() {
        assert_eq!(judge(Some(O::Completed), Some(R::Confirmed)), None);
        assert_eq!(judge(Some(O::Refunded), Some(R::Cancelled)), None);
        assert_eq!(judge(Some(O::Cancelled), Some(R::Released)), None);
        assert_eq!(judge(Some(O::Cancelled), None), None);
        assert_eq!(judge(None, Some(R::Released)), None);
        for moving in [O::Pending, O::Refunding, O::NeedsAttention] {
            assert_eq!(judge(Some(moving), Some(R::Reserved)), None);
        }
        assert_eq!(
            judge(Some(O::Cancelled), Some(R::Reserved)),
            Some((Kind::HeldForFinished, Remedy::Release))
        );
        assert_eq!(
            judge(None, Some(R::Reserved)),
            Some((Kind::HeldForUnknown, Remedy::Release))
        );
        assert_eq!(
            judge(None, Some(R::Confirmed)),
            Some((Kind::CapturedForUnknown, Remedy::Manual))
        );
        assert_eq!(
            judge(Some(O::Cancelled), Some(R::Confirmed)),
            Some((Kind::CapturedForCancelled, Remedy::Attention))
        );
        assert_eq!(
            judge(Some(O::Completed), None),
            Some((Kind::Unconfirmed, Remedy::Confirm))
        );
        assert_eq!(
            judge(Some(O::Completed), Some(R::Reserved)),
            Some((Kind::Unconfirmed, Remedy::Confirm))
        );
        assert_eq!(
            judge(Some(O::Refunded), Some(R::Confirmed)),
            Some((Kind::RefundHalfDone, Remedy::Cancel))
        );
        assert_eq!(
            judge(Some(O::Completed), Some(R::Cancelled)),
            Some((Kind::RefundHalfDone, Remedy::Attention))
        );
    }
}
