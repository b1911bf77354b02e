//! `visavis-netdelay`: a wire with delay, jitter and bursty loss, for the end-to-end lab
//! (tests/src/lab), where the kernel has no `netem`.
//!
//! It runs inside a lab namespace that holds two veth ends, `--a` and `--b`, and nothing
//! else: every Ethernet frame that arrives on one is sent out of the other after
//! `delay_ms ± jitter_ms` (uniform; frames of one direction never overtake each other, as on
//! a real queue), unless the loss model drops it. Loss follows the two-state Gilbert–Elliott
//! model, one state per direction: in the good state a frame is lost with `loss_good`, in the
//! bad state with `loss_bad`; after each frame the state flips good→bad with `p` and bad→good
//! with `r` (so bursts last 1/r frames on average).
//!
//! Frames are read and written through `AF_PACKET` sockets with `PACKET_VNET_HDR`: the
//! kernel's offload metadata (checksum still to be done, TCP segmentation) travels with the
//! frame, so the veths keep their offloads and the far end sees exactly what was sent.
//! `PACKET_IGNORE_OUTGOING` keeps each socket from reading back what the wire itself sent.
//!
//! Settings come from `--control <file>`, `key = value` lines (missing keys are 0):
//! `delay_ms`, `jitter_ms`, `p`, `r`, `loss_good`, `loss_bad`, `generation`. The file is
//! looked at every 50 ms; when it changed, the new settings apply at once to frames that
//! arrive from then on, and the wire prints `visavis-netdelay: applied generation=<n> ...`
//! on stdout, which is how a test knows its change is in force. It prints
//! `visavis-netdelay: ready` once both sockets are open.

use clap::Parser;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// Frames held per direction at most; more are dropped (a full queue).
const QUEUE_LIMIT: usize = 20_000;
/// How often the control file is looked at.
const CONTROL_EVERY: Duration = Duration::from_millis(50);
/// Room for a 64 KiB segmentation-offloaded frame and its virtio-net header.
const FRAME_BUFFER: usize = 65_536 + 64;

#[derive(Parser, Debug)]
#[command(about = "A delaying, lossy wire between two interfaces (Visavis' test lab)")]
struct Args {
    /// One interface of the wire.
    #[arg(long)]
    a: String,
    /// The other interface.
    #[arg(long)]
    b: String,
    /// The settings file (`key = value` lines), re-read when it changes.
    #[arg(long)]
    control: PathBuf,
}

/// What the control file says.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Settings {
    delay: Duration,
    jitter: Duration,
    p: f64,
    r: f64,
    loss_good: f64,
    loss_bad: f64,
    generation: u64,
}

impl Settings {
    fn parse(text: &str) -> Result<Settings, String> {
        let mut s = Settings::default();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("expected `key = value`, got {line:?}"))?;
            let (key, value) = (key.trim(), value.trim());
            let number: f64 = value
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{key}: expected a number ≥ 0, got {value:?}"))?;
            let probability = || {
                if number <= 1.0 {
                    Ok(number)
                } else {
                    Err(format!("{key}: a probability is at most 1, got {value}"))
                }
            };
            match key {
                "delay_ms" => s.delay = Duration::from_secs_f64(number / 1000.0),
                "jitter_ms" => s.jitter = Duration::from_secs_f64(number / 1000.0),
                "p" => s.p = probability()?,
                "r" => s.r = probability()?,
                "loss_good" => s.loss_good = probability()?,
                "loss_bad" => s.loss_bad = probability()?,
                "generation" => s.generation = number as u64,
                other => return Err(format!("unknown key {other:?}")),
            }
        }
        Ok(s)
    }
}

/// A small xorshift generator: reproducible enough, no dependency.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Rng(nanos ^ (u64::from(std::process::id()) << 32) | 1)
    }

    /// Uniform in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One direction of the wire: its loss state and its queue of frames with release times.
#[derive(Default)]
struct Direction {
    bad: bool,
    queue: VecDeque<(Instant, Vec<u8>)>,
    passed: u64,
    lost: u64,
}

impl Direction {
    /// Take a frame that arrived `now`: drop it or queue it.
    fn take(&mut self, frame: &[u8], now: Instant, s: &Settings, rng: &mut Rng) {
        let loss = if self.bad { s.loss_bad } else { s.loss_good };
        let lost = rng.next() < loss;
        let flip = if self.bad { s.r } else { s.p };
        if rng.next() < flip {
            self.bad = !self.bad;
        }
        if lost || self.queue.len() >= QUEUE_LIMIT {
            self.lost += 1;
            return;
        }
        let jitter = s.jitter.as_secs_f64() * (2.0 * rng.next() - 1.0);
        let delay = Duration::from_secs_f64((s.delay.as_secs_f64() + jitter).max(0.0));
        let mut due = now + delay;
        if let Some((last, _)) = self.queue.back() {
            due = due.max(*last);
        }
        self.queue.push_back((due, frame.to_vec()));
    }

    /// Send every frame whose time has come.
    fn release(&mut self, out: &mut File, now: Instant) {
        while self.queue.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, frame)) = self.queue.pop_front() {
                match out.write(&frame) {
                    Ok(_) => self.passed += 1,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        self.queue.push_front((now, frame));
                        return;
                    }
                    Err(_) => self.lost += 1,
                }
            }
        }
    }
}

#[allow(unsafe_code)] // Opening and binding an AF_PACKET socket has no safe API in std or nix.
mod packet {
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const PACKET_VNET_HDR: libc::c_int = 15;
    const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

