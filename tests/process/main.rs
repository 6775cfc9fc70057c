//! The `shop` binary as a child process, on SQLite (or on PostgreSQL when
//! `SHOP_TEST_DATABASE_URL` names a server): under concurrent order load it is killed with
//! SIGKILL and started again on the same data directory. Every order a client saw as 201 is
//! still completed, every order reaches a terminal state within 60 s, and the invariants hold.
//! At the end a SIGTERM stops it cleanly. And the signing key persists across restarts and
//! rotates on `--rotate-signing-key` without refusing the tokens of the key before. And one
//! order's spans, exported over OTLP, share one trace id in every service (`trace.rs`).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use load::Load;
use reqwest::Method;
use serde_json::json;
use shop_kit::config::Secret;
use shop_tests::{ADMIN_PASSWORD, Api, Databases, Shopper};
use tokio::task::JoinSet;

mod access;
mod clients;
mod disk;
mod drain;
mod front;
mod load;
mod outage;
mod restore;
mod silent;
mod throttle;
mod trace;
mod walkthrough;

/// A base port with the six after it free and the one before it (the front door's), never
/// overlapping the seven of another test of this binary (tests run side by side, and a shop
/// that finds a port taken exits), outside the range the kernel gives client sockets.
fn free_base_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap();
    // Below the kernel's ephemeral range (32768 and up), so that no client socket of this
    // machine (a PostgreSQL connection, a test's request) takes one of them meanwhile.
    let seed = u16::try_from(std::process::id() % 1000).unwrap();
    for attempt in 0..1000u16 {
        let base = 20_000 + (seed.wrapping_mul(7) + attempt * 7) % 12_000;
        if (1025..65_000).contains(&base)
            && given.iter().all(|g| base.abs_diff(*g) >= 7)
            && (base - 1..base + 6).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        {
            given.push(base);
            return base;
        }
    }
    panic!("no seven consecutive free ports");
}

/// The running `shop`, killed when the test ends, even by a panic.
struct ShopProcess(Child);

