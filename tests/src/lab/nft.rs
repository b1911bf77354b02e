//! The few nftables rules the lab needs, sent to the kernel over netlink (`NETLINK_NETFILTER`)
//! from inside a lab namespace, so the lab needs neither the `iptables` nor the `nft`
//! program. Each rule is the nftables form of an iptables rule the lab documents:
//!
//! | lab rule | iptables | nftables expressions |
//! |---|---|---|
//! | [`Rule::Masquerade`] | `-t nat -A POSTROUTING -o wan -j MASQUERADE [--random-fully]` | `meta oifname; cmp; masq [flags random-fully]` |
//! | [`Rule::DropUdpFrom`] | `-A FORWARD -i lan -p udp -j DROP` | `meta iifname; cmp; meta l4proto; cmp; drop` |
//! | [`Rule::DropInputFrom`] | `-A INPUT -i wan -j DROP` | `meta iifname; cmp; drop` |
//! | [`Rule::RandomLoss`] | `-A FORWARD -i/-o lan -m statistic --mode random --probability p -j DROP` | `meta i/oifname; cmp; numgen random mod 10⁶; byteorder; cmp lt; drop` |
//!
//! Everything lives in one table, `visavis`, of the namespace; deleting the namespace
//! deletes it. Constants are those of `<linux/netfilter/nf_tables.h>` and
//! `<linux/netfilter/nfnetlink.h>`.

use crate::error::{Error, Result};
use crate::lab::netns::Netns;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    setsockopt, socket, sockopt,
};
use nix::sys::time::{TimeVal, TimeValLike};
use std::os::fd::AsRawFd;

const TABLE: &str = "visavis";

/// A base chain of the lab's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// `type nat hook postrouting priority srcnat`.
    Postrouting,
    /// `type filter hook forward priority filter`: what the NAT refuses to forward.
    Forward,
    /// `type filter hook forward priority -10`: link loss, flushed when the loss changes.
    Loss,
    /// `type filter hook input priority filter`: what the NAT box itself refuses.
    Input,
}

impl Chain {
    fn name(self) -> &'static str {
        match self {
            Chain::Postrouting => "postrouting",
            Chain::Forward => "forward",
            Chain::Loss => "loss",
            Chain::Input => "input",
        }
    }
}

/// Which way a loss rule matches, relative to an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Packets that came in on the interface.
    In,
    /// Packets that go out on it.
    Out,
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Source NAT to the address of `out_interface`; `random_fully` picks a random port for
    /// every new mapping (a symmetric NAT) instead of keeping the source port (cone-like).
    Masquerade {
        out_interface: String,
        random_fully: bool,
    },
    /// Drop every UDP packet that came in on `interface` (to be forwarded).
    DropUdpFrom { interface: String },
    /// Drop every forwarded packet from `interface` but TCP to one of `ports`.
    OnlyTcpToFrom { interface: String, ports: Vec<u16> },
    /// Drop every packet that came in on `interface` for the NAT box itself. Such a packet
    /// would otherwise leave a conntrack entry that makes the NAT pick another port for a
    /// mapping toward its sender (a hole being punched from both sides at once).
    DropInputFrom { interface: String },
    /// Drop every packet forwarded from interface `from` to interface `to`.
    DropForwarded { from: String, to: String },
    /// Drop forwarded packets on `interface` in `direction` with `probability`.
    RandomLoss {
        interface: String,
        direction: Direction,
        probability: f64,
    },
}

impl Rule {
    fn chain(&self) -> Chain {
        match self {
            Rule::Masquerade { .. } => Chain::Postrouting,
            Rule::DropUdpFrom { .. } | Rule::OnlyTcpToFrom { .. } | Rule::DropForwarded { .. } => {
                Chain::Forward
            }
            Rule::DropInputFrom { .. } => Chain::Input,
            Rule::RandomLoss { .. } => Chain::Loss,
        }
    }
}

// nfnetlink and nf_tables constants.
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_DELRULE: u16 = 8;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLMSG_ERROR: u16 = 0x2;
const NLA_F_NESTED: u16 = 0x8000;
const NFPROTO_IPV4: u8 = 2;
const NF_INET_LOCAL_IN: u32 = 1;
const NF_INET_FORWARD: u32 = 2;
const NF_INET_POST_ROUTING: u32 = 4;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
const NFT_REG_VERDICT: u32 = 0;
const NFT_REG_1: u32 = 1;
const NFT_META_IIFNAME: u32 = 6;
const NFT_META_OIFNAME: u32 = 7;
const NFT_META_L4PROTO: u32 = 16;
const NFT_CMP_EQ: u32 = 0;
const NFT_CMP_NEQ: u32 = 1;
const NFT_CMP_LT: u32 = 2;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFT_NG_RANDOM: u32 = 1;
const NFT_BYTEORDER_HTON: u32 = 1;
const NF_NAT_RANGE_PROTO_RANDOM_FULLY: u32 = 0x10;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
/// Loss probabilities are drawn as a random number below this.
const LOSS_SCALE: u32 = 1_000_000;

