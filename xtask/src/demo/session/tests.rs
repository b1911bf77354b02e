//! The demo flow against stand-in programs: shell scripts that print the readiness lines,
//! and a local-API socket served by the test.

use super::*;
use crate::cli::{Mode, Profile};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Mutex};
use visavis_api::local::{ClientRequest, Outcome, ServerMessage};

const INVITE: &str = "http://127.0.0.1:4000/i/demo-token";

/// A scratch folder with stand-in `rendezvous` and `applianced` scripts.
struct StandIns {
    scratch: PrivateDir,
}

impl StandIns {
    fn new(applianced_body: &str) -> StandIns {
        let scratch = PrivateDir::create().unwrap();
        let s = scratch.path().display().to_string();
        let rendezvous = format!(
            "#!/bin/sh\n\
             dirname \"$2\" > {s}/demo-dir\n\
             cp \"$2\" {s}/rendezvous.toml\n\
             echo 'rendezvous: starting' >&2\n\
             echo 'rendezvous: listening on http://127.0.0.1:4000'\n\
             exec sleep 60\n"
        );
        let applianced = format!("#!/bin/sh\nS={s}\n{applianced_body}");
        let kiosk = format!("#!/bin/sh\necho \"$@\" > {s}/kiosk-args\nexec sleep 60\n");
        for (name, text) in [
            ("rendezvous", rendezvous),
            ("applianced", applianced),
            ("kiosk", kiosk),
        ] {
            let path = scratch.write_file(name, &text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        StandIns { scratch }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.scratch.path().join(name)
    }

    fn binaries(&self) -> DemoBinaries {
        DemoBinaries {
            rendezvous: self.path("rendezvous"),
            applianced: self.path("applianced"),
            kiosk: None,
        }
    }

    fn binaries_with_kiosk(&self) -> DemoBinaries {
        DemoBinaries {
            kiosk: Some(self.path("kiosk")),
            ..self.binaries()
        }
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }
}

/// Answer one CreateInvite on `socket`, as applianced would.
fn serve_one_invite(socket: PathBuf) -> std::thread::JoinHandle<Request> {
    let listener = UnixListener::bind(&socket).unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line).unwrap();
        let request: ClientRequest = serde_json::from_str(&line).unwrap();
        let reply = ServerMessage::Response {
            id: request.id,
            result: Outcome::Ok(Response::Invite {
                url: INVITE.into(),
                expires_at: 0,
            }),
        };
        let mut text = serde_json::to_string(&reply).unwrap();
        text.push('\n');
        (&stream).write_all(text.as_bytes()).unwrap();
        request.request
    })
}

#[derive(Clone, Default)]
struct SharedOut(Arc<Mutex<Vec<u8>>>);

impl SharedOut {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).to_string()
    }
}

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn options() -> DemoOptions {
    DemoOptions {
        headless: true,
        profile: Profile::Debug,
        mode: Mode::Table,
    }
}

