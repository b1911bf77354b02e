//! The staff PIN against a real applianced: a right PIN gets the report, wrong ones are
//! rate-limited by the daemon (so restarting the kiosk does not reset the count), a
//! world-readable PIN file is refused, a wrong PIN shows among the report's recent errors
//! (the PIN does not), and a restart from the staff screen exits with 75
//! for systemd to start the unit again.

use std::os::unix::fs::PermissionsExt;
use visavis_api::local::client::ClientError;
use visavis_api::local::{ApiErrorCode, Request, Response, StaffAction, StaffPin};
use visavis_e2e::appliance::staff_pin_file;
use visavis_e2e::timeouts;
use visavis_e2e::{
    Appliance, ApplianceConfig, Error, Rendezvous, RendezvousConfig, Result, ResultExt,
};

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
    let dir = tempfile::tempdir().context("could not create a temporary folder")?;
    let (pin_file, staff_toml) = staff_pin_file(dir.path(), "2468")?;
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let mut unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            extra_toml: staff_toml.clone(),
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
        .context("could not set the PIN file's mode")?;
    let mut second = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            device_id: "test-unit-2".into(),
            extra_toml: staff_toml,
            ..Default::default()
        },
    )?;
    let (code, message) = refused(staff(&second, "2468", StaffAction::Report));
    assert_eq!(code, ApiErrorCode::WrongPin);
    assert!(message.contains("chmod 640"), "{message}");

    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600))
        .context("could not set the PIN file's mode")?;
    // A wrong PIN is among the recent errors the report shows; the PIN itself is not.
    refused(staff(&second, "1357", StaffAction::Report));
    match staff(&second, "2468", StaffAction::Report) {
        Ok(Response::Staff(report)) => {
            let last = report.recent_errors.last().cloned().unwrap_or_default();
            assert!(
                last.contains("WARN") && last.contains("wrong staff PIN"),
                "{report:?}"
            );
            assert!(!report.recent_errors.iter().any(|l| l.contains("1357")));
        }
        other => panic!("report: {other:?}"),
    }
    assert!(matches!(
        staff(&second, "2468", StaffAction::Restart),
        Ok(Response::Done)
    ));
    let status = visavis_e2e::wait::until_blocking(
        "applianced to exit after the staff restart",
        timeouts::media(),
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
    let hook =
        std::net::TcpListener::bind("127.0.0.1:0").context("could not listen for the webhook")?;
    let port = hook
        .local_addr()
        .context("the webhook listener has no address")?
        .port();
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            mode: visavis_api::Mode::Table,
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
        .context("could not make the webhook listener blocking")?;
    let (stream, _) = hook.accept().context("the webhook was never called")?;
    stream
        .set_read_timeout(Some(timeouts::api_reply()))
        .context("could not set a read timeout")?;
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .context("could not read the webhook request")?;
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
        .context("could not read the webhook body")?;
    let _ = reader
        .get_mut()
        .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n");
    assert!(head.starts_with("POST /hook?key=s3cret "), "{head}");
    let json: serde_json::Value =
        serde_json::from_slice(&body).context("the webhook body is not JSON")?;
    assert_eq!(json["event"], "waiter_called");
    assert_eq!(json["location"], "Table 12");
    assert_eq!(json["device_id"], "test-unit");
    // Local clients hear it too, among whatever else the unit says meanwhile (its
    // rendezvous link coming up, for one).
    visavis_e2e::wait::until_blocking("the waiter event", timeouts::answer(), || {
        Ok(match events.next_event() {
            Ok(visavis_api::local::Event::WaiterCalled) => visavis_e2e::wait::Check::Ready(()),
            Ok(other) => visavis_e2e::wait::Check::NotYet(format!("{other:?}")),
            Err(e) => return Err(Error::new(format!("no event on the local API: {e}"))),
        })
    })?;
    Ok(())
}
