use std::os::unix::fs::PermissionsExt as _;

use visavis_api::fleet::random;
use visavis_api::fleet::seed::{Secret, Turn, Wifi};
use visavis_api::{Mode, Orientation};

use super::*;

fn temp_root(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "visavis-first-boot-{name}-{}",
        visavis_api::fleet::b64(&random::<6>())
    ));
    std::fs::create_dir_all(dir.join("boot/firmware")).unwrap();
    dir
}

fn body() -> SeedBody {
    SeedBody {
        device_id: "paris-09-cabine-3".into(),
        store: "Paris 9e".into(),
        location: "Cabine 3".into(),
        mode: Mode::FittingRoom,
        orientation: Orientation::Portrait,
        timezone: "Europe/Paris".parse().unwrap(),
        rendezvous_url: "https://rdv.example.com".into(),
        wifi: Some(Wifi {
            ssid: "Boutique".into(),
            country: "FR".into(),
            key: Secret::new("wifi-key-SECRET-1"),
        }),
        turn: Some(Turn {
            uris: vec!["turns:turn.example.com:443".into()],
            secret: Secret::new("turn-SECRET-2-0123456789"),
        }),
        enrollment_token: Secret::new("vve1.token-SECRET-3"),
        staff_pin: Some(Secret::new("24681357")),
    }
}

