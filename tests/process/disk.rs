//! A full disk loses nothing: the `shop` binary runs on a small tmpfs under order load, the disk
//! is filled until a write fails and freed again, and the shop is restarted on the same data.
//! Every order a client saw answered 201 or 202 exists with that outcome (or a later terminal
//! one), the books balance and nothing stays reserved. SQLite only: the database files are what
//! fills the disk (PostgreSQL's own failures are `outage.rs`).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;
use crate::load::{self, Load};

/// A tmpfs of `megabytes` mounted over `dir`, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Mounts the tmpfs, or says why it cannot (the test then needs root: CI has it).
    fn mount(dir: &Path, megabytes: u32) -> Result<Self, String> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if out.status.success() {
            Ok(Self(dir.to_owned()))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }
}

impl SmallDisk {
    /// The tmpfs, or `None` (said) where no tmpfs can be mounted; CI runs as root and must.
    fn mount_or_skip(dir: &Path, megabytes: u32, test: &str) -> Option<Self> {
        match Self::mount(dir, megabytes) {
            Ok(disk) => Some(disk),
            Err(why) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI runs as root and must mount a tmpfs: {why}"
                );
                println!("{test}: skipped, no tmpfs can be mounted here ({why})");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the disk refuses another byte, or until `leave` bytes are left; returns
/// how many bytes it took.
fn fill_to(path: &Path, leave: u64) -> u64 {
    let free = rustix::fs::statvfs(path.parent().unwrap()).unwrap();
    let free = free.f_bavail * free.f_frsize;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    while written + (chunk.len() as u64) < free.saturating_sub(leave) {
        file.write_all(&chunk).unwrap();
        written += chunk.len() as u64;
    }
    file.sync_all().unwrap();
    written
}

/// Writes `path` until the disk refuses another byte; returns how many bytes it took.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    // Whatever a single page needs: take the last bytes too.
    for _ in 0..4096 {
        if file.write(&[0u8; 1]).map_or(true, |n| n == 0) {
            break;
        }
        written += 1;
    }
    written
}

/// A shop on a tmpfs of `megabytes` with a disk reserve of `reserve_mb`, and eight shoppers
/// ordering on it.
struct LoadedSmallDisk {
    dbs: Databases,
    data_dir: PathBuf,
    base: u16,
    child: ShopProcess,
    api: Api,
    product: String,
    load: Load,
    _disk: SmallDisk,
}

/// Starts [`LoadedSmallDisk`], or says why it cannot (`None`): on PostgreSQL, or where no tmpfs
/// can be mounted outside CI.
async fn loaded_small_disk(test: &str, megabytes: u32, reserve_mb: u32) -> Option<LoadedSmallDisk> {
    let dbs = Databases::fresh().await;
    let Databases::Sqlite(dir) = &dbs else {
        println!("{test}: SQLite only (PostgreSQL runs outage.rs)");
        return None;
    };
    let data_dir = dir.path().to_owned();
    let disk = SmallDisk::mount_or_skip(&data_dir, megabytes, test)?;
    let base = free_base_port();
    let child = ShopProcess(
        command(&dbs, &data_dir, base, &[])
            .env("SHOP_DISK_RESERVE_MB", reserve_mb.to_string())
            .spawn()
            .unwrap(),
    );
    wait_ready(base).await;
    let api = api(base, &data_dir);
    let prefix = test.split(' ').next().unwrap_or("disk");
    let (product, shoppers) = load::stocked(&api, prefix, 8).await;
    let load = Load::start(&api, &product, shoppers);
    Some(LoadedSmallDisk {
        dbs,
        data_dir,
        base,
        child,
        api,
        product,
        load,
        _disk: disk,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_no_answered_order_and_the_shop_heals_when_space_returns() {
    // No reserve: the database layer itself must lose nothing when a write finds no room.
    let Some(shop) = loaded_small_disk("full disk", 48, 0).await else {
        return;
    };
    let LoadedSmallDisk {
        dbs,
        data_dir,
        base,
        child,
        load,
        _disk,
        ..
    } = shop;
    Load::wait_for(&load.completed, 50).await;
    let filler = data_dir.join("filler");
    let taken = fill(&filler);
    let at_full = load.answered.load(Ordering::Relaxed);
    // The disk stays full while the load goes on: the shop must refuse, not pretend.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let during = load.answered.load(Ordering::Relaxed) - at_full;
    std::fs::remove_file(&filler).unwrap();
    let freed = load.completed.load(Ordering::Relaxed);
    // Space is back: the shop heals without a restart and takes orders again.
    let healed = Instant::now();
    Load::wait_for(&load.completed, freed + 100).await;
    let healed = healed.elapsed();
    let seen = load.finish().await;
    drop(child); // SIGKILL: what was answered must already be on disk

    let _child = ShopProcess(
        command(&dbs, &data_dir, base, &[])
            .env("SHOP_DISK_RESERVE_MB", "0")
            .spawn()
            .unwrap(),
    );
    wait_ready(base).await;
    dbs.check_invariants().await;
    let (by_status, stored) = load::check_answers(&dbs, &seen).await;
    println!(
        "full disk: {} MiB filled, {during} answers while full, healed {:.1} s after space \
         returned; answers {by_status:?}; {stored} orders stored",
        taken / (1024 * 1024),
        healed.as_secs_f64(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_reserve_a_service_is_unready_and_refuses_new_work_but_finishes_the_rest() {
    let dbs = Databases::fresh().await;
    let Databases::Sqlite(dir) = &dbs else {
        println!("low disk: SQLite only");
        return;
    };
    let data_dir = dir.path().to_owned();
    let Some(_disk) = SmallDisk::mount_or_skip(&data_dir, 64, "low disk") else {
        return;
    };
    let base = free_base_port();
    let _child = ShopProcess(
        command(&dbs, &data_dir, base, &[])
            .env("SHOP_DISK_RESERVE_MB", "16")
            .spawn()
            .unwrap(),
    );
    wait_ready(base).await;
    let api = api(base, &data_dir);
    let admin = api.admin().await;
    let product = api.add_product(&admin, 10, 100).await;
    api.add_courier(&admin, 100).await;
    let ann = api.register("ann").await;
    api.deposit(&ann, 1_000).await;
    assert_eq!(
        metric(base + 1, "shop_db_disk_reserve_bytes").await,
        16.0 * 1048576.0
    );

    // Leave 8 MiB: below the reserve of 16.
    let filler = data_dir.join("filler");
    fill_to(&filler, 8 * 1024 * 1024);
    // Every service reads its free space once a second: each turns unready.
    let started = Instant::now();
    for port in base..base + 6 {
        loop {
            let ready = reqwest::get(format!("http://127.0.0.1:{port}/health/ready"))
                .await
                .unwrap();
            if ready.status() == 503 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "port {port} still ready on a full disk"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let free = metric(base + 1, "shop_db_disk_free_bytes").await;
    assert!(free < 16.0 * 1048576.0, "free {free}");
    let (status, problem) = api.order(&ann, product, 1, None).await.parts();
    assert_eq!(status, 503, "{problem}");
    let (status, _) = api.deposit(&ann, 10).await;
    assert_eq!(status, 503);
    // Reads go on.
    assert_eq!(api.available(product).await, 100);
    assert_eq!(api.balance(&ann).await.0, 1_000);

    // Space is back: ready again and taking orders.
    std::fs::remove_file(&filler).unwrap();
    wait_ready(base).await;
    let (status, order) = api.order(&ann, product, 1, None).await.parts();
    assert_eq!(status, 201, "{order}");
    dbs.check_invariants().await;
}

/// A metric's value on `port`'s `/metrics`.
async fn metric(port: u16, name: &str) -> f64 {
    super::clients::metric(port, name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_ahead_log_stays_bounded_under_load() {
    let dbs = Databases::fresh().await;
    let Databases::Sqlite(dir) = &dbs else {
        println!("write-ahead logs: SQLite only");
        return;
    };
    let data_dir = dir.path().to_owned();
    let base = free_base_port();
    let _child = start(&dbs, &data_dir, base, &[]);
    wait_ready(base).await;
    let api = api(base, &data_dir);
    let (product, shoppers) = load::stocked(&api, "wal", 8).await;
    let load = Load::start(&api, &product, shoppers);
    let wal = |service: &str| {
        std::fs::metadata(data_dir.join(format!("{service}.sqlite-wal"))).map_or(0, |m| m.len())
    };
    let services = shop_kit::topology::SERVICES.map(|s| s.short);
    let mut largest = [0u64; 6];
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        for (i, s) in services.iter().enumerate() {
            largest[i] = largest[i].max(wal(s));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let orders = load.completed.load(Ordering::Relaxed);
    load.finish().await;
    let mib = |b: u64| b as f64 / 1048576.0;
    let report: Vec<String> = services
        .iter()
        .zip(largest)
        .map(|(s, b)| format!("{s} {:.1}", mib(b)))
        .collect();
    println!("write-ahead logs, largest in MiB over 20 s and {orders} orders: {report:?}");
    assert!(
        orders > 100,
        "too little load to say anything: {orders} orders"
    );
    // Checkpointed every ~4 MiB, cut back to 8 MiB: never past 12 MiB.
    for (s, b) in services.iter().zip(largest) {
        assert!(
            mib(b) < 12.0,
            "{s}'s write-ahead log reached {:.1} MiB",
            mib(b)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_filled_by_the_shops_own_growth_heals_without_a_restart() {
    // 40 MiB with a reserve of 16: the six write-ahead logs alone can take what is left.
    let Some(shop) = loaded_small_disk("own growth", 40, 16).await else {
        return;
    };
    let LoadedSmallDisk {
        dbs,
        data_dir,
        base,
        api,
        product,
        load,
        child: _child,
        _disk,
    } = shop;
    // The load runs until the shop's own files take the disk below its reserve, or for 40 s on
    // a machine too slow (or too busy) to get there: the shop then gave its logs' space back in
    // time, which is the point too.
    let started = Instant::now();
    let mut went_low = None;
    while started.elapsed() < Duration::from_secs(40) {
        let free = metric(base + 1, "shop_db_disk_free_bytes").await;
        if free < 16.0 * 1048576.0 {
            went_low = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = load.finish().await;
    // Nothing is freed by hand: the shop gives back what its logs hold, finishes every order
    // and is ready again.
    let stopped = Instant::now();
    for port in base..base + 6 {
        loop {
            let ready = reqwest::get(format!("http://127.0.0.1:{port}/health/ready")).await;
            if ready.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(
                stopped.elapsed() < Duration::from_secs(30),
                "port {port} not ready 30 s after the load stopped"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The logs gave their space back: left alone, each keeps up to 8 MiB after its checkpoints.
    let logs = || {
        shop_kit::topology::SERVICES
            .iter()
            .map(|s| data_dir.join(format!("{}.sqlite-wal", s.short)))
            .map(|wal| std::fs::metadata(wal).map_or(0, |m| m.len()))
            .sum::<u64>()
    };
    while logs() > 1024 * 1024 {
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "the write-ahead logs still hold {} bytes 30 s after the load stopped",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready_in = stopped.elapsed();
    dbs.check_invariants().await;
    let settled_in = stopped.elapsed();
    let (by_status, stored) = load::check_answers(&dbs, &seen).await;
    let free = metric(base + 1, "shop_db_disk_free_bytes").await / 1048576.0;
    println!(
        "own growth: below the reserve after {went_low:?} of load; ready {:.1} s after the load \
         stopped, every order settled after {:.1} s, {free:.1} MiB free; answers \
         {by_status:?}; {stored} orders stored",
        ready_in.as_secs_f64(),
        settled_in.as_secs_f64(),
    );
    // And it takes orders again.
    let ann = api.register("after").await;
    api.deposit(&ann, 100).await;
    let (status, order) = api
        .order(&ann, product.parse().unwrap(), 1, None)
        .await
        .parts();
    assert_eq!(status, 201, "{order}");
}
