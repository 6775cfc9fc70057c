//! Access tokens: issued with the signing key, verified against the accepted keys.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::*;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user's id.
    pub sub: Uuid,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Issuer: always [`ISSUER`].
    pub iss: String,
    /// Audience: always [`AUDIENCE`].
    pub aud: String,
    /// Whether the user is an admin.
    pub adm: bool,
}

/// Signs (user-svc) and verifies (every service) access tokens.
pub struct TokenKeys {
    signer: Option<(String, EncodingKey)>,
    verifiers: RwLock<HashMap<String, DecodingKey>>,
    published: JwkSet,
    validation: Validation,
    ttl_secs: u64,
    /// Where the current keys are published (user-svc's `/auth/jwks.json`), fetched again when a
    /// token names a key not known here: a rotated key is accepted without a restart.
    jwks_url: Option<String>,
    /// When the keys were last fetched again: at most once per [`REFRESH_EVERY`], so that
    /// tokens naming made-up keys cannot make the service hammer user-svc.
    refreshed: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

/// The least time between two fetches of the key set for an unknown `kid`.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

impl TokenKeys {
    /// Builds the keys from configuration; a public key that is not Ed25519 or has no `kid`
    /// is refused.
    pub fn new(config: &AuthConfig) -> Result<Arc<Self>, KeyError> {
        let published = config.accepted_keys();
        let mut verifiers = HashMap::new();
        for jwk in &published.keys {
            let (kid, key) = verifier(jwk)?;
            verifiers.insert(kid, key);
        }
        let signer = match &config.signing_key {
            Some(key) => Some((
                key.kid().to_owned(),
                EncodingKey::from_ed_pem(key.pem().expose().as_bytes())
                    .map_err(|e| KeyError::SigningKey(e.to_string()))?,
            )),
            None => None,
        };
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.leeway = 5;
        Ok(Arc::new(Self {
            signer,
            verifiers: RwLock::new(verifiers),
            published,
            validation,
            ttl_secs: config.token_ttl_secs,
            jwks_url: config.jwks_url.clone(),
            refreshed: tokio::sync::Mutex::new(None),
        }))
    }

    /// Lifetime of the tokens this issues, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// The public keys tokens are accepted from (user-svc publishes them).
    pub fn public_keys(&self) -> &JwkSet {
        &self.published
    }

    /// Issues a token for `user_id`, signed with the signing key and naming it in `kid`.
    pub fn issue(
        &self,
        user_id: Uuid,
        is_admin: bool,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let Some((kid, key)) = &self.signer else {
            return Err(jsonwebtoken::errors::ErrorKind::InvalidEddsaKey.into());
        };
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        let claims = Claims {
            sub: user_id,
            exp: now + self.ttl_secs,
            iat: now,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            adm: is_admin,
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, &claims, key)
    }

    /// Verifies a token: EdDSA only, a `kid` among the accepted keys, its signature, issuer,
    /// audience and expiry.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != ALGORITHM {
            return None;
        }
        let verifiers = self.verifiers.read().ok()?;
        let key = verifiers.get(header.kid.as_deref()?)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .ok()
            .map(|data| data.claims)
    }

    /// [`Self::verify`], and when the token names a key not known here, the published keys
    /// fetched again first (at most once per 10 s): user-svc signing with a new key needs no
    /// restart of the services that verify its tokens.
    pub async fn verify_fresh(&self, token: &str) -> Option<Claims> {
        if let Some(claims) = self.verify(token) {
            return Some(claims);
        }
        let url = self.jwks_url.as_deref()?;
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        if self.verifiers.read().ok()?.contains_key(&kid) {
            return None; // known key, bad token
        }
        {
            let mut refreshed = self.refreshed.lock().await;
            if refreshed.is_some_and(|at| at.elapsed() < REFRESH_EVERY) {
                return None;
            }
            *refreshed = Some(tokio::time::Instant::now());
            match fetch_key_set(url).await {
                Ok(set) => {
                    let mut verifiers = self.verifiers.write().ok()?;
                    for jwk in &set.keys {
                        match verifier(jwk) {
                            Ok((kid, key)) => {
                                verifiers.insert(kid, key);
                            }
                            Err(e) => tracing::warn!(error = %e, "a published key is skipped"),
                        }
                    }
                    tracing::info!(%url, %kid, "a token named an unknown key: the keys were fetched again");
                }
                Err(e) => tracing::warn!(%url, error = %e, "cannot fetch the keys again"),
            }
        }
        self.verify(token)
    }
}

/// The verifying key of a published JWK: Ed25519 with a `kid`, or refused.
fn verifier(jwk: &jsonwebtoken::jwk::Jwk) -> Result<(String, DecodingKey), KeyError> {
    let kid = jwk
        .common
        .key_id
        .clone()
        .ok_or_else(|| KeyError::PublicKeys("a key has no `kid`".into()))?;
    match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {}
        _ => {
            return Err(KeyError::PublicKeys(format!(
                "key {kid} is not an Ed25519 key"
            )));
        }
    }
    let key =
        DecodingKey::from_jwk(jwk).map_err(|e| KeyError::PublicKeys(format!("key {kid}: {e}")))?;
    Ok((kid, key))
}

