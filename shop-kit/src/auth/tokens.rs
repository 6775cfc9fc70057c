//! Access tokens: issued with the signing key, verified against the accepted keys.

use std::collections::HashMap;
use std::sync::Arc;

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
