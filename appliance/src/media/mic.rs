//! The microphone inside the room's pipeline, kept going whatever the device does.
//!
//! The microphone's source (an ALSA device, the test tone, the test feed: [`Mic`]) is a bin
//! of its own, [`SOURCE`], linked to the pipeline's [`ENTRY`]. A device that is not there
//! at start, or that fails mid-call (a USB microphone pulled out: ALSA's read fails), does
//! not stop the pipeline: its bin is swapped for live silence, so the speaker, the guests'
//! voices and the call go on, and the [`Supervisor`] says which device and why
//! ([`MicProblem`], for `status.problems` and the staff report). It tries the device again
//! after 1 s, then 2, 4… up to [`MAX_RETRY`], and swaps it back in once it opens, saying
//! the problem is over.
//!
//! The test feed has a presence switch ([`Supervisor::unplug_test_feed`]): unplugging posts
//! the read error a pulled device posts and makes opening fail until it is plugged back,
//! so tests pull the microphone behind the same seam as ALSA.

use super::MediaError;
use super::audio::Mic;
use gstreamer as gst;
use gstreamer::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Name of the microphone's bin in the room's pipeline.
pub const SOURCE: &str = "mic-source";
/// Name of the element the microphone's bin feeds.
pub const ENTRY: &str = "mic-entry";
/// The first retry comes this long after the device failed; each next one twice as long.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest wait between two tries.
pub const MAX_RETRY: Duration = Duration::from_secs(30);

/// Why the unit is without its microphone (`None`: it has it again).
pub type MicProblem = Option<String>;

/// The wait after `tries` failed tries: 1 s, 2 s, 4 s… at most [`MAX_RETRY`].
pub fn backoff(tries: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1u32 << tries.min(16))
        .min(MAX_RETRY)
}

/// What the microphone is, for messages: the ALSA device, or what stands in for one.
pub fn device_name(mic: &Mic) -> String {
    match mic {
        Mic::Alsa { device, .. } => device.clone(),
        Mic::Tone => "the test tone".into(),
        Mic::Silent => "no microphone".into(),
        Mic::Feed => "the test microphone".into(),
    }
}

/// The source bin of `mic`, opened (READY): an ALSA device that is not there fails here,
/// with ALSA's reason.
fn open(mic: &Mic) -> Result<gst::Bin, String> {
    let bin = gst::parse::bin_from_description_with_name(&mic.source(), true, SOURCE)
        .map_err(|e| e.to_string())?;
    // In a pipeline of its own for the try, so the device's error message can be read.
    let trial = gst::Pipeline::new();
    trial.add(&bin).map_err(|e| e.to_string())?;
    let opened = bin.set_state(gst::State::Ready);
    let why = trial.bus().and_then(|bus| {
        bus.pop_filtered(&[gst::MessageType::Error])
            .and_then(|m| match m.view() {
                gst::MessageView::Error(e) => Some(match e.debug() {
                    Some(d) => format!(
                        "{} ({})",
                        e.error(),
                        d.lines().skip(1).collect::<Vec<_>>().join(" ").trim()
                    ),
                    None => e.error().to_string(),
                }),
                _ => None,
            })
    });
    if opened.is_err() {
        let _ = bin.set_state(gst::State::Null);
        return Err(why.unwrap_or_else(|| "the device cannot be opened".into()));
    }
    trial.remove(&bin).map_err(|e| e.to_string())?;
    Ok(bin)
}

struct Inner {
    pipeline: gst::Pipeline,
    /// The bin feeding [`ENTRY`] now (the device's or the silence standing in for it).
    current: Mutex<Option<gst::Bin>>,
    /// The test feed's presence switch.
    feed_present: AtomicBool,
}

/// Keeps the microphone in the room's pipeline (see the module docs).
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
    failures: mpsc::UnboundedSender<String>,
}

