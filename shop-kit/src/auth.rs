//! Bearer tokens (issued by user-svc, verified by every service on its own) and the
//! internal-token guard of `/internal/` paths.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::config::{Secret, env_opt, env_parse};
use crate::problem::ApiError;

/// Issuer claim of every shop token.
pub const ISSUER: &str = "shop-user-svc";
/// Audience claim of every shop token.
pub const AUDIENCE: &str = "shop";
/// The one signature algorithm issued and accepted: Ed25519, so that only user-svc holds a
/// private key and every other service holds public keys alone.
pub const ALGORITHM: Algorithm = Algorithm::EdDSA;

/// Why a key in the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not an Ed25519 private key in PKCS#8 PEM.
    #[error("the signing key is not an Ed25519 private key in PKCS#8 PEM: {0}")]
    SigningKey(String),
    /// The public key set is not a JWK Set of Ed25519 keys.
    #[error("the public key set is not a JWK Set of Ed25519 (OKP) keys: {0}")]
    PublicKeys(String),
}

/// The Ed25519 private key user-svc signs tokens with. `Debug` never prints it.
#[derive(Clone, Debug)]
pub struct SigningKey {
    pem: Secret,
    jwk: Jwk,
}

impl SigningKey {
    /// Reads a PKCS#8 PEM Ed25519 private key (`openssl genpkey -algorithm ed25519`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map_err(|e| KeyError::SigningKey(e.to_string()))?;
        let mut jwk = Jwk {
            common: CommonParameters {
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                public_key_use: Some(PublicKeyUse::Signature),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            }),
        };
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| KeyError::SigningKey(e.to_string()))?;
        jwk.common.key_id = Some(kid);
        Ok(Self {
            pem: Secret::new(pem),
            jwk,
        })
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let pem = ed25519_dalek::SigningKey::from_bytes(&seed)
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .unwrap_or_default();
        Self::from_pem(&pem).unwrap_or_else(|e| unreachable!("a generated key is valid: {e}"))
    }

    /// The key in PKCS#8 PEM, to store it.
    pub fn pem(&self) -> &Secret {
        &self.pem
    }

    /// Its key id: the RFC 7638 SHA-256 thumbprint of its public key.
    pub fn kid(&self) -> &str {
        self.jwk.common.key_id.as_deref().unwrap_or_default()
    }

    /// Its public key as a JWK, with `kid`, `alg` and `use`.
    pub fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }
}

/// How tokens are signed and checked.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// The key user-svc signs with; the other services have none.
    pub signing_key: Option<SigningKey>,
    /// The public keys tokens are accepted from, by `kid`. During a rotation it holds the
    /// previous key and the next one; the signing key's own public key is always accepted.
    pub public_keys: JwkSet,
    /// Lifetime of issued access tokens, in seconds.
    pub token_ttl_secs: u64,
    /// Where to fetch more public keys at start-up: user-svc's `/auth/jwks.json`. A deployment
    /// whose key is generated on install (the Helm chart) knows no public key in advance.
    pub jwks_url: Option<String>,
}

impl AuthConfig {
    /// Signs with `key` and accepts its tokens and those of `previous` (a rotation's old keys).
    pub fn signing(key: SigningKey, previous: &[SigningKey], token_ttl_secs: u64) -> Self {
        Self {
            public_keys: JwkSet {
                keys: previous.iter().map(|k| k.public_jwk().clone()).collect(),
            },
            signing_key: Some(key),
            token_ttl_secs,
            jwks_url: None,
        }
    }

