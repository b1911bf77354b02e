//! Which path a guest's media took: the ICE candidate pair its browser selected, read from
//! `RTCPeerConnection.getStats()`.
//!
//! The guest page keeps its peer connection to itself, so the test asks Chromium (through
//! chromedriver's DevTools endpoint) to run a small script before any page script: it
//! records every `RTCPeerConnection` the page makes. Call
//! [`Guest::record_peer_connections`] before [`Guest::open`].

use crate::error::{Error, Result, ResultExt};
use crate::guest::Guest;
use serde::Deserialize;

/// Runs first in every document: `new RTCPeerConnection(...)` also lands in
/// `window.__visavisPeerConnections`, and `window.__visavisTimes` notes (page time, ms)
/// when the guest pressed Join, when the first peer connection was made and when it first
/// connected; and how many times the page restarted ICE (`restartIce()`).
const RECORD_SCRIPT: &str = r#"(() => {
  const Native = window.RTCPeerConnection;
  if (!Native || window.__visavisPeerConnections) return;
  const made = [];
  const times = {};
  Object.defineProperty(window, '__visavisPeerConnections', { value: made });
  Object.defineProperty(window, '__visavisTimes', { value: times });
  document.addEventListener('click', (e) => {
    if (times.join === undefined && e.target && e.target.id === 'join') times.join = performance.now();
  }, true);
  class Recorded extends Native {
    restartIce() {
      times.restarts = (times.restarts || 0) + 1;
      return super.restartIce();
    }
    constructor(...args) {
      super(...args);
      made.push(this);
      if (times.peer === undefined) times.peer = performance.now();
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected' && times.connected === undefined) {
          times.connected = performance.now();
        }
      });
    }
  }
  window.RTCPeerConnection = Recorded;
})();"#;

/// Resolves with the page's times (ms since it began loading) and the time now.
const TIMES_SCRIPT: &str = r#"
const done = arguments[arguments.length - 1];
const t = window.__visavisTimes || {};
const nav = performance.getEntriesByType('navigation')[0];
done({ ok: { loaded: nav ? nav.loadEventEnd : null, join: t.join ?? null,
  peer: t.peer ?? null, connected: t.connected ?? null, restarts: t.restarts ?? 0,
  now: performance.now() } });
"#;

/// Where a guest's wait for the call went, in ms of the page's own clock (from the moment
/// it began loading); each `None` until it happened.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct PageTimes {
    /// The page loaded (its `load` event done).
    pub loaded: Option<f64>,
    /// The guest pressed Join.
    pub join: Option<f64>,
    /// The page made its peer connection (the guest was let in and the unit's offer came).
    pub peer: Option<f64>,
    /// That connection first reached `connected` (ICE and DTLS done).
    pub connected: Option<f64>,
    /// How many times the page restarted ICE (after its connection went `disconnected` or
    /// `failed`).
    pub restarts: u32,
    /// When these were read.
    pub now: f64,
}

/// A `getStats()` script on the page's last recorded peer connection: `$body` runs with it
/// as `pc` and resolves through `done`; without one, the script resolves with `{error}`.
macro_rules! with_pc {
    ($body:literal) => {
        concat!(
            r#"
const done = arguments[arguments.length - 1];
const made = window.__visavisPeerConnections;
const pc = made && made[made.length - 1];
if (!pc) {
  done({ error: "no RTCPeerConnection was recorded: call record_peer_connections() before open()" });
} else {"#,
            $body,
            "}\n"
        )
    };
}

/// Resolves with `{ok: pair-or-null}` or `{error}`.
const PAIR_SCRIPT: &str = with_pc!(
    r#"
  pc.getStats().then((report) => {
    let pair = null;
    report.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
    });
    if (!pair) {
      report.forEach((s) => {
        if (s.type === 'candidate-pair' && s.state === 'succeeded' && (s.nominated || s.selected)) pair = s;
      });
    }
    if (!pair) { done({ ok: null }); return; }
    const l = report.get(pair.localCandidateId) || {};
    const r = report.get(pair.remoteCandidateId) || {};
    done({ ok: {
      state: pair.state,
      nominated: Boolean(pair.nominated),
      localType: l.candidateType || '',
      localProtocol: l.protocol || '',
      localAddress: `${l.address}:${l.port}`,
      relayProtocol: l.relayProtocol || null,
      remoteType: r.candidateType || '',
      remoteAddress: `${r.address}:${r.port}`,
    } });
  }, (e) => done({ error: String(e) }));
"#
);

