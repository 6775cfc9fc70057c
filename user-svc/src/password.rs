//! argon2id password hashing, always on the blocking pool.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::Password;
use crate::error::Error;

/// Hashes and verifies passwords with OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane.
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    /// The hash an unknown user's login is checked against, so that it takes as long.
    dummy: Arc<str>,
}

impl Passwords {
    /// Sets up the hasher; fails at start-up rather than hash with other parameters.
    pub fn new() -> anyhow::Result<Self> {
        let params = Params::new(19 * 1024, 2, 1, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = argon
            .hash_password(b"no user has this password")
            .map_err(|e| anyhow::anyhow!("argon2 does not hash: {e}"))?
            .to_string();
        Ok(Self {
            argon,
            dummy: dummy.into(),
        })
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: Password) -> Result<String, Error> {
        let password = String::from(password);
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || {
            argon
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| Error::Crypto(format!("password hashing failed: {e}")))
        })
        .await
        .map_err(|e| Error::Crypto(format!("password hashing stopped: {e}")))?
    }

    /// Checks a password against a PHC string. With `None` (unknown user) it checks against a
    /// dummy hash, so that the answer takes as long as for a real user, and is `false`.
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let known = phc.is_some();
        let argon = self.argon.clone();
        let phc = phc.unwrap_or_else(|| self.dummy.to_string());
        let result = tokio::task::spawn_blocking(move || {
            argon
                .verify_password(password.as_bytes(), phc.as_str())
                .is_ok()
        })
        .await;
        known && result.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() -> anyhow::Result<()> {
        let passwords = Passwords::new()?;
        let phc = passwords
            .hash(Password::parse("correct horse").map_err(anyhow::Error::msg)?)
            .await?;
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            passwords
                .verify("correct horse".into(), Some(phc.clone()))
                .await
        );
        assert!(!passwords.verify("wrong horse".into(), Some(phc)).await);
        assert!(!passwords.verify("correct horse".into(), None).await);
        Ok(())
    }
}
