//! The staff PIN against a real applianced: a right PIN gets the report, wrong ones are
//! rate-limited by the daemon (so restarting the kiosk does not reset the count), a
//! world-readable PIN file is refused, and a restart from the staff screen exits with 75
//! for systemd to start the unit again.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use visavis_api::local::client::ClientError;
use visavis_api::local::{ApiErrorCode, Request, Response, StaffAction, StaffPin};
use visavis_e2e::{Appliance, ApplianceConfig, Error, Rendezvous, RendezvousConfig, Result};

fn staff(
    unit: &Appliance,
    pin: &str,
    action: StaffAction,
) -> std::result::Result<Response, ClientError> {
    unit.client()
        .map_err(|e| ClientError::Protocol(e.to_string()))?
        .call(Request::Staff {
            pin: StaffPin(pin.into()),
            action,
        })
}

fn refused(r: std::result::Result<Response, ClientError>) -> (ApiErrorCode, String) {
    match r {
        Err(ClientError::Api(e)) => (e.code, e.message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn the_pin_opens_the_report_wrong_ones_wait_and_restart_exits_for_systemd() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| Error::new(e.to_string()))?;
    let pin_file = dir.path().join("staff-pin");
    std::fs::write(&pin_file, "2468\n").map_err(|e| Error::new(e.to_string()))?;
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o640))
        .map_err(|e| Error::new(e.to_string()))?;
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            extra_toml: format!("[staff]\npin_file = {:?}\n", pin_file.display().to_string()),
            ..Default::default()
        },
    )?;

    match staff(&unit, "2468", StaffAction::Report) {
        Ok(Response::Staff(report)) => {
            assert_eq!(report.device_id, "test-unit");
            assert_eq!(report.location, "Cabine 3");
            assert!(!report.encoder.is_empty(), "{report:?}");
        }
        other => panic!("report: {other:?}"),
    }
    for _ in 0..3 {
        assert_eq!(
            refused(staff(&unit, "1111", StaffAction::Report)).0,
            ApiErrorCode::WrongPin
        );
    }
    // Locked now, for the right PIN too, from a new connection (a restarted kiosk).
    let (code, message) = refused(staff(&unit, "2468", StaffAction::Report));
    assert_eq!(code, ApiErrorCode::RateLimited, "{message}");
    assert!(message.contains("try again in"), "{message}");
    let log = unit.process().stderr_lines().join("\n");
    assert!(
        !log.contains("2468") && !log.contains("1111"),
        "a PIN in the log:\n{log}"
    );

    // Everyone may read the file: refused, and the message says how to fix it. (Checked on
    // a second unit, the first is locked.)
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o644))
        .map_err(|e| Error::new(e.to_string()))?;
    let mut second = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            device_id: "test-unit-2".into(),
            extra_toml: format!("[staff]\npin_file = {:?}\n", pin_file.display().to_string()),
            ..Default::default()
        },
    )?;
    let (code, message) = refused(staff(&second, "2468", StaffAction::Report));
    assert_eq!(code, ApiErrorCode::WrongPin);
    assert!(message.contains("chmod 640"), "{message}");

    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::new(e.to_string()))?;
    assert!(matches!(
        staff(&second, "2468", StaffAction::Restart),
        Ok(Response::Done)
    ));
    let status = visavis_e2e::wait::until_blocking(
        "applianced to exit after the staff restart",
        Duration::from_secs(20),
        || {
            Ok(match second.process().exit_status() {
                Some(s) => visavis_e2e::wait::Check::Ready(s),
                None => visavis_e2e::wait::Check::NotYet("still running".into()),
            })
        },
    )?;
    assert_eq!(
        status.code(),
        Some(75),
        "systemd restarts on a non-zero exit"
    );
    drop(unit);
    Ok(())
}

/// "Call a waiter" reaches the restaurant's webhook with the table's identity.
#[test]
fn calling_a_waiter_posts_to_the_webhook() -> Result<()> {
    use std::io::{BufRead, BufReader, Read, Write};
    let hook = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| Error::new(e.to_string()))?;
    let port = hook
        .local_addr()
        .map_err(|e| Error::new(e.to_string()))?
        .port();
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            mode: "table".into(),
            location: "Table 12".into(),
            extra_toml: format!(
                "[table]\nwaiter_webhook = \"http://127.0.0.1:{port}/hook?key=s3cret\"\n"
            ),
            ..Default::default()
        },
    )?;
    let mut events = unit.client()?;
    assert!(matches!(
        unit.client()?.call(Request::CallWaiter),
        Ok(Response::Done)
    ));
    // The webhook request (accept blocks until applianced connects).
    hook.set_nonblocking(false)
        .map_err(|e| Error::new(e.to_string()))?;
    let (stream, _) = hook.accept().map_err(|e| Error::new(e.to_string()))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| Error::new(e.to_string()))?;
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| Error::new(e.to_string()))?;
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0u8; length];
    reader
        .read_exact(&mut body)
        .map_err(|e| Error::new(e.to_string()))?;
    let _ = reader
        .get_mut()
        .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n");
    assert!(head.starts_with("POST /hook?key=s3cret "), "{head}");
    let json: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| Error::new(e.to_string()))?;
    assert_eq!(json["event"], "waiter_called");
    assert_eq!(json["location"], "Table 12");
    assert_eq!(json["device_id"], "test-unit");
    // Local clients hear it too.
    let event = events.next_event().map_err(|e| Error::new(e.to_string()))?;
    assert_eq!(event, visavis_api::local::Event::WaiterCalled);
    Ok(())
}