impl Supervisor {
    /// Put `mic` (from `resolve`, asked again at each try: a card named in the config may
    /// come back under another number) into `pipeline` before it plays, or silence if it
    /// cannot open; run the retries on the current tokio runtime. Problems go to `problems`.
    pub fn attach(
        pipeline: &gst::Pipeline,
        resolve: impl Fn() -> Result<Mic, String> + Send + 'static,
        problems: mpsc::UnboundedSender<MicProblem>,
    ) -> Result<Supervisor, MediaError> {
        let (failures, failed) = mpsc::unbounded_channel();
        let supervisor = Supervisor {
            inner: Arc::new(Inner {
                pipeline: pipeline.clone(),
                current: Mutex::new(None),
                feed_present: AtomicBool::new(true),
            }),
            failures,
        };
        let first = resolve().and_then(|mic| {
            let name = device_name(&mic);
            supervisor
                .try_open(&mic)
                .map_err(|why| format!("{name}: {why}"))
        });
        let down = match first {
            Ok(bin) => {
                supervisor.swap(bin)?;
                None
            }
            Err(why) => {
                supervisor.swap(silence()?)?;
                Some(why)
            }
        };
        if let Some(why) = &down {
            let problem = format!("microphone {why}; calls go on without it, trying again");
            tracing::error!("{problem}");
            let _ = problems.send(Some(problem));
        }
        tokio::spawn(
            supervisor
                .clone()
                .run(resolve, failed, problems, down.is_some()),
        );
        Ok(supervisor)
    }

    fn try_open(&self, mic: &Mic) -> Result<gst::Bin, String> {
        if *mic == Mic::Feed && !self.inner.feed_present.load(Ordering::SeqCst) {
            return Err("not plugged in (test microphone)".into());
        }
        open(mic)
    }

    /// Whether `msg` was posted by the microphone's source: a failing device, not the room.
    /// Its error is taken care of here (the source is swapped for silence).
    pub fn divert(&self, msg: &gst::Message) -> bool {
        let gst::MessageView::Error(err) = msg.view() else {
            return false;
        };
        let Some(src) = msg.src() else {
            return false;
        };
        if !src.has_as_ancestor(&self.inner.pipeline) {
            // From a source already swapped out: stale.
            return true;
        }
        let current = crate::metrics::lock(&self.inner.current).clone();
        let ours = current
            .is_some_and(|bin| src == bin.upcast_ref::<gst::Object>() || src.has_as_ancestor(&bin));
        if ours {
            let why = match err.debug() {
                Some(d) => format!(
                    "{} ({})",
                    err.error(),
                    d.lines().skip(1).collect::<Vec<_>>().join(" ").trim()
                ),
                None => err.error().to_string(),
            };
            let _ = self.failures.send(why);
        }
        ours
    }

    fn swap(&self, bin: gst::Bin) -> Result<(), MediaError> {
        swap(&self.inner.pipeline, &self.inner.current, bin)
    }

    async fn run(
        self,
        resolve: impl Fn() -> Result<Mic, String> + Send + 'static,
        mut failed: mpsc::UnboundedReceiver<String>,
        problems: mpsc::UnboundedSender<MicProblem>,
        mut down: bool,
    ) {
        loop {
            if !down {
                let Some(why) = failed.recv().await else {
                    return;
                };
                let name = resolve().map_or_else(|e| e, |m| device_name(&m));
                let problem =
                    format!("microphone {name}: {why}; calls go on without it, trying again");
                tracing::error!("{problem}");
                if let Err(e) = silence().and_then(|s| self.swap(s)) {
                    tracing::error!("microphone: cannot stand silence in for it: {e}");
                }
                let _ = problems.send(Some(problem));
            }
            down = true;
            let mut tries = 0;
            while down {
                tokio::time::sleep(backoff(tries)).await;
                tries = tries.saturating_add(1);
                // Errors of the silence or of a source already removed are stale.
                while failed.try_recv().is_ok() {}
                let opened = resolve().and_then(|mic| {
                    let name = device_name(&mic);
                    self.try_open(&mic).map(|bin| (bin, name))
                });
                match opened {
                    Ok((bin, name)) => match self.swap(bin) {
                        Ok(()) => {
                            tracing::info!("microphone {name} is back");
                            let _ = problems.send(None);
                            down = false;
                        }
                        Err(e) => tracing::warn!("microphone {name}: {e}"),
                    },
                    Err(why) => {
                        tracing::debug!("microphone still missing: {why}");
                    }
                }
            }
        }
    }