/// The lab's table in `ns`, with its base chains.
pub fn create_table(ns: &Netns) -> Result<()> {
    let mut batch = Batch::default();
    batch.push(NFT_MSG_NEWTABLE, NLM_F_CREATE, |m| m.str(1, TABLE));
    for (chain, kind, hook, priority) in [
        (Chain::Postrouting, "nat", NF_INET_POST_ROUTING, 100i32),
        (Chain::Forward, "filter", NF_INET_FORWARD, 0),
        (Chain::Loss, "filter", NF_INET_FORWARD, -10),
        (Chain::Input, "filter", NF_INET_LOCAL_IN, 0),
    ] {
        batch.push(NFT_MSG_NEWCHAIN, NLM_F_CREATE, |m| {
            m.str(1, TABLE); // NFTA_CHAIN_TABLE
            m.str(3, chain.name()); // NFTA_CHAIN_NAME
            m.nest(4, |h| {
                // NFTA_CHAIN_HOOK
                h.u32(1, hook); // NFTA_HOOK_HOOKNUM
                h.u32(2, priority as u32); // NFTA_HOOK_PRIORITY
            });
            m.u32(5, NF_ACCEPT); // NFTA_CHAIN_POLICY
            m.str(7, kind); // NFTA_CHAIN_TYPE
        });
    }
    batch.send(ns)
}

/// Add `rules` at the end of their chains.
pub fn add(ns: &Netns, rules: &[Rule]) -> Result<()> {
    let mut batch = Batch::default();
    for rule in rules {
        add_rule(&mut batch, rule);
    }
    batch.send(ns)
}

/// Remove every rule of `chain`, then add `rules` (in one transaction).
pub fn replace(ns: &Netns, chain: Chain, rules: &[Rule]) -> Result<()> {
    let mut batch = Batch::default();
    batch.push(NFT_MSG_DELRULE, 0, |m| {
        m.str(1, TABLE);
        m.str(2, chain.name());
    });
    for rule in rules {
        add_rule(&mut batch, rule);
    }
    batch.send(ns)
}

fn add_rule(batch: &mut Batch, rule: &Rule) {
    let chain = rule.chain();
    if let Rule::OnlyTcpToFrom { interface, ports } = rule {
        batch.push(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, |m| {
            m.str(1, TABLE);
            m.str(2, chain.name());
            m.nest(4, |list| {
                match_interface(list, NFT_META_IIFNAME, interface);
                expr(list, "meta", |d| {
                    d.u32(2, NFT_META_L4PROTO);
                    d.u32(1, NFT_REG_1);
                });
                cmp(list, NFT_CMP_EQ, &[IPPROTO_TCP]);
                expr(list, "payload", |d| {
                    d.u32(1, NFT_REG_1); // NFTA_PAYLOAD_DREG
                    d.u32(2, NFT_PAYLOAD_TRANSPORT_HEADER); // NFTA_PAYLOAD_BASE
                    d.u32(3, 2); // NFTA_PAYLOAD_OFFSET: the destination port
                    d.u32(4, 2); // NFTA_PAYLOAD_LEN
                });
                for port in ports {
                    cmp(list, NFT_CMP_NEQ, &port.to_be_bytes());
                }
                drop_verdict(list);
            });
        });
    }
    batch.push(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, |m| {
        m.str(1, TABLE); // NFTA_RULE_TABLE
        m.str(2, chain.name()); // NFTA_RULE_CHAIN
        m.nest(4, |list| match rule {
            // NFTA_RULE_EXPRESSIONS
            Rule::Masquerade {
                out_interface,
                random_fully,
            } => {
                match_interface(list, NFT_META_OIFNAME, out_interface);
                expr(list, "masq", |d| {
                    if *random_fully {
                        d.u32(1, NF_NAT_RANGE_PROTO_RANDOM_FULLY); // NFTA_MASQ_FLAGS
                    }
                });
            }
            Rule::DropUdpFrom { interface } => {
                match_interface(list, NFT_META_IIFNAME, interface);
                expr(list, "meta", |d| {
                    d.u32(2, NFT_META_L4PROTO);
                    d.u32(1, NFT_REG_1);
                });
                cmp(list, NFT_CMP_EQ, &[IPPROTO_UDP]);
                drop_verdict(list);
            }
            Rule::OnlyTcpToFrom { interface, .. } => {
                // Drop unless TCP and the destination port is one of `ports`; the second
                // rule only sees TCP, so reading its port is safe.
                match_interface(list, NFT_META_IIFNAME, interface);
                expr(list, "meta", |d| {
                    d.u32(2, NFT_META_L4PROTO);
                    d.u32(1, NFT_REG_1);
                });
                cmp(list, NFT_CMP_NEQ, &[IPPROTO_TCP]);
                drop_verdict(list);
            }
            Rule::DropInputFrom { interface } => {
                match_interface(list, NFT_META_IIFNAME, interface);
                drop_verdict(list);
            }
            Rule::DropForwarded { from, to } => {
                match_interface(list, NFT_META_IIFNAME, from);
                match_interface(list, NFT_META_OIFNAME, to);
                drop_verdict(list);
            }
            Rule::RandomLoss {
                interface,
                direction,
                probability,
            } => {
                let key = match direction {
                    Direction::In => NFT_META_IIFNAME,
                    Direction::Out => NFT_META_OIFNAME,
                };
                match_interface(list, key, interface);
                expr(list, "numgen", |d| {
                    d.u32(1, NFT_REG_1); // NFTA_NG_DREG
                    d.u32(2, LOSS_SCALE); // NFTA_NG_MODULUS
                    d.u32(3, NFT_NG_RANDOM); // NFTA_NG_TYPE
                });
                // numgen writes a host-order number; cmp compares bytes: make it big-endian.
                expr(list, "byteorder", |d| {
                    d.u32(1, NFT_REG_1); // NFTA_BYTEORDER_SREG
                    d.u32(2, NFT_REG_1); // NFTA_BYTEORDER_DREG
                    d.u32(3, NFT_BYTEORDER_HTON); // NFTA_BYTEORDER_OP
                    d.u32(4, 4); // NFTA_BYTEORDER_LEN
                    d.u32(5, 4); // NFTA_BYTEORDER_SIZE
                });
                let below = loss_threshold(*probability);
                cmp(list, NFT_CMP_LT, &below.to_be_bytes());
                drop_verdict(list);
            }
        });
    });
}

