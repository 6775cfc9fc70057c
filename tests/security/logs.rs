//! No secret, password or token is ever written to the logs: the whole shop runs a session of
//! logins, password changes, orders, refusals and attacks with every log line captured at
//! `debug`, and the capture is searched for each secret the session used.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::json;
use shop_tests::{ADMIN_PASSWORD, TestShop};
use tracing_subscriber::EnvFilter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::ErrorKind::Other)?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_password_or_token_reaches_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("debug"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only global subscriber of this suite (run it without RUST_LOG)");

    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let admin = api.admin().await;
    let ann = api.register("ann").await;
    let url = format!("{}/users/me", api.user);
    let new_password = "a-brand-new-passphrase";
    let (status, _) = api
        .call(
            Method::PATCH,
            &url,
            Some(&ann.token),
            Some(json!({"password": new_password, "current_password": "password-ann"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(api.login("ann", "a-wrong-guess-123").await.0, 401);
    let (status, login) = api.login("ann", new_password).await;
    assert_eq!(status, 200);
    let fresh_token = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let product = api.add_product(&admin, 100, 5).await;
    api.add_courier(&admin, 5).await;
    let ann = shop_tests::Shopper {
        token: fresh_token.clone(),
        ..ann
    };
    let (status, _) = api
        .send(
            Method::POST,
            &format!("{}/balance/deposit", api.payment),
            Some(&ann.token),
            Some(json!({"amount": 150})),
            &[("Idempotency-Key", "deposit-key-1")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(api.order(&ann, product, 1, None).await.parts().0, 201);
    assert_eq!(
        api.order(&ann, product, 1, None).await.parts().0,
        402,
        "refused: 50 left"
    );
    let forged = format!("{}x", ann.token);
    assert_eq!(
        api.call(Method::GET, &url, Some(&forged), None).await.0,
        401
    );
    let wrong_internal = "wrong-internal-token-value";
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!(
                "{}/internal/reservations/{}",
                api.payment,
                uuid::Uuid::now_v7()
            ),
            Some(wrong_internal),
            None,
        )
        .await;
    assert_eq!(status, 401);
    shop.settle().await;
    let key_line = shop
        .signing_key
        .pem()
        .expose()
        .lines()
        .nth(1)
        .unwrap_or("-")
        .to_owned();
    let internal_token = api.internal_token().to_owned();
    drop(shop);

    let logs = String::from_utf8_lossy(&capture.0.lock().map(|b| b.clone()).unwrap_or_default())
        .into_owned();
    assert!(
        logs.contains("participant refused"),
        "the capture holds the shop's logs:\n{logs}"
    );
    let secrets = [
        ("the admin's password", ADMIN_PASSWORD.to_owned()),
        ("ann's first password", "password-ann".to_owned()),
        ("ann's new password", new_password.to_owned()),
        ("a wrong guess", "a-wrong-guess-123".to_owned()),
        ("the signing key", key_line),
        (
            "the admin's token's signature",
            admin.token.rsplit('.').next().unwrap_or("-").to_owned(),
        ),
        ("ann's token", fresh_token.clone()),
        ("the admin's token", admin.token.clone()),
        ("a forged token", forged),
        ("the internal token", internal_token),
        ("a wrong internal token", wrong_internal.to_owned()),
        ("an argon2 hash", "$argon2id$".to_owned()),
    ];
    for (what, secret) in secrets {
        assert!(!logs.contains(&secret), "{what} is in the logs");
    }
    println!(
        "{} log lines captured, none with a secret",
        logs.lines().count()
    );
}
