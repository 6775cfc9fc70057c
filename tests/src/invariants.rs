//! The invariants every saga test ends with: money and stock are conserved (refunds and
//! returns included), nothing stays reserved, every reservation belongs to a completed order,
//! was cancelled with its refunded order, or was given back, couriers' capacity counts exactly
//! their live bookings, and every outcome sent one message (a refunded order has had two).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use shop_kit::contract::ReservationState;
use uuid::Uuid;

use crate::databases::Databases;

/// No tables of a service's: a database a test makes its own.
struct Bare;

impl sea_orm_migration::MigratorTrait for Bare {
    fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
        Vec::new()
    }
}

impl shop_kit::db::Schema for Bare {
    fn columns() -> shop_kit::db::Columns {
        shop_kit::db::Columns::default()
    }
}

/// Metrics for the stores the audit opens.
fn detached() -> shop_kit::ledger::LedgerMetrics {
    shop_kit::ledger::LedgerMetrics::detached().expect("a registry of its own")
}

/// How long sagas, recovery and the outbox get to settle before the invariants are checked.
const SETTLE: Duration = Duration::from_secs(60);

impl Databases {
    /// A connection to `service`'s database, its rows read by that service's columns (a name
    /// that is no service's: by their storage classes).
    pub async fn connect(&self, service: &str) -> shop_kit::db::Db {
        let url = self.url(service).await;
        let db = match service {
            "user" => shop_kit::db::connect::<user_svc::store::Migrator>(&url).await,
            "order" => shop_kit::db::connect::<order_svc::store::Migrator>(&url).await,
            "payment" => shop_kit::db::connect::<payment_svc::store::Migrator>(&url).await,
            "stock" => shop_kit::db::connect::<stock_svc::store::Migrator>(&url).await,
            "delivery" => shop_kit::db::connect::<delivery_svc::store::Migrator>(&url).await,
            "notify" => shop_kit::db::connect::<notify_svc::store::Migrator>(&url).await,
            s if s == crate::loyalty::LOYALTY.short => {
                shop_kit::db::connect::<crate::loyalty::Migrator>(&url).await
            }
            _ => shop_kit::db::connect::<Bare>(&url).await,
        };
        db.expect("audit connection")
    }

    /// Waits until every order is terminal and every message is delivered, then checks the
    /// invariants. Panics with what is wrong.
    pub async fn check_invariants(&self) {
        self.check_invariants_of(false).await;
    }

    /// [`Self::check_invariants`], and those of the test-only loyalty participant when the
    /// shop's saga has it.
    pub async fn check_invariants_of(&self, loyalty: bool) {
        self.settle().await;
        self.audit(loyalty, false).await;
    }

    /// The books after a restore and the audit's repair: every order finished or set aside as
    /// `needs_attention` with the reason in its history; money, units and couriers conserved;
    /// nothing held for a finished order. An order set aside may hold what a person has yet to
    /// decide on, and it is counted as held. (The messages are not checked: an order the repair
    /// finished again tells its shopper again.)
    pub async fn check_books_after_repair(&self) {
        self.settle().await;
        self.audit(false, true).await;
    }

