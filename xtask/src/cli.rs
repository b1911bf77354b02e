//! The command line of `cargo xtask`: raw arguments in, a validated [`Command`] out.
//!
//! Nothing here touches the machine; every check that can be made on the arguments alone is
//! made here (by clap), so the commands themselves start from options that make sense.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `cargo xtask`: the developer commands of Visavis.
#[derive(Debug, Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    after_help = "Exit codes: 0 success; `test` passes on the exit code of `cargo test`; 1 a step \
                  failed (the message says which and how to fix it); 2 a bad command line."
)]
struct Cli {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Install the Debian packages Visavis needs (only the missing ones).
    Setup,
    /// Setup, `cargo build --workspace`, then `cargo test --workspace ARGS...`.
    Test {
        /// Passed to `cargo test --workspace` unchanged (e.g. a test name, `-- --nocapture`).
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        cargo_test_args: Vec<String>,
    },
    /// Setup, build, and run rendezvous + applianced on this machine; prints an invite link
    /// to open in a browser; Ctrl-C stops it.
    Demo {
        /// Do not start the kiosk window, even when a display is available.
        #[arg(long)]
        headless: bool,
        /// Build and run the release binaries.
        #[arg(long)]
        release: bool,
        /// The installation the demo unit is.
        #[arg(long, default_value_t = Mode::FittingRoom)]
        mode: Mode,
    },
    /// The benchmarks, all of them or the parts named: call (latency, CPU, memory), kiosk
    /// (CPU, memory, frame to paint), net, provision, audio (echo cancellation in a
    /// simulated room), fuzz (ten million inputs per parser), soak (join/leave cycles, a
    /// long call, rendezvous restarted, applianced killed, floods).
    Bench {
        #[arg(value_name = "PARTS")]
        parts: Vec<String>,
        /// soak: guests joining and leaving one after another.
        #[arg(long, default_value_t = 1000)]
        cycles: u32,
        /// soak: length of the long call, in seconds.
        #[arg(long, default_value_t = 1800)]
        call_secs: u64,
        /// soak: half-open HTTP connections, then idle guest WebSockets.
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
    },
    /// Build the .deb packages (visavis-unit, visavis-rendezvous, visavis-provision) into
    /// target/debian/.
    Package {
        /// amd64 or arm64 (cross-built; default: this machine's).
        #[arg(long, value_enum)]
        arch: Option<Arch>,
        /// Package the debug build (quick, for tests) instead of release.
        #[arg(long)]
        debug: bool,
        /// Package what is already built.
        #[arg(long)]
        no_build: bool,
        /// Write the packages there instead.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// `cargo check` the device crates for aarch64 (the Pi), installing the cross toolchain
    /// and arm64 GStreamer headers when missing.
    CrossCheck,
    /// Run the arm64 package's binaries (camera check against the kernel's vivid driver,
    /// applianced) under qemu-system-aarch64.
    SmokeArm64,
    /// Render every kiosk screen, both installations and languages, to docs/screens/
    /// (software Vulkan; no GPU or display needed).
    Screens,
}

/// A validated command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Setup,
    Test(TestOptions),
    Demo(DemoOptions),
    Bench(BenchOptions),
    Package(PackageOptions),
    CrossCheck,
    SmokeArm64,
    Screens,
}

/// `cargo xtask bench`: the parts, and how long the soak runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchOptions {
    pub parts: Vec<String>,
    pub soak: Soak,
}

/// The soak's sizes (`tests/src/bin/soak`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Soak {
    pub cycles: u32,
    pub call_secs: u64,
    pub connections: usize,
}

/// A Debian architecture we package for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    Amd64,
    Arm64,
}

impl Arch {
    /// This machine's architecture.
    pub fn host() -> Arch {
        if cfg!(target_arch = "aarch64") {
            Arch::Arm64
        } else {
            Arch::Amd64
        }
    }

    /// The name Debian uses.
    pub fn debian(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// Rust's target triple.
    pub fn triple(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }
}

/// Options of `cargo xtask package`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageOptions {
    pub arch: Arch,
    pub profile: Profile,
    pub build: bool,
    /// Where the `.deb` files go; default `target/debian`.
    pub out: Option<std::path::PathBuf>,
}

/// Options of `cargo xtask test`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestOptions {
    /// Passed to `cargo test --workspace` unchanged (e.g. a test name, `-- --nocapture`).
    pub cargo_test_args: Vec<String>,
}

/// Options of `cargo xtask demo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    pub headless: bool,
    pub profile: Profile,
    pub mode: Mode,
}

/// Which cargo profile to build and run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

