//! The local API's requests: each is answered here, or handed to the daemon as an output
//! when it needs the outside world (a still, the counters, the staff report's facts).

use super::{Input, Output, ReplyId, SessionInput, StaffFacts, Unit};
use crate::staff::PinFileError;
use std::time::Instant;
use visavis_api::local::{
    ApiError, ApiErrorCode, Event, MAX_TILE_WIDTH, Outcome, Request, Response, StaffAction,
    StaffPin,
};

fn refused(code: ApiErrorCode, message: impl Into<String>) -> Outcome {
    Outcome::Error(api_error(code, message))
}

fn api_error(code: ApiErrorCode, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
    }
}

const DONE: Outcome = Outcome::Ok(Response::Done);

impl Unit {
    pub(super) fn request(&mut self, id: ReplyId, request: Request, now: Instant) {
        let outcome = match request {
            Request::Hello => Outcome::Ok(self.settings.hello.clone()),
            Request::Status => Outcome::Ok(Response::Status(self.status())),
            Request::Metrics => {
                self.outputs.push_back(Output::ReplyMetrics { id });
                return;
            }
            Request::CreateInvite => {
                // Answered when rendezvous has made it (or cannot).
                self.session
                    .handle_input(SessionInput::InviteRequested { request_id: id }, now);
                return;
            }
            Request::Admit { guest_id } => match self.session.check_admit(&guest_id) {
                Ok(()) => {
                    self.session
                        .handle_input(SessionInput::Admit { guest_id }, now);
                    DONE
                }
                Err(e) => Outcome::Error(e),
            },
            Request::Deny { guest_id } => match self.session.check_known(&guest_id) {
                Ok(()) => {
                    self.session
                        .handle_input(SessionInput::Deny { guest_id }, now);
                    DONE
                }
                Err(e) => Outcome::Error(e),
            },
            Request::EndSession => {
                self.session.handle_input(SessionInput::EndSession, now);
                DONE
            }
            Request::SaveLook => match self.can_take_still() {
                Ok(()) => {
                    self.outputs.push_back(Output::TakeStill { id });
                    return;
                }
                Err(e) => Outcome::Error(e),
            },
            Request::LookImage { look } => match self.session.look_image(look) {
                Ok(jpeg) => Outcome::Ok(Response::LookImage {
                    look,
                    jpeg: jpeg.to_string(),
                }),
                Err(e) => Outcome::Error(e),
            },
            Request::Compare { looks } => match self.session.compare(looks) {
                Ok(()) => DONE,
                Err(e) => Outcome::Error(e),
            },
            Request::EndCompare => {
                self.session.end_compare();
                DONE
            }
            Request::SetMic { muted } => {
                tracing::info!(muted, "microphone");
                self.room.set_mic_muted(muted);
                self.apply_room();
                DONE
            }
            Request::SetCamera { paused } => {
                tracing::info!(paused, "camera");
                self.room.set_camera_paused(paused);
                self.apply_room();
                DONE
            }
            Request::SetVolume { percent } => match self.room.set_volume(percent) {
                Ok(()) => {
                    tracing::info!(percent, "speaker volume");
                    self.outputs.push_back(Output::SetVolume(percent));
                    DONE
                }
                Err(percent) => refused(
                    ApiErrorCode::BadRequest,
                    format!("volume {percent} is not a percentage: give 0 to 100"),
                ),
            },
            Request::ScreenTiles { width } if width <= MAX_TILE_WIDTH => {
                tracing::debug!(width, "the screen's guest tiles");
                self.outputs.push_back(Output::ScreenTiles(width));
                DONE
            }
            Request::ScreenTiles { width } => refused(
                ApiErrorCode::BadRequest,
                format!(
                    "a picture {width} pixels wide is wider than a screen: give 0 (no tiles) to {MAX_TILE_WIDTH}"
                ),
            ),
            Request::CallWaiter => {
                self.emit(Event::WaiterCalled);
                self.outputs.push_back(Output::CallWaiter);
                DONE
            }
            Request::SimulateBoard { input } if self.settings.simulated_board => {
                self.outputs.push_back(Output::SimulateBoard(input));
                DONE
            }
            Request::SimulateBoard { .. } => refused(
                ApiErrorCode::RealBoard,
                "this unit has a real board: use its switch, sensor and buttons",
            ),
            Request::Staff { .. } => {
                // The daemon reads the PIN file and feeds `Input::Staff` instead.
                tracing::error!("a staff request reached the unit without its PIN file");
                refused(
                    ApiErrorCode::Internal,
                    "the staff request could not be checked",
                )
            }
        };
        self.reply(id, outcome);
    }

