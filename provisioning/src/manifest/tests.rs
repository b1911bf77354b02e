use super::*;

fn rows(csv: &str) -> Vec<RawRow> {
    load_csv(csv).unwrap()
}

#[test]
fn urls_time_zones_and_turn_uris() {
    assert!(check_url("https://rdv.example.com").is_ok());
    assert!(check_url("https://rdv.example.com:8443/").is_ok());
    assert!(check_url("http://127.0.0.1:4000").is_ok());
    let err = check_url("http://rdv.example.com").unwrap_err();
    assert_eq!(err, UrlError::PlainHttp("http://rdv.example.com".into()));
    assert!(err.to_string().contains("TLS"), "{err}");
    assert_eq!(
        check_url("https://rdv.example.com/path"),
        Err(UrlError::NotJustHost("https://rdv.example.com/path".into()))
    );
    assert_eq!(
        check_url("rdv.example.com"),
        Err(UrlError::NotAUrl("rdv.example.com".into()))
    );
    assert!(check_turn_uri("turns:turn.example.com:443?transport=tcp").is_ok());
    assert_eq!(check_turn_uri("stun:x"), Err(BadTurnUri("stun:x".into())));
}

#[test]
fn a_missing_or_unknown_column_is_named_in_the_header() {
    let problems = load_csv("device_id,store,location,mode,timezone,colour\nx,s,l,table,UTC,red\n")
        .unwrap_err();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|p| p.starts_with("row 1, column colour: unknown column")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|p| p.starts_with("row 1, column rendezvous_url: missing column")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|p| p.starts_with("row 1, column enrollment_key: missing column")),
        "{text:?}"
    );
}

#[test]
fn toml_defaults_fill_every_device() {
    let rows = load_toml(
        "[defaults]\nstore = \"Paris 9e\"\nmode = \"table\"\n\n[[device]]\ndevice_id = \"t-1\"\n\n[[device]]\ndevice_id = \"t-2\"\nmode = \"fitting-room\"\n",
    )
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].cells["store"], "Paris 9e");
    assert_eq!(rows[0].cells["mode"], "table");
    assert_eq!(rows[1].cells["mode"], "fitting-room");
    assert_eq!(rows[1].row, 2);
}

#[test]
fn empty_required_cells_and_bad_values_are_all_reported() {
    let (devices, problems) = validate(&rows(
        "device_id,store,location,mode,timezone,rendezvous_url,enrollment_key\n\
         ,Paris,Cabine 1,tabel,Paris,ftp://x,env:VISAVIS_TEST_UNSET_KEY\n",
    ));
    assert!(devices.is_empty());
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    for expected in [
        "row 2, column device_id: empty",
        "row 2, column mode: \"tabel\" is not a mode",
        "row 2, column timezone:",
        "row 2, column rendezvous_url:",
        "row 2, column enrollment_key: the environment variable VISAVIS_TEST_UNSET_KEY is not set",
    ] {
        assert!(
            text.iter().any(|p| p.starts_with(expected)),
            "{expected} not in {text:?}"
        );
    }
}

#[test]
fn a_staff_pin_must_be_four_to_eight_digits_and_is_never_repeated() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let pin = dir.path().join("pin");
    std::fs::write(&pin, "12ab\n").unwrap();
    std::fs::set_permissions(&pin, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (_, problems) = validate(&rows(&format!(
        "device_id,store,location,mode,timezone,rendezvous_url,enrollment_key,staff_pin\n\
         u1,Paris,Cabine 1,table,UTC,https://rdv.example.com,env:VISAVIS_TEST_UNSET_KEY,file:{}\n",
        pin.display()
    )));
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let expected = format!(
        "row 2, column staff_pin: the PIN in file:{} is not 4 to 8 digits",
        pin.display()
    );
    assert!(text.contains(&expected), "{expected} not in {text:?}");
    assert!(!text.iter().any(|p| p.contains("12ab")), "{text:?}");
}

/// A unit refuses a TURN secret its relays would not take seriously; the manifest check
/// says so first, without printing it.
#[test]
fn a_short_turn_secret_is_refused_without_being_shown() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("turn");
    std::fs::write(&secret, "tiny-secret\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (_, problems) = validate(&rows(&format!(
        "device_id,store,location,mode,timezone,rendezvous_url,enrollment_key,turn_uris,turn_secret\n\
         u1,Paris,Cabine 1,table,UTC,https://rdv.example.com,env:VISAVIS_TEST_UNSET_KEY,turns:t.example.com:443,file:{}\n",
        secret.display()
    )));
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|p| p.starts_with("row 2, column turn_secret:") && p.contains("shorter than 16")),
        "{text:?}"
    );
    assert!(!text.iter().any(|p| p.contains("tiny-secret")), "{text:?}");
}

/// What a spreadsheet in a French locale writes for "CSV": `;` between cells, Windows-1252
/// text, CRLF line ends, headers as typed; and its "CSV UTF-8" with a byte order mark.
#[test]
fn a_french_spreadsheet_export_reads_as_meant() {
    let header = "device_id;store;location;mode;timezone;rendezvous_url;enrollment_key\r\n";
    let line = "cab-1;Paris 9e;Cabine Désirée;fitting-room;Europe/Paris;https://rdv.example.com;env:KEY\r\n";
    let mut cp1252: Vec<u8> = header.bytes().collect();
    for c in line.chars() {
        cp1252.push(if c == 'é' { 0xE9 } else { c as u8 });
    }
    let text = decode(&cp1252);
    let rows = rows(&text);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].row, 2);
    assert_eq!(rows[0].cells["location"], "Cabine Désirée");
    assert_eq!(rows[0].cells["rendezvous_url"], "https://rdv.example.com");

    let utf8 = format!("\u{FEFF}{}{line}", header.to_uppercase());
    let rows = load_csv(&decode(utf8.as_bytes())).unwrap();
    assert_eq!(
        rows[0].cells["device_id"], "cab-1",
        "BOM and upper-case headers"
    );
    let tabs = format!("{}{}", header.replace(';', "\t"), line.replace(';', "\t"));
    assert_eq!(load_csv(&tabs).unwrap()[0].cells["mode"], "fitting-room");
}

#[test]
fn rows_are_numbered_as_the_spreadsheet_shows_them_and_ids_differing_in_case_clash() {
    let csv = "device_id,store,location,mode,timezone,rendezvous_url,enrollment_key\n\
               cab-1,\"Paris\n9e\",l,table,UTC,https://r.example.com,env:K\n\
               CAB-1,s,l,table,UTC,https://r.example.com,env:K\n";
    let rows = rows(csv);
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [2, 3]);
    let (_, problems) = validate(&rows);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|p| p.starts_with("row 3, column device_id:")
                && p.contains("already used on row 2")),
        "{text:?}"
    );
}

#[test]
fn a_utf16_export_is_refused_with_one_message_saying_how_to_export() {
    let dir = std::env::temp_dir().join(format!("visavis-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("units.csv");
    let mut bytes = vec![0xFF, 0xFE];
    for u in "device_id\tstore\n".encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(&path, bytes).unwrap();
    let problems = load(&path).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("CSV UTF-8"), "{problems:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
