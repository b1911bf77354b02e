//! The kiosk's link to `applianced`: a background thread that keeps a local-API connection,
//! carries out the screen's requests and keeps the unit's status up to date from the events
//! `applianced` pushes (one `status` at connect, then [`Status::apply`] for each event; a
//! gap in the events' numbers asks for the status again). If applianced goes away the
//! state says so ("reconnecting") and the thread keeps trying; once back, it hears again how
//! wide the screen draws the guests' pictures (`screen_tiles`).

use crate::looks::{self, Thumb};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use visavis_api::Mode;
use visavis_api::datachannel::Reaction;
use visavis_api::local::{
    ApiError, Applied, ChatLine, ClientRequest, Event, Outcome, Preview, Request, Response,
    ServerMessage, StaffReport, Status,
};

/// How long a reaction floats over the mirror.
pub const REACTION_SHOWN: Duration = Duration::from_millis(2500);
/// How long a chat line shows as a bubble after it arrives.
pub const CHAT_SHOWN: Duration = Duration::from_secs(6);
/// How long the kiosk waits for applianced to answer a request before reconnecting.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// Between two tries to reach applianced.
const RETRY_AFTER: Duration = Duration::from_millis(500);

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
    /// The last refused request, in words.
    pub last_error: Option<String>,
    /// Thumbnails of the session's saved looks, by id.
    pub looks: BTreeMap<u32, Thumb>,
    /// Reactions from guests, newest last, while they float: when, which, and the
    /// sender's name.
    pub reactions: Vec<(Instant, Reaction, String)>,
    /// Chat lines that came during this connection, newest last, while they show as
    /// bubbles ([`CHAT_SHOWN`]): when each arrived, and the line. (The status's own
    /// `chat` keeps the session's lines; only new ones pop up.)
    pub bubbles: Vec<(Instant, ChatLine)>,
    /// When the last session ended (and was erased), to say so on the screen.
    pub ended_at: Option<Instant>,
    /// The answer to the last staff request (cleared when the staff screen closes).
    pub staff: Option<StaffOutcome>,
}

pub type Shared = Arc<Mutex<LinkState>>;

pub fn lock(s: &Shared) -> std::sync::MutexGuard<'_, LinkState> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why a connection to applianced ended.
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("local API socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("applianced closed the local API socket")]
    Closed,
    #[error("applianced did not answer within {0:?}")]
    NoAnswer(Duration),
}

/// What the link thread waits for: the screen's requests and the socket's lines, in one
/// queue so neither waits behind the other.
enum Inbox {
    Request(Request),
    /// A line from connection number `.0`.
    Line(u64, Box<ServerMessage>),
    /// Connection number `.0` ended.
    Closed(u64),
}

/// Start the link thread; `repaint` is called whenever the state changes.
pub fn spawn(
    socket: PathBuf,
    repaint: impl Fn() + Send + 'static,
) -> (Shared, mpsc::Sender<Request>) {
    let shared: Shared = Arc::default();
    let (requests, from_screen) = mpsc::channel::<Request>();
    let (inbox_tx, inbox) = mpsc::channel::<Inbox>();
    let forward = inbox_tx.clone();
    let _ = std::thread::Builder::new()
        .name("api-requests".into())
        .spawn(move || {
            for request in from_screen {
                if forward.send(Inbox::Request(request)).is_err() {
                    return;
                }
            }
        });
    let state = shared.clone();
    let _ = std::thread::Builder::new()
        .name("api-link".into())
        .spawn(move || {
            let mut link = Link {
                state,
                inbox,
                inbox_tx,
                repaint,
                connection: 0,
                writer: None,
                next_id: 1,
                later: VecDeque::new(),
                screen_tiles: None,
            };
            loop {
                if let Err(e) = link.session(&socket) {
                    let mut s = lock(&link.state);
                    if s.connected {
                        eprintln!("kiosk: lost applianced ({e}); reconnecting");
                    }
                    s.connected = false;
                    drop(s);
                    (link.repaint)();
                }
                // Ends the reader thread of that connection too.
                if let Some(writer) = link.writer.take() {
                    let _ = writer.shutdown(std::net::Shutdown::Both);
                }
                std::thread::sleep(RETRY_AFTER);
            }
        });
    (shared, requests)
}

