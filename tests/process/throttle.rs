//! The login throttle behind the front door: every request reaches user-svc from the front
//! door's address, and the throttle still counts each client by its own (the front door names
//! the peer it saw in `X-Forwarded-For`, user-svc trusts the front door). Each client here
//! connects from its own loopback address (`127.0.x.y`), as clients on the internet would.

use std::net::IpAddr;

use futures_util::StreamExt;

use super::*;

/// A client whose connections come from `address`.
fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(address))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The status of a login through `front` by `client`.
async fn login(client: &reqwest::Client, front: &str, username: &str, password: &str) -> u16 {
    client
        .post(format!("{front}/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Runs `attempts` logins one after another (each sees the failures before it) and counts
/// their statuses.
async fn statuses(
    attempts: impl Iterator<Item = (reqwest::Client, String, String)>,
    front: &str,
) -> std::collections::BTreeMap<u16, usize> {
    let mut counts = std::collections::BTreeMap::new();
    let mut answers = futures_util::stream::iter(attempts)
        .map(
            |(client, user, password)| async move { login(&client, front, &user, &password).await },
        )
        .buffered(1);
    while let Some(status) = answers.next().await {
        *counts.entry(status).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_lock_anyone_else_out_through_the_front_door() {
    let shop = started(&[]).await;
    let front = format!("http://127.0.0.1:{}", shop.base - 1);
    let api = api(shop.base, &shop.data_dir);
    api.register("ann").await;

    // 110 failed logins with 110 usernames from one client: it is refused from the 101st on.
    let attacker = client_from([127, 0, 0, 2]);
    let spread = (0..110).map(|i| {
        (
            attacker.clone(),
            format!("guess{i}"),
            "not-the-password".to_owned(),
        )
    });
    let seen = statuses(spread, &front).await;
    assert_eq!(seen.get(&401), Some(&100), "{seen:?}");
    assert_eq!(seen.get(&429), Some(&10), "{seen:?}");
    assert_eq!(login(&attacker, &front, "ann", "password-ann").await, 429);
    // Everyone else logs in: the admin and a shopper, from another address.
    let other = client_from([127, 0, 0, 3]);
    assert_eq!(login(&other, &front, "admin", ADMIN_PASSWORD).await, 200);
    assert_eq!(login(&other, &front, "ann", "password-ann").await, 200);

    // 110 failed logins for ann from 110 addresses: each address fails once, the account is
    // on watch, and an address that failed is refused for it ...
    let many = (0..110u8).map(|i| {
        (
            client_from([127, 0, 1, i + 1]),
            "ann".to_owned(),
            format!("guess-{i}"),
        )
    });
    let seen = statuses(many, &front).await;
    assert_eq!(seen.get(&401), Some(&110), "{seen:?}");
    assert_eq!(
        login(&client_from([127, 0, 1, 1]), &front, "ann", "guess-again").await,
        429,
        "an address that failed against a watched account is refused for it"
    );
    // ... but ann, from an address of her own, logs in with her password.
    let owner = client_from([127, 0, 0, 4]);
    assert_eq!(login(&owner, &front, "ann", "password-ann").await, 200);
}
