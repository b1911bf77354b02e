//! `visavis-fuzz [--inputs N] [--seed S]`: fuzz every parser and print, per target, the
//! inputs tried, how many were accepted, and how fast. Exit 1 when an input made a parser
//! panic (the input is printed, hex, and written to `fuzz-failure-<n>.bin`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut inputs: u64 = 10_000_000;
    let mut seed: u64 = 0x5eed;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u64>().ok());
        match (arg.as_str(), value) {
            ("--inputs", Some(n)) => inputs = n,
            ("--seed", Some(s)) => seed = s,
            _ => {
                eprintln!("usage: visavis-fuzz [--inputs N] [--seed S] (got {arg:?})");
                return ExitCode::from(2);
            }
        }
    }
    let mut failed = false;
    println!("| target | inputs | accepted | inputs/s | panics |");
    println!("|---|---|---|---|---|");
    for (n, target) in visavis_fuzz::targets::all().iter().enumerate() {
        let report = visavis_fuzz::run(target, inputs, seed.wrapping_add(n as u64));
        let rate = report.inputs as f64 / report.elapsed.as_secs_f64().max(1e-9);
        let panics = match &report.failure {
            None => "none".to_owned(),
            Some((input, message)) => {
                failed = true;
                let file = format!("fuzz-failure-{n}.bin");
                let _ = std::fs::write(&file, input);
                format!("1: {message} (input in {file})")
            }
        };
        println!(
            "| {} | {} | {} | {:.0} | {} |",
            report.target, report.inputs, report.accepted, rate, panics
        );
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
