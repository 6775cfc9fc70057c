//! The keys: user-svc's Ed25519 signing key and the public keys every service accepts.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use rand::RngCore;

use crate::env::{Secret, env_opt, env_parse};

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

    /// Reads `SHOP_JWT_SIGNING_KEY_FILE` (a file holding the PKCS#8 PEM, as a mounted Secret) or
    /// `SHOP_JWT_SIGNING_KEY` (the PEM itself; user-svc only), `SHOP_JWT_PUBLIC_KEYS` (a JWK
    /// Set, required without a signing key) and `SHOP_TOKEN_TTL_SECS` (default 900).
    /// `SHOP_JWT_JWKS_URL` (fetched at start-up by [`Self::fetch_public_keys`]; one of the two
    /// is required without a signing key) and `SHOP_TOKEN_TTL_SECS` (default 900).
    pub fn from_env() -> anyhow::Result<Self> {
        let pem = match env_opt("SHOP_JWT_SIGNING_KEY_FILE") {
            Some(path) => Some(std::fs::read_to_string(&path).map_err(|e| {
                anyhow::anyhow!("SHOP_JWT_SIGNING_KEY_FILE: cannot read {path}: {e}")
            })?),
            None => env_opt("SHOP_JWT_SIGNING_KEY"),
        };
        let signing_key = pem.map(|pem| SigningKey::from_pem(&pem)).transpose()?;
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
        let started = tokio::time::Instant::now();
        let set: JwkSet = loop {
            match super::tokens::fetch_key_set(&url).await {
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
