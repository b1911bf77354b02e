//! Ctrl-C and SIGTERM (and SIGHUP, when the terminal closes) as a flag the demo polls.

use anyhow::Context;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Install the handler; only one per process.
    pub fn install() -> anyhow::Result<StopFlag> {
        let flag = StopFlag(Arc::new(AtomicBool::new(false)));
        let set = Arc::clone(&flag.0);
        ctrlc::set_handler(move || {
            if !set.swap(true, Ordering::SeqCst) {
                eprintln!("\nxtask: demo: stopping…");
            }
        })
        .context("could not install the Ctrl-C / SIGTERM handler")?;
        Ok(flag)
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
impl StopFlag {
    /// A flag no signal sets, for tests.
    pub fn new() -> StopFlag {
        StopFlag(Arc::new(AtomicBool::new(false)))
    }

    /// What the signal handler does.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
