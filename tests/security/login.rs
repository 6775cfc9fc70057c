//! Login: no user enumeration, and throttled guessing.

use std::time::{Duration, Instant};

use serde_json::json;
use shop_tests::TestShop;

async fn median_login(api: &shop_tests::Api, username: &str, rounds: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let (status, _) = api.login(username, "not-the-password").await;
        times.push(started.elapsed());
        assert_eq!(status, 401);
    }
    times.sort();
    times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_does_not_tell_whether_the_user_exists() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    api.register("ann").await;
    let (s1, wrong_password) = api.login("ann", "not-the-password").await;
    let (s2, unknown_user) = api.login("nobody-here", "not-the-password").await;
    let (s3, unknown_email) = api.login("nobody@example.com", "not-the-password").await;
    assert_eq!((s1.as_u16(), s2.as_u16(), s3.as_u16()), (401, 401, 401));
    assert_eq!(wrong_password, unknown_user);
    assert_eq!(wrong_password, unknown_email);
    // Both paths verify an argon2id hash (a dummy one for unknown users), so both take about
    // as long. Without the dummy hash an unknown user answers in well under a tenth of the
    // time. Three failures each stay inside the throttle's ten.
    let known = median_login(api, "ann", 3).await;
    let unknown = median_login(api, "nobody-here", 3).await;
    let ratio = known.as_secs_f64() / unknown.as_secs_f64();
    println!("login medians: existing user {known:?}, unknown user {unknown:?}, ratio {ratio:.2}");
    assert!(
        (0.25..4.0).contains(&ratio),
        "existing {known:?} vs unknown {unknown:?}"
    );
}

/// A login by `username` from the client `address`, as a proxy user-svc trusts names it (the
/// test shop's user-svc trusts loopback, as the `shop` binary's does its front door).
async fn login_from(
    api: &shop_tests::Api,
    address: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/auth/login", api.user))
        .header("x-forwarded-for", address)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("an answer")
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_is_throttled_per_account_and_address_and_per_address() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    api.register("ann").await;
    api.register("bob").await;
    // Per account from one address, existing or not: the eleventh attempt is 429 even with the
    // right password, for that address only.
    for name in ["ann", "ghost"] {
        for attempt in 1..=10 {
            let resp = login_from(api, "203.0.113.1", name, "guess").await;
            assert_eq!(resp.status(), 401, "{name} attempt {attempt}");
        }
        let right = format!("password-{name}");
        let resp = login_from(api, "203.0.113.1", name, &right).await;
        assert_eq!(resp.status(), 429, "{name}");
        assert!((1..=900).contains(&retry_after(&resp)));
    }
    let resp = login_from(api, "203.0.113.2", "ann", "password-ann").await;
    assert_eq!(resp.status(), 200, "another address is not refused for ann");

    // Per address: spreading guesses over many usernames hits the address's limit (100).
    let mut refused_at = None;
    for i in 0..120 {
        let resp = login_from(api, "198.51.100.7", &format!("user{i}"), "guess").await;
        if resp.status() == 429 {
            refused_at = Some(i);
            break;
        }
        assert_eq!(resp.status(), 401);
    }
    assert_eq!(
        refused_at,
        Some(100),
        "the address's 101st login is refused"
    );
    let resp = login_from(api, "198.51.100.7", "bob", "password-bob").await;
    assert_eq!(
        resp.status(),
        429,
        "the address is refused, whoever it tries"
    );
    let resp = login_from(api, "198.51.100.8", "bob", "password-bob").await;
    assert_eq!(resp.status(), 200, "and no other address is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_is_not_a_trusted_proxy_cannot_choose_its_address() {
    let shop = TestShop::spawn().await;
    // Another replica of user-svc on the same database that trusts no proxy, loopback
    // included: the failures it counts are the service's, shared with the first replica.
    let mut common = shop_kit::config::CommonConfig::in_process(
        &shop_kit::topology::USER,
        "127.0.0.1",
        0,
        shop.dbs.url("user").await,
        &shop_kit::auth::AuthConfig::signing(shop.signing_key.clone(), &[], 900),
        &shop_kit::config::Secret::new(shop.api.internal_token()),
    );
    common.proxies = shop_kit::proxies::TrustedProxies::default();
    let alone = shop_tests::Running::start(
        user_svc::App::build(user_svc::Config {
            common,
            payment_url: shop.api.payment.clone(),
            admin_password: None,
            hashing: user_svc::HashLimits::default(),
        })
        .await
        .expect("user-svc"),
    );
    let mut api = shop.api.clone();
    api.user = alone.url.clone();
    // Each guess names another address of its own: all are counted as the TCP peer's.
    for i in 0..100 {
        let resp = login_from(&api, &format!("10.0.0.{i}"), &format!("user{i}"), "guess").await;
        assert_eq!(resp.status(), 401, "guess {i}");
    }
    let resp = login_from(&api, "10.0.1.1", "admin", shop_tests::ADMIN_PASSWORD).await;
    assert_eq!(resp.status(), 429, "the peer (127.0.0.1) is refused");
    // The replica that trusts loopback as a proxy takes the header's word.
    let resp = login_from(&shop.api, "10.0.1.1", "admin", shop_tests::ADMIN_PASSWORD).await;
    assert_eq!(resp.status(), 200);
    alone.stop().await;
}
