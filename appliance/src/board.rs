//! The board's thread: events from the presence sensor, the privacy switch and the buttons
//! to the daemon; LED changes and simulated inputs from it.
//!
//! [`Board`](visavis_hardware::Board) calls block (GPIO, sysfs), so the board lives on its
//! own thread. It waits for the next event with a short timeout and, in between, carries
//! out the daemon's commands. Each event is stamped with the time it was read, so the
//! daemon can measure how fast it acted on it.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use tokio::sync::mpsc;
use visavis_api::local::{BoardButton, BoardInput};
use visavis_hardware::{
    Backlight, Board, BoardError, BoardEvent, Button, GpioBoard, Led, SimulatedBoard,
};

use crate::config::{BoardBackend, BoardConfig};

/// How long the thread waits for an event before looking at commands.
const WAIT: Duration = Duration::from_millis(20);

/// What the daemon asks of the board.
#[derive(Debug)]
pub enum Command {
    Led(Led),
    Simulate(BoardInput),
}

/// An event and when it was read (Unix time, microseconds).
pub type Stamped = (BoardEvent, u64);

/// The daemon's side of the board thread.
pub struct BoardLink {
    pub commands: std_mpsc::Sender<Command>,
    pub events: mpsc::UnboundedReceiver<Stamped>,
    /// Whether inputs can be simulated (the demo and tests).
    pub simulated: bool,
    /// The privacy switch and presence at start.
    pub privacy: bool,
    pub presence: bool,
}

fn gpio_present() -> bool {
    ["/dev/gpiomem", "/dev/gpiomem0"]
        .iter()
        .any(|p| std::path::Path::new(p).exists())
}

/// Open the configured board and start its thread.
pub fn spawn(config: &BoardConfig) -> Result<BoardLink, BoardError> {
    let use_gpio = match config.backend {
        BoardBackend::Gpio => true,
        BoardBackend::Simulated => false,
        BoardBackend::Auto => gpio_present(),
    };
    let (board, driver): (Box<dyn Board>, Option<SimulatedBoard>) = if use_gpio {
        let backlight = match Backlight::find(
            std::path::Path::new("/sys/class/backlight"),
            config.backlight.as_deref(),
        ) {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::warn!("no backlight control: {e}");
                None
            }
        };
        (Box::new(GpioBoard::open(&config.pins, backlight)?), None)
    } else {
        tracing::info!("board: simulated (no GPIO here); drive it through the local API");
        let board = SimulatedBoard::new();
        (Box::new(board.clone()), Some(board))
    };
    let (privacy, presence) = (board.privacy(), board.presence());
    let (commands, command_rx) = std_mpsc::channel();
    let (event_tx, events) = mpsc::unbounded_channel();
    let simulated = driver.is_some();
    std::thread::Builder::new()
        .name("board".into())
        .spawn(move || run(board, driver, command_rx, event_tx))
        .map_err(|e| BoardError(format!("cannot start the board thread: {e}")))?;
    Ok(BoardLink {
        commands,
        events,
        simulated,
        privacy,
        presence,
    })
}

fn run(
    mut board: Box<dyn Board>,
    driver: Option<SimulatedBoard>,
    commands: std_mpsc::Receiver<Command>,
    events: mpsc::UnboundedSender<Stamped>,
) {
    let mut last_led_error = None;
    loop {
        if let Some(event) = board.next_event(WAIT)
            && events.send((event, crate::metrics::unix_us())).is_err()
        {
            return; // the daemon is gone
        }
        loop {
            match commands.try_recv() {
                Ok(Command::Led(led)) => match board.set_led(led) {
                    Ok(()) => last_led_error = None,
                    Err(e) if last_led_error.as_ref() != Some(&e) => {
                        tracing::warn!("status LED: {e}");
                        last_led_error = Some(e);
                    }
                    Err(_) => {}
                },
                Ok(Command::Simulate(input)) => {
                    if let Some(d) = &driver {
                        simulate(d, input);
                    }
                }
                Err(std_mpsc::TryRecvError::Empty) => break,
                Err(std_mpsc::TryRecvError::Disconnected) => return,
            }
        }
    }
}

fn simulate(driver: &SimulatedBoard, input: BoardInput) {
    match input {
        BoardInput::PrivacySwitch { on } => driver.flip_privacy(on),
        BoardInput::Presence { present } => driver.set_presence(present),
        BoardInput::Press { button } => driver.press(match button {
            BoardButton::Call => Button::Call,
            BoardButton::Mute => Button::Mute,
        }),
    }
}
