//! A process's memory and open descriptors, from /proc: PSS and its anonymous part
//! (`smaps_rollup`, what applianced is judged on) and RSS (`status`, for rendezvous), in kB.

use std::fs;

fn field(path: &str, key: &str) -> Option<u64> {
    fs::read_to_string(path).ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    })
}

/// PSS of `pid` in kB (0 if unreadable).
pub fn pss_kb(pid: u32) -> u64 {
    field(&format!("/proc/{pid}/smaps_rollup"), "Pss:").unwrap_or(0)
}

/// The anonymous part of `pid`'s PSS in kB (heap and stacks: what a leak grows; the file
/// part moves with whatever else maps the same libraries).
pub fn pss_anon_kb(pid: u32) -> u64 {
    field(&format!("/proc/{pid}/smaps_rollup"), "Pss_Anon:").unwrap_or(0)
}

/// RSS of `pid` in kB (0 if unreadable).
pub fn rss_kb(pid: u32) -> u64 {
    field(&format!("/proc/{pid}/status"), "VmRSS:").unwrap_or(0)
}

/// Threads of `pid` (0 if unreadable).
pub fn threads(pid: u32) -> u64 {
    field(&format!("/proc/{pid}/status"), "Threads:").unwrap_or(0)
}

/// Open file descriptors of `pid`.
pub fn fds(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// `kB` as MB with one decimal.
pub fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// Raise this process's open-file limit to its hard limit; returns the soft limit now.
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_or(soft, |()| hard)
        }
        Ok((soft, _)) => soft,
        Err(_) => 1024,
    }
}
