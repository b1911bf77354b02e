//! Listening in a guest's page: WebAudio measures the mean power of what a `<video>`
//! element's stream carries, together with the elements marked `data-heard-with` its id
//! (`remote`: what the guest hears, the room and the other guests' voices, which the page
//! plays unmixed in `<audio data-heard-with="remote">` elements; `local`: what they send),
//! optionally above a frequency only; or notes when sound starts in it, on the page's clock
//! ([`start_onsets`], [`onsets`]: the bench's mouth-to-ear figures). Every audio track is
//! a source of its own, all summed: a `MediaStreamAudioSourceNode` takes only the first
//! audio track of its stream.

use crate::error::{Error, Result, ResultExt};
use crate::guest::Guest;

/// Mean power (dBFS) of each element's audio, with that of the elements heard with it
/// (those present at the start), over `secs`; with `highpass`, three high-pass filters in
/// a row at that frequency come first (60 dB down two octaves below).
const LISTEN_SCRIPT: &str = r#"
const [ids, secs, highpass] = arguments;
const done = arguments[arguments.length - 1];
const ctx = new AudioContext();
const tracksOf = (el) => (el && el.srcObject ? el.srcObject.getAudioTracks() : []);
const meter = (id) => {
  const own = tracksOf(document.getElementById(id));
  if (own.length === 0) return null;
  const heardWith = [...document.querySelectorAll('[data-heard-with="' + id + '"]')].flatMap(tracksOf);
  const input = ctx.createGain();
  const connected = new Set();
  for (const track of [...own, ...heardWith]) {
    if (connected.has(track.id)) continue;
    connected.add(track.id);
    ctx.createMediaStreamSource(new MediaStream([track])).connect(input);
  }
  let node = input;
  for (let i = 0; highpass && i < 3; i++) {
    const hp = ctx.createBiquadFilter();
    hp.type = 'highpass';
    hp.frequency.value = highpass;
    node.connect(hp);
    node = hp;
  }
  const proc = ctx.createScriptProcessor(4096, 1, 1);
  const acc = { sum: 0, n: 0 };
  proc.onaudioprocess = (e) => {
    const x = e.inputBuffer.getChannelData(0);
    for (let i = 0; i < x.length; i++) acc.sum += x[i] * x[i];
    acc.n += x.length;
  };
  const mute = ctx.createGain();
  mute.gain.value = 0;
  node.connect(proc);
  proc.connect(mute);
  mute.connect(ctx.destination);
  return acc;
};
const db = (acc) => (acc && acc.n > 0 ? 10 * Math.log10(acc.sum / acc.n + 1e-20) : null);
ctx.resume().then(() => {
  const meters = ids.map(meter);
  const missing = ids.filter((_, i) => !meters[i]);
  if (missing.length > 0) {
    done({ error: 'no audio track on #' + missing.join(', #') });
    return;
  }
  setTimeout(() => {
    done({ levels: meters.map(db) });
    ctx.close();
  }, secs * 1000);
}, (e) => done({ error: String(e) }));
"#;

/// The mean power (dBFS) of the audio of each element of `ids` in `guest`'s page over
/// `secs` seconds, all measured at once, each with the elements heard with it (`remote`:
/// what the guest hears, the room and the other guests' voices); with `highpass` (Hz),
/// only above it. An element of `ids` without an audio track is an error; no element heard
/// with it is not.
pub async fn levels(
    guest: &Guest,
    ids: &[&str],
    secs: u32,
    highpass: Option<f64>,
) -> Result<Vec<f64>> {
    let reply = guest
        .webdriver()
        .execute_async(
            LISTEN_SCRIPT,
            vec![ids.into(), secs.into(), highpass.unwrap_or(0.0).into()],
        )
        .await
        .context("listening in the guest's page")?;
    if let Some(e) = reply.get("error") {
        return Err(Error::new(format!("listening in the guest's page: {e}")));
    }
    let levels: Option<Vec<f64>> = reply
        .get("levels")
        .and_then(serde_json::Value::as_array)
        .map(|l| l.iter().filter_map(serde_json::Value::as_f64).collect());
    match levels {
        Some(l) if l.len() == ids.len() => Ok(l),
        _ => Err(Error::new(format!("the page measured nothing: {reply}"))),
    }
}

