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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_is_throttled_per_username_and_per_address() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    api.register("ann").await;
    // Per username, existing or not: the eleventh attempt is 429 even with the right password.
    for name in ["ann", "ghost"] {
        for attempt in 1..=10 {
            let (status, _) = api.login(name, "guess").await;
            assert_eq!(status, 401, "{name} attempt {attempt}");
        }
        let resp = reqwest::Client::new()
            .post(format!("{}/auth/login", api.user))
            .json(&json!({"username": name, "password": format!("password-{name}")}))
            .send()
            .await
            .expect("an answer");
        assert_eq!(resp.status(), 429, "{name}");
        let wait: u64 = resp.headers()["retry-after"]
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=900).contains(&wait));
    }
    // Per address: spreading guesses over many usernames hits the address's limit (100).
    api.register("bob").await;
    let mut refused_at = None;
    for i in 0..120 {
        let (status, _) = api.login(&format!("user{i}"), "guess").await;
        if status == 429 {
            refused_at = Some(i);
            break;
        }
        assert_eq!(status, 401);
    }
    // 20 failures above came from this address too.
    assert_eq!(
        refused_at,
        Some(80),
        "the address's 101st failure is refused"
    );
    let (status, _) = api.login("bob", "password-bob").await;
    assert_eq!(status, 429, "the address is locked out, whoever it tries");
}
