//! The embedded default's data directory: secrets created on first start, reused after.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rand::RngCore;
use shop_kit::auth::SigningKey;
use shop_kit::config::Secret;

/// The token signing key, and the one it replaced (still accepted until its tokens expire).
const SIGNING_KEY: &str = "jwt-signing-key.pem";
const PREVIOUS_KEY: &str = "jwt-previous-key.pem";

/// Loads the token signing key, creating it on first start. With `rotate`, a new key takes
/// over and the current one is kept as the previous key, so that tokens it signed stay valid
/// until they expire; the key before it is dropped. Returns the signing key and the previous
/// keys.
pub fn signing_keys(dir: &Path, rotate: bool) -> anyhow::Result<(SigningKey, Vec<SigningKey>)> {
    let read = |name: &str| -> anyhow::Result<Option<SigningKey>> {
        match fs::read_to_string(dir.join(name)) {
            Ok(pem) => SigningKey::from_pem(&pem)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("{}: {e}", dir.join(name).display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!(
                "cannot read {}: {e}",
                dir.join(name).display()
            )),
        }
    };
    let current = read(SIGNING_KEY)?;
    let mut previous = read(PREVIOUS_KEY)?;
    let current = match current {
        Some(key) if !rotate => key,
        old => {
            if let Some(old) = old {
                write_private(&dir.join(PREVIOUS_KEY), old.pem().expose())?;
                previous = Some(old);
            }
            let key = SigningKey::generate();
            write_private(&dir.join(SIGNING_KEY), key.pem().expose())?;
            key
        }
    };
    Ok((current, previous.into_iter().collect()))
}

/// Reads `<dir>/<name>`, or creates it (mode 0600) with a fresh random value.
pub fn load_or_create(dir: &Path, name: &str) -> anyhow::Result<(Secret, bool)> {
    let path = dir.join(name);
    if let Ok(existing) = fs::read_to_string(&path) {
        let value = existing.trim().to_owned();
        if !value.is_empty() {
            return Ok((Secret::new(value), false));
        }
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let value = hex::encode(bytes);
    write_private(&path, &value)?;
    Ok((Secret::new(value), true))
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, value: &str) -> anyhow::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    write!(file, "{value}")?;
    if !value.ends_with('\n') {
        writeln!(file)?;
    }
    Ok(())
}
