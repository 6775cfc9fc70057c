//! PostgreSQL failing under the shop, which runs on it through a TCP proxy this test controls
//! (so the shared server itself is never stopped): its connections killed mid-transaction, and
//! the server unreachable for 10 s. Every order a client saw answered 201 or 202 exists
//! afterwards with that outcome (or a later terminal one), the books balance, readiness answered
//! within its own timeout throughout, and no request outlived its deadline.

use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::*;
use crate::load::{self, Load};

/// A TCP proxy to PostgreSQL that can stop carrying bytes (a network partition: connections
/// stay open, nothing gets through, new ones are accepted and left waiting), or only the
/// server's answers (a statement reaches the server and its answer is held).
struct Partition {
    port: u16,
    /// Which directions are held: [`CUT`], [`MUTE`].
    held: watch::Sender<u8>,
}

/// Nothing gets through.
const CUT: u8 = 1;
/// The server's answers are held.
const MUTE: u8 = 2;

impl Partition {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (held, _) = watch::channel(0);
        let watch = held.subscribe();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let mut held = watch.clone();
                tokio::spawn(async move {
                    let _ = held.wait_for(|h| h & CUT == 0).await;
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(
                        carry(cr, sw, held.clone(), CUT),
                        carry(sr, cw, held, CUT | MUTE)
                    );
                });
            }
        });
        Self { port, held }
    }

    fn set(&self, cut: bool) {
        self.held.send_replace(if cut { CUT } else { 0 });
    }

    fn mute(&self, mute: bool) {
        self.held.send_replace(if mute { MUTE } else { 0 });
    }
}