    /// Waits (up to a minute) until no order is pending or refunding and every message is
    /// delivered.
    pub async fn settle(&self) {
        let orders = order_svc::store::OrderStore::new(self.connect("order").await);
        let started = Instant::now();
        loop {
            let pending = orders
                .all_orders()
                .await
                .expect("orders")
                .iter()
                .filter(|o| o.status == "pending" || o.status == "refunding")
                .count();
            let undelivered = orders
                .all_messages()
                .await
                .expect("outbox")
                .iter()
                .filter(|m| m.delivered_at.is_none())
                .count();
            if pending == 0 && undelivered == 0 {
                break;
            }
            assert!(
                started.elapsed() < SETTLE,
                "{pending} orders still pending and {undelivered} messages undelivered"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What order-svc holds of order `id`, its saga history included: what a failed check
    /// prints to explain itself.
    async fn order_story(&self, id: Uuid) -> String {
        let orders = order_svc::store::OrderStore::new(self.connect("order").await);
        match orders.order(id).await {
            Ok(Some(o)) => format!(
                "order-svc has it {} (step {}, holding {:?}, attempts {}), history: {}",
                o.status, o.step, o.holding, o.attempts, o.history
            ),
            Ok(None) => "order-svc has no such order".to_owned(),
            Err(e) => format!("order-svc's database: {e}"),
        }
    }

    /// Checks the invariants of a settled shop (`set_aside`: orders may need attention, and
    /// the messages are not checked).
    async fn audit(&self, loyalty: bool, set_aside: bool) {
        let orders = order_svc::store::OrderStore::new(self.connect("order").await);
        let all = orders.all_orders().await.expect("orders");
        let of = |status: &str| -> Orders<'_> {
            all.iter()
                .filter(|o| o.status == status)
                .map(|o| (o.id, o))
                .collect()
        };
        let books = Books {
            completed: of("completed"),
            refunded: of("refunded"),
            set_aside: of("needs_attention"),
            restored: set_aside,
        };
        for o in &all {
            if set_aside && o.status == "needs_attention" {
                let why = history_of(o).any(|e| {
                    matches!(
                        e.event,
                        order_svc::domain::history::EventKind::Paused
                            | order_svc::domain::history::EventKind::Audited
                    )
                });
                assert!(why, "order {} needs attention without a reason", o.id);
                continue;
            }
            assert!(
                ["completed", "cancelled", "refunded"].contains(&o.status.as_str()),
                "order {} is {}",
                o.id,
                o.status
            );
            if o.status != "cancelled" {
                assert!(
                    o.courier_id.is_some(),
                    "completed order {} has no courier",
                    o.id
                );
            } else {
                assert!(
                    o.failure_reason.is_some(),
                    "cancelled order {} has no reason",
                    o.id
                );
            }
        }
        self.check_money(&books).await;
        self.check_stock(&books).await;
        self.check_couriers(&books).await;
        if !set_aside {
            self.check_messages(&all).await;
        }
        if loyalty {
            self.check_points(&books).await;
        }
    }

    /// Points are conserved, none stay reserved, and every completed or refunded order spent
    /// its total, as funds.
    async fn check_points(&self, books: &Books<'_>) {
        let db = self.connect(crate::loyalty::LOYALTY.short).await;
        let held = crate::loyalty::reservations(&db)
            .await
            .expect("point reservations");
        let accounts = crate::loyalty::accounts(&db)
            .await
            .expect("loyalty accounts");
        check_totals(
            "points",
            books,
            held.iter()
                .map(|r| (r.order_id, r.user_id, r.points, r.state)),
            accounts.iter().map(|a| Holder {
                id: a.user_id,
                added: a.granted,
                free: a.balance,
                reserved: a.reserved,
                captured: a.captured,
                returned: a.refunded,
            }),
        );
    }

    async fn check_money(&self, books: &Books<'_>) {
        let payment =
            payment_svc::store::PaymentStore::new(self.connect("payment").await, detached());
        let held = payment.reservations().await.expect("fund reservations");
        let accounts = payment.accounts().await.expect("accounts");
        check_totals(
            "funds",
            books,
            held.iter()
                .map(|r| (r.order_id, r.user_id, r.amount, r.state)),
            accounts.iter().map(|a| Holder {
                id: a.user_id,
                added: a.deposited,
                free: a.balance,
                reserved: a.reserved,
                captured: a.captured,
                returned: a.refunded,
            }),
        );
        check_statements(&payment).await;
    }

    async fn check_stock(&self, books: &Books<'_>) {
        let stock = stock_svc::store::StockStore::new(self.connect("stock").await, detached());
        let mut moved = Moved::default();
        let mut settled = 0;
        for r in stock.reservations().await.expect("stock reservations") {
            if books.is_set_aside(r.order_id) {
                for l in stock_svc::store::lines(&r).expect("lines") {
                    moved.add(l.product_id, l.quantity, r.state);
                }
                continue;
            }
            assert_ne!(
                r.state,
                ReservationState::Reserved,
                "stock still reserved for order {}",
                r.order_id
            );
            let Some(o) = books.settled(r.order_id, r.state, "stock sold") else {
                continue;
            };
            let lines = stock_svc::store::lines(&r).expect("lines");
            let ordered: Vec<(Uuid, i64)> = o
                .lines()
                .expect("order lines")
                .iter()
                .map(|l| (l.product_id, l.quantity))
                .collect();
            let held: Vec<(Uuid, i64)> = lines.iter().map(|l| (l.product_id, l.quantity)).collect();
            assert_eq!(held, ordered, "lines sold to order {}", r.order_id);
            for (product, quantity) in held {
                moved.add(product, quantity, r.state);
            }
            settled += 1;
        }
        check_holders(
            "units",
            books,
            settled,
            stock
                .all_products()
                .await
                .expect("products")
                .iter()
                .map(|p| Holder {
                    id: p.id,
                    added: p.stocked,
                    free: p.available,
                    reserved: p.reserved,
                    captured: p.sold,
                    returned: p.returned,
                }),
            &moved,
        );
    }

    async fn check_couriers(&self, books: &Books<'_>) {
        let delivery =
            delivery_svc::store::DeliveryStore::new(self.connect("delivery").await, detached());
        let mut live: HashMap<(Uuid, chrono::NaiveDate), i32> = HashMap::new();
        let mut settled = 0;
        for b in delivery.bookings().await.expect("bookings") {
            if books.is_set_aside(b.order_id) {
                // A booking held or confirmed keeps its place in the courier's day.
                if let (Some(courier), Some(date)) = (b.courier_id, b.date)
                    && matches!(
                        b.state,
                        ReservationState::Reserved | ReservationState::Confirmed
                    )
                {
                    *live.entry((courier, date)).or_default() += 1;
                }
                continue;
            }
            if b.state == ReservationState::Reserved {
                panic!(
                    "courier still reserved for order {}; {}",
                    b.order_id,
                    self.order_story(b.order_id).await
                );
            }
            let Some(o) = books.settled(b.order_id, b.state, "courier booked") else {
                continue;
            };
            assert_eq!(
                b.courier_id, o.courier_id,
                "courier of order {}",
                b.order_id
            );
            if b.state == ReservationState::Confirmed {
                *live
                    .entry((b.courier_id.expect("courier"), b.date.expect("date")))
                    .or_default() += 1;
            }
            settled += 1;
        }
        books.all_settled(settled, "booked its courier");
        for d in delivery.courier_days().await.expect("courier days") {
            let expected = live.get(&(d.courier_id, d.date)).copied().unwrap_or(0);
            assert_eq!(
                d.booked, expected,
                "bookings of courier {} on {}",
                d.courier_id, d.date
            );
        }
    }

    async fn check_messages(&self, all: &[order_svc::store::order::Model]) {
        let notify = notify_svc::store::NotifyStore::new(self.connect("notify").await);
        let mut per_order: HashMap<Uuid, usize> = HashMap::new();
        let mut numbers: HashMap<Uuid, Vec<i64>> = HashMap::new();
        for m in notify.all().await.expect("messages") {
            numbers.entry(m.user_id).or_default().push(m.seq);
            *per_order
                .entry(m.order_id.expect("order of message"))
                .or_default() += 1;
        }
        for o in all {
            let outcomes = if o.status == "refunded" { 2 } else { 1 };
            assert_eq!(
                per_order.get(&o.id).copied().unwrap_or(0),
                outcomes,
                "messages about order {} ({})",
                o.id,
                o.status
            );
        }
        assert_eq!(per_order.len(), all.len(), "messages about unknown orders");
        for (user, mut seqs) in numbers {
            seqs.sort_unstable();
            let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
            assert_eq!(
                seqs, expected,
                "the messages of user {user} are numbered 1, 2, …"
            );
        }
    }
}

type Orders<'a> = HashMap<Uuid, &'a order_svc::store::order::Model>;

/// The orders that took something for good: completed, or completed then refunded.
struct Books<'a> {
    completed: Orders<'a>,
    refunded: Orders<'a>,
    /// Orders set aside for a person (`needs_attention`): what they hold is counted, not
    /// matched.
    set_aside: Orders<'a>,
    /// Whether these are the books of a restored shop after the audit's repair.
    restored: bool,
}

impl<'a> Books<'a> {
    /// Checks that each completed or refunded order has its settled reservation (`settled`
    /// of them). After a restore and its repair, a refunded order may have had its hold
    /// released instead (nothing captured, nothing kept), and the audit that found nothing
    /// left already showed each completed order confirmed everywhere.
    fn all_settled(&self, settled: usize, what: &str) {
        if !self.restored {
            assert_eq!(
                settled,
                self.len(),
                "every completed or refunded order {what}"
            );
        }
    }

