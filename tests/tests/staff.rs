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
