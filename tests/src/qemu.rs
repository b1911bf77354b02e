//! A throw-away Linux guest under `qemu-system-x86_64` or `qemu-system-aarch64` (TCG, no
//! KVM needed): Debian's kernel, a busybox initramfs built here, kernel modules loaded in
//! dependency order, and programs run as the last step of init, their output read from
//! the serial console.
//!
//! The kernel is Debian's `linux-image-*` package unpacked into a folder (`cargo xtask
//! test` fetches the amd64 one with `apt-get download` and names it in
//! `VISAVIS_VIVID_KERNEL`; `cargo xtask smoke-arm64` fetches the arm64 one).

use crate::error::{Error, Result, ResultExt};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the unpacked kernel package.
pub const KERNEL_ENV: &str = "VISAVIS_VIVID_KERNEL";

/// The machine QEMU emulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    X86_64,
    /// A Pi-like 64-bit ARM board (`virt`, Cortex-A72 as in the Pi 4).
    Aarch64,
}

impl Machine {
    fn qemu(self) -> (&'static str, &'static [&'static str], &'static str) {
        match self {
            Machine::X86_64 => ("qemu-system-x86_64", &["-machine", "pc"], "ttyS0"),
            Machine::Aarch64 => (
                "qemu-system-aarch64",
                &["-machine", "virt", "-cpu", "cortex-a72"],
                "ttyAMA0",
            ),
        }
    }

    /// Where Debian keeps this machine's shared libraries.
    fn lib_dirs(self) -> [&'static str; 2] {
        match self {
            Machine::X86_64 => ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"],
            Machine::Aarch64 => ["/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"],
        }
    }
}

/// An unpacked Debian kernel package: the kernel image and its modules.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub vmlinuz: PathBuf,
    /// `lib/modules/<version>/kernel`.
    pub modules: PathBuf,
}

impl Kernel {
    /// The kernel named by [`KERNEL_ENV`].
    pub fn from_env() -> Result<Kernel> {
        let dir = std::env::var_os(KERNEL_ENV).ok_or_else(|| {
            Error::new(format!(
                "{KERNEL_ENV} is not set: run the tests with `cargo xtask test`, which fetches \
                 Debian's kernel package with apt-get download, or set it to a folder where a \
                 linux-image-*-amd64 .deb was unpacked (dpkg-deb -x)"
            ))
        })?;
        Kernel::unpacked(Path::new(&dir))
    }

    pub fn unpacked(dir: &Path) -> Result<Kernel> {
        let only = |dir: &Path, prefix: &str| -> Result<PathBuf> {
            std::fs::read_dir(dir)
                .context(format!("could not list {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
                })
                .ok_or_else(|| Error::new(format!("no {prefix}* in {}", dir.display())))
        };
        let vmlinuz = only(&dir.join("boot"), "vmlinuz-")?;
        let modules = only(&dir.join("lib/modules"), "")?.join("kernel");
        Ok(Kernel { vmlinuz, modules })
    }

    /// The module files `name` needs, dependencies first, `name` last.
    pub fn modules_for(&self, name: &str) -> Result<Vec<PathBuf>> {
        let mut index = BTreeMap::new();
        index_modules(&self.modules, &mut index)?;
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        visit(&normal(name), &index, &mut seen, &mut order)?;
        Ok(order)
    }
}

/// Module names are the same with `-` or `_`.
fn normal(name: &str) -> String {
    name.replace('-', "_")
}

fn index_modules(dir: &Path, index: &mut BTreeMap<String, PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).context(format!("could not list {}", dir.display()))? {
        let path = entry.context("could not list modules")?.path();
        if path.is_dir() {
            index_modules(&path, index)?;
        } else if let Some(stem) = path
            .file_stem()
            .filter(|_| path.extension().is_some_and(|x| x == "ko"))
        {
            index.insert(normal(&stem.to_string_lossy()), path.clone());
        }
    }
    Ok(())
}

/// The `depends=` entry of a module's `.modinfo` section.
fn depends(module: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(module).context(format!("could not read {}", module.display()))?;
    let key = b"\0depends=";
    let Some(at) = bytes.windows(key.len()).position(|w| w == key) else {
        return Ok(Vec::new());
    };
    let rest = &bytes[at + key.len()..];
    let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    Ok(String::from_utf8_lossy(&rest[..end])
        .split(',')
        .filter(|s| !s.is_empty())
        .map(normal)
        .collect())
}