/// Resolves with `{ok: {selected, received, total}}` (the selected pair's path, "local ->
/// remote" addresses; the bytes received on every path; and the RTP bytes received in all,
/// headers included) or `{error}`.
const PAIR_BYTES_SCRIPT: &str = with_pc!(
    r#"
  pc.getStats().then((report) => {
    // A pair is named by its addresses: the browser may keep two pairs on one path (a
    // peer-reflexive remote candidate, then the same address signalled), and count a
    // path's bytes on either.
    const path = (pair) => {
      const l = report.get(pair.localCandidateId) || {};
      const r = report.get(pair.remoteCandidateId) || {};
      return `${l.address}:${l.port} -> ${r.address}:${r.port}`;
    };
    let selected = null;
    let total = 0;
    const received = {};
    report.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = report.get(s.selectedCandidatePairId);
        if (pair) selected = path(pair);
      }
      if (s.type === 'inbound-rtp') total += (s.bytesReceived || 0) + (s.headerBytesReceived || 0);
      if (s.type === 'candidate-pair') received[path(s)] = (received[path(s)] || 0) + (s.bytesReceived || 0);
    });
    done({ ok: { selected, received, total } });
  }, (e) => done({ error: String(e) }));
"#
);

/// Resolves with `{ok: text}`: the connection's ICE states and every candidate pair (state,
/// nominated, local and remote candidates, checks sent and answered), or `{error}`.
const ICE_REPORT_SCRIPT: &str = with_pc!(
    r#"
  pc.getStats().then((report) => {
    const lines = [`ice ${pc.iceConnectionState}, connection ${pc.connectionState}, gathering ${pc.iceGatheringState}`];
    const candidate = (id) => {
      const c = report.get(id) || {};
      return `${c.candidateType || '?'} ${c.protocol || '?'}${c.relayProtocol ? '/' + c.relayProtocol : ''} ${c.address}:${c.port}`;
    };
    report.forEach((s) => {
      if (s.type !== 'candidate-pair') return;
      lines.push(`${s.state}${s.nominated ? ' nominated' : ''}: ${candidate(s.localCandidateId)} -> ` +
        `${candidate(s.remoteCandidateId)}, checks ${s.requestsSent || 0} sent, ` +
        `${s.responsesReceived || 0} answered, ${s.requestsReceived || 0} received`);
    });
    done({ ok: lines.join('\n') });
  }, (e) => done({ error: String(e) }));
"#
);

/// The bytes a guest's browser received so far, in all and on each of its candidate pairs,
/// and which pair it selected: where the other side really sends. (What comes through the
/// guest's relay as TURN data indications counts on no pair, nor for the transport: the
/// total is the RTP streams'.)
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PairBytes {
    /// The selected pair's path ("local -> remote" addresses); `None` while there is none.
    pub selected: Option<String>,
    /// Bytes received, by path (the pairs on one path together).
    pub received: std::collections::BTreeMap<String, u64>,
    /// RTP bytes received in all, headers included (a pair also counts SRTP's tags and RTCP).
    pub total: u64,
}

impl PairBytes {
    /// Of the bytes received since `before`: how many came on the pair selected now, and how
    /// many in all.
    pub fn since(&self, before: &PairBytes) -> (u64, u64) {
        let on_selected = self.selected.as_ref().map_or(0, |id| {
            let was = before.received.get(id).copied().unwrap_or(0);
            self.received
                .get(id)
                .copied()
                .unwrap_or(0)
                .saturating_sub(was)
        });
        (on_selected, self.total.saturating_sub(before.total))
    }
}

/// An ICE candidate's type (RTCIceCandidateType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CandidateType {
    Host,
    Srflx,
    Prflx,
    Relay,
    #[serde(other)]
    Unknown,
}

impl CandidateType {
    /// Server- or peer-reflexive: an address a NAT made.
    pub fn is_reflexive(self) -> bool {
        matches!(self, CandidateType::Srflx | CandidateType::Prflx)
    }
}

/// The candidate pair a guest's browser selected.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidatePair {
    pub state: String,
    pub nominated: bool,
    pub local_type: CandidateType,
    /// `udp` or `tcp`.
    pub local_protocol: String,
    pub local_address: String,
    /// For a relay candidate: how the browser reaches the TURN server (`udp`, `tcp`, `tls`).
    pub relay_protocol: Option<String>,
    pub remote_type: CandidateType,
    pub remote_address: String,
}

impl CandidatePair {
    /// Through a TURN relay: either side's candidate is a relayed one.
    pub fn is_relayed(&self) -> bool {
        self.local_type == CandidateType::Relay || self.remote_type == CandidateType::Relay
    }
}

impl Guest {
    /// Record the `RTCPeerConnection`s of the pages this guest opens from now on.
    pub async fn record_peer_connections(&self) -> Result<()> {
        self.devtools(
            "Page.addScriptToEvaluateOnNewDocument",
            serde_json::json!({ "source": RECORD_SCRIPT }),
        )
        .await
        .map(|_| ())
    }

    /// The page's [`PageTimes`] (needs [`Guest::record_peer_connections`] before it opened).
    pub async fn page_times(&self) -> Result<PageTimes> {
        self.stats_script(TIMES_SCRIPT, "the page's times").await
    }

