//! The kiosk's link to `applianced`: a background thread that keeps a local-API connection,
//! refreshes the status and carries out the screen's commands. If applianced goes away the
//! state says so ("reconnecting") and the thread keeps trying.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use visavis_api::local::client::{Client, ClientError};
use visavis_api::local::{Preview, Request, Response, Status};

/// What the screen asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    CreateInvite,
    Admit(String),
    Deny(String),
    EndSession,
}

/// What the screen shows, as last seen.
#[derive(Debug, Clone, Default)]
pub struct LinkState {
    pub connected: bool,
    pub mode: String,
    pub preview: Option<Preview>,
    pub status: Status,
    /// The last refused command, in words.
    pub last_error: Option<String>,
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
        {
            let mut s = lock(state);
            s.connected = true;
            s.status = status;
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