fn visit(
    name: &str,
    index: &BTreeMap<String, PathBuf>,
    seen: &mut HashSet<String>,
    order: &mut Vec<PathBuf>,
) -> Result<()> {
    if !seen.insert(name.to_owned()) {
        return Ok(());
    }
    let path = index
        .get(name)
        .ok_or_else(|| Error::new(format!("module {name} is not in the kernel package")))?;
    for dep in depends(path)? {
        visit(&dep, index, seen, order)?;
    }
    order.push(path.clone());
    Ok(())
}

/// An initramfs in the kernel's `newc` cpio format, built in memory.
#[derive(Default)]
pub struct Initramfs {
    bytes: Vec<u8>,
    inode: u32,
    dirs: HashSet<String>,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;

impl Initramfs {
    pub fn new() -> Initramfs {
        let mut fs = Initramfs::default();
        for dir in ["dev", "proc", "sys", "bin", "tmp"] {
            fs.dir(dir);
        }
        // The kernel opens /dev/console for init's output before anything is mounted.
        fs.entry("dev/console", S_IFCHR | 0o600, (5, 1), &[]);
        fs
    }

    /// A folder and its parents.
    pub fn dir(&mut self, path: &str) {
        let path = path.trim_matches('/');
        if path.is_empty() || self.dirs.contains(path) {
            return;
        }
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.dirs.insert(path.to_owned());
        self.entry(path, S_IFDIR | 0o755, (0, 0), &[]);
    }

    /// A file with `data` at `path`.
    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) {
        let path = path.trim_start_matches('/');
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.entry(path, S_IFREG | mode, (0, 0), data);
    }

    /// A copy of the host file `from` at `path`.
    pub fn copy(&mut self, from: &Path, path: &str, mode: u32) -> Result<()> {
        let data = std::fs::read(from).context(format!("could not read {}", from.display()))?;
        self.file(path, mode, &data);
        Ok(())
    }

    /// A program and the shared libraries it loads (its ELF `NEEDED` entries, found in
    /// Debian's library folders for `machine`, and their own), at the same paths as on
    /// this machine. Works for a foreign architecture's program: `readelf` reads any.
    pub fn program(&mut self, machine: Machine, from: &Path, path: &str) -> Result<()> {
        self.copy(from, path, 0o755)?;
        let headers = readelf(&["-l"], from)?;
        if let Some(interp) = headers
            .split("Requesting program interpreter: ")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
        {
            let real = std::fs::canonicalize(interp).context(format!("no loader {interp}"))?;
            self.copy(&real, interp, 0o755)?;
        }
        let mut queue = vec![from.to_owned()];
        let mut done = HashSet::new();
        while let Some(file) = queue.pop() {
            for lib in needed(&file)? {
                if !done.insert(lib.clone()) {
                    continue;
                }
                let found = machine
                    .lib_dirs()
                    .iter()
                    .map(|d| Path::new(d).join(&lib))
                    .find(|p| p.exists())
                    .ok_or_else(|| {
                        Error::new(format!(
                            "{} needs {lib}, which is in none of {:?}",
                            file.display(),
                            machine.lib_dirs()
                        ))
                    })?;
                let real = std::fs::canonicalize(&found).context(found.display())?;
                self.copy(&real, &found.to_string_lossy(), 0o755)?;
                queue.push(real);
            }
        }
        Ok(())
    }

    /// The `vivid` module and its dependencies from `kernel`, under `/modules`; their
    /// paths in the guest, in load order.
    pub fn vivid(&mut self, kernel: &Kernel) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for module in kernel.modules_for("vivid")? {
            let name = format!(
                "/modules/{}",
                module.file_name().unwrap_or_default().to_string_lossy()
            );
            self.copy(&module, &name, 0o644)?;
            names.push(name);
        }
        Ok(names)
    }

    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.inode += 1;
        let name_len = name.len() + 1;
        let fields = [
            self.inode,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name_len as u32,
            0,
        ];
        let mut header = String::from("070701");
        for f in fields {
            header.push_str(&format!("{f:08X}"));
        }
        self.bytes.extend_from_slice(header.as_bytes());
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    /// The archive, with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.bytes
    }
}