    /// A raw packet socket bound to `interface`, non-blocking, with virtio-net headers.
    pub fn open(interface: &str) -> io::Result<File> {
        let index = nix::net::if_::if_nametoindex(interface)
            .map_err(|e| io::Error::other(format!("no interface {interface:?}: {e}")))?;
        let protocol = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::c_int::from(protocol),
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let one: libc::c_int = 1;
        for option in [PACKET_VNET_HDR, PACKET_IGNORE_OUTGOING] {
            // SAFETY: the option value points at a live c_int of the given size.
            let rc = unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_PACKET,
                    option,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        let address = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: protocol,
            sll_ifindex: index as libc::c_int,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        // SAFETY: `address` is a valid sockaddr_ll and the length says so.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&address as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(File::from(fd))
    }
}

/// The control file's identity, to notice a change without parsing it every time.
fn stamp(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn load(path: &PathBuf) -> Result<Settings, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the control file {}: {e}", path.display()))?;
    Settings::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn announce(s: &Settings, ab: &Direction, ba: &Direction) {
    println!(
        "visavis-netdelay: applied generation={} delay_ms={:.1} jitter_ms={:.1} p={} r={} \
         loss_good={} loss_bad={} passed={} lost={}",
        s.generation,
        s.delay.as_secs_f64() * 1000.0,
        s.jitter.as_secs_f64() * 1000.0,
        s.p,
        s.r,
        s.loss_good,
        s.loss_bad,
        ab.passed + ba.passed,
        ab.lost + ba.lost
    );
}

fn run(args: Args) -> Result<(), String> {
    let mut settings = load(&args.control)?;
    let mut seen = stamp(&args.control);
    let open = |name: &str| packet::open(name).map_err(|e| format!("interface {name}: {e}"));
    let (mut a, mut b) = (open(&args.a)?, open(&args.b)?);
    let (mut ab, mut ba) = (Direction::default(), Direction::default());
    let mut rng = Rng::seeded();
    let mut buf = vec![0u8; FRAME_BUFFER];
    println!("visavis-netdelay: ready a={} b={}", args.a, args.b);
    announce(&settings, &ab, &ba);
    let mut next_control = Instant::now() + CONTROL_EVERY;
    loop {
        let now = Instant::now();
        let next_due = [ab.queue.front(), ba.queue.front()]
            .into_iter()
            .flatten()
            .map(|(due, _)| *due)
            .min();
        let wake = next_due.map_or(next_control, |due| due.min(next_control));
        let wait_ms = wake
            .saturating_duration_since(now)
            .as_micros()
            .div_ceil(1000);
        let timeout = PollTimeout::from(wait_ms.min(1000) as u16);
        let (ready_a, ready_b) = {
            let mut fds = [
                PollFd::new(a.as_fd(), PollFlags::POLLIN),
                PollFd::new(b.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(format!("poll: {e}")),
            }
            let readable = |fd: &PollFd<'_>| {
                fd.revents()
                    .is_some_and(|r| r.intersects(PollFlags::POLLIN | PollFlags::POLLERR))
            };
            (readable(&fds[0]), readable(&fds[1]))
        };
        let now = Instant::now();
        for (ready, from, dir) in [(ready_a, &mut a, &mut ab), (ready_b, &mut b, &mut ba)] {
            if !ready {
                continue;
            }
            loop {
                match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => dir.take(&buf[..n], now, &settings, &mut rng),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(format!("reading a frame: {e}")),
                }
            }
        }
        ab.release(&mut b, now);
        ba.release(&mut a, now);
        if now >= next_control {
            next_control = now + CONTROL_EVERY;
            let current = stamp(&args.control);
            if current != seen {
                seen = current;
                match load(&args.control) {
                    Ok(new) => {
                        settings = new;
                        announce(&settings, &ab, &ba);
                    }
                    Err(e) => eprintln!("visavis-netdelay: keeping the old settings: {e}"),
                }
            }
        }
    }
}

fn main() -> std::process::ExitCode {
    match run(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("visavis-netdelay: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_refuse_nonsense() {
        let s =
            Settings::parse("delay_ms = 40\njitter_ms=5\np=0.01\nr = 0.5\nloss_bad=1\n").unwrap();
        assert_eq!(s.delay, Duration::from_millis(40));
        assert_eq!(s.jitter, Duration::from_millis(5));
        assert_eq!((s.p, s.r, s.loss_good, s.loss_bad), (0.01, 0.5, 0.0, 1.0));
        assert!(Settings::parse("p = 2").is_err());
        assert!(Settings::parse("delay_ms = -1").is_err());
        assert!(Settings::parse("speed = 3").is_err());
    }

    #[test]
    fn frames_of_one_direction_keep_their_order_and_delay() {
        let s = Settings {
            delay: Duration::from_millis(50),
            jitter: Duration::from_millis(40),
            ..Default::default()
        };
        let (mut d, mut rng, t0) = (Direction::default(), Rng::seeded(), Instant::now());
        for i in 0..200u32 {
            d.take(
                &i.to_be_bytes(),
                t0 + Duration::from_millis(u64::from(i)),
                &s,
                &mut rng,
            );
        }
        let dues: Vec<Instant> = d.queue.iter().map(|(due, _)| *due).collect();
        assert!(dues.windows(2).all(|w| w[0] <= w[1]));
        assert!(dues[0] >= t0 + Duration::from_millis(10));
    }

    #[test]
    fn the_bad_state_loses_frames_in_bursts() {
        let s = Settings {
            p: 0.05,
            r: 0.2,
            loss_bad: 1.0,
            ..Default::default()
        };
        let (mut d, mut rng, now) = (Direction::default(), Rng::seeded(), Instant::now());
        for _ in 0..20_000 {
            d.take(&[0], now, &s, &mut rng);
        }
        // Stationary loss p / (p + r) = 20 %.
        let loss = d.lost as f64 / 20_000.0;
        assert!((0.1..0.3).contains(&loss), "loss {loss}");
    }
}
