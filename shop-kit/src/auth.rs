//! Bearer tokens (issued by user-svc, verified by every service on its own) and the
//! internal-token guard of `/internal/` paths.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::config::{Secret, env_parse, env_required};
use crate::problem::ApiError;

/// Issuer claim of every shop token.
pub const ISSUER: &str = "shop-user-svc";
/// Audience claim of every shop token.
pub const AUDIENCE: &str = "shop";

/// How tokens are signed and checked.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// HMAC key shared by the services (HS256 is pinned; no other algorithm is accepted).
    pub jwt_secret: Secret,
    /// Lifetime of issued access tokens, in seconds.
    pub token_ttl_secs: u64,
}

impl AuthConfig {
    /// Reads `SHOP_JWT_SECRET` and `SHOP_TOKEN_TTL_SECS` (default 900).
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            jwt_secret: Secret::new(env_required("SHOP_JWT_SECRET")?),
            token_ttl_secs: env_parse("SHOP_TOKEN_TTL_SECS", 900)?,
        })
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

/// Signs and verifies access tokens with the configured key.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
}

impl TokenKeys {
    /// Builds the keys from configuration.
    pub fn new(config: &AuthConfig) -> Arc<Self> {
        let secret = config.jwt_secret.expose().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.leeway = 5;
        Arc::new(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs: config.token_ttl_secs,
        })
    }

    /// Lifetime of the tokens this issues, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Issues a token for `user_id`.
    pub fn issue(
        &self,
        user_id: Uuid,
        is_admin: bool,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        let claims = Claims {
            sub: user_id,
            exp: now + self.ttl_secs,
            iat: now,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            adm: is_admin,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// Verifies a token's signature, algorithm, issuer, audience and expiry.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
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
