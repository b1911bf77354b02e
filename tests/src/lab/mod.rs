//! The network lab: a guest and a unit behind NATs on either side of a small "internet",
//! built from Linux network namespaces by the test that needs it and removed when the
//! [`Lab`] drops.
//!
//! ```text
//!  guest ──[access link A]── NAT A ──── inet ──── NAT B ──[access link B]── unit
//!  10.11.0.2          10.11.0.1 | 198.18.1.2   198.18.1.1 / 198.18.2.1   198.18.2.2 | 10.22.0.1   10.22.0.2
//!                                         servers on inet's loopback:
//!                                         198.18.0.10 rendezvous, 198.18.0.20 TURN,
//!                                         198.18.0.30 / .31 probes
//! ```
//!
//! - The "internet" uses 198.18.0.0/15 only; the NATs' inner sides are 10.11.0.0/24 (guest)
//!   and 10.22.0.0/24 (unit). Every route in the lab points at 198.18.0.0/15 or at the other
//!   private range's NAT; there is no default route, no interface shared with the test's own
//!   namespace, and IPv6 is off. Nothing in the lab can reach an address outside it.
//! - Each NAT is a [`NatKind`], chosen per side: `Cone` (masquerade keeping ports: the same
//!   mapping for every destination), `Symmetric` (masquerade with a random port per new
//!   mapping), `UdpBlocked` (cone for TCP, every outgoing UDP packet dropped), `WebOnly`
//!   (only TCP to ports 80 and 443 goes out, as on a locked-down guest Wi-Fi), `None`
//!   (routed, no translation). A NAT box drops what comes from outside for itself, as a home
//!   router does: otherwise the first packet of a peer punching a hole leaves a conntrack
//!   entry that makes the NAT map the inside host's answer to another port. Rules go in through [`nft`] (netlink), so neither `iptables`
//!   nor `nft` has to be installed.
//! - Each access link is shaped by a [`LinkShape`]: a rate cap (`tc tbf`, both directions),
//!   random loss (an nftables rule, the equivalent of iptables' `statistic` match, both
//!   directions) and, when [`LinkShape::wire`] is set, a wire namespace between the two ends
//!   where `visavis-netdelay` adds delay, jitter and Gilbert–Elliott loss. All three can be
//!   changed while a call runs ([`Lab::set_rate`], [`Lab::set_loss`], [`Lab::set_wire`]).
//! - The test process reaches programs in the lab through [`Forward`]s: TCP port forwards
//!   whose sockets are made inside the namespaces by threads of the test process. Nothing is
//!   routed between the test's namespace and the lab.
//!
//! Namespace names carry the test's pid and a counter (see [`netns`]); namespaces a crashed
//! run left behind are removed when the first lab of a process starts. Declare the `Lab`
//! before what runs in it, so it drops last: dropping it kills whatever still runs in its
//! namespaces and deletes them.

pub mod call;
pub mod forward;
pub mod netns;
pub mod nft;
pub mod probe;

use crate::bins::workspace_binary;
use crate::error::{Error, Result, ResultExt};
use crate::timeouts;
pub use forward::Forward;
pub use netns::Netns;
use nft::{Chain, Direction, Rule};
use std::net::Ipv4Addr;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use tempfile::TempDir;
use visavis_launch::process::ChildProcess;

/// The lab's "internet".
pub const INTERNET: &str = "198.18.0.0/15";
/// Where rendezvous answers in the lab (port 80, plain HTTP).
pub const RENDEZVOUS_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
/// Where coturn listens in the lab.
pub const TURN_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 20);
/// Two more addresses of the internet for probes (e.g. a NAT's mapping per destination).
pub const PROBE_ADDRS: [Ipv4Addr; 2] =
    [Ipv4Addr::new(198, 18, 0, 30), Ipv4Addr::new(198, 18, 0, 31)];
/// The guest's and the unit's own addresses.
pub const GUEST_ADDR: Ipv4Addr = Ipv4Addr::new(10, 11, 0, 2);
pub const UNIT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 22, 0, 2);
/// The NATs' outside addresses.
pub const NAT_A_PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
pub const NAT_B_PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 2);

/// The binary of the delaying wire (tests/src/bin/visavis-netdelay.rs).
pub const NETDELAY: &str = "visavis-netdelay";
const NETDELAY_READY: &str = "visavis-netdelay: ready";
const NETDELAY_APPLIED: &str = "visavis-netdelay: applied generation=";

