//! Giving memory back to the system: applianced after a guest leaves, rendezvous after a
//! flood of connections closes (10,000 half-open requests left it at 171 MB RSS from 9 MB,
//! `soak floods`).
//!
//! A guest's call allocates from many threads at once (webrtc-rs tasks on the tokio
//! workers, GStreamer's streaming threads decoding their video and voice), and glibc's
//! malloc keeps a separate arena per thread that stays mapped after everything in it is
//! freed. Measured with `cargo xtask bench soak` (debug build, guests one after another):
//! applianced's PSS went from 108 MB after 20 guests to 118 MB after 60 with no GStreamer
//! object left alive (the `leaks` tracer counted the same objects after 15 and after 70
//! guests), and `malloc_trim(0)` called from a debugger took it from 125 to 95 MB at once. Trimming alone still left the anonymous memory climbing (37 → 43 MB over
//! 80 more guests): what a call frees stays scattered over up to eight arenas per core.
//! With [`ARENAS`] arenas ([`limit_arenas`], at start) and the trim, 100 guests left it
//! flat (30.7 MB after 20, 31.8 after 50, 30.8 after 100). A heap profile (heaptrack,
//! the whole run) found no allocation per guest left behind: about 10 MB live at the
//! end, 16 MB at the peak.
//!
//! So the daemons start with few arenas, and once a guest's peer connection and decoders
//! are gone (applianced) or connections close (rendezvous) they ask malloc to return its
//! free pages ([`trim_soon`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// malloc arenas a daemon uses (glibc's default is eight per core, one per thread
/// until then). Their threads are few and mostly wait; two keep contention low.
pub const ARENAS: i32 = 2;

/// Limit malloc to [`ARENAS`] arenas. Call before any thread starts.
pub fn limit_arenas() {
    set_arena_max(ARENAS);
}

/// How long after a guest leaves the trim runs: their decoders stop and their tasks end
/// within it, and guests leaving together share one trim.
pub const TRIM_DELAY: Duration = Duration::from_secs(2);

/// Ask malloc to return free memory to the system once [`TRIM_DELAY`] has passed; one
/// pending trim covers everything freed meanwhile (guests leaving, connections closing).
/// Cheap to call often. Does nothing outside a tokio runtime.
pub fn trim_soon() {
    static PENDING: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let pending = PENDING.get_or_init(Arc::default).clone();
    if pending.swap(true, Ordering::AcqRel) {
        return;
    }
    runtime.spawn(async move {
        tokio::time::sleep(TRIM_DELAY).await;
        pending.store(false, Ordering::Release);
        let _ = tokio::task::spawn_blocking(trim).await;
    });
}

/// Return free memory at the top of every malloc arena to the system now; how many
/// bytes of resident memory that gave back (from `/proc/self/statm`, 0 if unknown).
pub fn trim() -> u64 {
    let before = resident_bytes();
    release();
    let freed = before.saturating_sub(resident_bytes());
    tracing::debug!(
        freed_kb = freed / 1024,
        "returned free memory to the system"
    );
    freed
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // malloc_trim has no safe wrapper; it takes a size and touches no Rust memory.
fn release() {
    // SAFETY: malloc_trim only walks glibc's own arenas; 0 keeps no padding.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // mallopt has no safe wrapper; it sets one of glibc's own parameters.
fn set_arena_max(arenas: i32) {
    // SAFETY: M_ARENA_MAX takes a plain integer; no Rust memory is involved.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release() {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_arenas: i32) {}

fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory freed in a thread's arena comes back to the system at the trim.
    #[test]
    fn freed_memory_goes_back_to_the_system() {
        // Many small blocks from another thread (its own arena), then freed but one at the
        // end, which keeps glibc from shrinking that heap by itself.
        let kept = std::thread::spawn(|| {
            let blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![i as u8; 1024]).collect();
            let last = blocks.last().cloned();
            drop(blocks);
            last
        })
        .join()
        .unwrap();
        let freed = trim();
        drop(kept);
        assert!(freed > 4 << 20, "only {freed} bytes came back");
    }
}
