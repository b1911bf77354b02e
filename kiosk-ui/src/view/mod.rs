//! The kiosk's screens, one file each, behind one small trait ([`Screen`]), as egui's demo
//! keeps one file per view. A screen draws one frame from the link's last state ([`Cx`])
//! and says what the app should do next ([`Next`]); taps become [`Request`]s sent through
//! [`Cx::send`]. The pictures every screen may show (the camera, guests' tiles, the QR
//! code, saved looks) are in [`Media`], shared by all of them.
//!
//! - [`attract`]: what the unit is for, while nobody is there.
//! - [`live`]: the picture filling the screen and what floats over it (home, the call,
//!   the end), with the call's [`bar`], the [`feed`] of chat and reactions, the [`invite`]
//!   card and the [`moments`] that dim the picture to ask (a knock, "End and erase
//!   everything?"); drawn with [`widgets`].
//! - [`staff`]: the staff PIN keypad and the unit's report.

pub mod attract;
pub mod bar;
pub mod feed;
pub mod invite;
pub mod live;
pub mod moments;
pub mod staff;
pub mod widgets;

use crate::i18n::{Key, Lang, text};
use crate::link::LinkState;
use crate::preview::Feed;
use egui::{TextureHandle, TextureOptions};
use std::collections::BTreeMap;
use std::sync::mpsc;
use visavis_api::datachannel::Reaction;
use visavis_api::local::{MAX_TILE_WIDTH, Request};

/// What a screen gets for one frame.
pub struct Cx<'a> {
    /// The link's state, as the frame began.
    pub state: &'a LinkState,
    pub lang: Lang,
    pub commands: &'a mpsc::Sender<Request>,
    pub media: &'a mut Media,
}

impl Cx<'_> {
    /// A word of the screen's language.
    pub fn t(&self, key: Key) -> &'static str {
        text(self.lang, key)
    }

    /// Send a request to applianced (a link that is gone drops it; the screen says so).
    pub fn send(&self, request: Request) {
        let _ = self.commands.send(request);
    }

    /// The guests' pictures are drawn `points` wide (whole, before cropping to their
    /// tiles): applianced hears it in pixels when that changed by a step of
    /// [`TILE_WIDTH_STEP`], so it decodes the camera layer that shows them.
    pub fn tell_tile_width(&mut self, ctx: &egui::Context, points: f32) {
        let pixels = ((points * ctx.pixels_per_point()).max(0.0) as u32).min(MAX_TILE_WIDTH);
        let width = pixels / TILE_WIDTH_STEP * TILE_WIDTH_STEP;
        if self.media.tile_width_told != Some(width) {
            self.media.tile_width_told = Some(width);
            self.send(Request::ScreenTiles { width });
        }
    }
}

/// The tiles' width goes to applianced in steps of this many pixels, not at each pixel a
/// layout in motion moves.
pub const TILE_WIDTH_STEP: u32 = 8;

/// What the app does after a screen's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Stay,
    /// Open the staff screen.
    Staff,
    /// Leave the staff screen (its PIN and report are forgotten).
    CloseStaff,
    /// Speak this language from now on.
    Lang(Lang),
    /// Someone touched the attract screen: wake up.
    Wake,
}

/// One screen of the kiosk.
pub trait Screen {
    /// Draw one frame in `ui`.
    fn show(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) -> Next;
}

/// The pictures the screens show: the camera's, the guests' tiles, the invite's QR code
/// and the saved looks, each uploaded once per new frame or value.
pub struct Media {
    pub feed: Option<Feed>,
    pub preview_started: bool,
    pub tiles: crate::tiles::Tiles,
    texture: Option<(TextureHandle, u64)>,
    qr: Option<(String, TextureHandle)>,
    looks: BTreeMap<u32, TextureHandle>,
    /// Reactions' colour emoji, loaded when the first reaction shows (`None` until then;
    /// empty when the emoji font could not be read).
    emoji: Option<Vec<(Reaction, TextureHandle)>>,
    pub latency: Option<crate::latency::LatencyLog>,
    /// The guests' pictures' width last told applianced ([`Cx::tell_tile_width`]).
    tile_width_told: Option<u32>,
}

impl Media {
    pub fn new() -> Self {
        Media {
            feed: None,
            preview_started: false,
            tiles: crate::tiles::Tiles::default(),
            texture: None,
            qr: None,
            looks: BTreeMap::new(),
            emoji: None,
            latency: None,
            tile_width_told: None,
        }
    }

    /// The newest camera picture, if one came.
    pub fn preview(&mut self, ctx: &egui::Context) -> Option<TextureHandle> {
        let feed = self.feed.as_ref()?;
        let shown = self.texture.as_ref().map(|(_, serial)| *serial);
        let texture = crate::preview::texture(ctx, "preview", &feed.frames, &mut self.texture);
        if let Some(log) = &mut self.latency
            && self.texture.as_ref().map(|(_, serial)| *serial) != shown
        {
            log.painted(&feed.frames.lock().unwrap_or_else(|p| p.into_inner()));
        }
        texture
    }

    /// The QR code of `url`.
    pub fn qr(&mut self, ctx: &egui::Context, url: &str) -> Option<TextureHandle> {
        if self.qr.as_ref().is_none_or(|(u, _)| u != url) {
            let image = crate::qr::image(url, 6)?;
            self.qr = Some((
                url.to_owned(),
                ctx.load_texture("invite-qr", image, TextureOptions::NEAREST),
            ));
        }
        self.qr.as_ref().map(|(_, t)| t.clone())
    }

    /// Saved look `id`'s thumbnail, once the link has it.
    pub fn look(
        &mut self,
        ctx: &egui::Context,
        id: u32,
        state: &LinkState,
    ) -> Option<TextureHandle> {
        if let Some(tex) = self.looks.get(&id) {
            return Some(tex.clone());
        }
        let thumb = state.looks.get(&id)?;
        let image = egui::ColorImage::from_rgba_unmultiplied(thumb.size, &thumb.rgba);
        let tex = ctx.load_texture(format!("look-{id}"), image, TextureOptions::LINEAR);
        self.looks.insert(id, tex.clone());
        Some(tex)
    }

    /// `reaction`'s colour emoji, if the emoji font is there.
    pub fn emoji(&mut self, ctx: &egui::Context, reaction: Reaction) -> Option<TextureHandle> {
        let set = self
            .emoji
            .get_or_insert_with(|| match crate::emoji::load(crate::emoji::FONT) {
                Ok(images) => images
                    .into_iter()
                    .map(|(r, image)| {
                        let name = format!("emoji-{r:?}");
                        (r, ctx.load_texture(name, image, TextureOptions::LINEAR))
                    })
                    .collect(),
                Err(e) => {
                    eprintln!("kiosk: {e}; reactions show as icons");
                    Vec::new()
                }
            });
        set.iter()
            .find(|(r, _)| *r == reaction)
            .map(|(_, t)| t.clone())
    }

    /// Forget the thumbnails of looks the session no longer has.
    pub fn keep_looks(&mut self, state: &LinkState) {
        self.looks.retain(|id, _| state.looks.contains_key(id));
    }
}

impl Default for Media {
    fn default() -> Self {
        Media::new()
    }
}