/// What a NAT does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatKind {
    /// `MASQUERADE`: a mapping keeps the inside port and serves every destination
    /// (endpoint-independent mapping; Linux filters by address and port).
    Cone,
    /// `MASQUERADE --random-fully`: a new random port for every destination.
    Symmetric,
    /// Cone for TCP; every UDP packet from inside is dropped.
    UdpBlocked,
    /// A guest Wi-Fi or office firewall that lets only the web out: cone for TCP to ports
    /// 80 and 443, everything else from inside dropped. Only TURN over TLS on 443 relays.
    WebOnly,
    /// Plain routing, no translation: the inside addresses are seen outside.
    None,
}

/// The delaying wire's settings (see tests/src/bin/visavis-netdelay.rs). Each direction
/// gets the delay, so a round trip gains twice `delay_ms`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Wire {
    pub delay_ms: f64,
    pub jitter_ms: f64,
    /// Gilbert–Elliott: probability of going from the good to the bad state, per frame.
    pub p: f64,
    /// Probability of going back from bad to good, per frame.
    pub r: f64,
    /// Loss probability in the good state.
    pub loss_good: f64,
    /// Loss probability in the bad state.
    pub loss_bad: f64,
}

impl Wire {
    /// Only delay and jitter, no loss.
    pub fn delay(delay_ms: f64, jitter_ms: f64) -> Wire {
        Wire {
            delay_ms,
            jitter_ms,
            ..Default::default()
        }
    }

    fn control_text(&self, generation: u64) -> String {
        format!(
            "generation = {generation}\ndelay_ms = {}\njitter_ms = {}\np = {}\nr = {}\n\
             loss_good = {}\nloss_bad = {}\n",
            self.delay_ms, self.jitter_ms, self.p, self.r, self.loss_good, self.loss_bad
        )
    }
}

/// How an access link is shaped.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkShape {
    /// Rate cap in kbit/s, each direction (`tc tbf`); `None`: the veth's own speed.
    pub rate_kbit: Option<u32>,
    /// Random loss probability, each direction.
    pub loss: f64,
    /// A delaying wire in the link; only a link built with one can change its delay later.
    pub wire: Option<Wire>,
}

/// The lab to build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabConfig {
    pub nat_a: NatKind,
    pub nat_b: NatKind,
    pub guest_link: LinkShape,
    pub unit_link: LinkShape,
}

impl Default for LabConfig {
    fn default() -> Self {
        LabConfig {
            nat_a: NatKind::Cone,
            nat_b: NatKind::Cone,
            guest_link: LinkShape::default(),
            unit_link: LinkShape::default(),
        }
    }
}

/// A namespace of the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Guest,
    NatA,
    Inet,
    NatB,
    Unit,
}

/// An access link: the guest's (to NAT A) or the unit's (to NAT B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Guest,
    Unit,
}

/// One access link's two ends and its wire.
struct Access {
    /// The end host's namespace and interface (`eth0`).
    host: Netns,
    /// The NAT's namespace and its inside interface (`lan`).
    nat: Netns,
    wire: Option<WireProcess>,
}

struct WireProcess {
    ns: Netns,
    process: ChildProcess,
    control: std::path::PathBuf,
    generation: u64,
}

/// A built lab; dropping it removes it.
pub struct Lab {
    guest: Netns,
    nat_a: Netns,
    inet: Netns,
    nat_b: Netns,
    unit: Netns,
    access_a: Access,
    access_b: Access,
    config: LabConfig,
    _dir: TempDir,
}