    /// The selected candidate pair of the page's last peer connection; `None` while there
    /// is none.
    pub async fn selected_candidate_pair(&self) -> Result<Option<CandidatePair>> {
        self.stats_script(PAIR_SCRIPT, "the selected candidate pair")
            .await
    }

    /// The bytes received on each candidate pair of the page's last peer connection so far.
    pub async fn pair_bytes(&self) -> Result<PairBytes> {
        self.stats_script(PAIR_BYTES_SCRIPT, "the bytes received per candidate pair")
            .await
    }

    /// Run one of the `getStats()` scripts above; its `ok` value as `T`.
    async fn stats_script<T: serde::de::DeserializeOwned>(
        &self,
        script: &str,
        what: &str,
    ) -> Result<T> {
        let reply = self
            .webdriver()
            .execute_async(script, vec![])
            .await
            .context(format!("reading {what}"))?;
        if let Some(error) = reply.get("error") {
            return Err(Error::new(format!("getStats(): {error}")));
        }
        let value = reply.get("ok").cloned().unwrap_or_default();
        serde_json::from_value(value.clone())
            .context(format!("{what} has an unexpected shape: {value}"))
    }

    /// One Chrome DevTools command through chromedriver (`goog/cdp/execute`).
    pub async fn devtools(
        &self,
        command: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let session = self
            .webdriver()
            .session_id()
            .await
            .context("WebDriver session id")?
            .ok_or_else(|| Error::new("the guest's WebDriver session has ended"))?;
        let url = format!("{}/session/{session}/goog/cdp/execute", self.driver_url());
        let body = serde_json::json!({ "cmd": command, "params": params });
        let response = crate::http::post_json(&url, &body)?;
        if response.status != 200 {
            return Err(Error::new(format!(
                "DevTools {command}: chromedriver answered {}: {}",
                response.status, response.body
            )));
        }
        serde_json::from_str(&response.body).context(format!("DevTools {command}: reply"))
    }
}

/// Resolves with `{ok: video-inbound-or-null}` or `{error}`.
const RECEPTION_SCRIPT: &str = with_pc!(
    r#"
  pc.getStats().then((report) => {
    let v = null;
    report.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') v = s; });
    done({ ok: v && {
      framesDecoded: v.framesDecoded || 0,
      freezeCount: v.freezeCount || 0,
      totalFreezesDuration: v.totalFreezesDuration || 0,
      bytesReceived: v.bytesReceived || 0,
      packetsLost: v.packetsLost || 0,
      frameWidth: v.frameWidth || 0,
      frameHeight: v.frameHeight || 0,
      jitterBufferDelay: v.jitterBufferDelay || 0,
      jitterBufferTargetDelay: v.jitterBufferTargetDelay || 0,
      jitterBufferMinimumDelay: v.jitterBufferMinimumDelay || 0,
      jitterBufferEmittedCount: v.jitterBufferEmittedCount || 0,
      fecPacketsReceived: v.fecPacketsReceived || 0,
      retransmittedPacketsReceived: v.retransmittedPacketsReceived || 0,
      nackCount: v.nackCount || 0,
    } });
  }, (e) => done({ error: String(e) }));
"#
);

/// What a guest's browser says of the video it receives (`inbound-rtp`), as counters since
/// the call started.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoReception {
    pub frames_decoded: u64,
    /// Pauses Chromium counted as freezes (a frame late by more than 3 frames' time, or 150 ms).
    pub freeze_count: u64,
    /// Seconds spent frozen.
    pub total_freezes_duration: f64,
    pub bytes_received: u64,
    pub packets_lost: i64,
    pub frame_width: u32,
    pub frame_height: u32,
    /// Seconds frames spent in the jitter buffer, summed over the frames it emitted.
    pub jitter_buffer_delay: f64,
    /// The delay the jitter buffer aimed at, summed the same way.
    pub jitter_buffer_target_delay: f64,
    /// The least delay it was asked for (by the sender's playout delay, for one), summed
    /// the same way.
    pub jitter_buffer_minimum_delay: f64,
    pub jitter_buffer_emitted_count: u64,
    /// Forward error correction packets received.
    pub fec_packets_received: u64,
    /// Packets received again after a NACK.
    pub retransmitted_packets_received: u64,
    /// NACKs sent.
    pub nack_count: u64,
}

impl VideoReception {
    /// The mean jitter buffer delay, target and minimum (ms) of the frames emitted between
    /// `before` and `self`.
    pub fn jitter_buffer_since(&self, before: &VideoReception) -> (f64, f64, f64) {
        let n = self
            .jitter_buffer_emitted_count
            .saturating_sub(before.jitter_buffer_emitted_count)
            .max(1) as f64;
        let ms = |a: f64, b: f64| (a - b) * 1000.0 / n;
        (
            ms(self.jitter_buffer_delay, before.jitter_buffer_delay),
            ms(
                self.jitter_buffer_target_delay,
                before.jitter_buffer_target_delay,
            ),
            ms(
                self.jitter_buffer_minimum_delay,
                before.jitter_buffer_minimum_delay,
            ),
        )
    }
}

