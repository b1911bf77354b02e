//! A child process started by a test or the demo: output captured line by line, a readiness
//! line awaited with a deadline, stopped with SIGTERM, killed on drop.
//!
//! Its stdout and stderr are echoed with its name in front through `eprintln!` (which the
//! test runner captures and shows only for failing tests); the last stderr lines are kept
//! for error messages. Started with [`ChildProcess::spawn_own_group`], it has its own
//! process group, so Ctrl-C in a terminal reaches only its parent, which stops it in order.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many stderr lines are kept for error messages.
const KEPT_LINES: usize = 200;
/// How many of them an error message shows.
const SHOWN_LINES: usize = 20;
/// How often waits look at the child (and at the caller's stop request).
const TICK: Duration = Duration::from_millis(100);

/// What went wrong with a child process.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not start {name} ({command}): {source}")]
    Spawn {
        name: String,
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name} exited {when} ({status}).{tail}")]
    Exited {
        name: String,
        when: String,
        status: String,
        tail: String,
    },
    #[error("{name} did not print `{prefix}…` on stdout within {secs:.1} s.{tail}")]
    Silent {
        name: String,
        prefix: String,
        secs: f64,
        tail: String,
    },
    #[error("{name} did not stop within {secs:.1} s of SIGTERM")]
    StillRunning { name: String, secs: f64 },
    #[error("could not signal {name}: {source}")]
    Signal {
        name: String,
        #[source]
        source: nix::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub struct ChildProcess {
    name: String,
    child: Child,
    own_group: bool,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_closed: Receiver<()>,
    grace_on_drop: Option<Duration>,
}

impl ChildProcess {
    /// Start `command` (its stdin, stdout and stderr are set here). `name` is used in
    /// messages and in front of its output.
    pub fn spawn(name: &str, command: Command) -> Result<ChildProcess> {
        Self::start(name, command, false)
    }

    /// [`ChildProcess::spawn`] in a process group of its own: a terminal's Ctrl-C does not
    /// reach it, and signals go to the whole group (the child and what it started).
    pub fn spawn_own_group(name: &str, mut command: Command) -> Result<ChildProcess> {
        command.process_group(0);
        Self::start(name, command, true)
    }

    /// On drop, ask it to stop (SIGTERM) and give it `grace` before killing it, instead of
    /// killing it at once.
    pub fn stop_gracefully_on_drop(&mut self, grace: Duration) {
        self.grace_on_drop = Some(grace);
    }

    fn start(name: &str, mut command: Command, own_group: bool) -> Result<ChildProcess> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Spawn {
                name: name.to_string(),
                command: format!("{command:?}"),
                source,
            })?;

        let (stdout_tx, stdout) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            let prefix = name.to_string();
            std::thread::spawn(move || {
                for line in lines(out) {
                    eprintln!("[{prefix}] {line}");
                    let _ = stdout_tx.send(line);
                }
            });
        }

        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let (closed_tx, stderr_closed) = mpsc::channel();
        if let Some(err) = child.stderr.take() {
            let (prefix, kept) = (name.to_string(), Arc::clone(&stderr));
            std::thread::spawn(move || {
                for line in lines(err) {
                    eprintln!("[{prefix}] {line}");
                    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                    if kept.len() == KEPT_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line);
                }
                let _ = closed_tx.send(());
            });
        }

        Ok(ChildProcess {
            name: name.to_string(),
            child,
            own_group,
            stdout,
            stderr,
            stderr_closed,
            grace_on_drop: None,
        })
    }

    /// Wait until the child prints a stdout line starting with `prefix`; return the rest of
    /// that line, trimmed. Fails, with the child's last stderr lines, when it exits first or
    /// `timeout` passes.
    pub fn wait_for_line(&mut self, prefix: &str, timeout: Duration) -> Result<String> {
        let line = self.wait_for_line_unless(prefix, timeout, || false)?;
        // Only a stop request makes the wait end without a line, and there is none.
        Ok(line.unwrap_or_default())
    }

    /// [`ChildProcess::wait_for_line`], ending early with `Ok(None)` once `stop()` is true
    /// (e.g. the user pressed Ctrl-C).
    pub fn wait_for_line_unless(
        &mut self,
        prefix: &str,
        timeout: Duration,
        stop: impl Fn() -> bool,
    ) -> Result<Option<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            if stop() {
                return Ok(None);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left.min(TICK)) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Ok(Some(rest.trim().to_string()));
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    if let Some(status) = self.exit_status() {
                        return Err(
                            self.exited_error(status, &format!("before printing `{prefix}…`"))
                        );
                    }
                    if left.is_zero() {
                        return Err(Error::Silent {
                            name: self.name.clone(),
                            prefix: prefix.to_string(),
                            secs: timeout.as_secs_f64(),
                            tail: self.stderr_tail(SHOWN_LINES),
                        });
                    }
                }
            }
        }
    }

    /// The exit status, if the child has ended.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The error for a child that ended: its status and last stderr lines.
    pub fn exited_error(&self, status: ExitStatus, when: &str) -> Error {
        // Let the reader thread take in what the child wrote before it ended.
        let _ = self.stderr_closed.recv_timeout(Duration::from_secs(1));
        Error::Exited {
            name: self.name.clone(),
            when: when.to_string(),
            status: describe(status),
            tail: self.stderr_tail(SHOWN_LINES),
        }
    }

    /// " Its last stderr lines: ..." (the last `n`), for error messages.
    pub fn stderr_tail(&self, n: usize) -> String {
        let kept = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        if kept.is_empty() {
            return " It wrote nothing on stderr.".to_string();
        }
        let mut text = String::from(" Its last stderr lines:");
        for line in kept.iter().skip(kept.len().saturating_sub(n)) {
            text.push_str("\n    ");
            text.push_str(line);
        }
        text
    }

    /// Every stderr line kept so far (the last 200).
    pub fn stderr_lines(&self) -> Vec<String> {
        let kept = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().cloned().collect()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Ask the child to stop (SIGTERM, as systemd does) and wait up to `timeout` for it.
    pub fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus> {
        if let Some(status) = self.exit_status() {
            return Ok(status);
        }
        self.signal(Signal::SIGTERM)?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status() {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(Error::StillRunning {
                    name: self.name.clone(),
                    secs: timeout.as_secs_f64(),
                });
            }
            std::thread::sleep(TICK.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    /// [`ChildProcess::terminate`], then kill it when `grace` passed; the error says it had
    /// to be killed.
    pub fn stop(&mut self, grace: Duration) -> Result<ExitStatus> {
        let stopped = self.terminate(grace);
        if stopped.is_err() {
            self.kill();
        }
        stopped
    }

    /// Kill the child (SIGKILL) and reap it; nothing when it already ended.
    pub fn kill(&mut self) {
        if self.exit_status().is_none() {
            let _ = self.signal(Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }

    fn signal(&self, signal: Signal) -> Result<()> {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX));
        let sent = if self.own_group {
            killpg(pid, signal)
        } else {
            kill(pid, signal)
        };
        sent.map_err(|source| Error::Signal {
            name: self.name.clone(),
            source,
        })
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Some(grace) = self.grace_on_drop {
            let _ = self.stop(grace);
        }
        self.kill();
    }
}

/// How a child ended, in words: `exit status 3`, `killed by signal 9`.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// The lines of a child's output, lossily decoded, until it closes.
fn lines<R: Read>(reader: R) -> impl Iterator<Item = String> {
    BufReader::new(reader)
        .split(b'\n')
        .map_while(std::result::Result::ok)
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .trim_end_matches('\r')
                .to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }

    #[test]
    fn a_stop_request_ends_the_wait_without_a_line() {
        let mut child = ChildProcess::spawn("quiet", sh("exec sleep 30")).unwrap();
        let line = child
            .wait_for_line_unless("ready", Duration::from_secs(30), || true)
            .unwrap();
        assert_eq!(line, None);
    }

    #[test]
    fn a_child_in_its_own_group_stops_on_sigterm_with_what_it_started() {
        let mut child =
            ChildProcess::spawn_own_group("group", sh("sleep 30 & echo ready; wait")).unwrap();
        child
            .wait_for_line("ready", Duration::from_secs(10))
            .unwrap();
        let status = child.terminate(Duration::from_secs(10)).unwrap();
        assert_eq!(describe(status), "killed by signal 15");
    }

    #[test]
    fn a_child_that_ignores_sigterm_is_killed_after_the_grace() {
        let mut child = ChildProcess::spawn(
            "stubborn",
            sh("trap '' TERM; echo ready; while :; do sleep 1; done"),
        )
        .unwrap();
        child
            .wait_for_line("ready", Duration::from_secs(10))
            .unwrap();
        let error = child.stop(Duration::from_millis(300)).unwrap_err();
        assert!(error.to_string().contains("did not stop"), "{error}");
        assert!(child.exit_status().is_some());
    }
}
