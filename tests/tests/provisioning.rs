//! Provisioning end to end: IT's `provision` CLI, the unit's first boot, the real
//! rendezvous and applianced.
//!
//! A one-row manifest is bundled and written to a boot partition (a folder here);
//! `applianced first-boot` applies the seed; applianced enrolls its new key with the seed's
//! one-time token, then reconnects with its signature alone; IT revokes it and rendezvous
//! throws it out and refuses it. The staff PIN from the manifest opens the staff report.
//! No secret appears in any process's output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use visavis_api::fleet::keys::{DeviceKey, read_key_file};
use visavis_api::local::{Request, Response, StaffAction, StaffPin};
use visavis_e2e::bins::workspace_binary;
use visavis_e2e::timeouts;
use visavis_e2e::wait::{Check, until_blocking};
use visavis_e2e::{Appliance, Error, Fleet, Rendezvous, RendezvousConfig, Result, ResultExt};

const DEVICE: &str = "e2e-cabine-3";
const WIFI_KEY: &str = "wifi-SECRET-e2e-4f1c";
const STAFF_PIN: &str = "86420975";

/// Run `provision` with `args`; every output is kept for the secret check.
fn provision(outputs: &mut Vec<String>, args: &[&str]) -> Result<Output> {
    let output = Command::new(workspace_binary("provision")?)
        .args(args)
        .env("E2E_WIFI_KEY", WIFI_KEY)
        .env("E2E_STAFF_PIN", STAFF_PIN)
        .output()
        .map_err(|e| Error::new(format!("could not run provision: {e}")))?;
    outputs.push(String::from_utf8_lossy(&output.stdout).into_owned());
    outputs.push(String::from_utf8_lossy(&output.stderr).into_owned());
    Ok(output)
}