impl Profile {
    /// The folder under `target/` holding this profile's binaries.
    pub fn dir_name(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

/// The installation the demo unit pretends to be (`mode` in applianced.toml).
pub use visavis_api::Mode;

impl Command {
    /// Parse the arguments after `cargo xtask`. The error is clap's: `--help` and `help`
    /// come back as one too, to be printed (see `exit_code` in main.rs).
    pub fn parse(args: &[String]) -> Result<Command, clap::Error> {
        let cli =
            Cli::try_parse_from(std::iter::once("xtask").chain(args.iter().map(String::as_str)))?;
        Ok(match cli.command {
            Sub::Setup => Command::Setup,
            Sub::Test { cargo_test_args } => Command::Test(TestOptions { cargo_test_args }),
            Sub::Demo {
                headless,
                release,
                mode,
            } => Command::Demo(DemoOptions {
                headless,
                profile: if release {
                    Profile::Release
                } else {
                    Profile::Debug
                },
                mode,
            }),
            Sub::Bench {
                parts,
                cycles,
                call_secs,
                connections,
            } => Command::Bench(BenchOptions {
                parts,
                soak: Soak {
                    cycles,
                    call_secs,
                    connections,
                },
            }),
            Sub::Package {
                arch,
                debug,
                no_build,
                out,
            } => Command::Package(PackageOptions {
                arch: arch.unwrap_or_else(Arch::host),
                profile: if debug {
                    Profile::Debug
                } else {
                    Profile::Release
                },
                build: !no_build,
                out,
            }),
            Sub::CrossCheck => Command::CrossCheck,
            Sub::SmokeArm64 => Command::SmokeArm64,
            Sub::Screens => Command::Screens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Command::parse(&args)
    }

    #[test]
    fn test_passes_every_argument_to_cargo_test() {
        assert_eq!(
            parse(&["test", "-p", "visavis-e2e", "--", "--nocapture"]).unwrap(),
            Command::Test(TestOptions {
                cargo_test_args: vec![
                    "-p".into(),
                    "visavis-e2e".into(),
                    "--".into(),
                    "--nocapture".into()
                ],
            })
        );
    }

    #[test]
    fn bench_parts_and_the_soak_sizes() {
        assert_eq!(
            parse(&["bench", "soak", "--cycles", "50", "--call-secs=60"]).unwrap(),
            Command::Bench(BenchOptions {
                parts: vec!["soak".into()],
                soak: Soak {
                    cycles: 50,
                    call_secs: 60,
                    connections: 10_000
                },
            })
        );
    }

    #[test]
    fn package_options() {
        assert_eq!(
            parse(&["package", "--arch", "arm64", "--debug", "--no-build"]).unwrap(),
            Command::Package(PackageOptions {
                arch: Arch::Arm64,
                profile: Profile::Debug,
                build: false,
                out: None
            })
        );
        assert_eq!(
            parse(&["package", "--arch=amd64"]).unwrap(),
            Command::Package(PackageOptions {
                arch: Arch::Amd64,
                profile: Profile::Release,
                build: true,
                out: None
            })
        );
        let e = parse(&["package", "--arch", "riscv64"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("possible values: amd64, arm64"), "{e}");
    }

    #[test]
    fn demo_options() {
        assert_eq!(
            parse(&["demo"]).unwrap(),
            Command::Demo(DemoOptions {
                headless: false,
                profile: Profile::Debug,
                mode: Mode::FittingRoom
            })
        );
        assert_eq!(
            parse(&["demo", "--headless", "--release", "--mode", "table"]).unwrap(),
            Command::Demo(DemoOptions {
                headless: true,
                profile: Profile::Release,
                mode: Mode::Table
            })
        );
        assert_eq!(
            parse(&["demo", "--mode=table"]).unwrap(),
            parse(&["demo", "--mode", "table"]).unwrap()
        );
    }

    #[test]
    fn bad_command_lines_say_what_is_wrong() {
        let usage = |args: &[&str]| {
            let e = parse(args).unwrap_err();
            assert!(e.use_stderr(), "{args:?} is a usage error");
            assert_eq!(e.exit_code(), 2, "{args:?}");
            e.to_string()
        };
        assert!(usage(&[]).contains("Usage: cargo xtask <COMMAND>"));
        assert!(usage(&["deploy"]).contains("'deploy'"));
        assert!(usage(&["setup", "x"]).contains("'x'"));
        assert!(usage(&["demo", "--mode", "bar"]).contains("expected fitting-room or table"));
        assert!(usage(&["demo", "--mode"]).contains("a value is required"));
        assert!(usage(&["demo", "--fast"]).contains("'--fast'"));
        usage(&["demo", "--headless=yes"]);
    }

    #[test]
    fn help_is_not_an_error() {
        for args in [&["help"][..], &["--help"], &["-h"], &["demo", "--help"]] {
            let e = parse(args).unwrap_err();
            assert!(!e.use_stderr(), "{args:?}");
            assert_eq!(e.exit_code(), 0, "{args:?}");
        }
    }
}
