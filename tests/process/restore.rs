//! A backup taken while shoppers order, get refused and cancel (refund sagas in flight), so that
//! the six copies disagree; restored into a fresh shop; the books audit finds where they
//! disagree, its repair mends it through the participants and the saga, a second audit finds
//! nothing, and then money, units and couriers are conserved and nothing is held for a finished
//! order. On SQLite with `shop backup` and `shop restore`; on PostgreSQL with `pg_dump` and
//! `pg_restore` of each database, as docs/operations.md says.

use reqwest::StatusCode;
use uuid::Uuid;

use super::*;
use crate::load::{self, Load};

/// The order the databases are copied in: `shop backup`'s (order-svc's last).
const COPY_ORDER: [&str; 6] = ["user", "payment", "stock", "delivery", "notify", "order"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_and_the_audit_repairs_its_books() {
    let dbs = Databases::fresh().await;
    let spare = tempfile::tempdir().unwrap();
    let data = data_dir(&dbs, &spare);
    let base = free_base_port();
    let child = start(&dbs, &data, base, &[]);
    wait_ready(base).await;
    let api = api(base, &data);
    let (product, mut shoppers) = load::stocked(&api, "bak", 6).await;
    let rich = shoppers.clone();
    // Two shoppers who can pay for two orders: the rest are refused.
    for i in 0..2 {
        let poor = api.register(&format!("poor{i}")).await;
        api.deposit(&poor, 25).await;
        shoppers.push(poor);
    }
    let load = Load::start(&api, &product, shoppers);
    let stop = Arc::new(AtomicBool::new(false));
    let refunds = tokio::spawn(refund_until(api.clone(), rich, stop.clone()));
    Load::wait_for(&load.completed, 40).await;

    // Backups until one whose copies disagree (most do: a copy of six databases spans many
    // orders in flight), each restored into fresh databases and compared there directly.
    let backups = tempfile::tempdir().unwrap();
    let mut tries = 0;
    let (restored, spare, expected) = loop {
        tries += 1;
        let backup = backups.path().join(format!("backup-{tries}"));
        take_backup(&dbs, &data, &backup).await;
        let restored = Databases::fresh().await;
        let spare = tempfile::tempdir().unwrap();
        restore_backup(&restored, &backup, &data_dir(&restored, &spare)).await;
        let expected = disagreements(&restored).await;
        if !expected.is_empty() {
            break (restored, spare, expected);
        }
        assert!(
            tries < 30,
            "30 backups taken under load, every one consistent"
        );
    };
    stop.store(true, Ordering::Relaxed);
    let _ = load.finish().await;
    let refunded = refunds.await.unwrap();
    drop(child);
    println!(
        "restore: backup {tries} disagrees on {} orders ({refunded} refunds asked for meanwhile)",
        expected.len()
    );

    let data = data_dir(&restored, &spare);
    let base = free_base_port();
    let _child = start(&restored, &data, base, &[]);
    wait_ready(base).await;
    let api = self::api(base, &data);
    let admin = api.admin().await;
    // The recovery driver finishes what was in flight in the copies first.
    restored.settle().await;

    let found = audit(&api, &admin).await;
    println!("restore: the audit found {found:?}");
    // What was finished in the copies and disagreed there is found (the recovery driver may
    // have finished more since, which may disagree too).
    for (kind, order, participant) in &expected {
        assert!(
            found.contains(&(kind.clone(), *order, participant.clone())),
            "the audit missed {kind} of order {order} at {participant}: it found {found:?}"
        );
    }
    assert!(
        !found
            .iter()
            .any(|(kind, _, _)| kind == "captured_for_unknown"),
        "a participant's copy captured for an order order-svc's copy does not know: {found:?}"
    );
    let repaired = repair(&api, &admin).await;
    println!("restore: the repair did {repaired:?}");
    assert!(
        repaired.iter().all(|(_, outcome)| outcome == "done"),
        "a repair did not go through: {repaired:?}"
    );
    restored.settle().await;
    let left = audit(&api, &admin).await;
    assert!(left.is_empty(), "the repair left {left:?}");
    restored.check_books_after_repair().await;
}

/// Cancels completed orders of `shoppers` (each a refund saga) until `stop`; how many it asked
/// for.
async fn refund_until(api: Api, shoppers: Vec<Shopper>, stop: Arc<AtomicBool>) -> usize {
    let mut asked = 0;
    while !stop.load(Ordering::Relaxed) {
        for s in &shoppers {
            let url = format!("{}/orders?status=completed&limit=1", api.order);
            let Ok(page) = api
                .try_request(Method::GET, &url, Some(&s.token), None, &[])
                .await
            else {
                return asked;
            };
            let Some(id) = page.body["items"][0]["id"].as_str() else {
                continue;
            };
            let url = format!("{}/orders/{id}/cancel", api.order);
            if api
                .try_request(Method::POST, &url, Some(&s.token), None, &[])
                .await
                .is_ok()
            {
                asked += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    asked
}

/// Runs `program` with `args`; panics with its error output when it fails.
fn run(program: &str, args: &[&std::ffi::OsStr]) {
    let done = Command::new(program).args(args).output().unwrap();
    assert!(
        done.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&done.stderr)
    );
}

/// The secrets a PostgreSQL shop keeps in its data directory.
const SECRETS: [&str; 2] = ["internal-token", "jwt-signing-key.pem"];

/// Backs the shop on `dbs` (its secrets in `data`) up into `into`, while it serves.
async fn take_backup(dbs: &Databases, data: &Path, into: &Path) {
    if let Databases::Sqlite(_) = dbs {
        let args = [
            "backup".as_ref(),
            into.as_os_str(),
            "--data-dir".as_ref(),
            data.as_os_str(),
        ];
        return run(env!("CARGO_BIN_EXE_shop"), &args);
    }
    std::fs::create_dir_all(into).unwrap();
    for short in COPY_ORDER {
        let url = dbs.url(short).await;
        let dump = into.join(format!("{short}.dump"));
        let args = [
            "--format=custom".as_ref(),
            "--file".as_ref(),
            dump.as_os_str(),
            url.as_ref(),
        ];
        run("pg_dump", &args);
    }
    for secret in SECRETS {
        std::fs::copy(data.join(secret), into.join(secret)).unwrap();
    }
}

/// Restores the backup in `from` onto `dbs`, its secrets into `data`.
async fn restore_backup(dbs: &Databases, from: &Path, data: &Path) {
    if let Databases::Sqlite(_) = dbs {
        let args = [
            "restore".as_ref(),
            from.as_os_str(),
            "--data-dir".as_ref(),
            data.as_os_str(),
        ];
        return run(env!("CARGO_BIN_EXE_shop"), &args);
    }
    for short in COPY_ORDER {
        let url = dbs.url(short).await;
        let dump = from.join(format!("{short}.dump"));
        let args = [
            "--no-owner".as_ref(),
            "--exit-on-error".as_ref(),
            "--dbname".as_ref(),
            url.as_ref(),
            dump.as_os_str(),
        ];
        run("pg_restore", &args);
    }
    for secret in SECRETS {
        std::fs::copy(from.join(secret), data.join(secret)).unwrap();
    }
}

/// A disagreement: its kind, the order, the participant.
type Disagreement = (String, Uuid, String);

/// The disagreements between the orders and the participants' reservations in `dbs`, read
/// from the databases themselves and judged by the audit's rule.
async fn disagreements(dbs: &Databases) -> std::collections::BTreeSet<Disagreement> {
    use std::collections::HashMap;
    let orders = order_svc::store::OrderStore::new(dbs.connect("order").await);
    let statuses: HashMap<Uuid, order_svc::domain::OrderStatus> = orders
        .all_orders()
        .await
        .unwrap()
        .iter()
        .filter_map(|o| Some((o.id, order_svc::domain::OrderStatus::parse(&o.status)?)))
        .collect();
    let held = [
        (
            "payment",
            held::<payment_svc::store::FundsLedger>(dbs, "payment").await,
        ),
        (
            "stock",
            held::<stock_svc::store::UnitsLedger>(dbs, "stock").await,
        ),
        (
            "delivery",
            held::<delivery_svc::store::SeatsLedger>(dbs, "delivery").await,
        ),
    ];
    let mut found = std::collections::BTreeSet::new();
    for (participant, states) in &held {
        let orders = statuses.keys().chain(states.keys());
        for order in orders.collect::<std::collections::BTreeSet<_>>() {
            let judged =
                order_svc::audit::judge(statuses.get(order).copied(), states.get(order).copied());
            if let Some((kind, _)) = judged {
                found.insert((kind.as_str().to_owned(), *order, (*participant).to_owned()));
            }
        }
    }
    found
}

/// What participant `service`'s ledger `L` holds in `dbs`, by order: its reservations' states.
async fn held<L: shop_kit::ledger::Ledger>(
    dbs: &Databases,
    service: &str,
) -> std::collections::HashMap<Uuid, shop_kit::contract::ReservationState> {
    let db = dbs.connect(service).await;
    let all = shop_kit::ledger::list::<L>(&db, None, i64::MAX as u64)
        .await
        .unwrap();
    all.into_iter().collect()
}

/// Every disagreement the audit finds, page by page.
async fn audit(api: &Api, admin: &Shopper) -> Vec<Disagreement> {
    let findings = every_page(api, admin, Method::GET, "/admin/audit?limit=50", "findings").await;
    let text = |f: &serde_json::Value, key: &str| f[key].as_str().unwrap().to_owned();
    findings
        .iter()
        .map(|f| {
            let id = text(f, "order_id").parse().unwrap();
            (text(f, "kind"), id, text(f, "participant"))
        })
        .collect()
}

/// Repairs every page: (remedy, outcome) of each repair.
async fn repair(api: &Api, admin: &Shopper) -> Vec<(String, String)> {
    let path = "/admin/audit/repair?limit=50&apply=true";
    let repairs = every_page(api, admin, Method::POST, path, "repairs").await;
    let text = |r: &serde_json::Value, key: &str| r[key].as_str().unwrap().to_owned();
    repairs
        .iter()
        .map(|r| (text(r, "remedy"), text(r, "outcome")))
        .collect()
}

/// The `items` of every page of order-svc's `path` as the admin, each page `after` the last
/// one's `next`.
async fn every_page(
    api: &Api,
    admin: &Shopper,
    method: Method,
    path: &str,
    items: &str,
) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}{path}", api.order);
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let page = api
            .request(method.clone(), &url, Some(&admin.token), None, &[])
            .await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        all.extend(page.body[items].as_array().unwrap().iter().cloned());
        match page.body["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return all,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_under_load_audits_its_books_clean() {
    // The soak: SHOP_SOAK_SECS of orders, refusals and refunds (20 s here; docs/testing.md
    // says how long it ran for longer) with the books audited every second.
    let secs: u64 = std::env::var("SHOP_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dbs = Databases::fresh().await;
    let spare = tempfile::tempdir().unwrap();
    let data = data_dir(&dbs, &spare);
    let base = free_base_port();
    let _child = ShopProcess(
        command(&dbs, &data, base, &[])
            .env("ORDER_SVC_AUDIT_INTERVAL_SECS", "1")
            .spawn()
            .unwrap(),
    );
    wait_ready(base).await;
    let api = api(base, &data);
    let admin = api.admin().await;
    let (product, mut shoppers) = load::stocked(&api, "soak", 6).await;
    let rich = shoppers.clone();
    for i in 0..2 {
        let poor = api.register(&format!("poor{i}")).await;
        api.deposit(&poor, 25).await;
        shoppers.push(poor);
    }
    let load = Load::start(&api, &product, shoppers);
    let stop = Arc::new(AtomicBool::new(false));
    let refunds = tokio::spawn(refund_until(api.clone(), rich, stop.clone()));
    let started = Instant::now();
    let mut audits = 0;
    let mut last_audit = 0.0;
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let text = metrics_text(base + 1).await;
        let found: f64 = text
            .lines()
            .filter(|l| l.starts_with("shop_books_discrepancies{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert_eq!(
            found, 0.0,
            "the audit found disagreements under load:\n{text}"
        );
        let at = text
            .lines()
            .find(|l| l.starts_with("shop_books_audit_timestamp_seconds"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0);
        if at > last_audit {
            audits += 1;
            last_audit = at;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let seen = load.finish().await;
    let refunded = refunds.await.unwrap();
    let left = audit(&api, &admin).await;
    assert!(left.is_empty(), "the audit after the load found {left:?}");
    println!(
        "soak: {} orders and {refunded} refunds over {secs} s, {audits} whole audits, none \
         found a disagreement",
        seen.len()
    );
    assert!(
        audits >= 2,
        "the periodic audit ran {audits} times in {secs} s"
    );
    dbs.check_invariants().await;
}