struct Link<R> {
    state: Shared,
    inbox: mpsc::Receiver<Inbox>,
    inbox_tx: mpsc::Sender<Inbox>,
    repaint: R,
    /// Numbers connections, so lines of an old one are told apart.
    connection: u64,
    writer: Option<UnixStream>,
    next_id: u64,
    /// What came while waiting for an answer (screen requests, events), taken in order
    /// once the answer is in.
    later: VecDeque<Inbox>,
    /// How wide the screen last said it draws the guests' pictures, pixels: said again at
    /// each connect.
    screen_tiles: Option<u32>,
}

impl<R: Fn()> Link<R> {
    /// One connection: hello and status, then requests and events until it breaks.
    fn session(&mut self, socket: &Path) -> Result<(), LinkError> {
        self.connect(socket)?;
        if let Ok(Response::Hello { mode, preview, .. }) = self.call(Request::Hello)? {
            let mut s = lock(&self.state);
            s.mode = mode;
            s.preview = preview;
        }
        self.refresh()?;
        // An applianced started again knows nothing of the screen's tiles.
        if let Some(width) = self.screen_tiles {
            self.request(Request::ScreenTiles { width })?;
        }
        loop {
            let next = match self.later.pop_front() {
                Some(next) => next,
                None => self.inbox.recv().map_err(|_| LinkError::Closed)?,
            };
            match next {
                Inbox::Request(request) => self.request(request)?,
                Inbox::Line(n, line) if n == self.connection => {
                    if let ServerMessage::Event { seq, event } = *line {
                        self.event(seq, event)?;
                    }
                }
                Inbox::Closed(n) if n == self.connection => return Err(LinkError::Closed),
                // An answer nobody waits for, or a line of an older connection.
                Inbox::Line(..) | Inbox::Closed(_) => {}
            }
        }
    }

    fn connect(&mut self, socket: &Path) -> Result<(), LinkError> {
        let stream = UnixStream::connect(socket)?;
        self.connection += 1;
        let connection = self.connection;
        let reader = BufReader::new(stream.try_clone()?);
        let inbox = self.inbox_tx.clone();
        std::thread::Builder::new()
            .name("api-reader".into())
            .spawn(move || read_lines(reader, connection, &inbox))?;
        self.writer = Some(stream);
        Ok(())
    }

