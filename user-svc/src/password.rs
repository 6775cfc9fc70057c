//! argon2id password hashing, always on the blocking pool.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        hasher()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
    })
    .await?
}

/// Checks a password against a PHC string. With `None` (unknown user) it checks against a
/// dummy hash, so that the answer takes as long as for a real user, and is `false`.
pub async fn verify(password: String, phc: Option<String>) -> bool {
    let known = phc.is_some();
    let result = tokio::task::spawn_blocking(move || {
        let phc = phc.unwrap_or_else(|| dummy_hash().to_owned());
        hasher()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok()
    })
    .await;
    known && result.unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hasher()
            .hash_password(b"no user has this password")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() -> anyhow::Result<()> {
        let phc = hash("correct horse".into()).await?;
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse".into(), Some(phc.clone())).await);
        assert!(!verify("wrong horse".into(), Some(phc)).await);
        assert!(!verify("correct horse".into(), None).await);
        Ok(())
    }
}
