//! The kiosk's link to `applianced`: a background thread that keeps a local-API connection,
//! refreshes the status and carries out the screen's commands. If applianced goes away the
//! state says so ("reconnecting") and the thread keeps trying.

use crate::looks::{self, Thumb};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use visavis_api::Mode;
use visavis_api::datachannel::Reaction;
use visavis_api::local::client::{Client, ClientError};
use visavis_api::local::{
    Event, Preview, Request, Response, StaffAction, StaffPin, StaffReport, Status,
};

/// How long a reaction floats over the mirror.
pub const REACTION_SHOWN: Duration = Duration::from_secs(3);

/// What the screen asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    CreateInvite,
    Admit(String),
    Deny(String),
    EndSession,
    SaveLook,
    Compare([u32; 2]),
    EndCompare,
    SetMic(bool),
    SetCamera(bool),
    CallWaiter,
    /// The speaker's loudness, 0 to 100.
    SetVolume(u8),
    /// A staff request, with the PIN typed on the keypad.
    Staff(StaffPin, StaffAction),
}

/// applianced's answer to the last staff request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffOutcome {
    Report(Box<StaffReport>),
    /// Wrong PIN, too many tries, or no PIN set up: applianced's words.
    Refused(String),
}

/// What the screen shows, as last seen.
#[derive(Debug, Clone, Default)]
pub struct LinkState {
    pub connected: bool,
    pub mode: Mode,
    pub preview: Option<Preview>,
    pub status: Status,
    /// The last refused command, in words.
    pub last_error: Option<String>,
    /// Thumbnails of the session's saved looks, by id.
    pub looks: BTreeMap<u32, Thumb>,
    /// Reactions from guests, newest last, while they float.
    pub reactions: Vec<(Instant, Reaction)>,
    /// When the last session ended (and was erased), to say so on the screen.
    pub ended_at: Option<Instant>,
    /// The answer to the last staff request (cleared when the staff screen closes).
    pub staff: Option<StaffOutcome>,
}

pub type Shared = Arc<Mutex<LinkState>>;

pub fn lock(s: &Shared) -> std::sync::MutexGuard<'_, LinkState> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Start the link thread; `repaint` is called whenever the state changes.
pub fn spawn(
    socket: PathBuf,
    repaint: impl Fn() + Send + 'static,
) -> (Shared, mpsc::Sender<Command>) {
    let shared: Shared = Arc::default();
    let (tx, rx) = mpsc::channel::<Command>();
    let state = shared.clone();
    std::thread::Builder::new()
        .name("api-link".into())
        .spawn(move || {
            loop {
                if let Err(e) = session(&socket, &state, &rx, &repaint) {
                    let mut s = lock(&state);
                    if s.connected {
                        eprintln!("kiosk: lost applianced ({e}); reconnecting");
                    }
                    s.connected = false;
                    drop(s);
                    repaint();
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
        .ok();
    (shared, tx)
}

fn session(
    socket: &std::path::Path,
    state: &Shared,
    commands: &mpsc::Receiver<Command>,
    repaint: &impl Fn(),
) -> Result<(), ClientError> {
    let mut client = Client::connect(socket, Duration::from_secs(10))?;
    if let Response::Hello { mode, preview, .. } = client.call(Request::Hello)? {
        let mut s = lock(state);
        s.mode = mode;
        s.preview = preview;
    }
    loop {
        let status = match client.call(Request::Status)? {
            Response::Status(s) => s,
            _ => Status::default(),
        };
        fetch_looks(&mut client, state, &status.looks)?;
        {
            let mut s = lock(state);
            s.connected = true;
            s.status = status;
            for event in client.take_events() {
                match event {
                    Event::Reaction { reaction, .. } => {
                        s.reactions.push((Instant::now(), reaction))
                    }
                    Event::SessionEnded => s.ended_at = Some(Instant::now()),
                    _ => {}
                }
            }
            s.reactions.retain(|(at, _)| at.elapsed() < REACTION_SHOWN);
        }
        repaint();
        // Commands are carried out as they come; otherwise refresh about three times a second.
        match commands.recv_timeout(Duration::from_millis(300)) {
            Ok(command) => {
                let request = match command {
                    Command::CreateInvite => Request::CreateInvite,
                    Command::Admit(guest_id) => Request::Admit { guest_id },
                    Command::Deny(guest_id) => Request::Deny { guest_id },
                    Command::EndSession => Request::EndSession,
                    Command::SaveLook => Request::SaveLook,
                    Command::Compare(looks) => Request::Compare { looks },
                    Command::EndCompare => Request::EndCompare,
                    Command::SetMic(muted) => Request::SetMic { muted },
                    Command::SetCamera(paused) => Request::SetCamera { paused },
                    Command::CallWaiter => Request::CallWaiter,
                    Command::SetVolume(percent) => Request::SetVolume { percent },
                    Command::Staff(pin, action) => {
                        staff(&mut client, state, pin, action)?;
                        continue;
                    }
                };
                let error = match client.call(request) {
                    Ok(_) => None,
                    Err(ClientError::Api(e)) => Some(e.message),
                    Err(e) => return Err(e),
                };
                lock(state).last_error = error;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// Keep a thumbnail for each of `ids` (fetching new ones) and none for looks that are gone.
fn fetch_looks(client: &mut Client, state: &Shared, ids: &[u32]) -> Result<(), ClientError> {
    lock(state).looks.retain(|id, _| ids.contains(id));
    for id in ids {
        if lock(state).looks.contains_key(id) {
            continue;
        }
        let jpeg = match client.call(Request::LookImage { look: *id }) {
            Ok(Response::LookImage { jpeg, .. }) => jpeg,
            // Gone between the status and now (the session ended): nothing to show.
            Ok(_) | Err(ClientError::Api(_)) => continue,
            Err(e) => return Err(e),
        };
        match looks::decode(&jpeg) {
            Ok(thumb) => {
                lock(state).looks.insert(*id, thumb);
            }
            Err(e) => eprintln!("kiosk: look {id}: {e}"),
        }
    }
    Ok(())
}

/// A staff request: the outcome goes to the state for the staff screen.
fn staff(
    client: &mut Client,
    state: &Shared,
    pin: StaffPin,
    action: StaffAction,
) -> Result<(), ClientError> {
    let outcome = match client.call(Request::Staff { pin, action }) {
        Ok(Response::Staff(report)) => StaffOutcome::Report(report),
        // A restart was accepted: the connection drops and comes back.
        Ok(_) => return Ok(()),
        Err(ClientError::Api(e)) => StaffOutcome::Refused(e.message),
        Err(e) => return Err(e),
    };
    lock(state).staff = Some(outcome);
    Ok(())
}