    /// Whether order `id` is set aside for a person.
    fn is_set_aside(&self, id: Uuid) -> bool {
        self.set_aside.contains_key(&id)
    }

    fn len(&self) -> usize {
        self.completed.len() + self.refunded.len()
    }

    /// The order a settled reservation (confirmed or cancelled) belongs to: a confirmed one to
    /// a completed order, a cancelled one to a refunded order. `None` for a released one.
    fn settled(
        &self,
        order_id: Uuid,
        state: ReservationState,
        what: &str,
    ) -> Option<&'a order_svc::store::order::Model> {
        let (orders, status) = match state {
            ReservationState::Confirmed => (&self.completed, "completed"),
            ReservationState::Cancelled => (&self.refunded, "refunded"),
            _ => return None,
        };
        let found = orders.get(&order_id).copied();
        Some(found.unwrap_or_else(|| panic!("{what} for order {order_id}, which is not {status}")))
    }
}

/// The entries of an order's history.
fn history_of(
    o: &order_svc::store::order::Model,
) -> impl Iterator<Item = order_svc::domain::history::Event> {
    order_svc::domain::history::parse(&o.history).into_iter()
}

/// Every account's statement chains (each `balance_after` is the previous one plus `amount`,
/// numbered 1, 2, …), sums to its balance, and ends at its balance and reserved funds.
async fn check_statements(payment: &payment_svc::store::PaymentStore) {
    let mut entries: HashMap<Uuid, Vec<payment_svc::store::entry::Model>> = HashMap::new();
    for e in payment.all_entries().await.expect("statement entries") {
        entries.entry(e.user_id).or_default().push(e);
    }
    for a in payment.accounts().await.expect("accounts") {
        let mine = entries.remove(&a.user_id).unwrap_or_default();
        let mut balance = 0;
        for (n, e) in mine.iter().enumerate() {
            assert_eq!(
                e.seq,
                n as i64 + 1,
                "statement of {} is numbered",
                a.user_id
            );
            balance += e.amount;
            assert_eq!(
                e.balance_after, balance,
                "statement of {} chains at entry {}",
                a.user_id, e.seq
            );
        }
        assert_eq!(
            balance, a.balance,
            "statement of {} sums to its balance",
            a.user_id
        );
        let (last_balance, last_reserved) = mine
            .last()
            .map_or((0, 0), |e| (e.balance_after, e.reserved_after));
        assert_eq!(
            (last_balance, last_reserved),
            (a.balance, a.reserved),
            "statement of {} ends at the account",
            a.user_id
        );
    }
    assert!(entries.is_empty(), "entries of accounts that do not exist");
}

