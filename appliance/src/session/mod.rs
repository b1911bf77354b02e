//! The session as a plain state machine: who is invited, waiting, admitted, in the call;
//! saved looks, the comparison guests vote on and their chat; timeouts; the end of the
//! session and its erasure; each guest's tile and speaking indicator. It is the unit's one
//! registry of guests.
//!
//! Sans-IO, after str0m: the unit's state ([`crate::unit::Unit`], which owns the session
//! beside the room) feeds [`Input`]s with the current time ([`Session::handle_input`],
//! [`Session::handle_timeout`]) and turns the [`Action`]s it polls
//! ([`Session::poll_action`]) into the daemon's outputs. No sockets, threads or clocks here, so
//! every rule is tested on simulated time.
//!
//! The privacy rule lives here: a guest's media path ([`Action::StartPeer`]) is only ever
//! created after [`Input::Admit`] (or in demo auto-admit mode), and signaling from a guest
//! who was not admitted is dropped. What guests in the call say and do (chat lines and
//! reactions, with the sender's name) and how many are watching go to the other guests in
//! the call only, never to one still waiting or connecting.
//!
//! A network blip does not end the call: losing rendezvous keeps the guests in the call, a
//! guest whose peer connection failed keeps their place for [`PEER_RESTART_GRACE`] while
//! their page restarts ICE, and a guest the unit no longer has (the session ended, or they
//! were removed, while rendezvous was away) is turned away when they signal, never
//! re-admitted.

#[cfg(test)]
mod blip_tests;
mod core;
#[cfg(test)]
mod crowd_tests;
mod looks;
#[cfg(test)]
mod looks_tests;
#[cfg(test)]
mod tests;

pub use self::core::{
    Action, Guest, Input, PEER_RESTART_GRACE, RENEW_INVITE, SPEAKING_HOLD, Session, SessionSettings,
};
pub use self::looks::Keepsakes;
