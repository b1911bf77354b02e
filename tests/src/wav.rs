//! WAV files for the guests' fake microphones (Chromium's
//! `--use-file-for-fake-audio-capture`, which loops them): 48 kHz mono 16-bit PCM.

use crate::error::{Result, ResultExt};
use std::path::Path;

/// The sample rate of every file written here.
pub const RATE: u32 = 48_000;

/// Write `samples` (48 kHz mono) to `path` as 16-bit PCM WAV.
pub fn write(path: &Path, samples: &[i16]) -> Result<()> {
    let data_len = u32::try_from(samples.len() * 2).unwrap_or(u32::MAX);
    let mut bytes = Vec::with_capacity(44 + samples.len() * 2);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&RATE.to_le_bytes());
    bytes.extend_from_slice(&(RATE * 2).to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, bytes).context(format!("could not write {}", path.display()))
}

/// A second of silence, for a guest who says nothing.
pub fn silence(path: &Path) -> Result<()> {
    write(path, &vec![0; RATE as usize])
}

/// A click every `period_ms`: `click_ms` of a 1 kHz tone at half of full scale (-6 dBFS),
/// then silence. Looped by Chromium, it is a click every `period_ms`, whose start is sharp
/// (the tone's first samples are already loud).
pub fn clicks(path: &Path, period_ms: u32, click_ms: u32) -> Result<()> {
    let len = (RATE * period_ms / 1000) as usize;
    let click = (RATE * click_ms / 1000) as usize;
    let samples: Vec<i16> = (0..len)
        .map(|i| {
            if i < click {
                // Starting a quarter period in: the first sample is at the crest.
                let phase =
                    2.0 * std::f64::consts::PI * (1000.0 * i as f64 / f64::from(RATE) + 0.25);
                (16384.0 * phase.sin()) as i16
            } else {
                0
            }
        })
        .collect();
    write(path, &samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_file_is_a_loud_start_then_silence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clicks.wav");
        clicks(&path, 1500, 30).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"RIFF");
        let samples: Vec<i16> = bytes[44..]
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(samples.len(), 72_000);
        assert_eq!(samples[0], 16384);
        assert!(samples[..1440].iter().any(|s| *s < -16000));
        assert!(samples[1440..].iter().all(|s| *s == 0));
    }
}