fn paths(root: &Path) -> Paths {
    Paths {
        root: root.to_owned(),
        seed: root.join("boot/firmware/visavis-seed.json"),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_seed_is_applied_once_and_its_secrets_leave_the_boot_partition() {
    let root = temp_root("apply");
    let fleet = DeviceKey::from_bytes(&random());
    let p = paths(&root);
    std::fs::write(&p.seed, SeedFile::sign(body(), &fleet).to_bytes()).unwrap();
    // The image's own config keeps its other settings.
    std::fs::create_dir_all(root.join("etc/visavis")).unwrap();
    std::fs::write(
        root.join("etc/visavis/applianced.toml"),
        "device_id = \"unprovisioned\"\n[rendezvous]\nurl = \"https://old.example.com\"\n[video]\nsource = \"test\"\n",
    )
    .unwrap();

    assert_eq!(
        run(&p).unwrap(),
        Outcome::Applied {
            device_id: "paris-09-cabine-3".into()
        }
    );
    let state = root.join("var/lib/visavis");
    assert_eq!(
        std::fs::read_to_string(state.join("enrollment-token")).unwrap(),
        "vve1.token-SECRET-3\n"
    );
    assert_eq!(mode(&state.join("enrollment-token")), 0o600);
    assert_eq!(mode(&state.join("turn-secret")), 0o600);
    assert_eq!(mode(&state.join("device.key")), 0o600);
    let wifi = root.join("etc/NetworkManager/system-connections/visavis-wifi.nmconnection");
    assert_eq!(mode(&wifi), 0o600);
    assert!(
        std::fs::read_to_string(&wifi)
            .unwrap()
            .contains("psk=wifi-key-SECRET-1")
    );

    let config = Config::load(&root.join("etc/visavis/applianced.toml")).unwrap();
    assert_eq!(config.device_id, "paris-09-cabine-3");
    assert_eq!(config.store, "Paris 9e");
    assert_eq!(config.rendezvous.url, "https://rdv.example.com");
    assert_eq!(config.state_dir, state);
    assert_eq!(config.video.source, crate::config::VideoSource::Test);
    // The seed's relays take effect: the unit mints its own credentials from their secret.
    assert_eq!(
        config.turn.urls,
        vec!["turns:turn.example.com:443".to_owned()]
    );
    let minter = config
        .turn_minter(Path::new("applianced.toml"))
        .unwrap()
        .unwrap();
    let ours = minter.ice_servers("unit:paris-09-cabine-3", 100);
    let expected = visavis_api::fleet::turn::TurnSecret::new("turn-SECRET-2-0123456789")
        .credentials("unit:paris-09-cabine-3", 3700);
    assert_eq!(ours[0].credential.as_deref(), Some(expected.1.as_str()));
    // The staff PIN: where the config says, not readable by others, and accepted by the
    // staff screen's check.
    let pin_file = root.join("etc/visavis/staff-pin");
    assert_eq!(config.staff.pin_file, pin_file);
    assert_eq!(mode(&pin_file), 0o640);
    assert_eq!(
        crate::staff::load_pin(&pin_file).ok().as_deref(),
        Some("24681357")
    );
    assert_eq!(
        std::fs::read_link(root.join("etc/localtime")).unwrap(),
        Path::new("/usr/share/zoneinfo/Europe/Paris")
    );

    // The boot partition keeps no secret; the config and report hold none either.
    let seed_text = std::fs::read_to_string(&p.seed).unwrap();
    let report_text = std::fs::read_to_string(state.join("first-boot.json")).unwrap();
    let config_text = std::fs::read_to_string(root.join("etc/visavis/applianced.toml")).unwrap();
    for secret in [
        "wifi-key-SECRET-1",
        "turn-SECRET-2-0123456789",
        "token-SECRET-3",
        "24681357",
    ] {
        assert!(!seed_text.contains(secret), "{secret} left in the seed");
        assert!(!report_text.contains(secret));
        assert!(!config_text.contains(secret));
    }
    assert!(
        SeedFile::parse(seed_text.as_bytes())
            .unwrap()
            .applied_at
            .is_some()
    );
    assert!(problem(&config).is_none());

    // A second boot changes nothing.
    let key_before = std::fs::read(state.join("device.key")).unwrap();
    assert_eq!(run(&p).unwrap(), Outcome::AlreadyApplied { blanked: false });
    assert_eq!(std::fs::read(state.join("device.key")).unwrap(), key_before);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_crash_between_stamp_and_blanking_is_finished_at_the_next_boot() {
    let root = temp_root("crash");
    let fleet = DeviceKey::from_bytes(&random());
    let p = paths(&root);
    let signed = SeedFile::sign(body(), &fleet).to_bytes();
    std::fs::write(&p.seed, &signed).unwrap();
    run(&p).unwrap();
    // As if the power went after the stamp but before the seed was blanked.
    std::fs::write(&p.seed, &signed).unwrap();
    assert_eq!(run(&p).unwrap(), Outcome::AlreadyApplied { blanked: true });
    let seed = SeedFile::parse(&std::fs::read(&p.seed).unwrap()).unwrap();
    assert!(!seed.holds_secrets());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_tampered_or_foreign_seed_is_refused_and_reported_for_staff() {
    let root = temp_root("tampered");
    let fleet = DeviceKey::from_bytes(&random());
    let p = paths(&root);
    let mut seed = SeedFile::sign(body(), &fleet);
    seed.body.rendezvous_url = "https://evil.example.com".into();
    std::fs::write(&p.seed, seed.to_bytes()).unwrap();
    let err = run(&p).unwrap_err().to_string();
    assert!(err.contains("checksum"), "{err}");
    let state = root.join("var/lib/visavis");
    assert!(!state.join("enrollment-token").exists());
    assert!(!root.join("etc/visavis/first-boot.done").exists());
    let report: Report =
        serde_json::from_slice(&std::fs::read(state.join("first-boot.json")).unwrap()).unwrap();
    assert!(!report.ok && report.error.unwrap().contains("checksum"));

    // Signed by another fleet than the one this image pins.
    std::fs::write(&p.seed, SeedFile::sign(body(), &fleet).to_bytes()).unwrap();
    std::fs::create_dir_all(root.join("etc/visavis")).unwrap();
    let pinned = DeviceKey::from_bytes(&random()).public_key();
    std::fs::write(root.join("etc/visavis/fleet-signing.pub"), &pinned).unwrap();
    let err = run(&p).unwrap_err().to_string();
    assert!(err.contains("not by this fleet's signing key"), "{err}");
    assert!(!err.contains("SECRET"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn no_seed_says_how_to_write_one() {
    let root = temp_root("none");
    let err = run(&paths(&root)).unwrap_err().to_string();
    assert!(err.contains("provision write"), "{err}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_stamp_is_where_the_visavis_user_cannot_remove_it_and_an_old_one_is_moved() {
    let root = temp_root("stamp");
    let fleet = DeviceKey::from_bytes(&random());
    let p = paths(&root);
    let signed = SeedFile::sign(body(), &fleet).to_bytes();
    std::fs::write(&p.seed, &signed).unwrap();
    run(&p).unwrap();
    let state = root.join("var/lib/visavis");
    let stamp = root.join("etc/visavis/first-boot.done");
    assert!(stamp.is_file());
    assert!(
        !state.join("first-boot.done").exists(),
        "nothing in the folder the visavis user owns decides whether first boot runs"
    );
    // A unit stamped by an earlier version: honoured, and moved out of the state folder.
    std::fs::rename(&stamp, state.join("first-boot.done")).unwrap();
    std::fs::write(&p.seed, &signed).unwrap();
    assert_eq!(run(&p).unwrap(), Outcome::AlreadyApplied { blanked: true });
    assert!(stamp.is_file());
    assert!(!state.join("first-boot.done").exists());
}
