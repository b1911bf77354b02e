//! A short fuzzing run of every parser, as part of the tests: no input may make one panic.
//! The long run (ten million inputs per target) is `cargo xtask bench fuzz`.

/// Inputs per target here: enough to reach every mutation many times, quick in a debug build.
const INPUTS: u64 = 20_000;

#[test]
fn no_parser_panics_on_mutated_input() {
    let mut failures = Vec::new();
    for (n, target) in visavis_fuzz::targets::all().iter().enumerate() {
        let report = visavis_fuzz::run(target, INPUTS, 0xC1 + n as u64);
        println!(
            "fuzz: {}: {} inputs, {} accepted, {:.1} s",
            report.target,
            report.inputs,
            report.accepted,
            report.elapsed.as_secs_f64()
        );
        if let Some((input, message)) = report.failure {
            failures.push(format!(
                "{}: {message}; input {:?}",
                report.target,
                String::from_utf8_lossy(&input)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Every seed is valid: mutations start from inputs the parser accepts, so they reach past
/// its first checks.
#[test]
fn every_seed_is_accepted() {
    for target in visavis_fuzz::targets::all() {
        for seed in &target.seeds {
            assert!(
                (target.check)(seed),
                "{}: the seed {:?} is refused",
                target.name,
                String::from_utf8_lossy(seed)
            );
        }
    }
}
