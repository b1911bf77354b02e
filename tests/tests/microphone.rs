//! A microphone that is not there, against a real applianced: an ALSA device name that no
//! card answers to (`[audio] device = "hw:CARD=Nope"`) does not stop the unit; it runs
//! without a microphone, and `status.problems` and the staff report say which device and
//! ALSA's reason. (Pulling a microphone mid-call and plugging it back is tested on the
//! room's pipeline with the test microphone, behind the same seam: `media::mic`.)

use visavis_api::local::{Request, Response, StaffAction, StaffPin};
use visavis_e2e::appliance::staff_pin_file;
use visavis_e2e::timeouts;
use visavis_e2e::wait::{Check, until_blocking};
use visavis_e2e::{Appliance, ApplianceConfig, Rendezvous, RendezvousConfig, Result, ResultExt};

#[test]
fn a_microphone_device_that_is_not_there_is_named_with_alsas_reason() -> Result<()> {
    let dir = tempfile::tempdir().context("could not create a temporary folder")?;
    let (_, staff_toml) = staff_pin_file(dir.path(), "2468")?;
    let rendezvous = Rendezvous::start(RendezvousConfig::default())?;
    let unit = Appliance::start(
        &rendezvous,
        ApplianceConfig {
            audio_source: "alsa".into(),
            audio_extra: "device = \"hw:CARD=Nope\"\n".into(),
            extra_toml: staff_toml,
            ..Default::default()
        },
    )?;
    let problems = until_blocking(
        "the unit to report its microphone missing",
        timeouts::step(),
        || {
            let problems = unit.status()?.problems;
            Ok(if problems.iter().any(|p| p.contains("hw:CARD=Nope")) {
                Check::Ready(problems)
            } else {
                Check::NotYet(format!("{problems:?}"))
            })
        },
    )?;
    let problem = problems
        .iter()
        .find(|p| p.contains("hw:CARD=Nope"))
        .cloned()
        .unwrap_or_default();
    eprintln!("status.problems: {problem}");
    assert!(
        problem.starts_with("microphone hw:CARD=Nope: ")
            && problem.contains("No such device")
            && problem.contains("calls go on without it"),
        "{problem}"
    );
    match unit.client()?.call(Request::Staff {
        pin: StaffPin("2468".into()),
        action: StaffAction::Report,
    }) {
        Ok(Response::Staff(report)) => assert!(
            report.problems.contains(&problem),
            "the staff report names it too: {:?}",
            report.problems
        ),
        other => panic!("report: {other:?}"),
    }
    Ok(())
}