fn readelf(args: &[&str], file: &Path) -> Result<String> {
    let out = Command::new("readelf")
        .args(args)
        .arg(file)
        .output()
        .context("could not run readelf (Debian package binutils)")?;
    if !out.status.success() {
        return Err(Error::new(format!(
            "readelf {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `NEEDED` entries of an ELF file's dynamic section.
fn needed(file: &Path) -> Result<Vec<String>> {
    Ok(readelf(&["-d"], file)?
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next().map(str::to_owned))
        .collect())
}

/// The line init prints when a module does not load.
pub const INSMOD_FAILED: &str = "VISAVIS-INSMOD-FAILED";

/// An init script for busybox: mount the kernel's filesystems, load `modules` in order
/// (`vivid` as one instance with a video capture node only: `/dev/video0`), run `commands`,
/// power off.
pub fn init_script(modules: &[String], commands: &str) -> String {
    let mut s = String::from(
        "#!/bin/busybox sh\n\
         /bin/busybox --install -s /bin\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sysfs /sys\n\
         mount -t devtmpfs devtmpfs /dev\n\
         echo\n",
    );
    for m in modules {
        let params = if m.ends_with("/vivid.ko") {
            " n_devs=1 node_types=0x1"
        } else {
            ""
        };
        s.push_str(&format!(
            "insmod {m}{params} || echo \"{INSMOD_FAILED} {m}\"\n"
        ));
    }
    s.push_str(commands);
    s.push_str("poweroff -f\n");
    s
}

/// What the guest printed on its serial console, line by line.
#[derive(Debug)]
pub struct Console {
    pub lines: Vec<String>,
}

/// Boot `kernel` with `initramfs` on `machine`, read its console until a line starting
/// with `last` (or the guest powers off), and kill it after `limit` if it hangs.
pub fn boot(
    machine: Machine,
    kernel: &Kernel,
    initramfs: Vec<u8>,
    append: &str,
    last: &str,
    limit: Duration,
) -> Result<Console> {
    let dir = tempfile::tempdir().context("could not make a temporary folder")?;
    let initrd = dir.path().join("initramfs.cpio");
    std::fs::File::create(&initrd)
        .and_then(|mut f| f.write_all(&initramfs))
        .context(format!("could not write {}", initrd.display()))?;
    let (qemu, machine_args, console) = machine.qemu();
    let mut child = Command::new(qemu)
        .args(machine_args)
        .args(["-accel", "tcg", "-m", "1024", "-smp", "1"])
        .args([
            "-nographic",
            "-no-reboot",
            "-monitor",
            "none",
            "-serial",
            "stdio",
        ])
        .arg("-kernel")
        .arg(&kernel.vmlinuz)
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", &format!("console={console} panic=-1 {append}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context(format!(
            "could not start {qemu} (Debian package qemu-system-x86 or qemu-system-arm)"
        ))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::new("qemu has no stdout"))?;
    // Lines come through a channel so a hung guest can be given up on after `limit`.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line.trim_end_matches('\r').to_owned()).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let deadline = started + limit;
    let mut lines = Vec::new();
    let mut killed = false;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                let finished = line.starts_with(last);
                lines.push(line);
                if finished {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                killed = true;
                break;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = child.kill();
    let status = child.wait().context("could not wait for qemu")?;
    if killed {
        return Err(Error::new(format!(
            "the guest did not finish within {limit:?}; its console ended with:\n{}",
            tail(&lines, 30)
        )));
    }
    if !lines.iter().any(|l| l.starts_with(last)) {
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        return Err(Error::new(format!(
            "the guest stopped ({status}) after {:?} without printing `{last}`; qemu said: {}; \
             its console ended with:\n{}",
            started.elapsed(),
            stderr.trim(),
            tail(&lines, 30)
        )));
    }
    Ok(Console { lines })
}

pub fn tail(lines: &[String], n: usize) -> String {
    lines[lines.len().saturating_sub(n)..].join("\n")
}