    /// Pull the test microphone out ([`Mic::Feed`]): its source posts the read error a
    /// pulled device posts, and it cannot be opened until [`Supervisor::plug_test_feed`].
    pub fn unplug_test_feed(&self) {
        self.inner.feed_present.store(false, Ordering::SeqCst);
        let current = crate::metrics::lock(&self.inner.current).clone();
        if let Some(feed) = current.and_then(|b| b.by_name(super::audio::MIC_FEED)) {
            gst::element_error!(
                feed,
                gst::ResourceError::Read,
                ("Could not read from the test microphone"),
                ["the test unplugged it"]
            );
        }
    }

    /// Plug the test microphone back: the next try opens it.
    pub fn plug_test_feed(&self) {
        self.inner.feed_present.store(true, Ordering::SeqCst);
    }
}

/// Put `bin` in place of the `current` source, feeding [`ENTRY`], at the pipeline's state.
fn swap(
    pipeline: &gst::Pipeline,
    current: &Mutex<Option<gst::Bin>>,
    bin: gst::Bin,
) -> Result<(), MediaError> {
    let err = |message: String| MediaError::Build {
        what: "microphone",
        description: SOURCE.into(),
        message,
    };
    let entry = pipeline
        .by_name(ENTRY)
        .and_then(|e| e.static_pad("sink"))
        .ok_or_else(|| err(format!("no `{ENTRY}` to feed")))?;
    let mut current = crate::metrics::lock(current);
    if let Some(old) = current.take() {
        let _ = old.set_state(gst::State::Null);
        if let Some(src) = old.static_pad("src") {
            let _ = src.unlink(&entry);
        }
        let _ = pipeline.remove(&old);
    }
    pipeline.add(&bin).map_err(|e| err(e.to_string()))?;
    bin.static_pad("src")
        .ok_or_else(|| err("the source has no output".into()))?
        .link(&entry)
        .map_err(|e| err(format!("cannot link the source: {e:?}")))?;
    bin.sync_state_with_parent()
        .map_err(|e| err(format!("cannot start the source: {e}")))?;
    *current = Some(bin);
    Ok(())
}

/// Put `mic` into `pipeline` (before it plays) with nobody watching over it: for the
/// simulated room and tests, whose microphone does not come and go.
pub fn attach_fixed(pipeline: &gst::Pipeline, mic: &Mic) -> Result<(), MediaError> {
    let bin = open(mic).map_err(|message| MediaError::Build {
        what: "microphone",
        description: mic.source(),
        message,
    })?;
    swap(pipeline, &Mutex::new(None), bin)
}

