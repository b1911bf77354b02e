//! Fuzzing Visavis's parsers on stable Rust (nightly toolchains, and so `cargo fuzz`, are
//! not available to us): every parser that takes bytes from outside the process
//! ([`targets`]) is fed inputs mutated from valid examples ([`mutate`]) and must never
//! panic; messages must also survive a round trip. A short run is a test
//! (`fuzz/tests/short.rs`); `cargo xtask bench fuzz` runs ten million inputs per target and
//! reports the counts.

pub mod mutate;
pub mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// What one target's run found.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: &'static str,
    pub inputs: u64,
    /// Inputs the parser accepted.
    pub accepted: u64,
    pub elapsed: Duration,
    /// The first input that panicked, with the panic's message.
    pub failure: Option<(Vec<u8>, String)>,
}

/// Feed `inputs` inputs made from `seed` to `target`; stops at the first panic.
pub fn run(target: &targets::Target, inputs: u64, seed: u64) -> Report {
    let seeds: Vec<&[u8]> = target.seeds.iter().map(Vec::as_slice).collect();
    let mut rng = mutate::Rng::new(seed);
    let started = Instant::now();
    let mut report = Report {
        target: target.name,
        inputs: 0,
        accepted: 0,
        elapsed: Duration::ZERO,
        failure: None,
    };
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for _ in 0..inputs {
        let input = mutate::input(&mut rng, &seeds);
        report.inputs += 1;
        match catch_unwind(AssertUnwindSafe(|| (target.check)(&input))) {
            Ok(true) => report.accepted += 1,
            Ok(false) => {}
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "a panic".into());
                report.failure = Some((input, message));
                break;
            }
        }
    }
    std::panic::set_hook(previous);
    report.elapsed = started.elapsed();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_parser_is_caught_with_its_input() {
        let target = targets::Target {
            name: "panics on a quote",
            seeds: vec![b"abc".to_vec()],
            check: |bytes| {
                assert!(!bytes.contains(&b'"'), "a quote");
                true
            },
        };
        let report = run(&target, 100_000, 1);
        let (input, message) = report.failure.expect("the panic is found");
        assert!(input.contains(&b'"'));
        assert!(message.contains("a quote"), "{message}");
        assert!(report.inputs < 100_000, "the run stops at the first panic");
    }
}
