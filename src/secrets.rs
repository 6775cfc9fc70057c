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
            if let Some(old) = &old {
                write_private(&dir.join(PREVIOUS_KEY), old.pem().expose())?;
                previous = Some(old.clone());
            }
            let key = SigningKey::generate();
            let path = dir.join(SIGNING_KEY);
            if old.is_some() {
                write_private(&path, key.pem().expose())?;
                key
            } else if create_private(&path, key.pem().expose())? {
                key
            } else {
                // Another start created it first: sign with the key on disk.
                read(SIGNING_KEY)?.ok_or_else(|| anyhow::anyhow!("{} vanished", path.display()))?
            }
        }
    };
    Ok((current, previous.into_iter().collect()))
}

/// Reads `<dir>/<name>`, or creates it (mode 0600) with a fresh random value. Two starts racing
/// on an empty directory agree: the value is written to a file of its own and linked into place
/// only if no other got there first, and then the one in place is read.
pub fn load_or_create(dir: &Path, name: &str) -> anyhow::Result<(Secret, bool)> {
    let path = dir.join(name);
    let read = || -> anyhow::Result<Option<Secret>> {
        match fs::read_to_string(&path) {
            Ok(existing) if !existing.trim().is_empty() => {
                Ok(Some(Secret::new(existing.trim().to_owned())))
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    };
    if let Some(existing) = read()? {
        return Ok((existing, false));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let value = hex::encode(bytes);
    if create_private(&path, &value)? {
        Ok((Secret::new(value), true))
    } else {
        let existing = read()?;
        let existing = existing.ok_or_else(|| anyhow::anyhow!("{} is empty", path.display()))?;
        Ok((existing, false))
    }
}

/// Creates `path` (mode 0600) holding `value`, complete or not at all: written and synced to a
/// file of its own first, then linked into place unless `path` exists. False when it existed.
/// An empty file left by an older version is replaced.
fn create_private(path: &Path, value: &str) -> anyhow::Result<bool> {
    let tmp = staged(path, value)?;
    let linked = match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let empty = fs::metadata(path).is_ok_and(|m| m.len() == 0);
            if empty {
                fs::rename(&tmp, path)
                    .map(|()| true)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
            } else {
                Ok(false)
            }
        }
        Err(e) => Err(anyhow::anyhow!("cannot write {}: {e}", path.display())),
    };
    let _ = fs::remove_file(&tmp);
    linked
}

/// Writes `path` (mode 0600) whole, replacing what was there in one step.
pub fn write_private(path: &Path, value: &str) -> anyhow::Result<()> {
    let tmp = staged(path, value)?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}

/// `value` (with a final newline) in a new file (mode 0600) beside `path`, synced to disk.
fn staged(path: &Path, value: &str) -> anyhow::Result<std::path::PathBuf> {
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        write!(file, "{value}")?;
        if !value.ends_with('\n') {
            writeln!(file)?;
        }
        file.sync_all()
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {e}", tmp.display())
    })?;
    Ok(tmp)
}

/// The data directory's lock, held as long as the value lives: one `shop` per directory.
pub struct DirLock {
    _file: fs::File,
}

/// Takes the exclusive lock of `dir` (its file `.lock`), or says who holds it.
pub fn lock_data_dir(dir: &Path) -> anyhow::Result<DirLock> {
    let path = dir.join(".lock");
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DirLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(anyhow::anyhow!(
            "another shop is running on the data directory {} (it holds {}): stop it, or give \
             this one another --data-dir",
            dir.display(),
            path.display()
        )),
        Err(fs::TryLockError::Error(e)) => {
            Err(anyhow::anyhow!("cannot lock {}: {e}", path.display()))
        }
    }
}
