//! How long `validate` and `bundle` take for a fleet of 300 and of 10 000 units.
//!
//! `cargo run --release -p visavis-provisioning --example bench` (or `cargo xtask bench`).
//! Runs the real `provision` binary next to this example on generated manifests; a cold
//! bundle writes every seed into an empty folder, a warm one is the re-run that changes
//! nothing. Reported, never enforced.

#![allow(clippy::unwrap_used)] // a benchmark: a failure is a bug to look at

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn provision() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/examples/bench → target/<profile>/provision
    exe.parent().unwrap().parent().unwrap().join("provision")
}

fn run(dir: &Path, args: &[&str]) -> f64 {
    let t = Instant::now();
    let out = Command::new(provision())
        .args(args)
        .current_dir(dir)
        .env("BENCH_WIFI_KEY", "bench-wifi-key-123")
        .env("VISAVIS_SIGNING_KEY", "file:signing.key")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed().as_secs_f64()
}

fn main() {
    assert!(
        provision().is_file(),
        "build the binary first: cargo build --release -p visavis-provisioning"
    );
    println!("| units | validate | bundle (cold) | bundle (re-run) | per unit, cold |");
    println!("|---|---|---|---|---|");
    for n in [300usize, 10_000] {
        let dir = std::env::temp_dir().join(format!(
            "visavis-bench-provision-{n}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        run(&dir, &["keygen", "signing.key"]);
        run(&dir, &["keygen", "enrollment.key"]);
        std::fs::write(dir.join("turn.secret"), "turn-secret-0123456789abcdef\n").unwrap();
        std::fs::set_permissions(
            dir.join("turn.secret"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let mut csv = String::from(
            "device_id,store,location,mode,timezone,rendezvous_url,wifi_ssid,wifi_country,wifi_key,turn_uris,turn_secret,enrollment_key\n",
        );
        for i in 0..n {
            csv.push_str(&format!(
                "s{:05}-u{},Store {},Cabine {},fitting-room,Europe/Paris,https://rdv.example.com,Shop,FR,env:BENCH_WIFI_KEY,turns:turn.example.com:443,file:turn.secret,file:enrollment.key\n",
                i / 4, i % 4, i / 4, i % 4
            ));
        }
        std::fs::write(dir.join("fleet.csv"), csv).unwrap();
        let validate = run(&dir, &["validate", "fleet.csv"]);
        let cold = run(&dir, &["bundle", "fleet.csv"]);
        let warm = run(&dir, &["bundle", "fleet.csv"]);
        println!(
            "| {n} | {:.3} s | {:.3} s | {:.3} s | {:.2} ms |",
            validate,
            cold,
            warm,
            cold * 1000.0 / n as f64
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