/// Copies `from` to `to`, holding each chunk while any of `by` is held.
async fn carry(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut held: watch::Receiver<u8>,
    by: u8,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if held.wait_for(|h| h & by == 0).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// The `host:port` of a server URL (`postgres://user@host:port/...`).
fn host_of(server: &str) -> String {
    let rest = server.split("://").nth(1).unwrap_or(server);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    authority.rsplit('@').next().unwrap_or(authority).to_owned()
}

/// Asks every service's readiness every 200 ms until `stop`; the slowest answer and how many
/// answered 503.
async fn probe_readiness(base: u16, stop: Arc<AtomicBool>) -> (Duration, usize) {
    let http = reqwest::Client::new();
    let (mut slowest, mut unready) = (Duration::ZERO, 0);
    while !stop.load(Ordering::Relaxed) {
        for port in base..base + 6 {
            let started = Instant::now();
            let answer = http
                .get(format!("http://127.0.0.1:{port}/health/ready"))
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            slowest = slowest.max(started.elapsed());
            if answer.map_or(true, |r| r.status() == 503) {
                unready += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (slowest, unready)
}

/// The shop on the test's databases through `proxy`, with shoppers and load, until `trouble`
/// has been done to it; then the checks every answer must pass.
async fn through_trouble<F, Fut>(name: &str, trouble: F)
where
    F: FnOnce(Arc<Partition>, String, String, u16) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dbs = Databases::fresh().await;
    let Databases::Postgres { server, prefix } = &dbs else {
        println!("{name}: PostgreSQL only (set SHOP_TEST_DATABASE_URL)");
        return;
    };
    let host = host_of(server);
    let partition = Arc::new(Partition::start(host.clone()).await);
    let through = Databases::Postgres {
        server: server.replacen(&host, &format!("127.0.0.1:{}", partition.port), 1),
        prefix: prefix.clone(),
    };
    let data = tempfile::tempdir().unwrap();
    let base = free_base_port();
    let _child = start(&through, data.path(), base, &[]);
    wait_ready(base).await;
    let api = api(base, data.path());
    let (product, shoppers) = load::stocked(&api, &name[..3], 6).await;
    let load = Load::start(&api, &product, shoppers);
    let stop = Arc::new(AtomicBool::new(false));
    let probing = tokio::spawn(probe_readiness(base, stop.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    trouble(partition.clone(), server.clone(), prefix.clone(), base).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let seen = load.finish().await;
    let (slowest_probe, unready) = probing.await.unwrap();

    dbs.check_invariants().await;
    let (by_status, stored) = load::check_answers(&dbs, &seen).await;
    let slowest = seen.iter().map(|s| s.took).max().unwrap_or_default();
    println!(
        "{name}: answers {by_status:?}, slowest order answer {:.2} s, slowest readiness answer \
         {:.2} s ({unready} unready), {stored} orders stored",
        slowest.as_secs_f64(),
        slowest_probe.as_secs_f64(),
    );
    assert!(
        !by_status.contains_key("none"),
        "a client got no answer: {by_status:?}"
    );
    // ORDER_SVC_REQUEST_DEADLINE_MS is 5 s; the readiness checks answer within 1 s.
    assert!(
        slowest < Duration::from_millis(5_500),
        "an order took {slowest:?}"
    );
    assert!(
        slowest_probe < Duration::from_millis(1_500),
        "readiness took {slowest_probe:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_mid_transaction_lose_no_answered_order() {
    through_trouble("killed connections", |_, server, prefix, _| async move {
        let admin = shop_kit::db::connect_server(&server).await.unwrap();
        for _ in 0..10 {
            let sql = format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname LIKE '{prefix}%' AND pid <> pg_backend_pid()"
            );
            shop_kit::db::execute(&admin, &sql).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_seconds_without_the_database_hold_no_request_past_its_deadline() {
    through_trouble("partition", |partition, _, _, base| async move {
        partition.set(true);
        tokio::time::sleep(Duration::from_secs(3)).await;
        // The scrape still answers, and says what readiness says: not ready.
        let metrics = metrics_text(base + 1).await;
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("shop_ready{") && l.ends_with(" 0")),
            "order-svc reports itself ready without its database:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_secs(7)).await;
        partition.set(false);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_begin_cut_off_by_its_deadline_leaves_the_next_write_committed() {
    // A request's deadline can drop a transaction's BEGIN after it went out and before its
    // answer came back. The connection then goes back to the pool: had it stayed inside that
    // transaction on the server, the next borrower's single-statement writes (a courier's
    // confirmation is one) would be answered as done and never committed.
    let dbs = Databases::fresh().await;
    let Databases::Postgres { server, .. } = &dbs else {
        println!("cancelled begin: PostgreSQL only (set SHOP_TEST_DATABASE_URL)");
        return;
    };
    let url = dbs.url("begin").await;
    let host = host_of(server);
    let partition = Partition::start(host.clone()).await;
    let through = url.replacen(&host, &format!("127.0.0.1:{}", partition.port), 1);
    let direct = shop_kit::db::connect_pooled(&url, 1).await.unwrap();
    shop_kit::db::execute(&direct, "CREATE TABLE written (n int)")
        .await
        .unwrap();
    // One connection, used just now, so that the BEGIN below goes out on it without a ping.
    let db = shop_kit::db::connect_pooled(&through, 1).await.unwrap();
    shop_kit::db::execute(&db, "SELECT 1").await.unwrap();

    // The BEGIN reaches the server; its answer is held until the deadline has passed.
    partition.mute(true);
    let begin = tokio::time::timeout(Duration::from_millis(300), db.begin()).await;
    assert!(begin.is_err(), "BEGIN was answered through a partition");
    partition.mute(false);

    let write = tokio::time::timeout(
        Duration::from_secs(30),
        shop_kit::db::execute(&db, "INSERT INTO written VALUES (1)"),
    )
    .await;
    assert!(matches!(write, Ok(Ok(()))), "the write failed: {write:?}");
    let seen = direct
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT count(*) AS n FROM written",
        ))
        .await
        .unwrap()
        .and_then(|row| row.try_get::<i64>("", "n").ok());
    assert_eq!(
        seen,
        Some(1),
        "a write answered as done is not committed: it ran inside the transaction the \
         cancelled BEGIN left open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_waits_for_a_database_that_comes_up_after_it() {
    // A first install: PostgreSQL answers only after the services started.
    let dbs = Databases::fresh().await;
    let Databases::Postgres { server, .. } = &dbs else {
        println!("cold start: PostgreSQL only (set SHOP_TEST_DATABASE_URL)");
        return;
    };
    let url = dbs.url("stock").await;
    let host = host_of(server);
    let partition = Partition::start(host.clone()).await;
    let through = url.replacen(&host, &format!("127.0.0.1:{}", partition.port), 1);
    partition.set(true);
    // Out of patience: it gives up, saying the database did not answer.
    let started = Instant::now();
    let gave_up = shop_kit::db::connect_and_migrate_patiently::<stock_svc::store::Migrator>(
        "stock-svc",
        &through,
        2,
        Duration::from_secs(3),
    )
    .await;
    assert!(gave_up.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // With patience, it starts as soon as the database answers.
    let opens = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(4)).await;
        partition.set(false);
        partition
    });
    let started = Instant::now();
    let db = shop_kit::db::connect_and_migrate_patiently::<stock_svc::store::Migrator>(
        "stock-svc",
        &through,
        2,
        Duration::from_secs(60),
    )
    .await
    .expect("connected once the database answered");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(3), "{waited:?}");
    assert!(waited < Duration::from_secs(15), "{waited:?}");
    shop_kit::db::execute(&db, "SELECT 1").await.unwrap();
    drop(opens.await.unwrap());
    println!(
        "cold start: connected {:.1} s after the start, the database opened at 4 s",
        waited.as_secs_f64()
    );
}
