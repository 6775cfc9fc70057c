//! API2 Broken Authentication: forged, tampered and expired tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};
use shop_kit::auth::SigningKey;
use shop_tests::TestShop;

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn claims(sub: &str, adm: bool) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": sub, "iat": now, "exp": now + 600, "iss": "shop-user-svc", "aud": "shop", "adm": adm})
}

fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("signs")
}

fn ed(key: &SigningKey) -> EncodingKey {
    EncodingKey::from_ed_pem(key.pem().expose().as_bytes()).expect("an Ed25519 key")
}

fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_owned);
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tampered_and_expired_tokens_are_401_everywhere() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let ann = api.register("ann").await;
    let real = &shop.signing_key;
    let kid = real.kid();
    let sub = ann.id.to_string();
    let admin_claims = claims(&sub, true);
    let public_x = real.public_jwk().algorithm.clone();
    let public_x = match public_x {
        jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(p) => p.x,
        _ => unreachable!("an Ed25519 key"),
    };
    let other = SigningKey::generate();
    let mut expired = claims(&sub, false);
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    let mut no_exp = claims(&sub, false);
    no_exp.as_object_mut().expect("an object").remove("exp");
    let mut wrong_iss = claims(&sub, true);
    wrong_iss["iss"] = json!("someone-else");
    let mut wrong_aud = claims(&sub, true);
    wrong_aud["aud"] = json!("another-app");
    let (parts, tampered) = {
        let mut parts: Vec<String> = ann.token.split('.').map(str::to_owned).collect();
        let mut payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).expect("base64url"))
                .expect("JSON claims");
        payload["adm"] = json!(true);
        parts[1] = b64(&payload);
        (parts.len(), parts.join("."))
    };
    assert_eq!(parts, 3);
    let attacks: Vec<(&str, String)> = vec![
        ("garbage", "not.a.token".into()),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
                b64(&admin_claims)
            ),
        ),
        (
            "alg none, upper case",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "NONE", "typ": "JWT", "kid": kid})),
                b64(&admin_claims)
            ),
        ),
        (
            "HS256 keyed with the public key (algorithm confusion)",
            sign(
                &header(Algorithm::HS256, Some(kid)),
                &admin_claims,
                &EncodingKey::from_secret(public_x.as_bytes()),
            ),
        ),
        (
            "HS256 with a guessed secret",
            sign(
                &header(Algorithm::HS256, Some(kid)),
                &admin_claims,
                &EncodingKey::from_secret(b"secret"),
            ),
        ),
        (
            "another Ed25519 key under the real kid",
            sign(
                &header(Algorithm::EdDSA, Some(kid)),
                &admin_claims,
                &ed(&other),
            ),
        ),
        (
            "another Ed25519 key under its own kid",
            sign(
                &header(Algorithm::EdDSA, Some(other.kid())),
                &admin_claims,
                &ed(&other),
            ),
        ),
        (
            "the real key without a kid",
            sign(&header(Algorithm::EdDSA, None), &admin_claims, &ed(real)),
        ),
        (
            "wrong issuer",
            sign(&header(Algorithm::EdDSA, Some(kid)), &wrong_iss, &ed(real)),
        ),
        (
            "wrong audience",
            sign(&header(Algorithm::EdDSA, Some(kid)), &wrong_aud, &ed(real)),
        ),
        (
            "expired an hour ago",
            sign(&header(Algorithm::EdDSA, Some(kid)), &expired, &ed(real)),
        ),
        (
            "no expiry",
            sign(&header(Algorithm::EdDSA, Some(kid)), &no_exp, &ed(real)),
        ),
        ("payload changed to adm: true", tampered),
        (
            "signature stripped",
            ann.token
                .rsplit_once('.')
                .expect("three parts")
                .0
                .to_owned()
                + ".",
        ),
    ];
    // One operation per service that needs a user (or an admin) token.
    // (method, URL, body, the status a genuine admin token gets)
    let missing = uuid::Uuid::now_v7();
    let targets = [
        (Method::GET, format!("{}/users/me", api.user), None, 200),
        (Method::GET, format!("{}/users", api.user), None, 200),
        (Method::GET, format!("{}/orders", api.order), None, 200),
        (
            Method::GET,
            format!("{}/admin/orders", api.order),
            None,
            200,
        ),
        (Method::GET, format!("{}/balance", api.payment), None, 200),
        (
            Method::PATCH,
            format!("{}/products/{missing}", api.stock),
            Some(json!({"name": "Tea"})),
            404,
        ),
        (Method::GET, format!("{}/couriers", api.delivery), None, 200),
        (Method::GET, format!("{}/messages", api.notify), None, 200),
    ];
    // The forging itself works: the real key and the right claims pass everywhere.
    let genuine = sign(
        &header(Algorithm::EdDSA, Some(kid)),
        &admin_claims,
        &ed(real),
    );
    for (method, url, json, expected) in &targets {
        let (status, body) = api
            .call(method.clone(), url, Some(&genuine), json.clone())
            .await;
        assert_eq!(status, *expected, "a genuine admin token on {url}: {body}");
    }
    for (name, token) in &attacks {
        for (method, url, json, _) in &targets {
            let (status, body) = api
                .call(method.clone(), url, Some(token), json.clone())
                .await;
            assert_eq!(status, 401, "{name} on {method} {url}: {body}");
            assert_eq!(body["status"], 401);
        }
    }
    let (status, _) = api
        .call(Method::GET, &format!("{}/users/me", api.user), None, None)
        .await;
    assert_eq!(status, 401, "no token at all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_eddsa_with_a_published_kid() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let ann = api.register("ann").await;
    let header = jsonwebtoken::decode_header(&ann.token).expect("a JWS");
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some(shop.signing_key.kid()));
    let (status, jwks) = api
        .call(
            Method::GET,
            &format!("{}/auth/jwks.json", api.user),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["kid"], shop.signing_key.kid());
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");
    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(ann.token.split('.').nth(1).expect("a payload"))
            .expect("base64url"),
    )
    .expect("JSON");
    let lifetime = payload["exp"].as_i64().unwrap_or(0) - payload["iat"].as_i64().unwrap_or(0);
    assert_eq!(lifetime, 900, "short-lived: 15 minutes");
    assert_eq!(payload["sub"], ann.id.to_string());
    assert_eq!(
        (payload["iss"].as_str(), payload["aud"].as_str()),
        (Some("shop-user-svc"), Some("shop"))
    );
}
