//! What every [`Board`] backend must do, written once.
//!
//! A backend's test module implements [`Driver`] (how to work its inputs and read its
//! outputs: in memory for [`SimulatedBoard`](crate::SimulatedBoard), loopback wiring for
//! a Pi on a test jig) and calls [`check`]. Every failure names the rule broken.

use std::time::Duration;

use crate::{Board, BoardEvent, Button, Led};

/// Works a board's inputs and reads its outputs from the outside.
pub trait Driver {
    fn board(&mut self) -> &mut dyn Board;
    fn set_presence(&mut self, present: bool);
    fn set_privacy(&mut self, on: bool);
    fn press(&mut self, button: Button);
    fn led(&self) -> Led;
    fn backlight(&self) -> u8;
}

/// How long an input may take to show up as an event: the privacy switch must stop the
/// camera within 100 ms, and the board's part of that is well under it.
pub const EVENT_DEADLINE: Duration = Duration::from_millis(100);

fn expect(d: &mut dyn Driver, want: BoardEvent, rule: &str) {
    let got = d.board().next_event(EVENT_DEADLINE);
    assert_eq!(got, Some(want), "{rule}");
}

fn expect_none(d: &mut dyn Driver, rule: &str) {
    let got = d.board().poll_event();
    assert_eq!(got, None, "{rule}");
}

/// Run every rule against fresh boards from `make` (each starts switch off, nobody there).
pub fn check(make: &dyn Fn() -> Box<dyn Driver>) {
    let mut d = make();
    expect_none(&mut *d, "a board at rest reports nothing");
    assert!(
        !d.board().privacy() && !d.board().presence(),
        "a board at rest: privacy off, nobody there"
    );

    let mut d = make();
    d.set_privacy(true);
    expect(
        &mut *d,
        BoardEvent::PrivacySwitch(true),
        "switching privacy on is reported",
    );
    assert!(d.board().privacy(), "privacy() follows the switch");
    d.set_privacy(true);
    expect_none(&mut *d, "the same switch position twice is one event");
    d.set_privacy(false);
    expect(
        &mut *d,
        BoardEvent::PrivacySwitch(false),
        "switching privacy off is reported",
    );
    assert!(!d.board().privacy(), "privacy() follows the switch back");

    let mut d = make();
    d.set_presence(true);
    expect(
        &mut *d,
        BoardEvent::Presence(true),
        "someone arriving is reported",
    );
    assert!(d.board().presence(), "presence() follows the sensor");
    d.set_presence(false);
    expect(
        &mut *d,
        BoardEvent::Presence(false),
        "someone leaving is reported",
    );

    let mut d = make();
    d.press(Button::Call);
    d.press(Button::Call);
    d.press(Button::Mute);
    for (want, rule) in [
        (Button::Call, "each press is an event"),
        (Button::Call, "a second press is a second event"),
        (Button::Mute, "buttons are told apart, in order"),
    ] {
        expect(&mut *d, BoardEvent::Button(want), rule);
    }
    expect_none(&mut *d, "nothing more than what happened");

    let mut d = make();
    d.set_privacy(true);
    d.press(Button::Mute);
    d.set_presence(true);
    expect(
        &mut *d,
        BoardEvent::PrivacySwitch(true),
        "events keep their order (1)",
    );
    expect(
        &mut *d,
        BoardEvent::Button(Button::Mute),
        "events keep their order (2)",
    );
    expect(
        &mut *d,
        BoardEvent::Presence(true),
        "events keep their order (3)",
    );

    let mut d = make();
    for led in [Led::InCall, Led::Privacy, Led::Error, Led::Idle] {
        d.board().set_led(led).expect("setting the LED works");
        assert_eq!(d.led(), led, "the LED shows what was set");
    }

    let mut d = make();
    for percent in [0, 37, 100] {
        d.board()
            .set_backlight(percent)
            .expect("setting the backlight works");
        assert_eq!(d.backlight(), percent, "the backlight is at what was set");
    }
    assert!(
        d.board().set_backlight(101).is_err(),
        "over 100 % is refused"
    );
    assert_eq!(d.backlight(), 100, "a refused value changes nothing");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimulatedBoard;

    struct Simulated {
        board: SimulatedBoard,
        driver: SimulatedBoard,
    }

    impl Driver for Simulated {
        fn board(&mut self) -> &mut dyn Board {
            &mut self.board
        }
        fn set_presence(&mut self, present: bool) {
            self.driver.set_presence(present);
        }
        fn set_privacy(&mut self, on: bool) {
            self.driver.flip_privacy(on);
        }
        fn press(&mut self, button: Button) {
            self.driver.press(button);
        }
        fn led(&self) -> Led {
            self.driver.led()
        }
        fn backlight(&self) -> u8 {
            self.driver.backlight()
        }
    }

    #[test]
    fn the_simulated_board_keeps_the_contract() {
        check(&|| {
            let driver = SimulatedBoard::new();
            Box::new(Simulated {
                board: driver.clone(),
                driver,
            })
        });
    }
}
