//! The audio pipeline: microphone (ALSA) or a test tone → Opus, 20 ms packets.

use super::{EncodedFrame, MediaError, pipeline};
use crate::config::{AudioConfig, AudioSource};
use crate::metrics::Metrics;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast;

/// Opus RTP clock.
pub const CLOCK_RATE: u32 = 48_000;

fn alsa_present() -> bool {
    std::fs::read_dir("/dev/snd")
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with('c'))
        })
        .unwrap_or(false)
        && gstreamer::ElementFactory::find("alsasrc").is_some()
}

/// The GStreamer description of the audio pipeline for `config`.
pub fn description(config: &AudioConfig) -> String {
    let use_alsa = match config.source {
        AudioSource::Alsa => true,
        AudioSource::Test => false,
        AudioSource::Auto => alsa_present(),
    };
    let source = if use_alsa {
        format!("alsasrc device=\"{}\"", config.device.replace('"', ""))
    } else {
        "audiotestsrc is-live=true wave=sine freq=440 volume=0.1".to_owned()
    };
    format!(
        "{source} ! valve name=privacy drop=false drop-mode=forward-sticky-events \
         ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 \
         ! queue max-size-time=100000000 leaky=downstream \
         ! opusenc name=encoder bitrate={} frame-size=20 \
         ! appsink name=sink sync=false max-buffers=16 drop=false",
        config.bitrate_kbps * 1000
    )
}

pub fn start(
    config: &AudioConfig,
    metrics: Arc<Metrics>,
    tx: broadcast::Sender<Arc<EncodedFrame>>,
    gate: Arc<super::gate::Gate>,
) -> Result<pipeline::Running, MediaError> {
    let description = description(config);
    tracing::info!(pipeline = %description, "starting audio");
    let (pipe, sink) = pipeline::build("audio", &description)?;
    metrics
        .audio_encoders_started
        .fetch_add(1, Ordering::Relaxed);
    pipeline::publish(
        &sink,
        CLOCK_RATE,
        tx,
        metrics,
        |m| &m.audio_frames_encoded,
        gate,
    );
    pipeline::start("audio", pipe, false)
}
