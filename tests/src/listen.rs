//! Listening in a guest's page: WebAudio measures the mean power of what a `<video>`
//! element's stream carries (the page's remote stream is what the guest hears, its local
//! one what they send), optionally above a frequency only.

use crate::error::{Error, Result, ResultExt};
use crate::guest::Guest;

/// Mean power (dBFS) of each element's audio over `secs`; with `highpass`, three
/// high-pass filters in a row at that frequency come first (60 dB down two octaves below).
const LISTEN_SCRIPT: &str = r#"
const [ids, secs, highpass] = arguments;
const done = arguments[arguments.length - 1];
const ctx = new AudioContext();
const meter = (id) => {
  const video = document.getElementById(id);
  const stream = video && video.srcObject;
  const tracks = stream ? stream.getAudioTracks() : [];
  if (tracks.length === 0) return null;
  let node = ctx.createMediaStreamSource(new MediaStream(tracks));
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
/// `secs` seconds, all measured at once; with `highpass` (Hz), only above it.
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
