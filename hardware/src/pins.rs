//! Which GPIO pin does what: the `[board]` pin map of the device config.

use serde::Deserialize;

use crate::BoardError;

/// BCM GPIO numbers of the board's parts. Inputs are wired to ground when active (the
/// internal pull-ups are on) unless `active_high` says otherwise for the presence sensor
/// (a PIR module drives its output high).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinMap {
    pub presence: Option<u8>,
    pub privacy_switch: Option<u8>,
    pub call_button: Option<u8>,
    pub mute_button: Option<u8>,
    pub status_led: Option<u8>,
    /// The PIR output is high when someone is there (the usual module). Default true.
    #[serde(default = "yes")]
    pub presence_active_high: bool,
    /// How long a presence change must hold before it counts, in milliseconds. Default 500.
    #[serde(default = "presence_debounce_ms")]
    pub presence_debounce_ms: u64,
    /// Button and switch debounce, in milliseconds. Default 30.
    #[serde(default = "switch_debounce_ms")]
    pub switch_debounce_ms: u64,
}

fn yes() -> bool {
    true
}

fn presence_debounce_ms() -> u64 {
    500
}

fn switch_debounce_ms() -> u64 {
    30
}

impl Default for PinMap {
    /// The Visavis carrier board: PIR on 17, privacy switch on 27, call and mute buttons
    /// on 22 and 23, status LED on 24.
    fn default() -> Self {
        PinMap {
            presence: Some(17),
            privacy_switch: Some(27),
            call_button: Some(22),
            mute_button: Some(23),
            status_led: Some(24),
            presence_active_high: true,
            presence_debounce_ms: presence_debounce_ms(),
            switch_debounce_ms: switch_debounce_ms(),
        }
    }
}

impl PinMap {
    /// Every pin with its role, for messages.
    pub fn pins(&self) -> Vec<(&'static str, u8)> {
        [
            ("presence", self.presence),
            ("privacy_switch", self.privacy_switch),
            ("call_button", self.call_button),
            ("mute_button", self.mute_button),
            ("status_led", self.status_led),
        ]
        .into_iter()
        .filter_map(|(role, pin)| pin.map(|p| (role, p)))
        .collect()
    }

    /// Pins must be user GPIOs (2 to 27 on the 40-pin header) and all different.
    pub fn check(&self) -> Result<(), BoardError> {
        let pins = self.pins();
        for (role, pin) in &pins {
            if !(2..=27).contains(pin) {
                return Err(BoardError(format!(
                    "board.{role} = {pin}: use a BCM GPIO number from 2 to 27"
                )));
            }
            if let Some((other, _)) = pins.iter().find(|(r, p)| p == pin && r != role) {
                return Err(BoardError(format!(
                    "board.{role} and board.{other} are both GPIO {pin}: give each part its own pin"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_map_is_valid() {
        PinMap::default().check().unwrap();
    }

    #[test]
    fn shared_or_reserved_pins_are_refused_by_name() {
        let map = PinMap {
            mute_button: Some(22),
            ..PinMap::default()
        };
        let e = map.check().unwrap_err().to_string();
        assert!(
            e.contains("call_button") && e.contains("mute_button") && e.contains("22"),
            "{e}"
        );
        let map = PinMap {
            status_led: Some(1),
            ..PinMap::default()
        };
        assert!(
            map.check()
                .unwrap_err()
                .to_string()
                .contains("board.status_led = 1")
        );
    }

    #[test]
    fn parts_can_be_left_out() {
        let map: PinMap = toml_like(
            r#"{"presence": null, "privacy_switch": 5, "call_button": null, "mute_button": null, "status_led": null}"#,
        );
        assert_eq!(map.pins(), vec![("privacy_switch", 5)]);
    }

    fn toml_like(json: &str) -> PinMap {
        serde_json::from_str(json).unwrap()
    }
}