    /// A look's still can be taken: a session runs, the camera is on, a preview exists.
    fn can_take_still(&self) -> Result<(), ApiError> {
        if self.room.privacy() {
            Err(api_error(
                ApiErrorCode::CameraOff,
                "the camera is off: the privacy switch is on",
            ))
        } else if !self.settings.preview {
            Err(api_error(
                ApiErrorCode::NoPreview,
                "this unit has no local preview to take a still from",
            ))
        } else if !self.session.active() {
            Err(api_error(
                ApiErrorCode::NoSession,
                "no session: looks are saved once friends are invited",
            ))
        } else {
            Ok(())
        }
    }

    /// The still for a look arrived: keep it (if the rules still allow) and answer.
    pub(super) fn still(&mut self, id: ReplyId, jpeg: Result<Vec<u8>, String>) {
        use base64::Engine;
        // The switch may have been flipped while the still was being taken.
        let outcome = match (self.can_take_still(), jpeg) {
            (Err(e), _) => Outcome::Error(e),
            (Ok(()), Err(why)) => refused(
                ApiErrorCode::Internal,
                format!("no still from the camera: {why}"),
            ),
            (Ok(()), Ok(jpeg)) => {
                let base64 = base64::engine::general_purpose::STANDARD.encode(jpeg);
                match self.session.save_look(base64) {
                    Ok(look) => {
                        tracing::info!(look, "look saved");
                        Outcome::Ok(Response::LookSaved { look })
                    }
                    Err(e) => Outcome::Error(e),
                }
            }
        };
        self.reply(id, outcome);
    }

    pub(super) fn staff(
        &mut self,
        id: ReplyId,
        pin: &StaffPin,
        action: StaffAction,
        pin_file: &Result<String, PinFileError>,
        now: Instant,
    ) {
        let before = self.pins.wrong();
        let checked = self.pins.check(&pin.0, pin_file, now);
        if self.pins.wrong() != before {
            self.outputs.push_back(Output::SavePinTries {
                wrong: self.pins.wrong(),
            });
        }
        if let Err(e) = checked {
            self.reply(id, Outcome::Error(e));
            return;
        }
        match action {
            StaffAction::Report => {
                let facts = StaffFacts {
                    rendezvous_connected: self.session.rendezvous_up(),
                    privacy: self.room.privacy(),
                    problems: self.room.problems(),
                };
                self.outputs
                    .push_back(Output::ReplyStaffReport { id, facts });
            }
            StaffAction::Restart => {
                tracing::warn!("restart asked from the staff screen");
                self.reply(id, DONE);
                self.outputs.push_back(Output::Restart);
            }
        }
    }
}

/// Turn a local request into the unit's input; a staff request carries the PIN file as
/// `read_pin` reads it now (every staff request reads it afresh, so a changed PIN counts
/// at once).
pub fn input(
    id: ReplyId,
    request: Request,
    read_pin: impl FnOnce() -> Result<String, PinFileError>,
) -> Input {
    match request {
        Request::Staff { pin, action } => Input::Staff {
            id,
            pin,
            action,
            pin_file: read_pin(),
        },
        request => Input::Request { id, request },
    }
}