    /// Send `request` and wait for its answer; events and screen requests that come
    /// meanwhile wait their turn.
    fn call(&mut self, request: Request) -> Result<Result<Response, ApiError>, LinkError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = serde_json::to_string(&ClientRequest { id, request })
            .map_err(|e| LinkError::Io(std::io::Error::other(e)))?;
        line.push('\n');
        let writer = self.writer.as_mut().ok_or(LinkError::Closed)?;
        writer.write_all(line.as_bytes())?;
        let deadline = Instant::now() + ANSWER_WITHIN;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let next = match self.inbox.recv_timeout(wait) {
                Ok(next) => next,
                Err(_) => return Err(LinkError::NoAnswer(ANSWER_WITHIN)),
            };
            match next {
                Inbox::Line(n, line)
                    if n == self.connection
                        && matches!(&*line, ServerMessage::Response { id: got, .. } if *got == id) =>
                {
                    if let ServerMessage::Response { result, .. } = *line {
                        return Ok(match result {
                            Outcome::Ok(r) => Ok(r),
                            Outcome::Error(e) => Err(e),
                        });
                    }
                }
                Inbox::Closed(n) if n == self.connection => return Err(LinkError::Closed),
                other => self.later.push_back(other),
            }
        }
    }

    /// Take the whole status afresh (at connect, or after missing events).
    fn refresh(&mut self) -> Result<(), LinkError> {
        if let Ok(Response::Status(status)) = self.call(Request::Status)? {
            let ids = status.looks.clone();
            {
                let mut s = lock(&self.state);
                s.connected = true;
                s.status = status;
                s.looks.retain(|id, _| ids.contains(id));
            }
            for id in ids {
                self.fetch_look(id)?;
            }
        }
        (self.repaint)();
        Ok(())
    }

    fn event(&mut self, seq: u64, event: Event) -> Result<(), LinkError> {
        let applied = lock(&self.state).status.apply(seq, &event);
        match applied {
            Applied::AlreadySeen => return Ok(()),
            Applied::Gap => return self.refresh(),
            Applied::Applied => {}
        }
        match event {
            Event::Reaction { reaction, guest_id } => {
                let mut s = lock(&self.state);
                s.reactions
                    .retain(|(at, _, _)| at.elapsed() < REACTION_SHOWN);
                let name = s
                    .status
                    .guests
                    .iter()
                    .find(|g| g.guest_id == guest_id)
                    .map(|g| g.name.clone())
                    .unwrap_or_default();
                s.reactions.push((Instant::now(), reaction, name));
            }
            Event::Chat(line) => {
                let mut s = lock(&self.state);
                s.bubbles.retain(|(at, _)| at.elapsed() < CHAT_SHOWN);
                s.bubbles.push((Instant::now(), line));
            }
            Event::SessionEnded => {
                let mut s = lock(&self.state);
                s.ended_at = Some(Instant::now());
                s.bubbles.clear();
                s.looks.clear();
            }
            Event::LookSaved { look } => self.fetch_look(look)?,
            _ => {}
        }
        (self.repaint)();
        Ok(())
    }

    /// A request from the screen: a refusal is kept in words for the screen to show.
    fn request(&mut self, request: Request) -> Result<(), LinkError> {
        if let Request::ScreenTiles { width } = request {
            self.screen_tiles = Some(width);
        }
        let staff = matches!(request, Request::Staff { .. });
        let answer = self.call(request)?;
        let mut s = lock(&self.state);
        if staff {
            match answer {
                Ok(Response::Staff(report)) => s.staff = Some(StaffOutcome::Report(report)),
                // A restart was accepted: the connection drops and comes back.
                Ok(_) => {}
                Err(e) => s.staff = Some(StaffOutcome::Refused(e.message)),
            }
        } else {
            s.last_error = answer.err().map(|e| e.message);
        }
        drop(s);
        (self.repaint)();
        Ok(())
    }

    /// Fetch the thumbnail of look `id` unless it is there already.
    fn fetch_look(&mut self, id: u32) -> Result<(), LinkError> {
        if lock(&self.state).looks.contains_key(&id) {
            return Ok(());
        }
        // Gone meanwhile (the session ended): nothing to show.
        let Ok(Response::LookImage { jpeg, .. }) = self.call(Request::LookImage { look: id })?
        else {
            return Ok(());
        };
        match looks::decode(&jpeg) {
            Ok(thumb) => {
                let mut s = lock(&self.state);
                // Only if the look is still part of the session.
                if s.status.looks.contains(&id) {
                    s.looks.insert(id, thumb);
                }
            }
            Err(e) => eprintln!("kiosk: look {id}: {e}"),
        }
        Ok(())
    }
}

/// Read the socket's lines into the inbox until it closes.
fn read_lines(mut reader: BufReader<UnixStream>, connection: u64, inbox: &mpsc::Sender<Inbox>) {
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        match serde_json::from_str::<ServerMessage>(&line) {
            Ok(message) => {
                if inbox
                    .send(Inbox::Line(connection, Box::new(message)))
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => eprintln!("kiosk: applianced sent a line the kiosk does not understand: {e}"),
        }
    }
    let _ = inbox.send(Inbox::Closed(connection));
}

#[cfg(test)]
mod tests;
