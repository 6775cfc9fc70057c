//! Bearer tokens (issued by user-svc, verified by every service on its own) and the
//! internal-token guard of `/internal/` paths.

mod keys;
mod tokens;

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::env::Secret;
use crate::problem::ApiError;

pub use keys::{AuthConfig, KeyError, SigningKey};
pub use tokens::{Claims, TokenKeys};

/// Issuer claim of every shop token.
pub const ISSUER: &str = "shop-user-svc";
/// Audience claim of every shop token.
pub const AUDIENCE: &str = "shop";
/// The one signature algorithm issued and accepted: Ed25519, so that only user-svc holds a
/// private key and every other service holds public keys alone.
pub const ALGORITHM: Algorithm = Algorithm::EdDSA;

/// Who is calling: the verified subject of a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The user's id.
    pub user_id: Uuid,
    /// Whether the user is an admin.
    pub is_admin: bool,
    /// When the token expires (seconds since the Unix epoch): what is granted lasts no longer,
    /// a message stream included.
    pub expires_at: u64,
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
        .verify_fresh(&bearer.token)
        .await
        .ok_or_else(|| ApiError::unauthorized("the bearer token is missing, invalid or expired"))?;
    tracing::Span::current().record("user_id", tracing::field::display(claims.sub));
    Ok(Caller {
        user_id: claims.sub,
        is_admin: claims.adm,
        expires_at: claims.exp,
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
#[oai(ty = "bearer", rename = "InternalToken", checker = "check_internal_token")]
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
