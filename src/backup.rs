//! `shop backup DIR` and `shop restore DIR` for the embedded default: each service's SQLite
//! database copied while the shop serves (`VACUUM INTO`: one consistent snapshot of each), the
//! secrets beside them, and a manifest written last, so that a backup without one is known to
//! be unfinished.
//!
//! Six databases copied one after the other are six instants: the copies can disagree (an order
//! paid after payment's copy was taken). order-svc's is taken last, so every reservation a
//! participant's copy holds belongs to an order order-svc's copy knows (an order is recorded
//! before its first call); what they disagree on, the books audit finds and repairs after a
//! restore (`POST /admin/audit/repair`).

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use shop_kit::topology::{SERVICES, ServiceInfo};

/// The order the databases are copied in: user-svc before payment-svc (every account a copy of
/// payment holds has its user), the participants, notify-svc, and order-svc last.
const ORDER: [&str; 6] = ["user", "payment", "stock", "delivery", "notify", "order"];

/// The manifest's file name.
const MANIFEST: &str = "manifest.json";

/// What a backup holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The version of `shop` that took it.
    pub shop_version: String,
    /// When it started (UTC, RFC 3339).
    pub started_at: String,
    /// Each database, in the order it was copied.
    pub databases: Vec<Copied>,
    /// The secrets (signing keys, internal token, admin password), as files.
    pub secrets: Vec<String>,
}

/// One database's copy.
#[derive(Debug, Serialize, Deserialize)]
pub struct Copied {
    /// The service.
    pub service: String,
    /// Its file, in the data directory and in the backup.
    pub file: String,
    /// The copy's size.
    pub bytes: u64,
    /// When its snapshot was taken (UTC, RFC 3339).
    pub taken_at: String,
}

fn database_file(service: &ServiceInfo) -> String {
    format!("{}.sqlite", service.short)
}

/// Whether `name` is one of the data directory's secrets: not a database, its log, or the
/// running shop's lock.
fn is_secret(name: &str) -> bool {
    !(name.starts_with('.') || name.contains(".sqlite") || name.ends_with(".tmp"))
}

/// Copies every service's database of `data_dir` and its secrets into `into`, which must not
/// exist yet (or be empty). The shop may be running.
pub fn backup(data_dir: &Path, into: &Path) -> anyhow::Result<Manifest> {
    if into.exists() && fs::read_dir(into)?.next().is_some() {
        anyhow::bail!(
            "{} is not empty: a backup goes into a new directory",
            into.display()
        );
    }
    fs::create_dir_all(into)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", into.display()))?;
    let started_at = now();
    let mut databases = Vec::new();
    for short in ORDER {
        let Some(service) = SERVICES.iter().find(|s| s.short == short) else {
            anyhow::bail!("{short}: not a service of the shop");
        };
        let file = database_file(service);
        let from = data_dir.join(&file);
        if !from.exists() {
            anyhow::bail!(
                "{} has no {file}: is it a shop's data directory (on the embedded default)?",
                data_dir.display()
            );
        }
        let to = into.join(&file);
        let taken_at = now();
        shop_kit::db::copy_into(&from, &to)
            .map_err(|e| anyhow::anyhow!("copying {}: {e}", from.display()))?;
        databases.push(Copied {
            service: service.name.to_owned(),
            bytes: fs::metadata(&to)?.len(),
            file,
            taken_at,
        });
    }
    let mut secrets = Vec::new();
    for entry in fs::read_dir(data_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_file() && is_secret(&name) {
            copy_private(&entry.path(), &into.join(&name))?;
            secrets.push(name);
        }
    }
    secrets.sort();
    let manifest = Manifest {
        shop_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at,
        databases,
        secrets,
    };
    let text = serde_json::to_string_pretty(&manifest)?;
    write_then_rename(&into.join(MANIFEST), text.as_bytes())?;
    Ok(manifest)
}

/// Puts the backup in `from` in place of `data_dir`'s databases and secrets. The caller holds
/// the data directory's lock: no shop runs on it.
pub fn restore(from: &Path, data_dir: &Path) -> anyhow::Result<Manifest> {
    let text = fs::read_to_string(from.join(MANIFEST)).map_err(|e| {
        anyhow::anyhow!(
            "{} has no readable {MANIFEST} ({e}): not a backup, or one that did not finish",
            from.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", from.join(MANIFEST).display()))?;
    for service in &SERVICES {
        let file = database_file(service);
        if !manifest.databases.iter().any(|d| d.file == file) || !from.join(&file).exists() {
            anyhow::bail!("the backup in {} lacks {file}", from.display());
        }
    }
    for d in &manifest.databases {
        // The running shop's log of the database being replaced must never be applied to it.
        for suffix in ["-wal", "-shm"] {
            let log = data_dir.join(format!("{}{suffix}", d.file));
            if log.exists() {
                fs::remove_file(&log)?;
            }
        }
        copy_private(&from.join(&d.file), &data_dir.join(&d.file))?;
    }
    for name in &manifest.secrets {
        if !is_secret(name) || name.contains('/') {
            anyhow::bail!("the manifest names {name}, which is not a secret's file");
        }
        copy_private(&from.join(name), &data_dir.join(name))?;
    }
    Ok(manifest)
}

/// Copies `from` to `to` (readable by its owner alone) through a temporary file and a rename,
/// so that `to` is either the old file or the whole new one.
fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = fs::read(from).map_err(|e| anyhow::anyhow!("{}: {e}", from.display()))?;
    write_then_rename(to, &bytes)
}

fn write_then_rename(to: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let partial = to.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .map_err(|e| anyhow::anyhow!("{}: {e}", partial.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&partial, to)?;
    Ok(())
}

fn now() -> String {
    shop_kit::db::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
