//! The shop's own CPU time: what an order costs the services, apart from the load tool's share
//! of the machine (utime + stime of the process from `/proc`).

use procfs::process::{FDTarget, Process, all_processes};

/// The CPU seconds (user and system) process `pid` has used so far.
pub fn seconds(pid: i32) -> Option<f64> {
    let stat = Process::new(pid).ok()?.stat().ok()?;
    let ticks = procfs::ticks_per_second() as f64;
    Some((stat.utime + stat.stime) as f64 / ticks)
}

/// The process that listens on TCP `port` on this machine, if it can be told.
pub fn listening_on(port: u16) -> Option<i32> {
    let listening = |entries: Vec<procfs::net::TcpNetEntry>| {
        entries
            .into_iter()
            .find(|e| e.local_address.port() == port && e.state == procfs::net::TcpState::Listen)
            .map(|e| e.inode)
    };
    let inode = procfs::net::tcp()
        .ok()
        .and_then(listening)
        .or_else(|| procfs::net::tcp6().ok().and_then(listening))?;
    all_processes().ok()?.flatten().find_map(|p| {
        let holds = p
            .fd()
            .ok()?
            .flatten()
            .any(|fd| matches!(fd.target, FDTarget::Socket(i) if i == inode));
        holds.then_some(p.pid)
    })
}
