//! A small blocking client for the local API, for tools and tests that are not async.
//!
//! Events that arrive while waiting for a response are kept, in order, for
//! [`Client::next_event`].

use super::{ApiError, ClientRequest, Event, Outcome, Request, Response, ServerMessage};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Events kept for [`Client::take_events`] / [`Client::next_event`].
pub const KEPT_EVENTS: usize = 1024;

/// Why a local-API call failed.
#[derive(Debug)]
pub enum ClientError {
    /// The socket could not be reached or broke.
    Io(std::io::Error),
    /// `applianced` sent a line this client does not understand.
    Protocol(String),
    /// `applianced` refused the request.
    Api(ApiError),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "local API socket: {e}"),
            ClientError::Protocol(m) => write!(f, "local API protocol: {m}"),
            ClientError::Api(e) => write!(f, "applianced refused: {:?}: {}", e.code, e.message),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Io(e)
    }
}

/// A connection to `applianced`'s local API socket.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    events: VecDeque<Event>,
}

impl Client {
    /// Connect to the socket at `path`. Reads time out after `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(timeout))?;
        let writer = stream.try_clone()?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
            next_id: 1,
            events: VecDeque::new(),
        })
    }

    /// Send `request` and wait for its response.
    pub fn call(&mut self, request: Request) -> Result<Response, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = serde_json::to_string(&ClientRequest { id, request })
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        loop {
            match self.read_message()? {
                ServerMessage::Response { id: got, result } if got == id => {
                    return match result {
                        Outcome::Ok(r) => Ok(r),
                        Outcome::Error(e) => Err(ClientError::Api(e)),
                    };
                }
                ServerMessage::Response { id: got, .. } => {
                    return Err(ClientError::Protocol(format!(
                        "response for request {got} while waiting for {id}"
                    )));
                }
                ServerMessage::Event { event, .. } => self.keep(event),
            }
        }
    }

    /// Events that arrived while waiting for responses, oldest first (at most
    /// [`KEPT_EVENTS`]: a client that never reads them loses the oldest, not memory).
    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    fn keep(&mut self, event: Event) {
        if self.events.len() == KEPT_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// The next event, waiting for one if none is queued (up to the read timeout).
    pub fn next_event(&mut self) -> Result<Event, ClientError> {
        if let Some(e) = self.events.pop_front() {
            return Ok(e);
        }
        loop {
            if let ServerMessage::Event { event, .. } = self.read_message()? {
                return Ok(event);
            }
        }
    }

    fn read_message(&mut self) -> Result<ServerMessage, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "applianced closed the local API socket",
            )));
        }
        serde_json::from_str(&line).map_err(|e| ClientError::Protocol(format!("{e}: {line}")))
    }
}