    /// Reads `SHOP_JWT_SIGNING_KEY` (PKCS#8 PEM; user-svc only), `SHOP_JWT_PUBLIC_KEYS` (a JWK
    /// Set, required without a signing key) and `SHOP_TOKEN_TTL_SECS` (default 900).
    /// `SHOP_JWT_JWKS_URL` (fetched at start-up by [`Self::fetch_public_keys`]; one of the two
    /// is required without a signing key) and `SHOP_TOKEN_TTL_SECS` (default 900).
    pub fn from_env() -> anyhow::Result<Self> {
        let signing_key = env_opt("SHOP_JWT_SIGNING_KEY")
            .map(|pem| SigningKey::from_pem(&pem))
            .transpose()?;
        let jwks_url = env_opt("SHOP_JWT_JWKS_URL");
        let public_keys = match env_opt("SHOP_JWT_PUBLIC_KEYS") {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| KeyError::PublicKeys(format!("SHOP_JWT_PUBLIC_KEYS: {e}")))?,
            None if signing_key.is_some() || jwks_url.is_some() => JwkSet::default(),
            None => anyhow::bail!(
                "environment variable SHOP_JWT_PUBLIC_KEYS, SHOP_JWT_JWKS_URL or \
                 SHOP_JWT_SIGNING_KEY must be set"
            ),
        };
        Ok(Self {
            signing_key,
            public_keys,
            token_ttl_secs: env_parse("SHOP_TOKEN_TTL_SECS", 900)?,
            jwks_url,
        })
    }

    /// Adds the keys published at `jwks_url`, if any, trying until `patience` runs out (user-svc
    /// may start after this service). Without a URL it returns the configuration unchanged.
    pub async fn fetch_public_keys(mut self, patience: Duration) -> anyhow::Result<Self> {
        let Some(url) = self.jwks_url.clone() else {
            return Ok(self);
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let started = tokio::time::Instant::now();
        let set: JwkSet = loop {
            let fetched = async {
                let answer = http.get(&url).send().await?.error_for_status()?;
                answer.json::<JwkSet>().await
            };
            match fetched.await {
                Ok(set) if !set.keys.is_empty() => break set,
                Ok(_) => tracing::warn!(%url, "the key set is empty; trying again"),
                Err(e) => tracing::warn!(%url, error = %e, "public keys not available yet"),
            }
            if started.elapsed() >= patience {
                anyhow::bail!("no public keys from {url} within {patience:?}");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        for jwk in set.keys {
            if !self
                .public_keys
                .keys
                .iter()
                .any(|k| k.common.key_id == jwk.common.key_id)
            {
                self.public_keys.keys.push(jwk);
            }
        }
        tracing::info!(%url, keys = self.public_keys.keys.len(), "public keys fetched");
        Ok(self)
    }

    /// The same accepted keys without the private one: what every service but user-svc holds.
    pub fn verifying_only(&self) -> Self {
        Self {
            signing_key: None,
            public_keys: self.accepted_keys(),
            token_ttl_secs: self.token_ttl_secs,
            jwks_url: self.jwks_url.clone(),
        }
    }

    /// Every public key tokens are accepted from, the signing key's included, as a JWK Set.
    pub fn accepted_keys(&self) -> JwkSet {
        let mut keys = self.public_keys.keys.clone();
        if let Some(own) = &self.signing_key
            && !keys
                .iter()
                .any(|k| k.common.key_id.as_deref() == Some(own.kid()))
        {
            keys.insert(0, own.public_jwk().clone());
        }
        JwkSet { keys }
    }
}

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
    verifiers: HashMap<String, DecodingKey>,
    published: JwkSet,
    validation: Validation,
    ttl_secs: u64,
}

impl TokenKeys {
    /// Builds the keys from configuration; a public key that is not Ed25519 or has no `kid`
    /// is refused.
    pub fn new(config: &AuthConfig) -> Result<Arc<Self>, KeyError> {
        let published = config.accepted_keys();
        let mut verifiers = HashMap::new();
        for jwk in &published.keys {
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
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| KeyError::PublicKeys(format!("key {kid}: {e}")))?;
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
            verifiers,
            published,
            validation,
            ttl_secs: config.token_ttl_secs,
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
        let key = self.verifiers.get(header.kid.as_deref()?)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// Who is calling: the verified subject of a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The user's id.
    pub user_id: Uuid,
    /// Whether the user is an admin.
    pub is_admin: bool,
}

impl Caller {
    /// `Ok` for admins, 403 for everyone else.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("this endpoint is for admins only"))
        }
    }
}

/// A user's access token from user-svc (`POST /auth/login`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_user_token")]
pub struct UserAuth(pub Caller);

async fn check_user_token(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let keys = req
        .data::<Arc<TokenKeys>>()
        .ok_or_else(|| ApiError::unauthorized("token verification is not configured"))?;
    let claims = keys
        .verify(&bearer.token)
        .ok_or_else(|| ApiError::unauthorized("the bearer token is missing, invalid or expired"))?;
    Ok(Caller {
        user_id: claims.sub,
        is_admin: claims.adm,
    })
}

/// The shared secret that authenticates service-to-service calls on `/internal/`.
#[derive(Clone, Debug)]
pub struct InternalToken(pub Secret);

impl InternalToken {
    /// Compares in constant time.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0
            .expose()
            .as_bytes()
            .ct_eq(candidate.as_bytes())
            .into()
    }
}

/// The internal token, for `/internal/` paths (service-to-service only).
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    rename = "InternalToken",
    checker = "check_internal_token"
)]
pub struct InternalAuth(pub ());

async fn check_internal_token(req: &Request, bearer: Bearer) -> poem::Result<()> {
    let token = req
        .data::<InternalToken>()
        .ok_or_else(|| ApiError::unauthorized("internal token is not configured"))?;
    if token.matches(&bearer.token) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("a valid internal token is required").into())
    }
}

#[cfg(test)]
mod tests {
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