/// The numgen value below which a packet is dropped, for `probability` (clamped to 0..=1).
fn loss_threshold(probability: f64) -> u32 {
    let p = if probability.is_finite() {
        probability.clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p * f64::from(LOSS_SCALE)).round() as u32
}

/// `meta <key> -> reg1; cmp eq reg1 "<name>"` (the name padded to IFNAMSIZ).
fn match_interface(list: &mut Attrs, key: u32, name: &str) {
    expr(list, "meta", |d| {
        d.u32(2, key); // NFTA_META_KEY
        d.u32(1, NFT_REG_1); // NFTA_META_DREG
    });
    let mut padded = [0u8; 16];
    let bytes = name.as_bytes();
    let n = bytes.len().min(15);
    padded[..n].copy_from_slice(&bytes[..n]);
    cmp(list, NFT_CMP_EQ, &padded);
}

fn cmp(list: &mut Attrs, op: u32, value: &[u8]) {
    expr(list, "cmp", |d| {
        d.u32(1, NFT_REG_1); // NFTA_CMP_SREG
        d.u32(2, op); // NFTA_CMP_OP
        d.nest(3, |data| data.bytes(1, value)); // NFTA_CMP_DATA { NFTA_DATA_VALUE }
    });
}

fn drop_verdict(list: &mut Attrs) {
    expr(list, "immediate", |d| {
        d.u32(1, NFT_REG_VERDICT); // NFTA_IMMEDIATE_DREG
        d.nest(2, |data| {
            // NFTA_IMMEDIATE_DATA { NFTA_DATA_VERDICT { NFTA_VERDICT_CODE } }
            data.nest(2, |verdict| verdict.u32(1, NF_DROP));
        });
    });
}

/// One expression: `NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA { ... } }`.
fn expr(list: &mut Attrs, name: &str, data: impl FnOnce(&mut Attrs)) {
    list.nest(1, |e| {
        e.str(1, name);
        e.nest(2, data);
    });
}

/// Netlink attributes being written (type-length-value, 4-byte aligned, values big-endian).
#[derive(Default)]
struct Attrs {
    buf: Vec<u8>,
}

impl Attrs {
    fn bytes(&mut self, kind: u16, value: &[u8]) {
        let len = 4 + value.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
    }

    fn u32(&mut self, kind: u16, value: u32) {
        self.bytes(kind, &value.to_be_bytes());
    }

    fn str(&mut self, kind: u16, value: &str) {
        let mut bytes = value.as_bytes().to_vec();
        bytes.push(0);
        self.bytes(kind, &bytes);
    }

