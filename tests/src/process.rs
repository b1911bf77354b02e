//! A child process under test: output captured line by line, a readiness line awaited with
//! a deadline, killed on drop.
//!
//! Its stdout and stderr are echoed with its name in front through `eprintln!`, which the
//! test runner captures and shows only for failing tests; the last stderr lines are kept
//! for error messages.

use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many stderr lines are kept for error messages.
const KEPT_LINES: usize = 200;

pub struct ChildProcess {
    name: String,
    child: Child,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_closed: Receiver<()>,
}

impl ChildProcess {
    /// Start `command` (its stdin, stdout and stderr are set here). `name` is used in
    /// messages and in front of its output.
    pub fn spawn(name: &str, mut command: Command) -> Result<ChildProcess> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::new(format!("could not start {name} ({command:?}): {e}")))?;

        let (stdout_tx, stdout) = mpsc::channel();
        let out = child
            .stdout
            .take()
            .ok_or_else(|| Error::new("stdout was not piped"))?;
        let prefix = name.to_string();
        std::thread::spawn(move || {
            for line in lines(out) {
                eprintln!("[{prefix}] {line}");
                let _ = stdout_tx.send(line);
            }
        });

        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let (closed_tx, stderr_closed) = mpsc::channel();
        let err = child
            .stderr
            .take()
            .ok_or_else(|| Error::new("stderr was not piped"))?;
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

        Ok(ChildProcess {
            name: name.to_string(),
            child,
            stdout,
            stderr,
            stderr_closed,
        })
    }

    /// Wait until the child prints a stdout line starting with `prefix`; return the rest of
    /// that line, trimmed. Fails, with the child's last stderr lines, when it exits first or
    /// `timeout` passes.
    pub fn wait_for_line(&mut self, prefix: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .stdout
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Ok(rest.trim().to_string());
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    if let Some(status) = self.exit_status() {
                        return Err(
                            self.exited_error(status, &format!("before printing `{prefix}…`"))
                        );
                    }
                    if left.is_zero() {
                        return Err(Error::new(format!(
                            "{} did not print `{prefix}…` on stdout within {:.1} s.{}",
                            self.name,
                            timeout.as_secs_f64(),
                            self.stderr_tail(20)
                        )));
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
        Error::new(format!(
            "{} exited {when} ({status}).{}",
            self.name,
            self.stderr_tail(20)
        ))
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
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .map_err(|e| Error::new(format!("could not run kill: {e}")))?;
        if !sent.success() {
            return Err(Error::new(format!("kill -TERM {} failed", self.name)));
        }
        crate::wait::until_blocking(&format!("{} to stop", self.name), timeout, || {
            Ok(match self.exit_status() {
                Some(status) => crate::wait::Check::Ready(status),
                None => crate::wait::Check::NotYet("still running".into()),
            })
        })
    }

    /// Kill the child (SIGKILL) and reap it; nothing when it already ended.
    pub fn kill(&mut self) {
        if self.exit_status().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

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
