//! An in-memory board: tests and the demo push events in and read outputs back.

use crate::{Board, BoardError, BoardEvent, Button, Led};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct State {
    events: VecDeque<BoardEvent>,
    privacy: bool,
    presence: bool,
    led: Led,
    backlight: u8,
}

/// A simulated board. Clones share the same board, so a test keeps one to drive it while
/// the daemon owns another.
#[derive(Debug, Clone, Default)]
pub struct SimulatedBoard {
    state: Arc<Mutex<State>>,
}

impl SimulatedBoard {
    pub fn new() -> Self {
        let board = SimulatedBoard::default();
        board.lock().backlight = 100;
        board
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_presence(&self, present: bool) {
        let mut s = self.lock();
        if s.presence != present {
            s.presence = present;
            s.events.push_back(BoardEvent::Presence(present));
        }
    }

    pub fn flip_privacy(&self, on: bool) {
        let mut s = self.lock();
        if s.privacy != on {
            s.privacy = on;
            s.events.push_back(BoardEvent::PrivacySwitch(on));
        }
    }

    pub fn press(&self, button: Button) {
        self.lock().events.push_back(BoardEvent::Button(button));
    }

    pub fn led(&self) -> Led {
        self.lock().led
    }

    pub fn backlight(&self) -> u8 {
        self.lock().backlight
    }
}

impl Board for SimulatedBoard {
    fn poll_event(&mut self) -> Option<BoardEvent> {
        self.lock().events.pop_front()
    }

    fn privacy(&self) -> bool {
        self.lock().privacy
    }

    fn set_led(&mut self, led: Led) -> Result<(), BoardError> {
        self.lock().led = led;
        Ok(())
    }

    fn set_backlight(&mut self, percent: u8) -> Result<(), BoardError> {
        if percent > 100 {
            return Err(BoardError(format!("backlight {percent} % is over 100 %")));
        }
        self.lock().backlight = percent;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_in_order_and_only_on_change() {
        let driver = SimulatedBoard::new();
        let mut board: Box<dyn Board> = Box::new(driver.clone());
        driver.flip_privacy(true);
        driver.flip_privacy(true);
        driver.press(Button::Call);
        assert_eq!(board.poll_event(), Some(BoardEvent::PrivacySwitch(true)));
        assert_eq!(board.poll_event(), Some(BoardEvent::Button(Button::Call)));
        assert_eq!(board.poll_event(), None);
        assert!(board.privacy());
    }

    #[test]
    fn outputs_are_visible_to_the_driver() {
        let driver = SimulatedBoard::new();
        let mut board = driver.clone();
        board.set_led(Led::InCall).unwrap();
        assert_eq!(driver.led(), Led::InCall);
        assert!(board.set_backlight(101).is_err());
        assert_eq!(driver.backlight(), 100);
    }
}
