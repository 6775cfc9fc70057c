//! `/auth/login`: bearer tokens for username (or email) and password.

use std::sync::Arc;

use jsonwebtoken::jwk::AlgorithmParameters;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shop_kit::JsonBody;
use shop_kit::auth::TokenKeys;
use shop_kit::proxies::ClientAddr;
use shop_kit::{ApiError, ApiResult};

use super::Tag;
use crate::error::Error;
use crate::metrics::UserMetrics;
use crate::password::Passwords;
use crate::store::UserStore;
use crate::throttle::{LoginGuard, Refusal};

pub struct AuthApi {
    pub store: UserStore,
    pub passwords: Passwords,
    pub keys: Arc<TokenKeys>,
    pub guard: LoginGuard,
    pub metrics: UserMetrics,
}

/// A login: the username or the email, and the password.
#[derive(Object, serde::Deserialize)]
#[oai(example)]
struct Login {
    /// Username or email.
    #[oai(validator(min_length = 1, max_length = 254))]
    username: String,
    /// In clear; only its argon2id hash is kept.
    #[oai(validator(min_length = 1, max_length = 128))]
    password: String,
}

impl poem_openapi::types::Example for Login {
    fn example() -> Self {
        Self {
            username: "ann".into(),
            password: "correct-horse-1".into(),
        }
    }
}

/// An access token.
#[derive(Object)]
struct Token {
    /// The bearer token (a JWS-compact JWT).
    access_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds until it expires.
    expires_in: u64,
}

#[derive(ApiResponse)]
enum LoginResponse {
    /// Logged in.
    #[oai(status = 200)]
    Ok(Json<Token>),
}

/// The public keys that verify access tokens (a JWK Set, RFC 7517).
#[derive(Object)]
struct PublicKeys {
    /// The keys, the one that signs new tokens first.
    keys: Vec<PublicKey>,
}

/// An Ed25519 public key as a JWK.
#[derive(Object)]
struct PublicKey {
    /// Key type: `OKP`.
    kty: String,
    /// Curve: `Ed25519`.
    crv: String,
    /// The public key, base64url.
    x: String,
    /// Key id, as in the `kid` of the tokens it verifies.
    kid: String,
    /// Algorithm: `EdDSA`.
    alg: String,
    /// Use: `sig`.
    #[oai(rename = "use")]
    key_use: String,
}

#[derive(ApiResponse)]
enum KeysResponse {
    /// The accepted keys.
    #[oai(status = 200)]
    Ok(Json<PublicKeys>),
}

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Log in
    ///
    /// Logs in with a username or an email and the password, and answers a bearer token (valid
    /// 15 minutes): in Swagger UI, paste its `access_token` into Authorize once, for every service.
    ///
    /// 401: wrong username or password (the same answer whether or not the user exists).
    /// 429: too many failed logins from this client's address (100 in 15 minutes, on any
    /// accounts), or for this account from this address (10; only 1 while the account is under
    /// a guessing attack from many addresses). Refused even with the right password until
    /// `Retry-After` seconds have passed; other addresses are never refused for it.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        body: JsonBody<Login>,
        client: Data<&ClientAddr>,
    ) -> ApiResult<LoginResponse> {
        let account = body.username.to_lowercase();
        let address = client.0.0;
        if let Some(refusal) = self.guard.check(&account, address).await? {
            self.metrics.logins.with_label_values(&["throttled"]).inc();
            let detail = match refusal {
                Refusal::Address { .. } => "too many failed logins from your address; retry later",
                Refusal::Account { .. } => {
                    "too many failed logins for this account from your address; retry later"
                }
            };
            return Err(ApiError::too_many(detail, refusal.wait()));
        }
        let user = self.store.by_login(&body.username).await?;
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let matches = self
            .passwords
            .verify(body.password.clone(), phc)
            .await
            .inspect_err(|e| {
                if matches!(e, Error::Busy) {
                    self.metrics.logins.with_label_values(&["shed"]).inc();
                }
            })?;
        if !matches {
            self.guard.failed(&account, address).await?;
            self.metrics.logins.with_label_values(&["failure"]).inc();
            return Err(ApiError::unauthorized("wrong username or password"));
        }
        let Some(user) = user else {
            return Err(ApiError::unauthorized("wrong username or password"));
        };
        let token = self
            .keys
            .issue(user.id, user.is_admin)
            .map_err(Error::from)?;
        self.metrics.logins.with_label_values(&["success"]).inc();
        Ok(LoginResponse::Ok(Json(Token {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in: self.keys.ttl_secs(),
        })))
    }

    /// The keys that verify tokens
    ///
    /// The public keys that verify access tokens (a JWK Set), for services that take them from here
    /// rather than from their configuration.
    #[oai(path = "/auth/jwks.json", method = "get", operation_id = "public_keys")]
    async fn public_keys(&self) -> ApiResult<KeysResponse> {
        let keys = self
            .keys
            .public_keys()
            .keys
            .iter()
            .filter_map(|jwk| match &jwk.algorithm {
                AlgorithmParameters::OctetKeyPair(okp) => Some(PublicKey {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: okp.x.clone(),
                    kid: jwk.common.key_id.clone().unwrap_or_default(),
                    alg: "EdDSA".into(),
                    key_use: "sig".into(),
                }),
                _ => None,
            })
            .collect();
        Ok(KeysResponse::Ok(Json(PublicKeys { keys })))
    }
}

/// The login's examples in the docs page, to choose from: the walk-through's shopper, whose
/// example logs in as proposed once she has registered (with `POST /users`' example), and the
/// admin, whose password the example cannot hold (it is a secret of the deployment): its
/// description says where to find it.
pub fn login_examples() -> shop_kit::server::LiveExamples {
    std::sync::Arc::new(|mut spec| {
        Box::pin(async move {
            let examples = serde_json::json!({
                "shopper": {
                    "summary": "ann, the shopper of the walk-through",
                    "value": {"username": "ann", "password": "correct-horse-1"}
                },
                // Listed after the shopper's (examples are listed by name), so that "Execute"
                // as proposed works without an edit.
                "the_admin": {
                    "summary": "admin: put in the admin's password",
                    "description": "The admin's password is printed when `shop` starts and \
                        kept in `<data-dir>/admin-password` (`./shop-data/admin-password` by \
                        default); in a cluster it is the `admin-password` key of the chart's \
                        Secret. No page shows it.",
                    "value": {"username": "admin", "password": "the password in <data-dir>/admin-password"}
                }
            });
            if let Some(serde_json::Value::Object(media)) =
                spec.pointer_mut("/paths/~1auth~1login/post/requestBody/content/application~1json")
            {
                media.remove("example");
                media.insert("examples".into(), examples);
            }
            spec
        })
    })
}
