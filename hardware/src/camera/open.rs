//! Opening a camera: what it offers, and agreeing on a format.

use super::{CameraError, Format, PREFERRED, fourcc_text};
use std::path::{Path, PathBuf};
use v4l::framesize::FrameSizeEnum;
use v4l::video::Capture as _;

/// What we ask of a camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Pixel formats we take, best first.
    pub formats: Vec<[u8; 4]>,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl Request {
    /// The formats applianced takes ([`PREFERRED`]) at this size and rate.
    pub fn preferred(width: u32, height: u32, fps: u32) -> Self {
        Request {
            formats: PREFERRED.to_vec(),
            width,
            height,
            fps,
        }
    }
}

/// One pixel format a device offers, with its frame sizes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Offer {
    pub fourcc: String,
    pub description: String,
    /// Discrete sizes; a stepwise range is given by its smallest and largest size.
    pub sizes: Vec<(u32, u32)>,
}

/// What `device` offers for capture.
pub fn list(device: &Path) -> Result<Vec<Offer>, CameraError> {
    let dev = v4l::Device::with_path(device).map_err(|e| CameraError::open(device, &e))?;
    offers(device, &dev)
}

fn offers(device: &Path, dev: &v4l::Device) -> Result<Vec<Offer>, CameraError> {
    let formats = dev
        .enum_formats()
        .map_err(|e| CameraError::setup(device, "list formats", &e))?;
    let mut out = Vec::with_capacity(formats.len());
    for f in formats {
        // Some drivers list no sizes for some formats; that is not an error.
        let sizes = dev
            .enum_framesizes(f.fourcc)
            .unwrap_or_default()
            .into_iter()
            .flat_map(|s| match s.size {
                FrameSizeEnum::Discrete(d) => vec![(d.width, d.height)],
                FrameSizeEnum::Stepwise(s) => {
                    vec![(s.min_width, s.min_height), (s.max_width, s.max_height)]
                }
            })
            .collect();
        out.push(Offer {
            fourcc: fourcc_text(f.fourcc.repr),
            description: f.description,
            sizes,
        });
    }
    Ok(out)
}

/// A camera that agreed to a format and is ready to stream.
pub struct Camera {
    pub(super) device: PathBuf,
    pub(super) request: Request,
    pub(super) dev: v4l::Device,
    pub(super) format: Format,
}

impl std::fmt::Debug for Camera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Camera")
            .field("device", &self.device)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Camera {
    /// Open `device` and agree on the first format of `request` it offers, at the size and
    /// rate nearest to the request that the driver accepts.
    pub fn open(device: &Path, request: &Request) -> Result<Camera, CameraError> {
        let dev = v4l::Device::with_path(device).map_err(|e| CameraError::open(device, &e))?;
        let offered: Vec<String> = offers(device, &dev)?
            .into_iter()
            .map(|o| o.fourcc)
            .collect();
        let fourcc = request
            .formats
            .iter()
            .find(|want| offered.contains(&fourcc_text(**want)))
            .ok_or_else(|| CameraError::Unsupported {
                device: device.to_owned(),
                wanted: request.formats.iter().map(|f| fourcc_text(*f)).collect(),
                offered: offered.clone(),
            })?;
        let mut fmt = dev
            .format()
            .map_err(|e| CameraError::setup(device, "read the format", &e))?;
        fmt.width = request.width;
        fmt.height = request.height;
        fmt.fourcc = v4l::FourCC::new(fourcc);
        // Let the driver choose line and frame sizes: the previous format's values would be
        // taken as a request for padding by drivers that honour one (vivid does).
        fmt.stride = 0;
        fmt.size = 0;
        let fmt = dev
            .set_format(&fmt)
            .map_err(|e| CameraError::setup(device, "set the format", &e))?;
        let params = dev
            .set_params(&v4l::video::capture::Parameters::with_fps(request.fps))
            .map_err(|e| CameraError::setup(device, "set the frame rate", &e))?;
        let fps = match params.interval.numerator {
            0 => request.fps,
            n => (params.interval.denominator / n).max(1),
        };
        let format = Format {
            fourcc: fourcc_text(fmt.fourcc.repr),
            width: fmt.width,
            height: fmt.height,
            fps,
            stride: fmt.stride,
            frame_bytes: fmt.size,
        };
        Ok(Camera {
            device: device.to_owned(),
            request: request.clone(),
            dev,
            format,
        })
    }

    /// The format the camera agreed to.
    pub fn format(&self) -> &Format {
        &self.format
    }

    pub fn device(&self) -> &Path {
        &self.device
    }
}
