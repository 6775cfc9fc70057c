//! Connections that say nothing cannot take a service offline: one client holds 2,000 silent
//! sockets on user-svc (twice its cap of 1,000), opening a new one each time the service closes
//! one, while a shopper keeps calling it on fresh connections. The silent ones are closed (the
//! longest idle first when a place is needed, every one within the header timeout of its
//! accept), and the shopper is answered throughout.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::clients::metric_with;
use super::*;

/// Holds one silent connection to `addr` until `stop`, opening a new one each time the server
/// closes it; how many the server closed.
async fn hold_silently(addr: String, stop: Arc<AtomicBool>) -> usize {
    let mut closed = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut conn) = TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut byte = [0u8; 1];
        loop {
            if stop.load(Ordering::Relaxed) {
                return closed;
            }
            match tokio::time::timeout(Duration::from_millis(500), conn.read(&mut byte)).await {
                Err(_) => continue,      // still open
                Ok(Ok(n)) if n > 0 => {} // a refusal's answer: read on to the close
                Ok(_) => {
                    closed += 1;
                    break;
                }
            }
        }
    }
    closed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_silent_sockets_do_not_lock_a_shopper_out() {
    // Room for 2,000 sockets in this process beside the shop's.
    let mut nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    nofile.current = nofile.maximum;
    let _ = rustix::process::setrlimit(rustix::process::Resource::Nofile, nofile);
    let shop = started(&[]).await;
    let api = api(shop.base, &shop.data_dir);
    let ann = api.register("ann").await;
    let user = shop.base;

    let stop = Arc::new(AtomicBool::new(false));
    let mut attackers = JoinSet::new();
    for _ in 0..2000 {
        attackers.spawn(hold_silently(format!("127.0.0.1:{user}"), stop.clone()));
    }
    // The shopper, on a fresh connection each time, for longer than a silent socket may live
    // (the header timeout, 10 s): every cycle of the attack is covered.
    let shopper = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let me = format!("http://127.0.0.1:{user}/users/me");
    let started = Instant::now();
    let (mut served, mut refused) = (0, 0);
    let (mut refused_since, mut longest_refusal) = (None::<Instant>, Duration::ZERO);
    while started.elapsed() < Duration::from_secs(13) {
        let answer = shopper.get(&me).bearer_auth(&ann.token).send().await;
        if answer.is_ok_and(|a| a.status() == 200) {
            served += 1;
            if let Some(since) = refused_since.take() {
                longest_refusal = longest_refusal.max(since.elapsed());
            }
        } else {
            refused += 1;
            refused_since.get_or_insert_with(Instant::now);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if let Some(since) = refused_since {
        longest_refusal = longest_refusal.max(since.elapsed());
    }
    let open = clients::metric(user, "shop_http_connections_open").await;
    stop.store(true, Ordering::Relaxed);
    let closed: usize = attackers.join_all().await.into_iter().sum();
    let silent = metric_with(user, "shop_http_connections_closed_total", "silent").await;
    let evicted = metric_with(user, "shop_http_connections_closed_total", "evicted").await;
    println!(
        "2,000 silent sockets on user-svc: the shopper was served {served} times and refused \
         {refused} (longest run of refusals {:.1} s); the service closed {closed} silent \
         sockets ({silent} at the header timeout, {evicted} to make room) and held {open} \
         connections",
        longest_refusal.as_secs_f64()
    );
    // How many requests fit in the time depends on the machine; that the shopper is served
    // throughout does not.
    assert!(served >= 10, "served {served}, refused {refused}");
    assert!(refused <= served / 10, "served {served}, refused {refused}");
    assert!(
        longest_refusal < Duration::from_secs(3),
        "the shopper was refused for {longest_refusal:?} on end"
    );
    // 2,000 sockets against a cap of 1,000: at least 1,000 of them were closed.
    assert!(closed >= 1000, "the service closed {closed} silent sockets");
    assert!(evicted > 0.0, "{evicted} evicted, {silent} silent");
    assert!(open <= 1000.0, "{open} connections open, over the cap");
}
