//! The Pi's GPIO through rppal (Pi 4 and Pi 5): inputs by interrupt, the LED by software PWM.
//!
//! Inputs use the internal pull-ups: a switch or button closes to ground, so a low level
//! means "pressed" or "privacy on". The presence sensor (PIR) drives its output itself,
//! high when someone is there unless the pin map says otherwise. Each input gets a
//! debounced interrupt on both edges; the callback turns levels into [`BoardEvent`]s
//! through [`Inputs`], which only reports changes.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rppal::gpio::{Gpio, InputPin, Level, OutputPin, Trigger};

use crate::{Backlight, Board, BoardError, BoardEvent, Button, Led, PinMap, check_percent};

/// The role of an input pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Presence { active_high: bool },
    Privacy,
    Button(Button),
}

/// The last known state of the inputs; turns pin levels into events on change only.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Inputs {
    presence: bool,
    privacy: bool,
}

impl Inputs {
    fn apply(&mut self, role: Role, level: Level) -> Option<BoardEvent> {
        match role {
            Role::Presence { active_high } => {
                let present = (level == Level::High) == active_high;
                (present != self.presence).then(|| {
                    self.presence = present;
                    BoardEvent::Presence(present)
                })
            }
            Role::Privacy => {
                let on = level == Level::Low;
                (on != self.privacy).then(|| {
                    self.privacy = on;
                    BoardEvent::PrivacySwitch(on)
                })
            }
            Role::Button(b) => (level == Level::Low).then_some(BoardEvent::Button(b)),
        }
    }
}

/// The Pi's board.
pub struct GpioBoard {
    events: mpsc::Receiver<BoardEvent>,
    inputs: Arc<Mutex<Inputs>>,
    led: Option<OutputPin>,
    backlight: Option<Backlight>,
    /// Kept so their interrupts stay armed.
    _pins: Vec<InputPin>,
}

fn explain(e: rppal::gpio::Error) -> BoardError {
    match e {
        rppal::gpio::Error::PermissionDenied(path) => BoardError(format!(
            "cannot open {path}: permission denied. The service's user must be in the `gpio` group \
             (applianced.service has SupplementaryGroups=gpio; by hand: `sudo usermod -aG gpio $USER` \
             and log in again), and {path} must belong to that group"
        )),
        rppal::gpio::Error::UnknownModel => BoardError(
            "this is not a Raspberry Pi rppal knows (Pi 4 or Pi 5 expected): on any other machine \
             set `board.backend = \"simulated\"`"
                .into(),
        ),
        other => BoardError(format!("GPIO: {other}")),
    }
}

impl GpioBoard {
    /// Open the GPIO, arm the inputs of `map` and take the LED pin.
    pub fn open(map: &PinMap, backlight: Option<Backlight>) -> Result<GpioBoard, BoardError> {
        map.check()?;
        let gpio = Gpio::new().map_err(explain)?;
        let (tx, events) = mpsc::channel();
        let inputs = Arc::new(Mutex::new(Inputs::default()));
        let switch = Duration::from_millis(map.switch_debounce_ms);
        let roles = [
            (
                map.presence,
                Role::Presence {
                    active_high: map.presence_active_high,
                },
                Duration::from_millis(map.presence_debounce_ms),
            ),
            (map.privacy_switch, Role::Privacy, switch),
            (map.call_button, Role::Button(Button::Call), switch),
            (map.mute_button, Role::Button(Button::Mute), switch),
        ];
        let mut pins = Vec::new();
        for (pin, role, debounce) in roles {
            let Some(number) = pin else { continue };
            let pin = gpio
                .get(number)
                .map_err(|e| BoardError(format!("GPIO {number} ({role:?}): {}", explain(e))))?;
            let mut pin = match role {
                Role::Presence { .. } => pin.into_input(),
                _ => pin.into_input_pullup(),
            };
            // The state at start counts as the first change (a switch already on).
            {
                let mut state = inputs.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(event) = state.apply(role, pin.read())
                    && !matches!(event, BoardEvent::Button(_))
                {
                    let _ = tx.send(event);
                }
            }
            let (tx, inputs) = (tx.clone(), inputs.clone());
            let level_of = move |trigger| match trigger {
                Trigger::RisingEdge => Level::High,
                _ => Level::Low,
            };
            pin.set_async_interrupt(Trigger::Both, Some(debounce), move |event| {
                let mut state = inputs.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(e) = state.apply(role, level_of(event.trigger)) {
                    let _ = tx.send(e);
                }
            })
            .map_err(|e| {
                BoardError(format!(
                    "GPIO {number} ({role:?}) interrupt: {}",
                    explain(e)
                ))
            })?;
            pins.push(pin);
        }
        let led = match map.status_led {
            Some(n) => Some(
                gpio.get(n)
                    .map_err(|e| BoardError(format!("GPIO {n} (status LED): {}", explain(e))))?
                    .into_output_low(),
            ),
            None => None,
        };
        Ok(GpioBoard {
            events,
            inputs,
            led,
            backlight,
            _pins: pins,
        })
    }

