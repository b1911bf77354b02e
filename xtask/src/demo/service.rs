//! One child process of the demo (`rendezvous`, `applianced`, `kiosk`): started in its own
//! process group, its output forwarded to our stderr with its name in front, its readiness
//! line picked out of its stdout, its last stderr lines kept for error messages, and stopped
//! with SIGTERM, then SIGKILL after a grace period.

use super::stop::StopFlag;
use crate::workspace::describe;
use anyhow::{Context, anyhow, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many stderr lines are kept for the message when a child fails.
const TAIL_LINES: usize = 30;
/// How often waits check on the child and the stop flag.
const TICK: Duration = Duration::from_millis(100);

pub struct Service {
    name: &'static str,
    child: Child,
    tail: Arc<Mutex<VecDeque<String>>>,
    ready: Receiver<String>,
    stderr_done: Receiver<()>,
}

impl Service {
    /// Start `program args`. When `ready_prefix` is given, the first stdout line starting
    /// with it is kept for [`Service::wait_ready`] instead of being forwarded.
    pub fn spawn<S: AsRef<OsStr>>(
        name: &'static str,
        program: &Path,
        args: &[S],
        ready_prefix: Option<&'static str>,
    ) -> anyhow::Result<Service> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: Ctrl-C in the terminal reaches xtask only, and xtask
            // stops the children in order.
            .process_group(0)
            .spawn()
            .with_context(|| format!("could not start {name} ({})", program.display()))?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));

        let (ready_tx, ready) = mpsc::channel();
        let stdout = child.stdout.take().context("child stdout was not piped")?;
        std::thread::spawn(move || {
            let mut ready_tx = ready_prefix.map(|prefix| (prefix, ready_tx));
            for line in lines(stdout) {
                match &ready_tx {
                    Some((prefix, tx)) if line.starts_with(prefix) => {
                        let _ = tx.send(line);
                        ready_tx = None;
                    }
                    _ => eprintln!("[{name}] {line}"),
                }
            }
        });

        let (done_tx, stderr_done) = mpsc::channel();
        let stderr = child.stderr.take().context("child stderr was not piped")?;
        let kept = Arc::clone(&tail);
        std::thread::spawn(move || {
            for line in lines(stderr) {
                eprintln!("[{name}] {line}");
                let mut kept = kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if kept.len() == TAIL_LINES {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
            let _ = done_tx.send(());
        });

        Ok(Service {
            name,
            child,
            tail,
            ready,
            stderr_done,
        })
    }

    /// Wait for the readiness line and return what follows the prefix. `Ok(None)` when the
    /// user asked to stop meanwhile.
    pub fn wait_ready(
        &mut self,
        prefix: &str,
        timeout: Duration,
        stop: &StopFlag,
    ) -> anyhow::Result<Option<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            if stop.requested() {
                return Ok(None);
            }
            match self.ready.recv_timeout(TICK) {
                Ok(line) => return Ok(Some(line[prefix.len()..].trim().to_string())),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    if let Some(status) = self.exited()? {
                        return Err(self.failure(status));
                    }
                    if Instant::now() >= deadline {
                        bail!(
                            "{} did not print `{prefix}…` on stdout within {} s.{}",
                            self.name,
                            timeout.as_secs(),
                            self.tail_text()
                        );
                    }
                }
            }
        }
    }

    /// The exit status if the child has ended.
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("could not check on {}", self.name))
    }

    /// The error for a child that ended on its own, with its last stderr lines.
    pub fn failure(&self, status: ExitStatus) -> anyhow::Error {
        // Let the stderr thread drain what the child wrote before it died.
        let _ = self.stderr_done.recv_timeout(Duration::from_secs(1));
        anyhow!(
            "{} exited early ({}).{}",
            self.name,
            describe(status),
            self.tail_text()
        )
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// SIGTERM to the child's process group, SIGKILL after `grace`, then reap it.
    pub fn stop(&mut self, grace: Duration) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        eprintln!("xtask: demo: stopping {}", self.name);
        let group = Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX));
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "xtask: demo: {} did not stop within {} s of SIGTERM; killing it",
            self.name,
            grace.as_secs()
        );
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }

    fn tail_text(&self) -> String {
        let tail = self
            .tail
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if tail.is_empty() {
            return " It wrote nothing on stderr.".to_string();
        }
        let mut text = String::from(" Its last stderr lines:");
        for line in tail.iter() {
            text.push_str("\n    ");
            text.push_str(line);
        }
        text
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// The lines of a child's output, lossily decoded, until it closes.
fn lines<R: Read>(reader: R) -> impl Iterator<Item = String> {
    BufReader::new(reader)
        .split(b'\n')
        .map_while(Result::ok)
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .trim_end_matches('\r')
                .to_string()
        })
}
