//! The `rendezvous` binary: readiness line, config errors and exit codes, SIGTERM.

#![allow(clippy::unwrap_used)] // a failure here is a failed test

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A fleet enrollment key file (0600) and a registry path, as config lines.
fn fleet_lines(name: &str) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let dir =
        std::env::temp_dir().join(format!("visavis-rendezvous-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("enrollment.key");
    std::fs::write(&key, format!("{}\n", "A".repeat(43))).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    format!(
        "enrollment_key_file = \"{}\"\ndatabase = \"{}\"\n",
        key.display(),
        dir.join("registry.sqlite3").display()
    )
}

fn config_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "visavis-rendezvous-{}-{name}.toml",
        std::process::id()
    ));
    std::fs::write(&path, text).expect("write a config file in the temp dir");
    path
}

fn rendezvous() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rendezvous"))
}

#[test]
fn an_unknown_key_is_named_and_exits_2() {
    let path = config_file(
        "unknown",
        &format!(
            "listen = \"127.0.0.1:0\"\nlisten_port = 3\n{}",
            fleet_lines("unknown")
        ),
    );
    let out = rendezvous().arg("--config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("listen_port"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_values_and_arguments_exit_2() {
    let path = config_file("public", "listen = \"0.0.0.0:0\"\n");
    let out = rendezvous().arg("--config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("listen:") && stderr.contains("tls_cert"),
        "{stderr}"
    );

    let out = rendezvous().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = rendezvous()
        .args(["--config", "/nonexistent/rendezvous.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/rendezvous.toml"));
}

#[test]
fn a_missing_enrollment_key_or_registry_folder_exits_2_and_says_what_to_do() {
    let path = config_file("nokey", "listen = \"127.0.0.1:0\"\n");
    let out = rendezvous().arg("--config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("enrollment_key_file") && stderr.contains("provision keygen"),
        "{stderr}"
    );

    let lines = fleet_lines("nodb").replace("registry.sqlite3", "missing/registry.sqlite3");
    let path = config_file("nodb", &format!("listen = \"127.0.0.1:0\"\n{lines}"));
    let out = rendezvous().arg("--config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("database:") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no readiness line");
}

#[test]
fn a_corrupt_or_unusable_registry_exits_2_before_the_readiness_line() {
    let lines = fleet_lines("corrupt");
    let db = lines
        .lines()
        .find_map(|l| l.strip_prefix("database = "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    std::fs::write(
        &db,
        "not an SQLite file, but long enough to look like a header to anyone\n",
    )
    .unwrap();
    let path = config_file("corrupt", &format!("listen = \"127.0.0.1:0\"\n{lines}"));
    let out = rendezvous().arg("--config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("database:")
            && stderr.contains(&db)
            && stderr.contains("SQLite database written by rendezvous"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no readiness line");

    // A folder where the file should be.
    std::fs::remove_file(&db).unwrap();
    std::fs::create_dir(&db).unwrap();
    let out = rendezvous().arg("--config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("database:") && stderr.contains(&db),
        "{stderr}"
    );
}

#[test]
fn prints_one_readiness_line_and_stops_on_sigterm() {
    let path = config_file(
        "ok",
        &format!("listen = \"127.0.0.1:0\"\n{}", fleet_lines("ok")),
    );
    let mut child = rendezvous()
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim_end()
        .strip_prefix("rendezvous: listening on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":0"), "{url}");

    let addr = url.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut tcp, &mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "exactly one stdout line");
}
