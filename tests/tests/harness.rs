//! Tests of the harness itself, so that a failing end-to-end test means Visavis is wrong,
//! not the harness: child processes and their readiness lines, the plain HTTP client, and a
//! real headless Chromium driven through the guest page's DOM contract on a stand-in page
//! served by this test.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;
use visavis_e2e::process::ChildProcess;
use visavis_e2e::timeouts;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{Chromedriver, PageState, Reaction, Result, bins, http, procstat};

fn sh(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.arg("-c").arg(script);
    command
}

#[test]
fn the_readiness_line_is_found_among_other_output() -> Result<()> {
    let mut child = ChildProcess::spawn(
        "chatty",
        sh("echo starting; echo 'noise' >&2; echo 'svc: listening on http://x:1'; exec sleep 30"),
    )?;
    let rest = child.wait_for_line("svc: listening on ", timeouts::answer())?;
    assert_eq!(rest, "http://x:1");
    Ok(())
}

#[test]
fn a_child_that_exits_early_is_reported_with_its_stderr() {
    let mut child =
        ChildProcess::spawn("broken", sh("echo 'bad config: no listen' >&2; exit 3")).unwrap();
    let error = child
        .wait_for_line("ready", timeouts::answer())
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("broken exited"), "{message}");
    assert!(message.contains("exit status 3"), "{message}");
    assert!(message.contains("bad config: no listen"), "{message}");
}

#[test]
fn a_silent_child_times_out() {
    let mut child = ChildProcess::spawn("silent", sh("exec sleep 30")).unwrap();
    let error = child
        .wait_for_line("ready", Duration::from_millis(500))
        .unwrap_err();
    assert!(
        error.to_string().contains("did not print `ready…`"),
        "{error}"
    );
}

#[test]
fn missing_binaries_name_the_fix() {
    let error = bins::workspace_binary("no-such-binary").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("run `cargo build --workspace` first"),
        "{error}"
    );
}

#[test]
fn plain_http_reads_status_and_body() -> Result<()> {
    let base = serve_stand_in_page();
    let page = http::get(&format!("{base}/i/anything"))?;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("window.visavisGuest"));
    assert_eq!(http::get(&format!("{base}/missing"))?.status, 404);
    Ok(())
}

#[tokio::test]
async fn a_guest_drives_the_page_contract_in_chromium() -> Result<()> {
    let base = serve_stand_in_page();
    let driver = Chromedriver::start()?;
    let guest = driver.new_guest().await?;
    guest.open(&format!("{base}/i/stand-in")).await?;
    guest
        .wait_for_state(PageState::Join, timeouts::media())
        .await?;

    guest.join("Camille").await?;
    guest
        .wait_for_state(PageState::Waiting, timeouts::answer())
        .await?;
    assert_eq!(guest.body_data("name").await?.as_deref(), Some("Camille"));

    guest.react(Reaction::ThumbsUp).await?;
    assert_eq!(
        guest.body_data("lastReaction").await?.as_deref(),
        Some("thumbs_up")
    );

    let stats = guest.stats().await?;
    assert_eq!((stats.frame_width, stats.frame_height), (640, 480));
    assert_eq!(stats.frames_decoded, 12);
    assert_eq!(stats.audio_packets_received, 0, "null reads as 0");
    assert!((stats.frames_per_second - 29.5).abs() < 1e-9);

    // The fake camera is there: the flags give the page a media stream without a prompt.
    let tracks = guest
        .webdriver()
        .execute_async(
            "const done = arguments[0]; navigator.mediaDevices.getUserMedia({video: true, audio: true})\
             .then(s => done(s.getTracks().length), e => done(String(e)));",
            vec![],
        )
        .await
        .map_err(|e| visavis_e2e::Error::new(e.to_string()))?;
    assert_eq!(tracks, serde_json::json!(2));
    // With a microphone open, Chromium run as root would raise its audio threads to
    // real-time and its compositors to nice -8; the harness keeps it at the ordinary
    // priority, as the unit's guests' browsers are on other machines.
    let raised = procstat::raised_threads(&procstat::tree(driver.pid()));
    assert!(
        raised.is_empty(),
        "browser threads above the ordinary priority: {raised:?}"
    );

    guest.leave().await?;
    guest
        .wait_for_state(PageState::Ended, timeouts::answer())
        .await?;
    guest.close().await
}

#[tokio::test]
async fn no_chromium_outlives_its_guest_or_its_driver() -> Result<()> {
    let driver = Chromedriver::start()?;
    let dropped = driver.new_guest().await?;
    let left_open = driver.new_guest().await?;
    let (dropped_profile, open_profile) = (
        dropped.profile_dir().display().to_string(),
        left_open.profile_dir().display().to_string(),
    );
    assert!(
        processes_mentioning(&dropped_profile) > 0,
        "Chromium is running"
    );

    // A guest dropped without close() ends its own session.
    drop(dropped);
    wait::until_blocking(
        "the dropped guest's Chromium to exit",
        timeouts::media(),
        || {
            Ok(match processes_mentioning(&dropped_profile) {
                0 => Check::Ready(()),
                n => Check::NotYet(format!("{n} processes")),
            })
        },
    )?;

    // Dropping the driver first closes the browsers of guests still open.
    drop(driver);
    wait::until_blocking(
        "the open guest's Chromium to exit",
        timeouts::media(),
        || {
            Ok(match processes_mentioning(&open_profile) {
                0 => Check::Ready(()),
                n => Check::NotYet(format!("{n} processes")),
            })
        },
    )?;
    drop(left_open);
    assert!(
        !std::path::Path::new(&open_profile).exists(),
        "the profile folder is removed"
    );
    Ok(())
}

/// How many processes have `needle` in their command line.
fn processes_mentioning(needle: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(needle))
        .count()
}

/// A page that follows the guest page's DOM contract with canned behaviour.
const STAND_IN_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>stand-in guest page</title></head>
<body>
<input id="name"><button id="join">Join</button><button id="leave">Leave</button>
<button data-reaction="heart">heart</button><button data-reaction="thumbs_up">thumbs up</button>
<script>
const body = document.body;
// Set late, so waiting for it is a real wait.
setTimeout(() => { body.dataset.state = "join"; }, 200);
document.getElementById("join").onclick = () => {
  body.dataset.name = document.getElementById("name").value;
  setTimeout(() => { body.dataset.state = "waiting"; }, 300);
};
document.getElementById("leave").onclick = () => { body.dataset.state = "ended"; };
for (const b of document.querySelectorAll("[data-reaction]")) {
  b.onclick = () => { body.dataset.lastReaction = b.dataset.reaction; };
}
window.visavisGuest = {
  stats: async () => ({ framesDecoded: 12, frameWidth: 640, frameHeight: 480, framesPerSecond: 29.5,
                        videoBytesReceived: 4096, audioPacketsReceived: null, framesSent: 0 }),
};
</script>
</body></html>"#;

/// Serve [`STAND_IN_PAGE`] on loopback (404 for `/missing`); returns the base URL.
fn serve_stand_in_page() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("bound address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // One thread per connection: a browser may open a connection and send nothing.
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let path = String::from_utf8_lossy(&request)
                    .split(' ')
                    .nth(1)
                    .unwrap_or("/")
                    .to_string();
                let (status, body) = if path.starts_with("/i/") {
                    ("200 OK", STAND_IN_PAGE)
                } else {
                    ("404 Not Found", "not found")
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
            });
        }
    });
    base
}
