//! A clip that stands in for the camera (`[video] source = "file"`: a demo, a bench) plays
//! forever: its end is a flushing seek back to its start, never the end of the stream.
//!
//! The end is caught where the clip enters the shared part of the video pipeline (before
//! the privacy valve and the tee), dropped there, and the seek goes upstream from the same
//! pad, to the clip's source alone. Waiting for the pipeline's end-of-stream message
//! instead, and seeking the whole pipeline, looped once and then stalled: the idle small
//! layer's valve drops flush events, so that layer's sink stayed at the first loop's end and
//! never told the pipeline about the second one.
//!
//! The flush resets the pipeline's running time, so the clip stays paced to the clock
//! (`clocksync`) loop after loop.

use gstreamer as gst;
use gstreamer::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Loop the clip that reaches `pad` (a sink pad downstream of the clip's decoder). If the
/// source cannot seek back, the end of the stream goes on as it came, and the pipeline
/// ends on it: a camera that stops is an error the daemon reports, not a frozen picture.
pub fn keep_looping(pad: &gst::Pad) {
    let gave_up = Arc::new(AtomicBool::new(false));
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |pad, info| {
        let Some(gst::PadProbeData::Event(event)) = &info.data else {
            return gst::PadProbeReturn::Ok;
        };
        if event.type_() != gst::EventType::Eos || gave_up.load(Ordering::Relaxed) {
            return gst::PadProbeReturn::Ok;
        }
        let Some(element) = pad.parent_element() else {
            return gst::PadProbeReturn::Ok;
        };
        // A flushing seek cannot be made from the streaming thread that carries the end.
        let pad = pad.downgrade();
        let gave_up = gave_up.clone();
        element.call_async(move |_| {
            let Some(pad) = pad.upgrade() else {
                return;
            };
            let seek = gst::event::Seek::new(
                1.0,
                gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
                gst::SeekType::Set,
                gst::ClockTime::ZERO,
                gst::SeekType::None,
                gst::ClockTime::NONE,
            );
            if !pad.push_event(seek) {
                tracing::error!("the clip cannot seek back to its start; the camera stops");
                gave_up.store(true, Ordering::Relaxed);
                pad.send_event(gst::event::Eos::new());
            }
        });
        // Handled, not Drop: the event is the probe's (gstreamer-rs releases it), and
        // GStreamer must not release it again (with Drop it unreferences a null event).
        gst::PadProbeReturn::Handled
    });
}