/// Resolves with `{ok: [jitterBufferDelay, jitterBufferEmittedCount]-or-null}` of the
/// other guests' voices: the received audio streams after the first (the page's voice
/// slots; the first is the unit's mix), summed; of the first where there is no other.
/// Or `{error}`.
const AUDIO_JITTER_SCRIPT: &str = with_pc!(
    r#"
  pc.getStats().then((report) => {
    const all = [];
    report.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') all.push(s); });
    all.sort((x, y) => Number(x.mid) - Number(y.mid));
    const voices = all.length > 1 ? all.slice(1) : all;
    const sum = (k) => voices.reduce((t, s) => t + (s[k] || 0), 0);
    done({ ok: voices.length ? [sum('jitterBufferDelay'), sum('jitterBufferEmittedCount')] : null });
  }, (e) => done({ error: String(e) }));
"#
);

/// Starts sampling the video `inbound-rtp` of the page's last peer connection every
/// 100 ms into `window.__visavisVideoTrace` (at most 10 minutes of it).
const TRACE_START_SCRIPT: &str = with_pc!(
    r#"
  clearInterval(window.__visavisVideoTraceTimer);
  const trace = [];
  window.__visavisVideoTrace = trace;
  window.__visavisVideoTraceTimer = setInterval(() => {
    pc.getStats().then((report) => {
      report.forEach((v) => {
        if (v.type !== 'inbound-rtp' || v.kind !== 'video' || trace.length >= 6000) return;
        trace.push({
          t: performance.now() / 1000,
          framesDecoded: v.framesDecoded || 0,
          keyFramesDecoded: v.keyFramesDecoded || 0,
          freezeCount: v.freezeCount || 0,
          totalFreezesDuration: v.totalFreezesDuration || 0,
          pliCount: v.pliCount || 0,
          nackCount: v.nackCount || 0,
          packetsLost: v.packetsLost || 0,
          framesDropped: v.framesDropped || 0,
          frameHeight: v.frameHeight || 0,
        });
      });
    });
  }, 100);
  done({ ok: null });
"#
);

/// Stops the trace and resolves with `{ok: samples}`.
const TRACE_TAKE_SCRIPT: &str = r#"
const done = arguments[arguments.length - 1];
clearInterval(window.__visavisVideoTraceTimer);
done({ ok: window.__visavisVideoTrace || [] });
"#;

/// One sample of a guest's video reception trace (see [`Guest::start_video_trace`]).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSample {
    /// Seconds on the page's clock.
    pub t: f64,
    pub frames_decoded: u64,
    pub key_frames_decoded: u64,
    pub freeze_count: u64,
    pub total_freezes_duration: f64,
    /// Keyframe requests the browser sent.
    pub pli_count: u64,
    /// NACK messages the browser sent.
    pub nack_count: u64,
    pub packets_lost: i64,
    pub frames_dropped: u64,
    pub frame_height: u32,
}

impl Guest {
    /// Sample the video reception every 100 ms from now on, until
    /// [`take_video_trace`](Self::take_video_trace).
    pub async fn start_video_trace(&self) -> Result<()> {
        self.stats_script::<Option<()>>(TRACE_START_SCRIPT, "the start of a video trace")
            .await
            .map(|_| ())
    }

    /// Stop sampling; the samples since [`start_video_trace`](Self::start_video_trace).
    pub async fn take_video_trace(&self) -> Result<Vec<TraceSample>> {
        self.stats_script(TRACE_TAKE_SCRIPT, "the video trace")
            .await
    }

    /// The video reception counters of the page's last peer connection; `None` before any
    /// video arrived.
    pub async fn video_reception(&self) -> Result<Option<VideoReception>> {
        self.stats_script(RECEPTION_SCRIPT, "the video reception")
            .await
    }

    /// The page's ICE as its browser sees it, for a connection that does not come up: its
    /// states and every candidate pair with the checks sent and answered.
    pub async fn ice_report(&self) -> Result<String> {
        self.stats_script(ICE_REPORT_SCRIPT, "the ICE candidate pairs")
            .await
    }

    /// The received audio's jitter buffer so far: seconds its samples spent there, summed,
    /// and how many samples it let out (their ratio is the mean delay); `None` before any
    /// audio arrived.
    pub async fn audio_jitter_buffer(&self) -> Result<Option<(f64, u64)>> {
        self.stats_script(AUDIO_JITTER_SCRIPT, "the audio jitter buffer")
            .await
    }
}
