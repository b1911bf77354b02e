//! End-to-end test harness for Visavis: the real binaries, real browsers, on one machine.
//!
//! - [`Rendezvous`] and [`Appliance`] start the workspace's `rendezvous` and `applianced`
//!   binaries (from `target/<profile>/`, see [`bins`]) with config files written to a
//!   temporary folder, wait for their readiness lines, and kill them on drop; the child
//!   processes, config pieces and fleet keys come from `visavis-launch`, which
//!   `cargo xtask demo` uses too.
//! - [`Chromedriver`] runs one `chromedriver`; each [`Guest`] it creates is one WebDriver
//!   session, i.e. one headless Chromium with fake camera and microphone, driving the guest
//!   page through the DOM contract of docs/contracts.md.
//! - [`lab`] builds a network lab of namespaces (guest, NATs, an "internet", unit) with
//!   shaped access links; [`Rendezvous::start_in_lab`], [`Appliance::start_in_lab`] and
//!   [`Chromedriver::start_in`] run the same programs inside it, and [`Coturn`] is the TURN
//!   server of its internet.
//! - [`qemu`] boots Debian's kernel under `qemu-system-x86_64` with an initramfs built
//!   here, for tests against real kernel drivers (vivid, the V4L2 test driver).
//! - [`blip`] cuts the unit's link for a few seconds during a call (two network namespaces
//!   joined by a veth pair) and checks the call comes back without the guest joining again.
//! - [`wav`] writes the guests' fake microphones' files (silence, clicks); [`listen`]
//!   measures what a guest's page hears and when its sound starts.
//! - [`http`] fetches status codes, headers and bodies (with `ureq`); [`wait`] polls a
//!   condition until a deadline, which is how every wait in these tests is written, and
//!   [`timeouts`] names every deadline, scaled by `VISAVIS_TEST_TIMEOUT_SCALE`.
//!
//! Every test starts its own processes on port 0 in its own temporary folders, so tests can
//! run in parallel; on a 2-core machine keep the number of Chromium guests per test small.

pub mod appliance;
pub mod bins;
pub mod blip;
pub mod browser;
pub mod coturn;
pub mod error;
pub mod guest;
pub mod guest_ice;
mod guest_looks;
pub mod guest_others;
pub mod guest_screen;
pub mod http;
pub mod lab;
pub mod listen;
pub mod procstat;
pub mod qemu;
pub mod relay;
pub mod rendezvous;
pub mod restartable;
pub mod table;
pub mod timeouts;
pub mod wait;
pub mod wav;

pub use appliance::{Appliance, ApplianceConfig};
pub use browser::Chromedriver;
pub use coturn::Coturn;
pub use error::{Error, Result, ResultExt};
pub use guest::{Guest, GuestStats, PageState};
pub use guest_ice::{CandidatePair, CandidateType, PageTimes, TraceSample, VideoReception};
pub use guest_looks::ShownLook;
pub use lab::{Lab, LabConfig, LinkShape, NatKind, Node, Side, Wire};
pub use rendezvous::{RateLimit, Rendezvous, RendezvousConfig, Turn};
pub use visavis_api::datachannel::Reaction;
pub use visavis_launch::files::random_hex;
pub use visavis_launch::fleet::Fleet;
/// Child processes: the launcher `cargo xtask demo` uses too.
pub use visavis_launch::process;
