//! Streaming from a camera on its own thread: frames to a callback, pause for the privacy
//! switch, and reopening a device that failed, stalled or went away.

use super::{Camera, CameraError, Format};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use v4l::buffer::Type;
use v4l::io::traits::CaptureStream;

/// How often a lost camera is tried again.
pub const RETRY: Duration = Duration::from_secs(1);
/// How long without a frame before the camera counts as stalled and is reopened.
pub const STALL: Duration = Duration::from_secs(2);

/// One captured frame, borrowed from the driver's buffer for the callback's duration.
#[derive(Debug)]
pub struct Frame<'a> {
    pub data: &'a [u8],
    /// The driver's frame counter (gaps mean dropped frames).
    pub sequence: u32,
}

/// What the frame callback wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop capturing for good (the thread ends).
    Stop,
}

/// A change in the camera's health, reported once per change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureEvent {
    /// Frames stopped; the camera is tried again every [`RETRY`].
    Lost(CameraError),
    /// Frames flow again after a [`CaptureEvent::Lost`].
    Back(Format),
}

#[derive(Default)]
struct Control {
    paused: bool,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    control: Mutex<Control>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Control> {
        // Control is two flags; a panic elsewhere cannot leave them inconsistent.
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The thread streaming from one camera. Stops and joins when dropped.
pub struct Capture {
    shared: Arc<Shared>,
    format: Format,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

enum End {
    Paused,
    Stopped,
}

impl Capture {
    /// Start streaming `camera`: `on_frame` gets every frame, `on_event` every change in
    /// the camera's health. Both run on the capture thread.
    pub fn spawn<F, E>(camera: Camera, on_frame: F, on_event: E) -> std::io::Result<Capture>
    where
        F: FnMut(Frame<'_>) -> Flow + Send + 'static,
        E: FnMut(CaptureEvent) + Send + 'static,
    {
        let shared = Arc::new(Shared::default());
        let format = camera.format.clone();
        let worker = Worker {
            shared: shared.clone(),
            on_frame: Box::new(on_frame),
            on_event: Box::new(on_event),
            problem: None,
        };
        let handle = std::thread::Builder::new()
            .name("camera".into())
            .spawn(move || worker.run(camera))?;
        Ok(Capture {
            shared,
            format,
            handle: Some(handle),
        })
    }

    /// Stop streaming, with the device kept open, or start again: the privacy switch.
    /// While paused the driver is not streaming at all (a webcam's own light goes off).
    pub fn pause(&self, paused: bool) {
        self.shared.lock().paused = paused;
        self.shared.changed.notify_all();
    }

    /// The format agreed when the camera was opened (a camera that comes back in another
    /// format is not taken).
    pub fn format(&self) -> &Format {
        &self.format
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

type OnFrame = Box<dyn FnMut(Frame<'_>) -> Flow + Send>;
type OnEvent = Box<dyn FnMut(CaptureEvent) + Send>;

struct Worker {
    shared: Arc<Shared>,
    on_frame: OnFrame,
    on_event: OnEvent,
    /// The problem last reported, while frames are not flowing.
    problem: Option<CameraError>,
}

impl Worker {
    fn run(mut self, camera: Camera) {
        let device = camera.device.clone();
        let request = camera.request.clone();
        let format = camera.format.clone();
        let mut open = Some(camera);
        loop {
            {
                let shared = self.shared.clone();
                let control = shared.lock();
                let control = shared
                    .changed
                    .wait_while(control, |c| c.paused && !c.stop)
                    .unwrap_or_else(|p| p.into_inner());
                if control.stop {
                    return;
                }
            }
            let camera = match open.take() {
                Some(c) => c,
                None => match Camera::open(&device, &request) {
                    Ok(c) if c.format.same_picture(&format) => c,
                    Ok(c) => {
                        self.report(CameraError::Changed {
                            device: device.clone(),
                            expected: format.clone(),
                            got: c.format.clone(),
                        });
                        drop(c);
                        if self.wait_retry() {
                            return;
                        }
                        continue;
                    }
                    Err(e) => {
                        self.report(e);
                        if self.wait_retry() {
                            return;
                        }
                        continue;
                    }
                },
            };
            match self.stream(&camera) {
                Ok(End::Paused) => open = Some(camera),
                Ok(End::Stopped) => return,
                Err(e) => {
                    // Close the device before saying so: a driver coming back can then
                    // reuse the node.
                    drop(camera);
                    self.report(e);
                    if self.wait_retry() {
                        return;
                    }
                }
            }
        }
    }

    fn report(&mut self, problem: CameraError) {
        if self.problem.as_ref() != Some(&problem) {
            (self.on_event)(CaptureEvent::Lost(problem.clone()));
            self.problem = Some(problem);
        }
    }

    /// Wait [`RETRY`] unless stopped first; true when stopped.
    fn wait_retry(&self) -> bool {
        let control = self.shared.lock();
        let (control, _) = self
            .shared
            .changed
            .wait_timeout_while(control, RETRY, |c| !c.stop)
            .unwrap_or_else(|p| p.into_inner());
        control.stop
    }

    fn stream(&mut self, camera: &Camera) -> Result<End, CameraError> {
        let device = &camera.device;
        let mut stream = v4l::io::mmap::Stream::with_buffers(&camera.dev, Type::VideoCapture, 4)
            .map_err(|e| CameraError::setup(device, "map capture buffers", &e))?;
        stream.set_timeout(STALL);
        loop {
            {
                let control = self.shared.lock();
                if control.stop {
                    return Ok(End::Stopped);
                }
                if control.paused {
                    return Ok(End::Paused);
                }
            }
            let (data, meta) = stream
                .next()
                .map_err(|e| CameraError::dequeue(device, &e))?;
            if self.problem.take().is_some() {
                (self.on_event)(CaptureEvent::Back(camera.format.clone()));
            }
            let used = match meta.bytesused as usize {
                0 => data.len(),
                n => n.min(data.len()),
            };
            let frame = Frame {
                data: &data[..used],
                sequence: meta.sequence,
            };
            if (self.on_frame)(frame) == Flow::Stop {
                return Ok(End::Stopped);
            }
        }
    }
}
