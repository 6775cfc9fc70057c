//! Shutting down like a good citizen: on SIGTERM every service answers `/health/ready` 503 at
//! once, goes on answering everything else for `SHOP_SHUTDOWN_DELAY_SECS` (the time endpoints
//! take to stop routing to it), refuses connections only after that, and exits 0.

use super::*;

/// One request of the hammering client: when it was sent (since SIGTERM, negative before) and
/// whether it was answered 200.
struct Shot {
    sent: f64,
    ok: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_makes_the_shop_unready_at_once_and_it_serves_through_the_delay() {
    let dbs = Databases::fresh().await;
    let data = tempfile::tempdir().unwrap();
    let base = free_base_port();
    let delay = Duration::from_secs(2);
    let mut child = ShopProcess(
        command(&dbs, data.path(), base, &[])
            .env("SHOP_SHUTDOWN_DELAY_SECS", delay.as_secs().to_string())
            .spawn()
            .unwrap(),
    );
    wait_ready(base).await;
    let stock = format!("http://127.0.0.1:{}", base + 3);

    // A client hammering the catalogue, each request on a new connection.
    let started = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let stop = Arc::new(AtomicBool::new(false));
    let hammer = {
        let (started, stop, stock) = (started.clone(), stop.clone(), stock.clone());
        tokio::spawn(async move {
            let mut shots = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .build()
                    .unwrap();
                let sent = Instant::now();
                let answer = http
                    .get(format!("{stock}/products"))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                let since = started.lock().unwrap().map_or(-1.0, |t: Instant| {
                    sent.checked_duration_since(t)
                        .map_or(-t.duration_since(sent).as_secs_f64(), |d| d.as_secs_f64())
                });
                shots.push(Shot {
                    sent: since,
                    ok: answer.is_ok_and(|r| r.status() == 200),
                });
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            shots
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    let term = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let t0 = Instant::now();
    *started.lock().unwrap() = Some(t0);
    // Every service's readiness turns 503 at once: no readiness request sent 100 ms or more
    // after the signal is answered ready.
    let mut polls = JoinSet::new();
    for port in base..base + 6 {
        polls.spawn(async move {
            let http = reqwest::Client::new();
            let mut last_ready = Duration::ZERO;
            loop {
                let sent = t0.elapsed();
                let r = http
                    .get(format!("http://127.0.0.1:{port}/health/ready"))
                    .send()
                    .await
                    .unwrap();
                if r.status() == 503 {
                    return last_ready;
                }
                last_ready = sent;
                assert!(sent < Duration::from_secs(2), "port {port} still ready");
            }
        });
    }
    let last_ready = polls.join_all().await;
    let slowest = last_ready.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < Duration::from_millis(100),
        "ready when asked {slowest:?} after SIGTERM"
    );

    // It exits 0, inside the delay and the drain budget.
    let exited = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            t0.elapsed() < delay + Duration::from_secs(25),
            "still running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exited.success(), "exited with {exited}");
    let exited_after = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let shots = hammer.await.unwrap();

    let delay_s = delay.as_secs_f64();
    // Everything sent during the delay (but its last moments, when a request and the stop
    // cross) was answered; nothing after it was.
    let during: Vec<&Shot> = shots
        .iter()
        .filter(|s| s.sent >= 0.0 && s.sent < delay_s - 0.1)
        .collect();
    assert!(
        during.len() > 5,
        "only {} requests during the delay",
        during.len()
    );
    assert!(
        during.iter().all(|s| s.ok),
        "a request during the delay failed"
    );
    let after: Vec<&Shot> = shots.iter().filter(|s| s.sent > delay_s + 0.5).collect();
    assert!(
        !after.is_empty() && after.iter().all(|s| !s.ok),
        "answered after the drain"
    );
    println!(
        "drain: last answered ready to a request sent {:.1} ms after SIGTERM, {} requests answered during the {delay_s} s \
         delay, refused after it, exit 0 after {:.2} s",
        slowest.as_secs_f64() * 1000.0,
        during.len(),
        exited_after.as_secs_f64()
    );
}