/// A holder of what a ledger moves (an account of funds or of points, a product's units): what
/// was ever added, and its four counters.
struct Holder {
    id: Uuid,
    added: i64,
    free: i64,
    reserved: i64,
    captured: i64,
    returned: i64,
}

/// The invariants of a ledger that holds each order's total for its user (funds, points):
/// nothing stays reserved; each settled reservation (`(order, user, amount, state)`) belongs to
/// a completed or refunded order and holds its total; every such order has one; each holder's
/// counters add up to what was added, and its captured and returned amounts are its orders'.
fn check_totals(
    what: &str,
    books: &Books<'_>,
    reservations: impl Iterator<Item = (Uuid, Option<Uuid>, i64, ReservationState)>,
    holders: impl Iterator<Item = Holder>,
) {
    let mut moved = Moved::default();
    let mut settled = HashSet::new();
    for (order_id, user, amount, state) in reservations {
        if books.is_set_aside(order_id) {
            moved.add(user.expect("user"), amount, state);
            continue;
        }
        assert_ne!(
            state,
            ReservationState::Reserved,
            "{what} still reserved for order {order_id}"
        );
        let Some(o) = books.settled(order_id, state, &format!("{what} captured")) else {
            continue;
        };
        assert_eq!(amount, o.total, "{what} of order {order_id}");
        moved.add(user.expect("user"), amount, state);
        settled.insert(order_id);
    }
    check_holders(what, books, settled.len(), holders, &moved);
}

/// What a ledger's reservations moved, by holder: held now, captured, and given back after a
/// capture.
#[derive(Default)]
struct Moved {
    reserved: HashMap<Uuid, i64>,
    captured: HashMap<Uuid, i64>,
    returned: HashMap<Uuid, i64>,
}

impl Moved {
    fn add(&mut self, holder: Uuid, amount: i64, state: ReservationState) {
        let to = match state {
            ReservationState::Reserved => &mut self.reserved,
            ReservationState::Released => return,
            ReservationState::Confirmed | ReservationState::Cancelled => &mut self.captured,
        };
        *to.entry(holder).or_default() += amount;
        if state == ReservationState::Cancelled {
            *self.returned.entry(holder).or_default() += amount;
        }
    }

    fn of(map: &HashMap<Uuid, i64>, holder: Uuid) -> i64 {
        map.get(&holder).copied().unwrap_or(0)
    }
}

/// Every completed or refunded order settled (`settled` of them); each holder holds nothing
/// reserved, its counters add up to what was added, and it captured and returned what its
/// orders did (`moved`: captured, returned, by holder).
fn check_holders(
    what: &str,
    books: &Books<'_>,
    settled: usize,
    holders: impl Iterator<Item = Holder>,
    moved: &Moved,
) {
    books.all_settled(settled, &format!("took its {what}"));
    for h in holders {
        assert_eq!(
            h.reserved,
            Moved::of(&moved.reserved, h.id),
            "{what} of {} still reserved",
            h.id
        );
        assert_eq!(
            h.added,
            h.free + h.reserved + h.captured - h.returned,
            "{what} of {} are not conserved",
            h.id
        );
        assert_eq!(
            (h.captured, h.returned),
            (
                Moved::of(&moved.captured, h.id),
                Moved::of(&moved.returned, h.id)
            ),
            "{what} captured and returned of {}",
            h.id
        );
    }
}
