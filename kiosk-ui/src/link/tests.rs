//! The link against a stand-in applianced on a real Unix socket: what the kiosk asks, in
//! order, on each connection.

use super::*;
use std::os::unix::net::UnixListener;

/// Long enough for the link's retry ([`RETRY_AFTER`]) on a busy machine; a wait that runs
/// out fails the test.
const WITHIN: Duration = Duration::from_secs(10);

/// Answers every request on `stream` (hello, an empty status, `done` for the rest) and
/// passes each on to the test, until the connection ends.
fn serve(stream: UnixStream, seen: mpsc::Sender<Request>) {
    let mut writer = stream.try_clone().expect("clone the stand-in's socket");
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        let asked: ClientRequest = serde_json::from_str(&line).expect("the kiosk's request");
        let answer = match asked.request {
            Request::Hello => Response::Hello {
                protocol: 1,
                device_id: "unit-1".into(),
                mode: Mode::Table,
                auto_admit: false,
                preview: None,
            },
            Request::Status => Response::Status(Status::default()),
            _ => Response::Done,
        };
        let reply = ServerMessage::Response {
            id: asked.id,
            result: Outcome::Ok(answer),
        };
        let mut out = serde_json::to_string(&reply).expect("an answer");
        out.push('\n');
        if writer.write_all(out.as_bytes()).is_err() || seen.send(asked.request).is_err() {
            return;
        }
    }
}

/// The next connection the link makes to `listener`, served on its own thread; the test
/// keeps a handle to close it.
fn next_connection(
    connections: &mpsc::Receiver<UnixStream>,
    seen: &mpsc::Sender<Request>,
) -> UnixStream {
    let stream = connections
        .recv_timeout(WITHIN)
        .expect("the kiosk connects to applianced");
    let handle = stream.try_clone().expect("clone the stand-in's socket");
    let seen = seen.clone();
    std::thread::spawn(move || serve(stream, seen));
    handle
}

fn next_request(seen: &mpsc::Receiver<Request>, what: &str) -> Request {
    seen.recv_timeout(WITHIN)
        .unwrap_or_else(|_| panic!("the kiosk did not ask for {what}"))
}

#[test]
fn an_applianced_started_again_hears_how_wide_the_tiles_are() {
    let dir = std::env::temp_dir().join(format!("visavis-kiosk-link-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder for the socket");
    let socket = dir.join("api.sock");
    let listener = UnixListener::bind(&socket).expect("the stand-in's socket");
    let (connection_tx, connections) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if connection_tx.send(stream).is_err() {
                return;
            }
        }
    });
    let (seen_tx, seen) = mpsc::channel();
    let (state, screen) = spawn(socket, || {});

    let first = next_connection(&connections, &seen_tx);
    assert_eq!(next_request(&seen, "hello"), Request::Hello);
    assert_eq!(next_request(&seen, "the status"), Request::Status);
    screen
        .send(Request::ScreenTiles { width: 264 })
        .expect("the link takes the screen's request");
    assert_eq!(
        next_request(&seen, "the screen's tiles"),
        Request::ScreenTiles { width: 264 }
    );

    // applianced goes away and comes back: the screen says nothing new, the link says it.
    first
        .shutdown(std::net::Shutdown::Both)
        .expect("close the first connection");
    let _second = next_connection(&connections, &seen_tx);
    assert_eq!(next_request(&seen, "hello again"), Request::Hello);
    assert_eq!(next_request(&seen, "the status again"), Request::Status);
    assert_eq!(
        next_request(&seen, "the screen's tiles again"),
        Request::ScreenTiles { width: 264 }
    );
    assert!(lock(&state).connected);
    let _ = std::fs::remove_dir_all(&dir);
}
