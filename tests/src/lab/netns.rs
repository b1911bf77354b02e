//! Network namespaces of the lab: create, delete, run a command or a closure inside one,
//! and sweep away namespaces a crashed run left behind.
//!
//! A namespace is named `vvlab<pid>x<n>-<node>`: the pid of the test process that made it
//! and a per-process counter, so tests running in parallel (threads of one process, or
//! several processes) never share a name, and a leftover is recognised by a pid that no
//! longer runs.

use crate::error::{Error, Result, ResultExt};
use nix::sched::{CloneFlags, setns};
use std::fs::File;
use std::process::{Command, Output};

/// Every lab namespace name starts with this.
pub const PREFIX: &str = "vvlab";

/// Where `ip netns` keeps its namespace handles.
const NETNS_DIR: &str = "/run/netns";

/// One network namespace of a lab, by name. Cloning the handle does not clone the namespace;
/// the [`crate::lab::Lab`] that made it deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netns {
    name: String,
}

impl Netns {
    pub(crate) fn new(name: String) -> Netns {
        Netns { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip netns exec <name> <program>`: a command that runs `program` inside this namespace
    /// (`ip` execs it, so the child's pid is the program's).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// Run `f` on a thread that joined this namespace: every socket it creates lives here
    /// (and stays here when used from other threads later).
    pub fn run<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        let path = format!("{NETNS_DIR}/{}", self.name);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let handle = File::open(&path)
                        .context(format!("could not open the namespace handle {path}"))?;
                    setns(&handle, CloneFlags::CLONE_NEWNET)
                        .context(format!("could not enter the network namespace {path}"))?;
                    f()
                })
                .join()
                .unwrap_or_else(|_| Err(Error::new("a thread inside the lab panicked")))
        })
    }

    /// Write a sysctl of this namespace, e.g. `net/ipv4/ip_forward`.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.run(|| {
            std::fs::write(format!("/proc/sys/{key}"), value)
                .context(format!("{}: could not set {key} = {value}", self.name))
        })
    }

    /// `ip -n <name> <args>`.
    pub fn ip(&self, args: &[&str]) -> Result<()> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// `tc -n <name> <args>`.
    pub fn tc(&self, args: &[&str]) -> Result<()> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run("tc", &all)
    }

    /// The pids of every process inside this namespace.
    pub fn pids(&self) -> Vec<i32> {
        output("ip", &["netns", "pids", &self.name])
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .filter_map(|pid| pid.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Create the namespace `name` (with its loopback up).
pub fn create(name: &str) -> Result<Netns> {
    run("ip", &["netns", "add", name])?;
    let ns = Netns::new(name.to_string());
    ns.ip(&["link", "set", "lo", "up"])?;
    Ok(ns)
}

/// Kill what still runs in `ns` (processes the lab's tests started there) and delete it.
pub(crate) fn destroy(ns: &Netns) -> Result<()> {
    for pid in ns.pids() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    run("ip", &["netns", "delete", ns.name()])
}

/// The names of every lab namespace on this machine.
pub fn list() -> Vec<String> {
    match std::fs::read_dir(NETNS_DIR) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|name| name.starts_with(PREFIX))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The pid a lab namespace name carries (`vvlab<pid>x<n>-...`).
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    rest.split('x').next()?.parse().ok()
}

/// Delete the lab namespaces whose test process is gone.
pub fn sweep_leftovers() {
    sweep(|pid| !running(pid));
}

/// Whether `pid` is a running process (a zombie, killed but not yet reaped, is not).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) state ...`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// [`sweep_leftovers`], and also the namespaces carrying this process' own pid (from an
/// earlier run that had the same pid): only right before this process makes its first lab.
pub(crate) fn sweep_before_first_lab() {
    let me = std::process::id();
    sweep(|pid| pid == me || !running(pid));
}

fn sweep(stale: impl Fn(u32) -> bool) {
    for name in list() {
        if owner_pid(&name).is_some_and(&stale) {
            eprintln!("lab: removing the namespace {name} a crashed run left behind");
            let _ = destroy(&Netns::new(name));
        }
    }
}

/// Run `program args`, failing with its stderr when it does not succeed.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = output(program, args)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn output(program: &str, args: &[&str]) -> Result<Output> {
    Command::new(program).args(args).output().context(format!(
        "could not run `{program}` (the lab needs iproute2's `ip` and `tc`, and root)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_pid_is_read_from_the_name() {
        assert_eq!(owner_pid("vvlab1234x0-guest"), Some(1234));
        assert_eq!(owner_pid("vvlab77x12-inet"), Some(77));
        assert_eq!(owner_pid("vvlabx-inet"), None);
        assert_eq!(owner_pid("other"), None);
    }

    #[test]
    fn this_process_runs() {
        assert!(running(std::process::id()));
    }
}