    fn nest(&mut self, kind: u16, inner: impl FnOnce(&mut Attrs)) {
        let mut nested = Attrs::default();
        inner(&mut nested);
        self.bytes(kind | NLA_F_NESTED, &nested.buf);
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }
}

/// An nftables transaction: `BATCH_BEGIN`, messages, `BATCH_END`.
#[derive(Default)]
struct Batch {
    messages: Vec<(u16, u16, Vec<u8>)>,
}

impl Batch {
    fn push(&mut self, kind: u16, flags: u16, attrs: impl FnOnce(&mut Attrs)) {
        let mut a = Attrs::default();
        attrs(&mut a);
        self.messages.push((kind, flags, a.buf));
    }

    /// Send it from inside `ns` and wait for the kernel's answer to each message.
    fn send(self, ns: &Netns) -> Result<()> {
        let mut out = Vec::new();
        let mut seq = 1u32;
        message(
            &mut out,
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            seq,
            0,
            NFNL_SUBSYS_NFTABLES,
            &[],
        );
        let first = seq + 1;
        for (kind, flags, attrs) in &self.messages {
            seq += 1;
            message(
                &mut out,
                (NFNL_SUBSYS_NFTABLES << 8) | kind,
                NLM_F_REQUEST | NLM_F_ACK | flags,
                seq,
                NFPROTO_IPV4,
                0,
                attrs,
            );
        }
        let last = seq;
        message(
            &mut out,
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            seq + 1,
            0,
            NFNL_SUBSYS_NFTABLES,
            &[],
        );
        ns.run(|| exchange(&out, first, last))
            .map_err(|e| Error::new(format!("{}: nftables: {e}", ns.name())))
    }
}

/// `nlmsghdr` + `nfgenmsg` + attributes.
fn message(out: &mut Vec<u8>, kind: u16, flags: u16, seq: u32, family: u8, res_id: u16, a: &[u8]) {
    let len = 16 + 4 + a.len();
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    out.push(family);
    out.push(0); // NFNETLINK_V0
    out.extend_from_slice(&res_id.to_be_bytes());
    out.extend_from_slice(a);
}

/// Send one batch and collect the acknowledgements of messages `first..=last`.
fn exchange(batch: &[u8], first: u32, last: u32) -> Result<()> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkNetFilter,
    )
    .map_err(|e| Error::new(format!("netlink socket: {e}")))?;
    // A batch the kernel does not answer is a failure, not a hang.
    setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::seconds(5))
        .map_err(|e| Error::new(format!("netlink receive timeout: {e}")))?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))
        .map_err(|e| Error::new(format!("netlink bind: {e}")))?;
    send(fd.as_raw_fd(), batch, MsgFlags::empty())
        .map_err(|e| Error::new(format!("netlink send: {e}")))?;
    let mut acked = std::collections::BTreeSet::new();
    let mut buf = vec![0u8; 65536];
    while acked.len() < (last + 1 - first) as usize {
        let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty())
            .map_err(|e| Error::new(format!("netlink receive: {e}")))?;
        let mut at = 0;
        while at + 16 <= n {
            let word = |i: usize| u32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
            let len = word(at) as usize;
            let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
            let seq = word(at + 8);
            if kind == NLMSG_ERROR && at + 20 <= n {
                let code = word(at + 16) as i32;
                if code != 0 {
                    let what = seq.saturating_sub(first);
                    return Err(Error::new(format!(
                        "the kernel refused message {what} of the batch: {}",
                        nix::errno::Errno::from_raw(-code)
                    )));
                }
                acked.insert(seq);
            }
            if len < 16 {
                break;
            }
            at += (len + 3) & !3;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_probabilities_become_thresholds() {
        assert_eq!(loss_threshold(0.0), 0);
        assert_eq!(loss_threshold(0.05), 50_000);
        assert_eq!(loss_threshold(2.0), LOSS_SCALE);
        assert_eq!(loss_threshold(f64::NAN), 0);
    }

    #[test]
    fn attributes_are_padded_and_nested() {
        let mut a = Attrs::default();
        a.nest(4, |n| n.str(1, "ab"));
        // outer header 4 + inner header 4 + "ab\0" 3 + 1 padding
        assert_eq!(a.buf.len(), 12);
        assert_eq!(u16::from_ne_bytes([a.buf[0], a.buf[1]]), 12);
        assert_eq!(u16::from_ne_bytes([a.buf[4], a.buf[5]]), 7);
        assert_eq!(u16::from_ne_bytes([a.buf[2], a.buf[3]]), 4 | NLA_F_NESTED);
    }
}
