//! One exit-code policy for every Visavis command line: a command line that cannot be
//! understood prints clap's message (what is wrong, and the usage) and exits 2; `--help`
//! and `--version` print and exit 0.

use std::ffi::OsString;
use std::process::ExitCode;

/// Parse this process's arguments into `C`, or the exit code to leave with.
pub fn parse<C: clap::Parser>() -> Result<C, ExitCode> {
    parse_from(std::env::args_os())
}

/// Parse `args` (the program's name first) into `C`, or the exit code to leave with.
pub fn parse_from<C, I, T>(args: I) -> Result<C, ExitCode>
where
    C: clap::Parser,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    C::try_parse_from(args).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    #[command(name = "demo", version)]
    struct Cli {
        #[arg(long)]
        config: String,
    }

    #[test]
    fn usage_errors_exit_2_and_help_exits_0() {
        let ok: Cli = parse_from(["demo", "--config", "a.toml"]).unwrap();
        assert_eq!(ok.config, "a.toml");
        assert_eq!(
            parse_from::<Cli, _, _>(["demo", "--bogus"]).unwrap_err(),
            ExitCode::from(2)
        );
        assert_eq!(
            parse_from::<Cli, _, _>(["demo", "--help"]).unwrap_err(),
            ExitCode::SUCCESS
        );
    }
}
