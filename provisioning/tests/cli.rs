//! The `provision` binary as IT runs it: a 300-unit manifest, bad rows, re-runs, a
//! tampered seed, cards and images, and never a secret in anything it prints.

#![allow(clippy::unwrap_used)] // a failure here is a failed test

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::Output;

const WIFI_KEY: &str = "wifi-SECRET-7c1e9a";
const TURN_SECRET: &str = "turn-SECRET-55d0-0123456789";

struct Fleet {
    dir: PathBuf,
    /// Everything the binary printed, for the secret check.
    printed: Vec<String>,
}

impl Fleet {
    fn new(name: &str) -> Fleet {
        let dir = std::env::temp_dir().join(format!(
            "visavis-provision-{name}-{}",
            visavis_api::fleet::b64(&visavis_api::fleet::random::<6>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut fleet = Fleet {
            dir,
            printed: Vec::new(),
        };
        let turn = fleet.path("turn.secret");
        std::fs::write(&turn, format!("{TURN_SECRET}\n")).unwrap();
        std::fs::set_permissions(&turn, std::fs::Permissions::from_mode(0o600)).unwrap();
        for key in ["signing.key", "enrollment.key"] {
            let path = fleet.path(key);
            let out = fleet.run(&["keygen", path.to_str().unwrap()]);
            assert!(out.status.success());
        }
        fleet
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn run(&mut self, args: &[&str]) -> Output {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_provision"))
            .args(args)
            .env("FLEET_WIFI_KEY", WIFI_KEY)
            .env(
                "VISAVIS_SIGNING_KEY",
                format!("file:{}", self.path("signing.key").display()),
            )
            .current_dir(&self.dir)
            .output()
            .unwrap();
        self.printed
            .push(String::from_utf8_lossy(&out.stdout).into_owned());
        self.printed
            .push(String::from_utf8_lossy(&out.stderr).into_owned());
        out
    }

    /// A CSV manifest of `n` units across stores, Wi-Fi and TURN on every row.
    fn manifest(&self, n: usize) -> PathBuf {
        let mut csv = String::from(
            "device_id,store,location,mode,orientation,timezone,rendezvous_url,wifi_ssid,wifi_country,wifi_key,turn_uris,turn_secret,enrollment_key\n",
        );
        for i in 0..n {
            let mode = if i % 3 == 0 { "table" } else { "fitting-room" };
            csv.push_str(&format!(
                "store-{:03}-unit-{},Store {:03},Cabine {},{mode},,Europe/Paris,https://rdv.example.com,Boutique {:03},FR,env:FLEET_WIFI_KEY,turns:turn.example.com:443?transport=tcp,file:turn.secret,file:enrollment.key\n",
                i / 4,
                i % 4,
                i / 4,
                i % 4 + 1,
                i / 4
            ));
        }
        let path = self.path("fleet.csv");
        std::fs::write(&path, csv).unwrap();
        path
    }

    fn assert_no_secret_printed(&self) {
        let mut secrets = vec![WIFI_KEY.to_owned(), TURN_SECRET.to_owned()];
        for key in ["signing.key", "enrollment.key"] {
            secrets.push(
                std::fs::read_to_string(self.path(key))
                    .unwrap()
                    .trim()
                    .to_owned(),
            );
        }
        for text in &self.printed {
            for s in &secrets {
                assert!(!text.contains(s.as_str()), "a secret was printed: {text}");
            }
            assert!(
                !text.contains("vve1."),
                "an enrollment token was printed: {text}"
            );
        }
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn three_hundred_units_validate_plan_bundle_and_rerun_as_a_no_op() {
    let mut fleet = Fleet::new("300");
    let manifest = fleet.manifest(300);
    let m = manifest.to_str().unwrap();

    let out = fleet.run(&["validate", m]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("300 units, no problems"));

    let out = fleet.run(&["plan", m, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (plan["new"].as_u64(), plan["written"].as_u64()),
        (Some(300), Some(0))
    );
    assert!(!fleet.path("seeds").exists(), "a plan writes nothing");

    let out = fleet.run(&["bundle", m]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("wrote 300 seeds (300 new, 0 changed)"),
        "{}",
        stdout(&out)
    );
    let seed = fleet.path("seeds/store-000-unit-0/visavis-seed.json");
    assert_eq!(
        std::fs::metadata(&seed).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let first = std::fs::read(&seed).unwrap();

    // The same manifest again: nothing changes, and it says so.
    let out = fleet.run(&["bundle", m]);
    assert!(
        stdout(&out).contains("300 seeds unchanged: nothing to do"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        std::fs::read(&seed).unwrap(),
        first,
        "byte for byte the same"
    );

    // One row edited: exactly that unit, with the fields named.
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen("Cabine 1,table", "Cabine 9,table", 1),
    )
    .unwrap();
    let out = fleet.run(&["plan", m, "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (plan["changed"].as_u64(), plan["unchanged"].as_u64()),
        (Some(1), Some(299))
    );
    let changed: Vec<&serde_json::Value> = plan["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["action"] == "changed")
        .collect();
    assert_eq!(changed[0]["device_id"], "store-000-unit-0");
    let fields: Vec<&str> = changed[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["location", "enrollment_token"],
        "the token names the location"
    );

    // A unit dropped from the manifest keeps its seed and is reported.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let last = text.lines().last().unwrap().to_owned();
    std::fs::write(&manifest, text.replace(&format!("{last}\n"), "")).unwrap();
    let out = fleet.run(&["plan", m]);
    assert!(
        stdout(&out).contains("not in manifest store-074-unit-3"),
        "{}",
        stdout(&out)
    );

    let out = fleet.run(&["report", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["units"].as_array().unwrap().len(), 300);
    fleet.assert_no_secret_printed();
}

#[test]
fn bad_rows_are_all_reported_with_row_and_column() {
    let mut fleet = Fleet::new("bad");
    let csv = "device_id,store,location,mode,timezone,rendezvous_url,wifi_ssid,wifi_country,wifi_key,enrollment_key\n\
        ok-1,Paris,Cabine 1,table,Europe/Paris,https://rdv.example.com,,,,file:enrollment.key\n\
        ok-1,Paris,Cabine 2,table,Europe/Paris,https://rdv.example.com,,,,file:enrollment.key\n\
        bad-mode,Paris,Cabine 3,tabel,Europe/Paris,https://rdv.example.com,,,,file:enrollment.key\n\
        bad-url,Paris,Cabine 4,table,Europe/Paris,http://rdv.example.com/x,,,,file:enrollment.key\n\
        inline,Paris,Cabine 5,table,Europe/Paris,https://rdv.example.com,Shop,FR,hunter2hunter2,file:enrollment.key\n";
    std::fs::write(fleet.path("bad.csv"), csv).unwrap();
    let out = fleet.run(&["validate", "bad.csv"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for expected in [
        "bad.csv: row 3, column device_id: \"ok-1\" is already used on row 2",
        "bad.csv: row 4, column mode: \"tabel\" is not a mode: expected fitting-room or table",
        "bad.csv: row 5, column rendezvous_url:",
        "bad.csv: row 6, column wifi_key: this looks like a secret written inline",
        "4 problems in 4 rows",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(
        !err.contains("hunter2"),
        "the inline secret is not repeated"
    );

    // A missing column, as JSON.
    std::fs::write(fleet.path("nocol.csv"), "device_id,store,location,mode,timezone,enrollment_key\nx,s,l,table,UTC,file:enrollment.key\n").unwrap();
    let out = fleet.run(&["validate", "nocol.csv", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["problems"][0]["row"], 1);
    assert_eq!(v["problems"][0]["column"], "rendezvous_url");
    assert!(
        v["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("missing column")
    );

    // A manifest that is not there is an environment error.
    assert_eq!(fleet.run(&["validate", "nope.csv"]).status.code(), Some(2));
    fleet.assert_no_secret_printed();
}

#[test]
fn a_tampered_seed_fails_verify() {
    let mut fleet = Fleet::new("tamper");
    let m = fleet.manifest(2);
    assert!(fleet.run(&["bundle", m.to_str().unwrap()]).status.success());
    let seed = fleet.path("seeds/store-000-unit-1/visavis-seed.json");
    let out = fleet.run(&["verify", seed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let text = std::fs::read_to_string(&seed).unwrap();
    std::fs::write(&seed, text.replace("Cabine 2", "Cabine 7")).unwrap();
    let out = fleet.run(&["verify", seed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("checksum does not match"),
        "{}",
        stderr(&out)
    );

    // Signed by someone else's key: caught when the fleet's key is given.
    let other = fleet.path("other.key");
    fleet.run(&["keygen", other.to_str().unwrap()]);
    let dir = fleet.path("seeds/store-000-unit-0");
    let out = fleet.run(&[
        "verify",
        dir.to_str().unwrap(),
        "--signing-key",
        &format!("file:{}", other.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not by this fleet's signing key"),
        "{}",
        stderr(&out)
    );
    fleet.assert_no_secret_printed();
}

#[test]
fn cards_are_checked_and_images_round_trip() {
    let mut fleet = Fleet::new("write");
    let m = fleet.manifest(1);
    assert!(fleet.run(&["bundle", m.to_str().unwrap()]).status.success());
    let id = "store-000-unit-0";

    // A folder on this machine's own disk is not a card.
    let target = fleet.path("not-a-card");
    std::fs::create_dir_all(&target).unwrap();
    let out = fleet.run(&["write", id, "--to", target.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("running system"), "{}", stderr(&out));
    assert!(!target.join("visavis-seed.json").exists());

    // Without --yes and without a terminal, nothing is written either.
    let out = fleet.run(&["write", id, "--to", target.to_str().unwrap(), "--force"]);
    assert_eq!(out.status.code(), Some(3));

    let out = fleet.run(&[
        "write",
        id,
        "--to",
        target.to_str().unwrap(),
        "--force",
        "--yes",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("read back and verified"));
    assert_eq!(
        std::fs::read(target.join("visavis-seed.json")).unwrap(),
        std::fs::read(fleet.path(&format!("seeds/{id}/visavis-seed.json"))).unwrap()
    );

    let image = fleet.path("unit.img");
    visavis_provisioning::image::create_blank(&image, 40).unwrap();
    let out = fleet.run(&["write", id, "--image", image.to_str().unwrap(), "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = fleet.run(&["verify", "--image", image.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["device_id"], id);
    fleet.assert_no_secret_printed();
}

#[test]
fn revoke_needs_a_yes_and_a_reachable_rendezvous() {
    let mut fleet = Fleet::new("revoke");
    let key = format!("file:{}", fleet.path("enrollment.key").display());
    let out = fleet.run(&[
        "revoke",
        "unit-1",
        "--rendezvous",
        "https://rdv.example.com",
        "--enrollment-key",
        &key,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = fleet.run(&[
        "revoke",
        "unit-1",
        "--rendezvous",
        "http://rdv.example.com",
        "--enrollment-key",
        &key,
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("TLS"), "{}", stderr(&out));
    fleet.assert_no_secret_printed();
}
