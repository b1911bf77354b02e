//! Guests hear each other through the unit: three real Chromium guests at a table. Camille
//! speaks (Chromium's fake microphone plays espeak-ng speech from a file), Jo and Ana are
//! silent (a file of silence). Each page measures, with WebAudio on what it receives, the
//! sound above 1.5 kHz: the unit's own test microphone is a 440 Hz tone, filtered out, so
//! what is left is the guests' voices. Jo and Ana hear Camille; Camille does not hear
//! herself; Jo's page shows Camille talking. Léo knocks and is left waiting, speaking too:
//! nothing of him reaches anyone (Camille would hear him), he has no mix and no voice in
//! the unit, and nothing reaches him. Then Camille leaves: her voice and her mix are gone
//! from the unit, and the others still hear the room. Camille's voice reaches Jo and Ana
//! unmixed, in their pages' voice slots, and only while she talks (Jo's and Ana's silence
//! goes to nobody); their mixes from the unit carry the room alone, encoded once for all.
//!
//! Needs Debian's `espeak-ng` and Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;
use visavis_api::local::MetricsSnapshot;
use visavis_e2e::listen;
use visavis_e2e::table::Table;
use visavis_e2e::wait::{self, Check};
use visavis_e2e::{
    Appliance, ApplianceConfig, Error, Guest, PageState, Result, ResultExt, timeouts,
};

/// How long each page listens, in seconds.
const LISTEN_SECS: u32 = 6;

/// Speech for Camille's fake microphone: a WAV file from espeak-ng.
fn speech(dir: &Path) -> Result<PathBuf> {
    let wav = dir.join("camille.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", "fr", "-s", "150", "-w"])
        .arg(&wav)
        .arg(
            "Coucou tout le monde! Vous m'entendez? Jo, tu as vu la robe verte? \
             Ana, on se voit dimanche chez mamie.",
        )
        .status()
        .context("could not run espeak-ng (Debian package espeak-ng)")?;
    if !status.success() {
        return Err(Error::new("espeak-ng could not make Camille's speech"));
    }
    Ok(wav)
}

/// Wait until the unit makes `mixes` guests' own mixes out of `voices` guests' voices.
async fn mixes(unit: &Appliance, mixes: u64, voices: u64) -> Result<MetricsSnapshot> {
    wait::until(
        &format!("{mixes} guests' own mixes of {voices} voices"),
        timeouts::media(),
        || async {
            let m = unit.metrics()?;
            Ok(if m.own_mixes == mixes && m.group_voices == voices {
                Check::Ready(m)
            } else {
                Check::NotYet(format!("{} mixes, {} voices", m.own_mixes, m.group_voices))
            })
        },
    )
    .await
}

