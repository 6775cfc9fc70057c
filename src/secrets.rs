//! The embedded default's data directory: secrets created on first start, reused after.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand::RngCore;
use shop_kit::config::Secret;

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
pub fn write_private(path: &PathBuf, value: &str) -> anyhow::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    writeln!(file, "{value}")?;
    Ok(())
}
