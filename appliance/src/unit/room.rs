//! [`Room`]: what the board says about the room (privacy switch, presence), what the
//! screen switched (mute, camera pause, volume), what needs staff attention, and what the
//! LED shows. Each change is kept as an event for the kiosk.

use super::UnitSettings;
use visavis_api::local::Event;
use visavis_hardware::Led;

/// The room's side of the unit's state.
#[derive(Debug)]
pub struct Room {
    privacy: bool,
    presence: bool,
    mic_muted: bool,
    camera_paused: bool,
    volume: u8,
    led: Option<Led>,
    first_boot_problem: Option<String>,
    mic_problem: Option<String>,
    rendezvous_problem: Option<String>,
    events: Vec<Event>,
}

impl Room {
    pub fn new(settings: &UnitSettings) -> Room {
        Room {
            privacy: settings.privacy,
            presence: settings.presence,
            mic_muted: false,
            camera_paused: false,
            volume: settings.volume,
            led: None,
            first_boot_problem: settings.first_boot_problem.clone(),
            mic_problem: settings.mic_problem.clone(),
            rendezvous_problem: None,
            events: Vec::new(),
        }
    }

    /// A room with nothing switched, for the session's own tests.
    #[cfg(test)]
    pub fn quiet() -> Room {
        Room {
            privacy: false,
            presence: false,
            mic_muted: false,
            camera_paused: false,
            volume: 0,
            led: None,
            first_boot_problem: None,
            mic_problem: None,
            rendezvous_problem: None,
            events: Vec::new(),
        }
    }

    pub fn privacy(&self) -> bool {
        self.privacy
    }
    pub fn presence(&self) -> bool {
        self.presence
    }
    pub fn mic_muted(&self) -> bool {
        self.mic_muted
    }
    pub fn camera_paused(&self) -> bool {
        self.camera_paused
    }
    pub fn volume(&self) -> u8 {
        self.volume
    }

    /// What needs staff attention, oldest first.
    pub fn problems(&self) -> Vec<String> {
        self.first_boot_problem
            .iter()
            .chain(self.mic_problem.iter())
            .chain(self.rendezvous_problem.iter())
            .cloned()
            .collect()
    }

    /// What guests get: (video, audio). Video only with the switch off and the camera not
    /// paused; audio unless muted, and under the switch only if the config lets it continue.
    pub fn outputs(&self, audio_continues: bool) -> (bool, bool) {
        let video = !self.privacy && !self.camera_paused;
        let audio = !self.mic_muted && (!self.privacy || audio_continues);
        (video, audio)
    }

    pub fn set_privacy(&mut self, on: bool) {
        self.privacy = on;
        self.events.push(Event::Privacy { on });
    }

    pub fn set_presence(&mut self, present: bool) {
        self.presence = present;
        self.events.push(Event::Presence { present });
    }

    pub fn set_mic_muted(&mut self, muted: bool) {
        self.mic_muted = muted;
        self.events.push(Event::Mic { muted });
    }

    pub fn set_camera_paused(&mut self, paused: bool) {
        self.camera_paused = paused;
        self.events.push(Event::Camera { paused });
    }

    /// Set the speaker's loudness; `Err` with the value when it is not 0 to 100.
    pub fn set_volume(&mut self, percent: u8) -> Result<(), u8> {
        if percent > 100 {
            return Err(percent);
        }
        self.volume = percent;
        self.events.push(Event::Volume { percent });
        Ok(())
    }

    pub fn set_mic_problem(&mut self, problem: Option<String>) {
        if self.mic_problem != problem {
            self.mic_problem = problem;
            self.events.push(Event::Problems {
                problems: self.problems(),
            });
        }
    }

    pub fn set_rendezvous_problem(&mut self, problem: Option<String>) {
        if self.rendezvous_problem != problem {
            self.rendezvous_problem = problem;
            self.events.push(Event::Problems {
                problems: self.problems(),
            });
        }
    }

    /// The changes since last asked, oldest first.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The LED when it must change: privacy first, then "in a call", else idle.
    pub fn led(&mut self, in_call: bool) -> Option<Led> {
        let led = if self.privacy {
            Led::Privacy
        } else if in_call {
            Led::InCall
        } else {
            Led::Idle
        };
        (self.led != Some(led)).then(|| {
            self.led = Some(led);
            led
        })
    }
}