impl Drop for ShopProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `shop` on `data_dir` (and the test's PostgreSQL databases, if any).
fn start(dbs: &Databases, data_dir: &Path, base: u16, extra: &[&str]) -> ShopProcess {
    ShopProcess(
        command(dbs, data_dir, base, extra)
            .spawn()
            .expect("the shop binary starts"),
    )
}

/// The command that starts `shop` on `data_dir`, for a test to add to.
fn command(dbs: &Databases, data_dir: &Path, base: u16, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shop"));
    cmd.args(extra)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--base-port")
        .arg(base.to_string())
        .env("SHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("ORDER_SVC_LEASE_TTL_MS", "1000")
        .env("ORDER_SVC_RECOVERY_INTERVAL_MS", "100")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Databases::Postgres { server, prefix } = dbs {
        // Small pools: two tests side by side stay well inside the server's max_connections.
        cmd.arg("--postgres")
            .arg(server)
            .arg("--database-prefix")
            .arg(prefix)
            .arg("--database-pool-size")
            .arg("3");
    }
    cmd
}

/// Waits until all six services answer `/health/ready`.
async fn wait_ready(base: u16) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    for port in base..base + 6 {
        let url = format!("http://127.0.0.1:{port}/health/ready");
        loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{url} not ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The shop's data directory: the SQLite databases' own, or `spare` beside PostgreSQL's.
fn data_dir(dbs: &Databases, spare: &tempfile::TempDir) -> std::path::PathBuf {
    match dbs {
        Databases::Sqlite(dir) => dir.path().to_owned(),
        Databases::Postgres { .. } => spare.path().to_owned(),
    }
}

/// A fresh `shop` on the test's databases, ready.
struct Started {
    _dbs: Databases,
    data_dir: std::path::PathBuf,
    base: u16,
    _child: ShopProcess,
    _spare: tempfile::TempDir,
}

/// Starts a fresh `shop` with `extra` arguments and waits until all six services are ready.
async fn started(extra: &[&str]) -> Started {
    let dbs = Databases::fresh().await;
    let spare = tempfile::tempdir().unwrap();
    let data_dir = data_dir(&dbs, &spare);
    let base = free_base_port();
    let child = start(&dbs, &data_dir, base, extra);
    wait_ready(base).await;
    Started {
        _dbs: dbs,
        data_dir,
        base,
        _child: child,
        _spare: spare,
    }
}

/// The text of `port`'s `/metrics`.
async fn metrics_text(port: u16) -> String {
    reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn api(base: u16, data_dir: &Path) -> Api {
    let token = std::fs::read_to_string(data_dir.join("internal-token")).unwrap();
    let urls = std::array::from_fn(|i| format!("http://127.0.0.1:{}", base as usize + i));
    Api::new(urls, Secret::new(token.trim()))
}

/// How many of the six services' `/metrics` report the process (CPU, memory, fds).
async fn services_reporting_the_process(base: u16) -> usize {
    let mut reporting = 0;
    for port in base..base + 6 {
        let text = metrics_text(port).await;
        if text.contains("\nprocess_resident_memory_bytes") {
            reporting += 1;
        }
    }
    reporting
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_shop_loses_no_order_and_finishes_every_saga_after_a_restart() {
    let dbs = Databases::fresh().await;
    let data = tempfile::tempdir().unwrap();
    let data_dir = data_dir(&dbs, &data);
    let base = free_base_port();
    let mut child = start(&dbs, &data_dir, base, &[]);
    wait_ready(base).await;
    assert_eq!(
        services_reporting_the_process(base).await,
        1,
        "six services in one process report the process once"
    );
    let api = api(base, &data_dir);
    let (product, shoppers) = load::stocked(&api, "load", 12).await;
    let load = Load::start(&api, &product, shoppers);
    Load::wait_for(&load.answered, 60).await;
    child.0.kill().unwrap(); // SIGKILL, with orders in flight
    child.0.wait().unwrap();
    let seen = load.finish().await;
    let unanswered = seen.iter().filter(|s| s.status.is_none()).count();

    let restarted = Instant::now();
    let mut child = start(&dbs, &data_dir, base, &[]);
    wait_ready(base).await;
    // Waits (up to 60 s) until every order is terminal, then checks the invariants.
    dbs.check_invariants().await;
    let settled = restarted.elapsed();
    let (answers, stored) = load::check_answers(&dbs, &seen).await;
    let created = answers.get("201").copied().unwrap_or(0);
    println!(
        "process crash: {stored} orders recorded, {created} answered 201 before the SIGKILL, \
         {unanswered} requests cut off; all terminal {:.1} s after the restart",
        settled.as_secs_f64()
    );

    // A SIGTERM stops it cleanly.
    let term = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let stopping = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "shop exited with {status}");
            break;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(30),
            "shop ignored SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The statuses of one token on an endpoint of every service.
async fn statuses(api: &Api, token: &str) -> Vec<u16> {
    let mut all = Vec::new();
    for url in [
        format!("{}/users/me", api.user),
        format!("{}/orders", api.order),
        format!("{}/balance", api.payment),
        format!("{}/deliveries/{}", api.delivery, uuid::Uuid::now_v7()),
        format!("{}/messages", api.notify),
    ] {
        all.push(
            api.call(Method::GET, &url, Some(token), None)
                .await
                .0
                .as_u16(),
        );
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signing_key_persists_and_rotates_without_refusing_live_tokens() {
    let dbs = Databases::fresh().await;
    let data = tempfile::tempdir().unwrap();
    let base = free_base_port();
    let accepted = [200, 200, 200, 404, 200];
    let refused = [401; 5];
    let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();

    let first_run = start(&dbs, data.path(), base, &[]);
    wait_ready(base).await;
    let api = api(base, data.path());
    let first = api.register("ann").await.token;
    assert_eq!(statuses(&api, &first).await, accepted);
    drop(first_run);

    // A restart keeps the key: the token stays valid.
    let second_run = start(&dbs, data.path(), base, &[]);
    wait_ready(base).await;
    assert_eq!(statuses(&api, &first).await, accepted, "after a restart");
    drop(second_run);

    // A rotation: new tokens carry the new kid, the old ones still pass everywhere.
    let third_run = start(&dbs, data.path(), base, &["--rotate-signing-key"]);
    wait_ready(base).await;
    let (_, login) = api.login("ann", "password-ann").await;
    let second = login["access_token"].as_str().unwrap().to_owned();
    assert_ne!(kid(&first), kid(&second));
    assert_eq!(
        statuses(&api, &first).await,
        accepted,
        "the previous key's token"
    );
    assert_eq!(
        statuses(&api, &second).await,
        accepted,
        "the new key's token"
    );
    let (_, jwks) = api
        .call(
            Method::GET,
            &format!("{}/auth/jwks.json", api.user),
            None,
            None,
        )
        .await;
    let kids: Vec<_> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert_eq!(kids, [json!(kid(&second)), json!(kid(&first))]);
    drop(third_run);

    // The next rotation retires the first key.
    let _fourth_run = start(&dbs, data.path(), base, &["--rotate-signing-key"]);
    wait_ready(base).await;
    assert_eq!(statuses(&api, &first).await, refused, "two rotations ago");
    assert_eq!(statuses(&api, &second).await, accepted, "one rotation ago");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_shop_on_the_same_data_directory_refuses_to_start() {
    let dbs = Databases::fresh().await;
    let data = tempfile::tempdir().unwrap();
    let base = free_base_port();
    let _first = start(&dbs, data.path(), base, &[]);
    wait_ready(base).await;
    let second = command(&dbs, data.path(), free_base_port(), &[])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "the second shop: {said}");
    assert!(
        said.contains("another shop is running on the data directory"),
        "{said}"
    );
    // The first one goes on serving.
    wait_ready(base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shops_started_together_on_an_empty_directory_agree_on_their_signing_key() {
    // Whichever takes the directory's lock creates the secrets and serves; the other refuses.
    // The key the winner signs with is the one on disk, so its tokens survive a restart.
    let dbs = Databases::Sqlite(tempfile::tempdir().unwrap());
    for _ in 0..3 {
        let data = tempfile::tempdir().unwrap();
        let bases = [free_base_port(), free_base_port()];
        let mut shops = bases.map(|b| {
            command(&dbs, data.path(), b, &[])
                .stderr(Stdio::null())
                .spawn()
                .map(ShopProcess)
                .unwrap()
        });
        let started = Instant::now();
        let winner = loop {
            if let Some(lost) = (0..2).find(|&i| shops[i].0.try_wait().unwrap().is_some()) {
                let status = shops[lost].0.wait().unwrap();
                assert_eq!(status.code(), Some(1), "the loser exits 1");
                break 1 - lost;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "neither refused"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        wait_ready(bases[winner]).await;
        let pem = std::fs::read_to_string(data.path().join("jwt-signing-key.pem")).unwrap();
        let on_disk = shop_kit::auth::SigningKey::from_pem(&pem)
            .unwrap()
            .kid()
            .to_owned();
        let jwks: serde_json::Value =
            reqwest::get(format!("http://127.0.0.1:{}/auth/jwks.json", bases[winner]))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(jwks["keys"][0]["kid"], json!(on_disk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_migrated_by_a_newer_release_is_served_by_this_one() {
    // Mid-rollout (or after a rollback) the database holds a migration a newer release applied;
    // this release starts, is ready and serves, as long as none of its own is pending.
    let dbs = Databases::fresh().await;
    let data = tempfile::tempdir().unwrap();
    let data_dir = data_dir(&dbs, &data);
    let base = free_base_port();
    let first = start(&dbs, &data_dir, base, &[]);
    wait_ready(base).await;
    drop(first);
    let future = "INSERT INTO seaql_migrations (version, applied_at) \
                  VALUES ('m20991231_000001_from_a_newer_release', 0)";
    for service in shop_kit::topology::SERVICES.map(|s| s.short) {
        shop_kit::db::execute(&dbs.connect(service).await, future)
            .await
            .unwrap();
    }
    let second = start(&dbs, &data_dir, base, &[]);
    wait_ready(base).await;
    let api = api(base, &data_dir);
    let admin = api.admin().await;
    let product = api.add_product(&admin, 10, 10).await;
    api.add_courier(&admin, 10).await;
    let ann = api.register("ann").await;
    api.deposit(&ann, 100).await;
    let (status, order) = api.order(&ann, product, 1, None).await.parts();
    assert_eq!(status, 201, "{order}");
    drop(second);

    // One of this release's own migrations missing under a newer one's cannot be applied in
    // order: the start is refused, saying why.
    use sea_orm_migration::MigratorTrait;
    let stock = dbs.connect("stock").await;
    let own = stock_svc::store::Migrator::migrations()
        .last()
        .map(|m| m.name().to_owned())
        .unwrap();
    shop_kit::db::execute(
        &stock,
        &format!("DELETE FROM seaql_migrations WHERE version = '{own}'"),
    )
    .await
    .unwrap();
    let refused = command(&dbs, &data_dir, base, &[])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains("cannot be applied in order"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_told_not_to_migrate_refuses_a_pending_migration_of_its_own() {
    // SHOP_MIGRATE_AT_START=false (a cluster whose migrate Job runs first): a start that finds
    // this release's migrations pending is refused with the command to run; once `migrate`
    // applied them, it starts.
    let dbs = Databases::fresh().await;
    let url = dbs.url("stock").await;
    let patience = Duration::from_secs(5);
    type Stock = stock_svc::store::Migrator;
    let refused = shop_kit::db::connect_patiently::<Stock>("stock-svc", &url, 2, patience, false)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.contains("run the binary with `migrate`"),
        "{refused}"
    );
    shop_kit::db::connect_and_migrate_patiently::<Stock>("stock-svc", &url, 2, patience)
        .await
        .unwrap();
    let started = shop_kit::db::connect_patiently::<Stock>("stock-svc", &url, 2, patience, false);
    assert!(started.await.is_ok());
}