/// What `guest` hears above 1.5 kHz (the unit's 440 Hz tone 60 dB down), in dBFS.
async fn voices_heard(guest: &Guest, name: &str) -> Result<f64> {
    let level = listen::levels(guest, &["remote"], LISTEN_SECS, Some(1500.0))
        .await
        .context(format!("listening in {name}'s page"))?[0];
    eprintln!("{name} hears the guests' voices at {level:.1} dBFS");
    Ok(level)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_hear_each_other_and_never_themselves() -> Result<()> {
    let dir = tempfile::tempdir().context("could not create a temporary folder")?;
    let quiet = dir.path().join("silence.wav");
    visavis_e2e::wav::silence(&quiet)?;
    let talk = speech(dir.path())?;
    let fake_mic = |wav: &Path| {
        vec![format!(
            "--use-file-for-fake-audio-capture={}",
            wav.display()
        )]
    };
    let mut table = Table::start(
        ApplianceConfig {
            // Gain control would lift the test tone until it clips, and its harmonics reach
            // above 1.5 kHz.
            audio_extra: "gain_control = false\n".into(),
            ..Default::default()
        },
        &[
            ("Camille", fake_mic(&talk)),
            ("Jo", fake_mic(&quiet)),
            ("Ana", fake_mic(&quiet)),
        ],
    )
    .await?;
    let guests = std::mem::take(&mut table.guests);
    let (unit, url, driver) = (&table.unit, &table.url, &table.driver);
    // Léo knocks, speaking, and nobody lets him in.
    let leo = driver.new_guest_with_args(&fake_mic(&talk)).await?;
    leo.open(url).await?;
    leo.join("Léo").await?;
    leo.wait_for_state(PageState::Waiting, timeouts::step())
        .await?;
    // Every guest of the call hears the others in a mix of their own; Léo has none, and his
    // voice is in nobody's.
    mixes(unit, 3, 3).await?;
    // Jo's page shows who is talking: Camille.
    wait::until(
        "Jo's page to show Camille talking",
        timeouts::media(),
        || async {
            let talking = guests[1]
                .eval(
                    "const p = document.getElementById('talking'); \
                 return p.hidden ? null : document.getElementById('talking-text').textContent;",
                )
                .await?;
            Ok(if talking.as_str() == Some("Camille") {
                Check::Ready(())
            } else {
                Check::NotYet(format!("talking pill {talking}"))
            })
        },
    )
    .await?;
    wait::until(
        "the unit to hear Camille for a few seconds",
        timeouts::media(),
        || async {
            let m = unit.metrics()?;
            let packets = m
                .guests
                .iter()
                .find(|g| g.name == "Camille")
                .map_or(0, |g| g.audio_in.packets);
            Ok(if packets >= 150 {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{packets} audio packets from Camille"))
            })
        },
    )
    .await?;
    let before = unit.metrics()?;
    let listening = std::time::Instant::now();
    let (camille, jo, ana) = tokio::join!(
        voices_heard(&guests[0], "Camille"),
        voices_heard(&guests[1], "Jo"),
        voices_heard(&guests[2], "Ana"),
    );
    let (camille, jo, ana) = (camille?, jo?, ana?);
    // Their mixes carry the room alone: the same sound, encoded once for all three.
    let after = unit.metrics()?;
    let secs = listening.elapsed().as_secs_f64();
    // Their pages play the others' voices unmixed: Camille's reaches Jo and Ana while she
    // talks, and the silent ones' nobody (all three forwarded: about 2 × 3 × 50 a second).
    let forwarded = after.forwarded_voice_packets - before.forwarded_voice_packets;
    eprintln!("voice packets forwarded while the pages listened: {forwarded} in {secs:.1} s");
    assert!(
        forwarded >= 100 && (forwarded as f64) <= 2.0 * 50.0 * (secs + 1.0),
        "Camille's voice alone is forwarded, to two pages: {forwarded} packets in {secs:.1} s"
    );
    // The uplink plans 60 kbit/s for each voice forwarded (`VOICE_BPS` in
    // appliance/src/forward/voices.rs): a browser's voice must fit, with what goes round
    // each packet on the wire (the sender's own header extensions, about 8 bytes; SRTP's
    // tag 10, UDP 8, IPv4 20), at 50 packets a second.
    let bytes = after.forwarded_voice_bytes - before.forwarded_voice_bytes;
    let per_packet = bytes as f64 / forwarded as f64;
    let on_wire_bps = (per_packet + 46.0) * 8.0 * 50.0;
    eprintln!(
        "forwarded voice: {per_packet:.0} bytes of RTP a packet, about {:.1} kbit/s a stream on the wire",
        on_wire_bps / 1000.0
    );
    assert!(
        per_packet > 12.0,
        "each forwarded voice packet is counted with its header and payload: {bytes} bytes"
    );
    assert!(
        on_wire_bps <= 60_000.0,
        "a browser's voice takes more than the 60 kbit/s the uplink plans for it: \
         {per_packet:.0} bytes a packet, {on_wire_bps:.0} bit/s"
    );
    let sent = after.own_mix_frames_encoded - before.own_mix_frames_encoded;
    let shared = after.own_mix_frames_shared - before.own_mix_frames_shared;
    eprintln!("the own mixes' packets while the pages listened: {shared} of {sent} shared");
    assert!(
        sent >= 300 && shared * 3 + 30 >= sent * 2,
        "the silent guests share one encode: {shared} of {sent} packets"
    );
    // Where the room's sound was, asked only should a guest hear nothing (the answer is
    // a clue, not part of the test: a slow reply does not fail it).
    let room = || match unit.metrics() {
        Ok(m) => format!(
            "the unit: microphone {} buffers, speaker {}, room Opus {}, own mixes' Opus {}",
            m.room_mic_buffers,
            m.room_speaker_buffers,
            m.audio_frames_encoded,
            m.own_mix_frames_encoded
        ),
        Err(e) => format!("the unit's metrics: {e}"),
    };
    for (name, level) in [("Jo", jo), ("Ana", ana)] {
        // Seen: the others at -27 to -32 dBFS, Camille at -50 to -55 (what is left of the
        // room's tone). Without her voice forwarded, or with it in her own slot or mix, all
        // three would hear alike.
        assert!(
            level > -45.0,
            "{name} hears Camille's voice ({level:.1} dBFS above 1.5 kHz; {})",
            room()
        );
        assert!(
            level - camille >= 10.0,
            "Camille does not hear herself: {camille:.1} dBFS, {name} {level:.1} dBFS"
        );
    }

    assert_eq!(
        leo.state().await?.as_deref(),
        Some(PageState::Waiting.as_str()),
        "Léo is still waiting"
    );
    let nothing = listen::levels(&leo, &["remote"], 1, None).await;
    assert!(
        nothing.is_err(),
        "nothing reaches a waiting guest: {nothing:?}"
    );
    let m = unit.metrics()?;
    assert_eq!((m.own_mixes, m.group_voices), (3, 3), "{m:?}");
    leo.close().await?;

    // Camille leaves: her voice leaves Jo's and Ana's mixes, and her own mix goes.
    let mut guests = guests.into_iter();
    let camille = guests.next().ok_or_else(|| Error::new("no Camille"))?;
    camille.leave().await?;
    let m = mixes(unit, 2, 2).await?;
    assert!(
        m.guests.iter().all(|g| g.name != "Camille"),
        "Camille is gone from the call: {:?}",
        m.guests
    );
    // The others still get the room's sound, from their own mixes.
    let before = m.own_mix_frames_encoded;
    let later = wait::until("the others' mixes to go on", timeouts::media(), || async {
        let m = unit.metrics()?;
        Ok(if m.own_mix_frames_encoded >= before + 100 {
            Check::Ready(m)
        } else {
            Check::NotYet(format!("{} packets", m.own_mix_frames_encoded))
        })
    })
    .await?;
    assert!(later.guests.iter().all(|g| g.audio_out.frames > 0));
    // Her voice went from Jo's and Ana's slots with her (theirs, silent, never came).
    assert_eq!(
        later.forwarded_voice_packets, m.forwarded_voice_packets,
        "no voice forwarded once Camille left"
    );
    for guest in guests {
        guest.close().await?;
    }
    camille.close().await?;
    Ok(())
}