/// The key set published at `url`.
pub(super) async fn fetch_key_set(url: &str) -> Result<JwkSet, reqwest::Error> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()?;
    http.get(url).send().await?.error_for_status()?.json().await
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::jwk::Jwk;

    use super::*;

    fn keys(config: &AuthConfig) -> Arc<TokenKeys> {
        TokenKeys::new(config).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_rotation_keeps_the_previous_keys_tokens_until_the_next_one() {
        let (first, second, third) = (
            SigningKey::generate(),
            SigningKey::generate(),
            SigningKey::generate(),
        );
        assert_ne!(first.kid(), second.kid());
        let user = Uuid::now_v7();
        let old = keys(&AuthConfig::signing(first.clone(), &[], 900))
            .issue(user, false)
            .unwrap_or_default();
        let rotated = keys(&AuthConfig::signing(second.clone(), &[first], 900));
        let new = rotated.issue(user, true).unwrap_or_default();
        assert_eq!(rotated.verify(&old).map(|c| c.sub), Some(user));
        assert_eq!(rotated.verify(&new).map(|c| c.adm), Some(true));
        let header = jsonwebtoken::decode_header(&new).ok();
        assert_eq!(header.and_then(|h| h.kid).as_deref(), Some(second.kid()));
        // A service that holds only the public keys verifies the same tokens and signs none.
        let verifier = keys(&AuthConfig::signing(second.clone(), &[], 900).verifying_only());
        assert!(verifier.verify(&new).is_some() && verifier.verify(&old).is_none());
        assert!(verifier.issue(user, false).is_err());
        let again = keys(&AuthConfig::signing(third, &[second], 900));
        assert!(again.verify(&old).is_none(), "two rotations ago");
        assert!(again.verify(&new).is_some());
    }

    #[tokio::test]
    async fn a_token_of_an_unknown_key_fetches_the_published_keys_again_at_most_every_10_s() {
        use poem::listener::{Acceptor, Listener};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (old, new) = (SigningKey::generate(), SigningKey::generate());
        // user-svc's /auth/jwks.json, rotated to `new` after the verifier started.
        let published = Arc::new(std::sync::Mutex::new(vec![old.public_jwk().clone()]));
        let fetches = Arc::new(AtomicUsize::new(0));
        let endpoint = {
            let (published, fetches) = (published.clone(), fetches.clone());
            poem::endpoint::make_sync(move |_| {
                fetches.fetch_add(1, Ordering::SeqCst);
                let keys = published.lock().map(|k| k.clone()).unwrap_or_default();
                poem::web::Json(JwkSet { keys })
            })
        };
        let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = acceptor.local_addr()[0]
            .as_socket_addr()
            .map(|a| a.port())
            .unwrap_or_default();
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
        let verifier = keys(&AuthConfig {
            signing_key: None,
            public_keys: JwkSet {
                keys: vec![old.public_jwk().clone()],
            },
            token_ttl_secs: 900,
            jwks_url: Some(format!("http://127.0.0.1:{port}/auth/jwks.json")),
        });
        let user = Uuid::now_v7();
        let token = keys(&AuthConfig::signing(new.clone(), &[], 900))
            .issue(user, false)
            .unwrap_or_default();
        assert!(verifier.verify(&token).is_none(), "not known yet");
        if let Ok(mut p) = published.lock() {
            p.push(new.public_jwk().clone());
        }
        assert_eq!(
            verifier.verify_fresh(&token).await.map(|c| c.sub),
            Some(user)
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // A made-up key: one fetch at most per 10 s, however many such tokens come.
        let stranger = keys(&AuthConfig::signing(SigningKey::generate(), &[], 900))
            .issue(user, false)
            .unwrap_or_default();
        for _ in 0..5 {
            assert!(verifier.verify_fresh(&stranger).await.is_none());
        }
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "within 10 s of the last fetch"
        );
        // A known key with a bad signature never fetches.
        let forged = format!("{}x", &token[..token.len() - 1]);
        assert!(verifier.verify_fresh(&forged).await.is_none());
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn only_ed25519_public_keys_with_a_kid_are_accepted() {
        let key = SigningKey::generate();
        let mut no_kid = key.public_jwk().clone();
        no_kid.common.key_id = None;
        let secret: Jwk = serde_json::from_value(serde_json::json!(
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"}
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        for jwk in [no_kid, secret] {
            let config = AuthConfig {
                signing_key: None,
                public_keys: JwkSet { keys: vec![jwk] },
                token_ttl_secs: 900,
                jwks_url: None,
            };
            assert!(TokenKeys::new(&config).is_err());
        }
        let pem = key.pem().expose();
        assert_eq!(
            SigningKey::from_pem(pem)
                .map(|k| k.kid().to_owned())
                .ok()
                .as_deref(),
            Some(key.kid())
        );
        assert!(SigningKey::from_pem("not a key").is_err());
        assert!(!format!("{key:?}").contains(pem.lines().nth(1).unwrap_or("-")));
    }
}
