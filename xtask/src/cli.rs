//! The command line of `cargo xtask`: raw arguments in, a validated [`Command`] out.
//!
//! Nothing here touches the machine; every check that can be made on the arguments alone is
//! made here, so the commands themselves start from options that make sense.

use std::fmt;

pub const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup                 install the Debian packages Visavis needs (only the missing ones)
  test [ARGS...]        setup, `cargo build --workspace`, then `cargo test --workspace ARGS...`
  demo [OPTIONS]        setup, build, and run rendezvous + applianced on this machine;
                        prints an invite link to open in a browser; Ctrl-C stops it
      --headless        do not start the kiosk window, even when a display is available
      --release         build and run the release binaries
      --mode MODE       fitting-room (default) or table
  bench [PARTS...]      the benchmarks, all of them or the parts named: call (latency, CPU,
                        memory), kiosk (CPU, memory, frame to paint), provision
  package [OPTIONS]     build the .deb packages (visavis-unit, visavis-rendezvous,
                        visavis-provision) into target/debian/
      --arch ARCH       amd64 or arm64 (cross-built; default: this machine's)
      --debug           package the debug build (quick, for tests) instead of release
      --no-build        package what is already built
      --out DIR         write the packages there instead
  cross-check           `cargo check` the device crates for aarch64 (the Pi), installing
                        the cross toolchain and arm64 GStreamer headers when missing
  smoke-arm64           run the arm64 package's binaries (camera check against the
                        kernel's vivid driver, applianced) under qemu-system-aarch64
  screens               render every kiosk screen, both installations and languages,
                        to docs/screens/ (software Vulkan; no GPU or display needed)
  help                  this text
";

/// A validated command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Setup,
    Test(TestOptions),
    Demo(DemoOptions),
    Bench(Vec<String>),
    Package(PackageOptions),
    CrossCheck,
    SmokeArm64,
    Screens,
}

/// A Debian architecture we package for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// The command line could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl Command {
    /// Parse the arguments after `cargo xtask`.
    pub fn parse(args: &[String]) -> Result<Command, UsageError> {
        let Some((name, rest)) = args.split_first() else {
            return Err(UsageError("no command given".into()));
        };
        match name.as_str() {
            "help" | "-h" | "--help" => Ok(Command::Help),
            "setup" => match rest.first() {
                None => Ok(Command::Setup),
                Some(extra) => Err(UsageError(format!(
                    "`setup` takes no arguments, got `{extra}`"
                ))),
            },
            "test" => Ok(Command::Test(TestOptions {
                cargo_test_args: rest.to_vec(),
            })),
            "demo" => parse_demo(rest).map(Command::Demo),
            "bench" => Ok(Command::Bench(rest.to_vec())),
            "package" => parse_package(rest).map(Command::Package),
            "smoke-arm64" => match rest.first() {
                None => Ok(Command::SmokeArm64),
                Some(extra) => Err(UsageError(format!(
                    "`smoke-arm64` takes no arguments, got `{extra}`"
                ))),
            },
            "screens" => match rest.first() {
                None => Ok(Command::Screens),
                Some(extra) => Err(UsageError(format!(
                    "`screens` takes no arguments, got `{extra}`"
                ))),
            },
            "cross-check" => match rest.first() {
                None => Ok(Command::CrossCheck),
                Some(extra) => Err(UsageError(format!(
                    "`cross-check` takes no arguments, got `{extra}`"
                ))),
            },
            other => Err(UsageError(format!("unknown command `{other}`"))),
        }
    }
}

fn parse_demo(args: &[String]) -> Result<DemoOptions, UsageError> {
    let mut options = DemoOptions {
        headless: false,
        profile: Profile::Debug,
        mode: Mode::FittingRoom,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_string())),
            None => (arg.as_str(), None),
        };
        match flag {
            "--headless" if inline_value.is_none() => options.headless = true,
            "--release" if inline_value.is_none() => options.profile = Profile::Release,
            "--mode" => {
                let value = match inline_value {
                    Some(value) => value,
                    None => args.next().cloned().ok_or_else(|| {
                        UsageError("`--mode` needs a value: fitting-room or table".into())
                    })?,
                };
                options.mode = value
                    .parse()
                    .map_err(|e| UsageError(format!("`--mode {value}`: {e}")))?;
            }
            _ => {
                return Err(UsageError(format!(
                    "`demo` does not know the option `{arg}`"
                )));
            }
        }
    }
    Ok(options)
}

fn parse_package(args: &[String]) -> Result<PackageOptions, UsageError> {
    let mut options = PackageOptions {
        arch: Arch::host(),
        profile: Profile::Release,
        build: true,
        out: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_string())),
            None => (arg.as_str(), None),
        };
        match flag {
            "--debug" if inline_value.is_none() => options.profile = Profile::Debug,
            "--no-build" if inline_value.is_none() => options.build = false,
            "--out" => {
                let value = match inline_value {
                    Some(value) => value,
                    None => args
                        .next()
                        .cloned()
                        .ok_or_else(|| UsageError("`--out` needs a folder".into()))?,
                };
                options.out = Some(value.into());
            }
            "--arch" => {
                let value = match inline_value {
                    Some(value) => value,
                    None => args.next().cloned().ok_or_else(|| {
                        UsageError("`--arch` needs a value: amd64 or arm64".into())
                    })?,
                };
                options.arch = match value.as_str() {
                    "amd64" => Arch::Amd64,
                    "arm64" => Arch::Arm64,
                    _ => {
                        return Err(UsageError(format!(
                            "`--arch {value}`: the architecture is amd64 or arm64"
                        )));
                    }
                };
            }
            _ => {
                return Err(UsageError(format!(
                    "`package` does not know the option `{arg}`"
                )));
            }
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, UsageError> {
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
        assert!(e.contains("amd64 or arm64"), "{e}");
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
        assert!(parse(&[]).unwrap_err().to_string().contains("no command"));
        assert!(
            parse(&["deploy"])
                .unwrap_err()
                .to_string()
                .contains("`deploy`")
        );
        assert!(
            parse(&["setup", "x"])
                .unwrap_err()
                .to_string()
                .contains("no arguments")
        );
        assert!(
            parse(&["demo", "--mode", "bar"])
                .unwrap_err()
                .to_string()
                .contains("fitting-room or table")
        );
        assert!(
            parse(&["demo", "--mode"])
                .unwrap_err()
                .to_string()
                .contains("needs a value")
        );
        assert!(
            parse(&["demo", "--fast"])
                .unwrap_err()
                .to_string()
                .contains("`--fast`")
        );
        assert!(parse(&["demo", "--headless=yes"]).is_err());
    }
}