    fn state(&self) -> Inputs {
        *self.inputs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Board for GpioBoard {
    fn next_event(&mut self, timeout: Duration) -> Option<BoardEvent> {
        if timeout.is_zero() {
            self.events.try_recv().ok()
        } else {
            self.events.recv_timeout(timeout).ok()
        }
    }

    fn privacy(&self) -> bool {
        self.state().privacy
    }

    fn presence(&self) -> bool {
        self.state().presence
    }

    fn set_led(&mut self, led: Led) -> Result<(), BoardError> {
        let Some(pin) = &mut self.led else {
            return Ok(());
        };
        let blink = |pin: &mut OutputPin, hz: f64| {
            pin.set_pwm_frequency(hz, 0.5)
                .map_err(|e| BoardError(format!("status LED: {e}")))
        };
        match led {
            Led::Idle => {
                let _ = pin.clear_pwm();
                pin.set_low();
                Ok(())
            }
            Led::InCall => {
                let _ = pin.clear_pwm();
                pin.set_high();
                Ok(())
            }
            Led::Privacy => blink(pin, 1.0),
            Led::Error => blink(pin, 4.0),
        }
    }

    fn set_backlight(&mut self, percent: u8) -> Result<(), BoardError> {
        check_percent(percent)?;
        match &self.backlight {
            Some(b) => b.set(percent),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_become_events_on_change_only() {
        let mut s = Inputs::default();
        assert_eq!(s.apply(Role::Privacy, Level::High), None);
        assert_eq!(
            s.apply(Role::Privacy, Level::Low),
            Some(BoardEvent::PrivacySwitch(true))
        );
        assert_eq!(s.apply(Role::Privacy, Level::Low), None);
        let pir = Role::Presence { active_high: true };
        assert_eq!(s.apply(pir, Level::High), Some(BoardEvent::Presence(true)));
        assert_eq!(s.apply(pir, Level::High), None);
        let inverted = Role::Presence { active_high: false };
        assert_eq!(
            s.apply(inverted, Level::High),
            Some(BoardEvent::Presence(false))
        );
        let call = Role::Button(Button::Call);
        assert_eq!(
            s.apply(call, Level::Low),
            Some(BoardEvent::Button(Button::Call))
        );
        assert_eq!(s.apply(call, Level::High), None, "a release is not a press");
    }

    #[test]
    fn opening_off_a_pi_says_what_to_do() {
        // This machine is not a Pi: rppal cannot name the SoC, or the device is missing.
        match GpioBoard::open(&PinMap::default(), None) {
            Ok(_) => {} // running on a real Pi
            Err(e) => assert!(
                e.0.contains("simulated") || e.0.contains("gpio"),
                "unhelpful error: {e}"
            ),
        }
    }
}
