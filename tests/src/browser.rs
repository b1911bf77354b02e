//! One `chromedriver` process per test; each [`Guest`] is a WebDriver session on it, i.e.
//! one headless Chromium with its own fresh profile. [`Chromedriver::start_in`] runs it (and
//! so its browsers) inside a lab namespace.

use crate::error::{Error, Result, ResultExt};
use crate::guest::Guest;
use crate::lab::Netns;
use crate::lab::forward::{Forward, http_url};
use crate::timeouts;
use crate::wait::{Check, until_blocking};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;
use visavis_launch::process::ChildProcess;

/// Debian's Chromium and its WebDriver (packages `chromium`, `chromium-driver`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

const READY_PREFIX: &str = "ChromeDriver was started successfully on port ";

/// A phone-sized window (CSS pixels), as most guests hold one.
pub const WINDOW_SIZE: (u32, u32) = (412, 915);

/// The flags every guest's Chromium gets: headless as root on a machine without GPU or
/// network beyond loopback, fake camera and microphone granted without a prompt, media
/// allowed to play without a tap.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
];

/// A running chromedriver. On drop it is asked to shut down, which closes every Chromium it
/// started, and killed if it does not exit.
pub struct Chromedriver {
    url: String,
    process: ChildProcess,
    /// In a lab: the test's way in to the WebDriver port.
    _forward: Option<Forward>,
}

/// Linux's `CAP_SYS_NICE` (`linux/capability.h`).
const CAP_SYS_NICE: libc::c_ulong = 23;

/// Keep the browsers at the priority a normal user's get. In a store the guests' browsers
/// run on their phones; here they share this machine's cores with the unit under test. Run
/// as root, Chromium raises its own threads: nice -8 for its compositors, media and thread
/// pools, real-time scheduling for its audio threads. Four guests' browsers then outweigh
/// the unit several times over: seen in CI, the unit's runtime woke 1.1 to 1.2 s late again
/// and again and the voices it sent fell behind, which no phone could do to a real unit.
/// Without `CAP_SYS_NICE` in their bounding set, chromedriver and every browser it starts
/// cannot raise a priority (as a normal user cannot: there the drop fails and changes
/// nothing).
fn at_ordinary_priority(command: &mut Command) {
    #[allow(unsafe_code)]
    // SAFETY: the closure runs between fork and exec: it only calls prctl(2), which is
    // async-signal-safe, and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0);
            Ok(())
        });
    }
}

impl Chromedriver {
    /// Start chromedriver on a free loopback port.
    pub fn start() -> Result<Chromedriver> {
        Self::start_inside(None)
    }

    /// Start chromedriver inside `netns` (e.g. the lab's guest namespace): its browsers live
    /// there, and [`Chromedriver::url`] is a forward from the test's own loopback to its
    /// port. Guests in a lab also need `Lab::guest_chromium_args()`.
    pub fn start_in(netns: &Netns) -> Result<Chromedriver> {
        Self::start_inside(Some(netns))
    }

    fn start_inside(netns: Option<&Netns>) -> Result<Chromedriver> {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            if !Path::new(path).is_file() {
                return Err(Error::new(format!(
                    "{path} is missing: install the Debian package `{package}` \
                     (`cargo xtask setup` does)"
                )));
            }
        }
        let mut command = match netns {
            Some(ns) => ns.command(CHROMEDRIVER),
            None => Command::new(CHROMEDRIVER),
        };
        command.args(["--port=0", "--allowed-ips=127.0.0.1"]);
        at_ordinary_priority(&mut command);
        let mut process = ChildProcess::spawn("chromedriver", command)?;
        let port = process.wait_for_line(READY_PREFIX, timeouts::chromedriver_start())?;
        let port = port.trim_end_matches('.');
        let Some(ns) = netns else {
            return Ok(Chromedriver {
                url: format!("http://127.0.0.1:{port}"),
                process,
                _forward: None,
            });
        };
        let port: u16 = port
            .parse()
            .map_err(|_| Error::new(format!("chromedriver printed the port {port:?}")))?;
        let forward = Forward::start(
            None,
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            Some(ns),
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        )?;
        Ok(Chromedriver {
            url: http_url(forward.local_addr()),
            process,
            _forward: Some(forward),
        })
    }

    /// The WebDriver endpoint, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new guest: a new WebDriver session, so a new Chromium with a fresh profile.
    /// The process id of this chromedriver (its browsers are its descendants).
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    pub async fn new_guest(&self) -> Result<Guest> {
        self.new_guest_with_args(&[]).await
    }

    /// A guest whose Chromium gets `extra` command-line arguments too.
    pub async fn new_guest_with_args(&self, extra: &[String]) -> Result<Guest> {
        let profile = TempDir::with_prefix("visavis-guest-")
            .context("could not create a Chromium profile folder")?;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!("--window-size={},{}", WINDOW_SIZE.0, WINDOW_SIZE.1));
        args.extend(extra.iter().cloned());
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "chrome".into());
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": CHROMIUM, "args": args }),
        );
        let client = fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(capabilities)
        .connect(&self.url)
        .await
        .map_err(|e| {
            Error::new(format!(
                "chromedriver could not start a Chromium session: {e}.{}",
                self.process.stderr_tail(20)
            ))
        })?;
        Guest::new(client, self.url.clone(), profile).await
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        if crate::http::get(&format!("{}/shutdown", self.url)).is_ok() {
            let _ = until_blocking("chromedriver to shut down", timeouts::answer(), || {
                Ok(match self.process.exit_status() {
                    Some(_) => Check::Ready(()),
                    None => Check::NotYet("still running".into()),
                })
            });
        }
        // ChildProcess's own drop kills it if it is still there.
    }
}