#[test]
fn prints_the_invite_then_stops_and_cleans_up_on_request() {
    let stand_ins = StandIns::new(
        "D=$(dirname \"$2\")\n\
         stat -c %a \"$D\" > $S/dir-mode\n\
         stat -c %a \"$D/enrollment.key\" > $S/secret-mode\n\
         cp \"$D/enrollment.key\" $S/enrollment.key\n\
         cp \"$D/state/enrollment-token\" $S/enrollment-token\n\
         cp \"$2\" $S/applianced.toml\n\
         echo \"applianced: ready api=$S/api.sock metrics=http://127.0.0.1:9/metrics\"\n\
         exec sleep 60\n",
    );
    let server = serve_one_invite(stand_ins.path("api.sock"));
    let (binaries, stop, out) = (
        stand_ins.binaries_with_kiosk(),
        StopFlag::new(),
        SharedOut::default(),
    );
    let demo = {
        let (stop, mut out) = (stop.clone(), out.clone());
        std::thread::spawn(move || run(&binaries, &options(), &stop, &mut out))
    };

    let deadline = Instant::now() + Duration::from_secs(30);
    while !out.text().contains("invite:") {
        assert!(
            Instant::now() < deadline,
            "no invite printed; output: {}",
            out.text()
        );
        assert!(!demo.is_finished(), "the demo ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.join().unwrap(), Request::CreateInvite);
    let printed = out.text();
    assert_eq!(
        printed
            .lines()
            .filter(|l| l.starts_with("invite: "))
            .count(),
        1
    );
    assert!(
        printed.contains(&format!("invite: {INVITE}\n")),
        "{printed}"
    );
    assert!(printed.contains("admitted automatically"), "{printed}");

    stop.request();
    assert_eq!(demo.join().unwrap().unwrap(), ExitCode::SUCCESS);

    let demo_dir = PathBuf::from(stand_ins.read("demo-dir").trim());
    assert!(!demo_dir.exists(), "{} is removed", demo_dir.display());
    assert_eq!(stand_ins.read("dir-mode").trim(), "700");
    assert_eq!(stand_ins.read("secret-mode").trim(), "600");

    // The unit's token is signed by the key rendezvous is given, for the demo unit.
    let key =
        visavis_api::fleet::keys::parse_key(&stand_ins.read("enrollment.key"), "key").unwrap();
    let claims =
        visavis_api::fleet::enrollment::verify(&key, stand_ins.read("enrollment-token").trim(), 0)
            .unwrap();
    assert_eq!(claims.device_id, files::DEVICE_ID);
    assert!(stand_ins.read("rendezvous.toml").contains(&format!(
        "enrollment_key_file = \"{}/enrollment.key\"",
        demo_dir.display()
    )));
    assert!(
        stand_ins
            .read("rendezvous.toml")
            .contains("listen = \"127.0.0.1:0\"")
    );

    assert_eq!(
        stand_ins.read("kiosk-args").trim(),
        format!("--api {}/api.sock", stand_ins.scratch.path().display()),
        "the kiosk gets the socket applianced reported"
    );

    let applianced_toml = stand_ins.read("applianced.toml");
    for expected in [
        "url = \"http://127.0.0.1:4000\"",
        "auto_admit = true",
        "mode = \"table\"",
        "listen = \"127.0.0.1:0\"",
        &format!("socket = \"{}/applianced.sock\"", demo_dir.display()),
    ] {
        assert!(
            applianced_toml.contains(expected),
            "{expected} in\n{applianced_toml}"
        );
    }
}

#[test]
fn a_child_that_exits_early_fails_the_demo_with_its_stderr() {
    let stand_ins = StandIns::new("echo 'no element \"x264enc\"' >&2\nexit 1\n");
    let mut out = SharedOut::default();
    let error = run(
        &stand_ins.binaries(),
        &options(),
        &StopFlag::new(),
        &mut out,
    )
    .unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("applianced exited before printing `applianced: ready …` (exit status 1)"),
        "{message}"
    );
    assert!(message.contains("no element \"x264enc\""), "{message}");
    assert!(!out.text().contains("invite:"));
    let demo_dir = PathBuf::from(stand_ins.read("demo-dir").trim());
    assert!(!demo_dir.exists(), "{} is removed", demo_dir.display());
}

#[test]
fn a_stop_request_during_startup_ends_cleanly() {
    let stand_ins = StandIns::new("exec sleep 60\n");
    let stop = StopFlag::new();
    let demo = {
        let (binaries, stop) = (stand_ins.binaries(), stop.clone());
        std::thread::spawn(move || run(&binaries, &options(), &stop, &mut SharedOut::default()))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stand_ins.path("demo-dir").exists() {
        assert!(
            Instant::now() < deadline,
            "rendezvous stand-in never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.request();
    assert_eq!(demo.join().unwrap().unwrap(), ExitCode::SUCCESS);
}

#[test]
fn applianced_readiness_line() {
    let configured = Path::new("/tmp/x/applianced.sock");
    assert_eq!(
        parse_applianced_ready(
            "api=/tmp/x/applianced.sock metrics=http://127.0.0.1:4321/metrics",
            configured
        ),
        (
            PathBuf::from("/tmp/x/applianced.sock"),
            "http://127.0.0.1:4321/metrics".to_string()
        )
    );
    assert_eq!(
        parse_applianced_ready("something else", configured).0,
        configured
    );
}

#[test]
fn a_kiosk_that_ends_does_not_end_the_demo() {
    let stand_ins = StandIns::new(
        "echo \"applianced: ready api=$S/api.sock metrics=http://127.0.0.1:9/metrics\"\nexec sleep 60\n",
    );
    // The kiosk stand-in for this test ends at once, as the placeholder kiosk does.
    let kiosk = stand_ins
        .scratch
        .write_file("kiosk", "#!/bin/sh\nexit 0\n")
        .unwrap();
    std::fs::set_permissions(&kiosk, std::fs::Permissions::from_mode(0o700)).unwrap();
    let server = serve_one_invite(stand_ins.path("api.sock"));
    let (binaries, stop, out) = (
        stand_ins.binaries_with_kiosk(),
        StopFlag::new(),
        SharedOut::default(),
    );
    let demo = {
        let (stop, mut out) = (stop.clone(), out.clone());
        std::thread::spawn(move || run(&binaries, &options(), &stop, &mut out))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !out.text().contains("invite:") {
        assert!(Instant::now() < deadline, "no invite printed");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.join().unwrap();
    // Give the demo loop a few of its ticks to notice the kiosk ended; it must keep going.
    let watch_until = Instant::now() + TICK * 5;
    while Instant::now() < watch_until {
        assert!(!demo.is_finished(), "the demo ended with the kiosk");
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.request();
    assert_eq!(demo.join().unwrap().unwrap(), ExitCode::SUCCESS);
}