/// Live silence standing in for a missing microphone.
fn silence() -> Result<gst::Bin, MediaError> {
    let description = Mic::Silent.source();
    gst::parse::bin_from_description_with_name(&description, true, SOURCE).map_err(|e| {
        MediaError::Build {
            what: "microphone",
            description,
            message: e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_half_a_minute() {
        let waits: Vec<u64> = (0..8).map(|t| backoff(t).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(u32::MAX), MAX_RETRY);
    }

    /// A real ALSA device name that is not there: the source does not open, and ALSA's
    /// reason names the device.
    #[test]
    fn a_missing_alsa_device_says_which_and_why() {
        gst::init().unwrap();
        if gst::ElementFactory::find("alsasrc").is_none() {
            panic!("GStreamer's alsasrc is missing (gstreamer1.0-alsa)");
        }
        let mic = Mic::Alsa {
            device: "hw:CARD=Nope".into(),
            channels: 1,
            channel: 0,
        };
        let why = open(&mic).expect_err("no such card");
        assert!(why.contains("hw:CARD=Nope"), "{why}");
    }

    /// Loud 10 ms of sound (S16 mono at 48 kHz) for the test microphone.
    fn loud() -> Vec<u8> {
        (0..480)
            .flat_map(|i: i16| (if i % 20 < 10 { 8000i16 } else { -8000 }).to_le_bytes())
            .collect()
    }

    /// Runs the room for one 10 ms tick of its speaker: feeds the test microphone (if
    /// plugged) and says whether something loud came out of the microphone's path.
    struct Ticker {
        room: super::super::room::RoomAudio,
        heard: Arc<AtomicBool>,
    }

    impl Ticker {
        fn tick(&self) {
            let tap = self.room.speaker_tap().unwrap();
            let _ = tap.try_pull_sample(gst::ClockTime::from_mseconds(100));
            if let Some(feed) = self
                .room
                .pipeline()
                .by_name(super::super::audio::MIC_FEED)
                .and_then(|e| e.downcast::<gstreamer_app::AppSrc>().ok())
            {
                let _ = feed.push_buffer(gst::Buffer::from_slice(loud()));
            }
        }

        /// Tick until the microphone's path carries the test microphone's sound, for about
        /// 3 s of the speaker's time.
        fn hears_the_feed(&self) -> bool {
            // What the speaker played while nobody ticked (the supervisor's back-off) is
            // dropped first: pulled at once, it would spend the ticks in no time, before
            // the microphone's source has pushed anything.
            let tap = self.room.speaker_tap().unwrap();
            while tap.try_pull_sample(gst::ClockTime::ZERO).is_some() {}
            self.heard.store(false, Ordering::SeqCst);
            for _ in 0..300 {
                self.tick();
                if self.heard.load(Ordering::SeqCst) {
                    return true;
                }
            }
            false
        }
    }

    /// The test microphone pulled mid-call and plugged back, in the room's real pipeline:
    /// the room plays on, the problem names the device and why, and goes once it is back
    /// and heard again.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_microphone_pulled_mid_call_is_a_problem_until_it_is_back() {
        use crate::config::AudioConfig;
        use crate::media::audio::{self, PROCESSED};
        use crate::media::room::Speaker;
        gst::init().unwrap();
        // No processing: the microphone's sound comes out as it went in.
        let config = AudioConfig::unprocessed();
        let (problems_tx, mut problems) = mpsc::unbounded_channel();
        let (tx, _) = tokio::sync::broadcast::channel(64);
        let (mut running, room, mic) = audio::start(
            &config,
            || Ok(Mic::Feed),
            &Speaker::Tap,
            Arc::new(crate::metrics::Metrics::default()),
            tx,
            Arc::new(super::super::gate::Gate::default()),
            problems_tx,
        )
        .unwrap();
        let heard = Arc::new(AtomicBool::new(false));
        let flag = heard.clone();
        room.pipeline()
            .by_name(PROCESSED)
            .and_then(|e| e.static_pad("src"))
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(b) = info.buffer()
                    && let Ok(m) = b.map_readable()
                    && super::super::remote::rms_dbfs(m.as_slice()) > -20.0
                {
                    flag.store(true, Ordering::SeqCst);
                }
                gst::PadProbeReturn::Ok
            });
        // A device gives its first stretch of sound at once (the Opus sink's first packet
        // lets the live pipeline play); so does the test microphone.
        if let Some(feed) = room
            .pipeline()
            .by_name(super::super::audio::MIC_FEED)
            .and_then(|e| e.downcast::<gstreamer_app::AppSrc>().ok())
        {
            let _ = feed.push_buffer(gst::Buffer::from_slice(vec![0u8; 9600]));
        }
        let ticker = Ticker { room, heard };
        let t = tokio::task::spawn_blocking(move || {
            let first = ticker.hears_the_feed();
            (ticker, first)
        });
        let (ticker, first) = t.await.unwrap();
        assert!(first, "the test microphone is heard");
        assert!(problems.try_recv().is_err(), "no problem while it works");

        mic.unplug_test_feed();
        let problem = problems.recv().await.unwrap().expect("a problem");
        assert!(
            problem.contains("the test microphone")
                && problem.contains("Could not read from the test microphone")
                && problem.contains("calls go on without it"),
            "{problem}"
        );
        // Pulled, the room plays on: the speaker keeps its pace and the call its pipeline.
        let t = tokio::task::spawn_blocking(move || {
            let gone = !ticker.hears_the_feed();
            (ticker, gone)
        });
        let (ticker, gone) = t.await.unwrap();
        assert!(gone, "nothing of the pulled microphone is heard");
        assert!(
            tokio::time::timeout(Duration::from_millis(10), running.failed())
                .await
                .is_err(),
            "the room's pipeline did not fail"
        );

        mic.plug_test_feed();
        assert_eq!(problems.recv().await.unwrap(), None, "back: no problem");
        let t = tokio::task::spawn_blocking(move || ticker.hears_the_feed());
        assert!(t.await.unwrap(), "the microphone is heard again");
    }
}