/// Note when sound starts in an element's audio, with that of the elements heard with it
/// (looked for every 200 ms: a voice's element comes when its guest first talks): the
/// first sample at or above `loud` (linear, full scale 1) after `quietMs` without any. Kept in
/// `window.__visavisOnsets[id]` as Unix times in ms: the sample's time in the audio
/// context, on the page's clock through `getOutputTimestamp` (which pairs a context time
/// with the `performance` time it is played at: the output's latency is in it, and noted
/// beside). A `ScriptProcessor` of 256 frames hands each input block over with the output
/// block after it: its start is taken as one block before that output's time, so a start
/// is placed to within a block (5.3 ms at 48 kHz).
const ONSETS_SCRIPT: &str = r#"
const [id, loud, quietMs] = arguments;
const tracksOf = (el) => (el && el.srcObject ? el.srcObject.getAudioTracks() : []);
if (tracksOf(document.getElementById(id)).length === 0) return 'no audio track on #' + id;
const ctx = new AudioContext();
const n = 256;
const proc = ctx.createScriptProcessor(n, 1, 1);
const rec = { onsets: [], last: -Infinity, outputLatency: 0 };
window.__visavisOnsets = window.__visavisOnsets || {};
const old = window.__visavisOnsets[id];
if (old) {
  clearInterval(old.poll);
  if (old.ctx) old.ctx.close();
}
window.__visavisOnsets[id] = rec;
proc.onaudioprocess = (e) => {
  const x = e.inputBuffer.getChannelData(0);
  const out = ctx.getOutputTimestamp();
  rec.outputLatency = (ctx.outputLatency || 0) + (ctx.baseLatency || 0);
  const t0 = e.playbackTime - n / ctx.sampleRate;
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i]) < loud) continue;
    const t = t0 + i / ctx.sampleRate;
    if (t > rec.last + quietMs / 1000) {
      rec.onsets.push(performance.timeOrigin + out.performanceTime + (t - out.contextTime) * 1000);
    }
    rec.last = t;
  }
};
const mute = ctx.createGain();
mute.gain.value = 0;
proc.connect(mute);
mute.connect(ctx.destination);
const connected = new Set();
const connect = () => {
  const heardWith = document.querySelectorAll('[data-heard-with="' + id + '"]');
  for (const track of [document.getElementById(id), ...heardWith].flatMap(tracksOf)) {
    if (connected.has(track.id)) continue;
    connected.add(track.id);
    ctx.createMediaStreamSource(new MediaStream([track])).connect(proc);
  }
};
connect();
rec.ctx = ctx;
rec.poll = setInterval(connect, 200);
ctx.resume();
return 'ok';
"#;

/// Start noting when sound starts in the audio of `guest`'s element `id` and of the
/// elements heard with it, those there now and those to come (`remote`: what the guest
/// hears, the room and the other guests' voices; `local`: what they say): at or above
/// `loud_dbfs` after `quiet_ms` of less. Read with [`onsets`]; starting again on the same
/// `id` starts afresh.
pub async fn start_onsets(guest: &Guest, id: &str, loud_dbfs: f64, quiet_ms: f64) -> Result<()> {
    let loud = 10f64.powf(loud_dbfs / 20.0);
    let reply = guest
        .webdriver()
        .execute(ONSETS_SCRIPT, vec![id.into(), loud.into(), quiet_ms.into()])
        .await
        .context("listening for sound in the guest's page")?;
    if reply != "ok" {
        return Err(Error::new(format!(
            "listening for sound in the guest's page: {reply}"
        )));
    }
    Ok(())
}

/// What [`onsets`] read in a page.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Onsets {
    /// When sound started, Unix time in ms, as the page's audio output would play it.
    pub onsets: Vec<f64>,
    /// The page's audio output latency and its audio context's own (`outputLatency` +
    /// `baseLatency`), in seconds: what of each start is the output's.
    pub output_latency: f64,
}

/// When sound started in `guest`'s element `id` since [`start_onsets`].
pub async fn onsets(guest: &Guest, id: &str) -> Result<Onsets> {
    let reply = guest
        .webdriver()
        .execute(
            "const r = (window.__visavisOnsets || {})[arguments[0]]; \
             return r ? { onsets: r.onsets, outputLatency: r.outputLatency } : null;",
            vec![id.into()],
        )
        .await
        .context("reading when sound started in the guest's page")?;
    if reply.is_null() {
        return Err(Error::new(format!(
            "nobody listened on #{id} in the guest's page"
        )));
    }
    serde_json::from_value(reply.clone()).context(format!(
        "when sound started in the guest's page: unexpected {reply}"
    ))
}