impl Lab {
    /// Build the lab for `config`. Needs root, `ip` and `tc`.
    pub fn start(config: LabConfig) -> Result<Lab> {
        static SWEEP: Once = Once::new();
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        SWEEP.call_once(netns::sweep_before_first_lab);
        let base = format!(
            "{}{}x{}",
            netns::PREFIX,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let dir =
            TempDir::with_prefix("visavis-lab-").context("could not create a temporary folder")?;
        let mut made: Vec<Netns> = Vec::new();
        let built = Self::build(&base, config, &dir, &mut made);
        match built {
            Ok((access_a, access_b)) => {
                let find = |suffix: &str| {
                    made.iter()
                        .find(|n| n.name().ends_with(suffix))
                        .cloned()
                        .ok_or_else(|| Error::new(format!("lab: no namespace {suffix}")))
                };
                Ok(Lab {
                    guest: find("-guest")?,
                    nat_a: find("-nata")?,
                    inet: find("-inet")?,
                    nat_b: find("-natb")?,
                    unit: find("-unit")?,
                    access_a,
                    access_b,
                    config,
                    _dir: dir,
                })
            }
            Err(e) => {
                for ns in made.iter().rev() {
                    let _ = netns::destroy(ns);
                }
                Err(e)
            }
        }
    }

    fn build(
        base: &str,
        config: LabConfig,
        dir: &TempDir,
        made: &mut Vec<Netns>,
    ) -> Result<(Access, Access)> {
        let mut make = |node: &str| -> Result<Netns> {
            let ns = netns::create(&format!("{base}-{node}"))?;
            made.push(ns.clone());
            ns.sysctl("net/ipv6/conf/all/disable_ipv6", "1")?;
            ns.sysctl("net/ipv6/conf/default/disable_ipv6", "1")?;
            Ok(ns)
        };
        let guest = make("guest")?;
        let nat_a = make("nata")?;
        let inet = make("inet")?;
        let nat_b = make("natb")?;
        let unit = make("unit")?;
        let wire_a = match config.guest_link.wire {
            Some(_) => Some(make("wirea")?),
            None => None,
        };
        let wire_b = match config.unit_link.wire {
            Some(_) => Some(make("wireb")?),
            None => None,
        };
        for router in [&nat_a, &inet, &nat_b] {
            router.sysctl("net/ipv4/ip_forward", "1")?;
        }

        // The internet: inet routes between the NATs' outside links; its servers sit on its
        // loopback.
        veth(&nat_a, "wan", &inet, "a0")?;
        veth(&nat_b, "wan", &inet, "b0")?;
        addr(&nat_a, "wan", "198.18.1.2/30")?;
        addr(&inet, "a0", "198.18.1.1/30")?;
        addr(&nat_b, "wan", "198.18.2.2/30")?;
        addr(&inet, "b0", "198.18.2.1/30")?;
        for server in [RENDEZVOUS_ADDR, TURN_ADDR, PROBE_ADDRS[0], PROBE_ADDRS[1]] {
            inet.ip(&["addr", "add", &format!("{server}/32"), "dev", "lo"])?;
        }
        nat_a.ip(&["route", "add", INTERNET, "via", "198.18.1.1"])?;
        nat_b.ip(&["route", "add", INTERNET, "via", "198.18.2.1"])?;

        // The access links, each with its wire when asked for.
        let access_a = access(
            &guest,
            &nat_a,
            wire_a,
            config.guest_link,
            "10.11.0",
            dir,
            "wirea",
        )?;
        let access_b = access(
            &unit,
            &nat_b,
            wire_b,
            config.unit_link,
            "10.22.0",
            dir,
            "wireb",
        )?;

        // A side without NAT shows its private range outside: route it across the lab
        // (inet to that NAT, the other NAT to inet, the other end host to its NAT).
        for (kind, inside, via, other_nat, other_inet, other_host, other_gateway) in [
            (
                config.nat_a,
                "10.11.0.0/24",
                "198.18.1.2",
                &nat_b,
                "198.18.2.1",
                &unit,
                "10.22.0.1",
            ),
            (
                config.nat_b,
                "10.22.0.0/24",
                "198.18.2.2",
                &nat_a,
                "198.18.1.1",
                &guest,
                "10.11.0.1",
            ),
        ] {
            if kind == NatKind::None {
                inet.ip(&["route", "add", inside, "via", via])?;
                other_nat.ip(&["route", "add", inside, "via", other_inet])?;
                other_host.ip(&["route", "add", inside, "via", other_gateway])?;
            }
        }
        for (nat, kind) in [(&nat_a, config.nat_a), (&nat_b, config.nat_b)] {
            nft::create_table(nat)?;
            let masquerade = |random_fully| Rule::Masquerade {
                out_interface: "wan".into(),
                random_fully,
            };
            // Like a home router, the NAT box answers nothing from outside itself.
            let closed = Rule::DropInputFrom {
                interface: "wan".into(),
            };
            match kind {
                NatKind::Cone => nft::add(nat, &[masquerade(false), closed])?,
                NatKind::Symmetric => nft::add(nat, &[masquerade(true), closed])?,
                NatKind::UdpBlocked => nft::add(
                    nat,
                    &[
                        masquerade(false),
                        closed,
                        Rule::DropUdpFrom {
                            interface: "lan".into(),
                        },
                    ],
                )?,
                NatKind::WebOnly => nft::add(
                    nat,
                    &[
                        masquerade(false),
                        closed,
                        Rule::OnlyTcpToFrom {
                            interface: "lan".into(),
                            ports: vec![80, 443],
                        },
                    ],
                )?,
                NatKind::None => {}
            }
        }
        for (access, shape) in [
            (&access_a, config.guest_link),
            (&access_b, config.unit_link),
        ] {
            apply_rate(access, shape.rate_kbit)?;
            apply_loss(access, shape.loss)?;
        }
        Ok((access_a, access_b))
    }

    /// A namespace of the lab.
    pub fn ns(&self, node: Node) -> &Netns {
        match node {
            Node::Guest => &self.guest,
            Node::NatA => &self.nat_a,
            Node::Inet => &self.inet,
            Node::NatB => &self.nat_b,
            Node::Unit => &self.unit,
        }
    }

    pub fn config(&self) -> &LabConfig {
        &self.config
    }

    fn access(&self, side: Side) -> &Access {
        match side {
            Side::Guest => &self.access_a,
            Side::Unit => &self.access_b,
        }
    }

    /// Cap (or uncap, with `None`) an access link's rate, both directions, now.
    pub fn set_rate(&self, side: Side, rate_kbit: Option<u32>) -> Result<()> {
        apply_rate(self.access(side), rate_kbit)
    }

    /// Set an access link's random loss, both directions, now.
    pub fn set_loss(&self, side: Side, probability: f64) -> Result<()> {
        apply_loss(self.access(side), probability)
    }

    /// Cut the internet's path between the two NATs, both ways, now: what goes from one
    /// side to the other directly is dropped, and the lab's servers (rendezvous, the TURN
    /// relay) stay reachable from both. A direct call path dies; a relayed one still works.
    pub fn cut_direct_path(&self) -> Result<()> {
        nft::create_table(&self.inet)?;
        let between = |from: &str, to: &str| Rule::DropForwarded {
            from: from.to_owned(),
            to: to.to_owned(),
        };
        nft::add(&self.inet, &[between("a0", "b0"), between("b0", "a0")])
    }

    /// Change the delaying wire of an access link; returns once the wire says the new
    /// settings are in force. Fails for a link built without a wire.
    pub fn set_wire(&mut self, side: Side, wire: Wire) -> Result<()> {
        let access = match side {
            Side::Guest => &mut self.access_a,
            Side::Unit => &mut self.access_b,
        };
        let process = access.wire.as_mut().ok_or_else(|| {
            Error::new(format!(
                "the {side:?} access link has no wire: build the lab with LinkShape::wire set \
                 to change its delay"
            ))
        })?;
        process.generation += 1;
        write_control(&process.control, &wire.control_text(process.generation))?;
        process.process.wait_for_line(
            &format!("{NETDELAY_APPLIED}{} ", process.generation),
            timeouts::answer(),
        )?;
        Ok(())
    }

    /// The pid of an access link's wire process, if it has one (to measure its CPU time).
    pub fn wire_pid(&self, side: Side) -> Option<u32> {
        self.access(side).wire.as_ref().map(|w| w.process.id())
    }

    /// `http://198.18.0.10`: rendezvous' address for whoever is in the lab.
    pub fn rendezvous_url() -> String {
        format!("http://{RENDEZVOUS_ADDR}")
    }

    /// Chromium arguments for a guest in this lab: the page's plain-HTTP origin counts as
    /// secure (getUserMedia needs a secure context), host candidates show real addresses, and
    /// the lab relay's certificate (from a CA of the lab's) is accepted for TURN over TLS (a store's relay
    /// has a real one).
    pub fn guest_chromium_args() -> Vec<String> {
        vec![
            format!(
                "--unsafely-treat-insecure-origin-as-secure={}",
                Self::rendezvous_url()
            ),
            "--disable-features=WebRtcHideLocalIpsWithMdns".to_string(),
            "--ignore-certificate-errors".to_string(),
        ]
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for access in [&mut self.access_a, &mut self.access_b] {
            if let Some(mut wire) = access.wire.take() {
                wire.process.kill();
                let _ = netns::destroy(&wire.ns);
            }
        }
        for ns in [
            &self.guest,
            &self.unit,
            &self.nat_a,
            &self.nat_b,
            &self.inet,
        ] {
            if let Err(e) = netns::destroy(ns) {
                eprintln!("lab: {e}");
            }
        }
    }
}

/// A veth pair made directly inside its two namespaces.
fn veth(a: &Netns, a_name: &str, b: &Netns, b_name: &str) -> Result<()> {
    a.ip(&[
        "link",
        "add",
        a_name,
        "type",
        "veth",
        "peer",
        "name",
        b_name,
        "netns",
        b.name(),
    ])?;
    a.ip(&["link", "set", a_name, "up"])?;
    b.ip(&["link", "set", b_name, "up"])
}

fn addr(ns: &Netns, dev: &str, cidr: &str) -> Result<()> {
    ns.ip(&["addr", "add", cidr, "dev", dev])
}

/// The access link between `host` (`eth0`, `<net>.2`) and `nat` (`lan`, `<net>.1`), through
/// a wire namespace when there is one.
fn access(
    host: &Netns,
    nat: &Netns,
    wire_ns: Option<Netns>,
    shape: LinkShape,
    net: &str,
    dir: &TempDir,
    name: &str,
) -> Result<Access> {
    let wire = match (wire_ns, shape.wire) {
        (Some(ns), Some(settings)) => {
            // (Not `a`/`b`: `ip link set a up` reads `a` as `address`.)
            veth(host, "eth0", &ns, "wire0")?;
            veth(nat, "lan", &ns, "wire1")?;
            let control = dir.path().join(format!("{name}.conf"));
            write_control(&control, &settings.control_text(0))?;
            let binary = workspace_binary(NETDELAY)?;
            let mut command = ns.command(&binary);
            command
                .args(["--a", "wire0", "--b", "wire1", "--control"])
                .arg(&control);
            let mut process = ChildProcess::spawn(&format!("netdelay-{name}"), command)?;
            process.wait_for_line(NETDELAY_READY, timeouts::answer())?;
            Some(WireProcess {
                ns,
                process,
                control,
                generation: 0,
            })
        }
        _ => {
            veth(host, "eth0", nat, "lan")?;
            None
        }
    };
    addr(host, "eth0", &format!("{net}.2/24"))?;
    addr(nat, "lan", &format!("{net}.1/24"))?;
    host.ip(&["route", "add", INTERNET, "via", &format!("{net}.1")])?;
    // Multicast stays on the access link (no router forwards it), but joining a group (mDNS,
    // which webrtc-rs does) fails with ENODEV where no route covers it.
    host.ip(&["route", "add", "224.0.0.0/4", "dev", "eth0"])?;
    Ok(Access {
        host: host.clone(),
        nat: nat.clone(),
        wire,
    })
}

/// Write the wire's control file whole (a rename), so the wire never reads half a file.
fn write_control(path: &std::path::Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).context(format!("could not write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).context(format!("could not replace {}", path.display()))
}

/// `tc tbf` on the egress of both ends of the link (the host's uplink, the NAT's downlink).
fn apply_rate(access: &Access, rate_kbit: Option<u32>) -> Result<()> {
    for (ns, dev) in [(&access.host, "eth0"), (&access.nat, "lan")] {
        match rate_kbit {
            Some(kbit) => {
                // A burst of 10 ms at the rate (at least a few full frames), a queue of 200 ms.
                let burst = (u64::from(kbit) * 1000 / 8 / 100).max(4500);
                ns.tc(&[
                    "qdisc",
                    "replace",
                    "dev",
                    dev,
                    "root",
                    "tbf",
                    "rate",
                    &format!("{kbit}kbit"),
                    "burst",
                    &burst.to_string(),
                    "latency",
                    "200ms",
                ])?;
            }
            None => {
                // Nothing to remove is fine: the link was not capped.
                let _ = ns.tc(&["qdisc", "del", "dev", dev, "root"]);
            }
        }
    }
    Ok(())
}

/// Random loss on the NAT's inside interface, both directions (replacing what was there).
fn apply_loss(access: &Access, probability: f64) -> Result<()> {
    let rules: Vec<Rule> = if probability > 0.0 {
        [Direction::In, Direction::Out]
            .into_iter()
            .map(|direction| Rule::RandomLoss {
                interface: "lan".into(),
                direction,
                probability,
            })
            .collect()
    } else {
        Vec::new()
    };
    nft::replace(&access.nat, Chain::Loss, &rules)
}
