//! An in-memory board: tests, the demo and the local API push events in and read outputs
//! back. Clones share the same board, so a test keeps one to drive it while the daemon owns
//! another.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::{Board, BoardError, BoardEvent, Button, Led, check_percent};

#[derive(Debug, Default)]
struct State {
    events: VecDeque<BoardEvent>,
    privacy: bool,
    presence: bool,
    led: Led,
    backlight: u8,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// A simulated board.
#[derive(Debug, Clone, Default)]
pub struct SimulatedBoard {
    shared: Arc<Shared>,
}

impl SimulatedBoard {
    pub fn new() -> Self {
        let board = SimulatedBoard::default();
        board.lock().backlight = 100;
        board
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, mut state: std::sync::MutexGuard<'_, State>, event: BoardEvent) {
        state.events.push_back(event);
        drop(state);
        self.shared.changed.notify_all();
    }

    pub fn set_presence(&self, present: bool) {
        let mut s = self.lock();
        if s.presence != present {
            s.presence = present;
            self.push(s, BoardEvent::Presence(present));
        }
    }

    pub fn flip_privacy(&self, on: bool) {
        let mut s = self.lock();
        if s.privacy != on {
            s.privacy = on;
            self.push(s, BoardEvent::PrivacySwitch(on));
        }
    }

    pub fn press(&self, button: Button) {
        let s = self.lock();
        self.push(s, BoardEvent::Button(button));
    }

    pub fn led(&self) -> Led {
        self.lock().led
    }

    pub fn backlight(&self) -> u8 {
        self.lock().backlight
    }
}

impl Board for SimulatedBoard {
    fn next_event(&mut self, timeout: Duration) -> Option<BoardEvent> {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            if let Some(e) = s.events.pop_front() {
                return Some(e);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            s = self
                .shared
                .changed
                .wait_timeout(s, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn privacy(&self) -> bool {
        self.lock().privacy
    }

    fn presence(&self) -> bool {
        self.lock().presence
    }

    fn set_led(&mut self, led: Led) -> Result<(), BoardError> {
        self.lock().led = led;
        Ok(())
    }

    fn set_backlight(&mut self, percent: u8) -> Result<(), BoardError> {
        check_percent(percent)?;
        self.lock().backlight = percent;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_reader_wakes_for_an_event_from_another_thread() {
        let driver = SimulatedBoard::new();
        let mut board = driver.clone();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            started_tx.send(()).unwrap();
            board.next_event(Duration::from_secs(30))
        });
        started_rx.recv().unwrap();
        driver.flip_privacy(true);
        assert_eq!(
            reader.join().unwrap(),
            Some(BoardEvent::PrivacySwitch(true))
        );
    }
}