fn ok(output: Output, what: &str) -> Result<String> {
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(Error::new(format!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

fn read(p: impl AsRef<Path>) -> Result<String> {
    let p = p.as_ref();
    std::fs::read_to_string(p).context(format!("could not read {}", p.display()))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// The config the image ships before first boot: test sources, sockets in `dir`.
fn image_config(dir: &Path) -> String {
    format!(
        "device_id = \"unprovisioned\"\n\
         [rendezvous]\nurl = \"https://unset.invalid\"\n\
         [api]\nsocket = \"{}/applianced.sock\"\n\
         [metrics]\nlisten = \"127.0.0.1:0\"\n\
         [video]\nsource = \"test\"\nwidth = 320\nheight = 240\nbitrate_kbps = 300\n\
         [audio]\nsource = \"test\"\n",
        dir.display()
    )
}

fn status_problems(appliance: &Appliance) -> Result<Vec<String>> {
    Ok(appliance.status()?.problems)
}

#[test]
fn a_provisioned_unit_enrolls_reconnects_with_its_key_and_is_refused_once_revoked() -> Result<()> {
    let work = tempfile::TempDir::with_prefix("visavis-provisioning-")
        .context("could not create a temporary folder")?;
    let w = work.path();
    let mut outputs = Vec::new();
    let signing_key = w.join("signing.key");
    let enrollment_key = w.join("enrollment.key");
    ok(
        provision(&mut outputs, &["keygen", path(&signing_key)])?,
        "keygen",
    )?;
    ok(
        provision(&mut outputs, &["keygen", path(&enrollment_key)])?,
        "keygen",
    )?;

    let mut rendezvous = Rendezvous::start(RendezvousConfig {
        fleet: Fleet::from_key_file(&enrollment_key)?,
        ..RendezvousConfig::default()
    })?;

    // IT: one row, bundled and written to the unit's boot partition.
    let manifest = w.join("fleet.csv");
    std::fs::write(
        &manifest,
        format!(
            "device_id,store,location,mode,timezone,rendezvous_url,wifi_ssid,wifi_country,wifi_key,enrollment_key,staff_pin\n\
             {DEVICE},Paris 9e,Cabine 3,fitting-room,Europe/Paris,{},Boutique,FR,env:E2E_WIFI_KEY,file:{},env:E2E_STAFF_PIN\n",
            rendezvous.url(),
            enrollment_key.display()
        ),
    )
    .context("could not write the manifest")?;
    let seeds = w.join("seeds");
    let signing = format!("file:{}", signing_key.display());
    ok(
        provision(
            &mut outputs,
            &[
                "--signing-key",
                &signing,
                "bundle",
                path(&manifest),
                "--out",
                path(&seeds),
                "--yes",
            ],
        )?,
        "bundle",
    )?;
    let root = w.join("unit");
    let boot = root.join("boot/firmware");
    std::fs::create_dir_all(&boot).context("could not create a folder")?;
    ok(
        provision(
            &mut outputs,
            &[
                "--signing-key",
                &signing,
                "write",
                DEVICE,
                "--out",
                path(&seeds),
                "--to",
                path(&boot),
                "--force",
                "--yes",
            ],
        )?,
        "write",
    )?;
    let seed_text = read(boot.join("visavis-seed.json"))?;
    let seed = visavis_api::fleet::seed::SeedFile::parse(seed_text.as_bytes())
        .context("the seed on the boot partition")?;
    let token = seed.body.enrollment_token.expose().to_owned();

    // The unit's first boot.
    std::fs::create_dir_all(root.join("etc/visavis")).context("could not create a folder")?;
    std::fs::write(root.join("etc/visavis/applianced.toml"), image_config(w))
        .context("could not write the image config")?;
    let first_boot = Command::new(workspace_binary("applianced")?)
        .args(["first-boot", "--root", path(&root)])
        .output()
        .context("could not run applianced first-boot")?;
    outputs.push(String::from_utf8_lossy(&first_boot.stdout).into_owned());
    outputs.push(String::from_utf8_lossy(&first_boot.stderr).into_owned());
    ok(first_boot, "applianced first-boot")?;
    let state: PathBuf = root.join("var/lib/visavis");
    assert!(state.join("enrollment-token").exists());
    let on_boot = read(boot.join("visavis-seed.json"))?;
    assert!(!on_boot.contains(&token) && !on_boot.contains(WIFI_KEY));
    assert!(!on_boot.contains(STAFF_PIN));

    // First start: enrolls with the token, which is then used up.
    let config = root.join("etc/visavis/applianced.toml");
    let mut unit = Appliance::start_from_file(&config)?;
    unit.create_invite(timeouts::step())?;
    assert!(
        !state.join("enrollment-token").exists(),
        "the used token is removed once rendezvous accepted the key"
    );
    // The staff screen opens with the PIN IT put in the manifest.
    let staff = unit.client()?.call(Request::Staff {
        pin: StaffPin(STAFF_PIN.into()),
        action: StaffAction::Report,
    });
    match staff {
        Ok(Response::Staff(report)) => assert_eq!(report.device_id, DEVICE),
        other => panic!("the seeded staff PIN was not accepted: {other:?}"),
    }
    let public_key =
        DeviceKey::from_bytes(&read_key_file(&state.join("device.key")).context("the unit key")?)
            .public_key();

    // The registry knows the unit, its store and its key.
    let key_ref = format!("file:{}", enrollment_key.display());
    let report = ok(
        provision(
            &mut outputs,
            &[
                "report",
                "--out",
                path(&seeds),
                "--rendezvous",
                rendezvous.url(),
                "--enrollment-key",
                &key_ref,
                "--json",
            ],
        )?,
        "report",
    )?;
    assert!(
        report.contains(&public_key),
        "the report shows the enrolled key: {report}"
    );
    assert!(report.contains("Paris 9e"), "{report}");

    // Second start: no token any more, the signature alone gets it in.
    outputs.extend(unit.process().stderr_lines());
    drop(unit);
    let mut unit = Appliance::start_from_file(&config)?;
    unit.create_invite(timeouts::step())?;

    // IT revokes the unit: it is thrown out, and says why on its status.
    ok(
        provision(
            &mut outputs,
            &[
                "revoke",
                DEVICE,
                "--rendezvous",
                rendezvous.url(),
                "--enrollment-key",
                &key_ref,
                "--yes",
            ],
        )?,
        "revoke",
    )?;
    let problems = until_blocking(
        "the unit to report it was revoked",
        timeouts::step(),
        || {
            let problems = status_problems(&unit)?;
            Ok(if problems.iter().any(|p| p.contains("Revoked")) {
                Check::Ready(problems)
            } else {
                Check::NotYet(format!("{problems:?}"))
            })
        },
    )?;
    assert!(
        problems.iter().any(|p| p.contains("revoked")),
        "{problems:?}"
    );

    // Restarted, it is still refused.
    outputs.extend(unit.process().stderr_lines());
    drop(unit);
    let mut unit = Appliance::start_from_file(&config)?;
    until_blocking("the restarted unit to be refused", timeouts::step(), || {
        let problems = status_problems(&unit)?;
        Ok(if problems.iter().any(|p| p.contains("Revoked")) {
            Check::Ready(())
        } else {
            Check::NotYet(format!("{problems:?}"))
        })
    })?;

    // No secret anywhere in what the processes printed.
    outputs.extend(unit.process().stderr_lines());
    outputs.extend(rendezvous.process().stderr_lines());
    let secrets = [
        token.clone(),
        WIFI_KEY.to_owned(),
        read(&enrollment_key)?.trim().to_owned(),
        read(&signing_key)?.trim().to_owned(),
        read(state.join("device.key"))?.trim().to_owned(),
    ];
    for text in &outputs {
        assert!(
            !text.contains(STAFF_PIN),
            "the staff PIN was printed: {text}"
        );
    }
    for (i, secret) in secrets.iter().enumerate() {
        assert!(secret.len() > 10);
        for text in &outputs {
            assert!(
                !text.contains(secret.as_str()),
                "secret #{i} was printed: {text}"
            );
        }
    }
    Ok(())
}
