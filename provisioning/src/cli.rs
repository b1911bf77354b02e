//! The command line: raw arguments → validated inputs → run, with one exit-code policy.
//!
//! Every command prints a line of human text per result, or with `--json` one JSON object
//! on stdout. Problems go to stderr (and into the JSON object). No command ever prints a
//! secret.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use visavis_api::fleet::keys::{DeviceKey, create_key_file};
use visavis_api::fleet::seed::{SEED_FILE_NAME, SeedFile};
use visavis_api::fleet::{enrollment, sha256_hex};

use crate::manifest::{self, Device};
use crate::secret_ref::SecretRef;
use crate::seeds::{self, Action};
use crate::{disk, fleet, image};
use visavis_api::fleet::atomic;

const AFTER_HELP: &str = "\
Exit codes: 0 done; 1 invalid input or a failed check; 2 usage or environment error
(unreadable file, I/O, network); 3 refused for safety (a fixed disk without --force, or
no --yes without a terminal). Secrets are given as env:NAME or file:PATH, never inline.";

/// Provision a fleet of Visavis units: manifest → signed seeds → cards.
#[derive(Debug, Parser)]
#[command(name = "provision", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// One JSON object on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Do not ask before writing a card or revoking a unit (for scripts).
    #[arg(long, global = true)]
    pub yes: bool,
    /// The fleet's seed-signing key: file:PATH or env:NAME (default: $VISAVIS_SIGNING_KEY).
    #[arg(long, global = true, value_name = "REF")]
    pub signing_key: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new 32-byte key file (mode 0600): a signing key or an enrollment key.
    Keygen { path: PathBuf },
    /// Check a manifest: every problem, with its row and column.
    Validate { manifest: PathBuf },
    /// Show what `bundle` would write, against the seeds from the last run.
    Plan {
        manifest: PathBuf,
        #[command(flatten)]
        seeds: SeedArgs,
    },
    /// Write one signed seed per unit into the output folder (only what changed).
    Bundle {
        manifest: PathBuf,
        #[command(flatten)]
        seeds: SeedArgs,
    },
    /// Put a unit's seed on its card's boot partition, or into an image file.
    Write {
        device_id: String,
        /// The folder `bundle` wrote to.
        #[arg(long, default_value = "seeds")]
        out: PathBuf,
        /// The mounted boot partition.
        #[arg(long, conflicts_with = "image", required_unless_present = "image")]
        to: Option<PathBuf>,
        /// A disk image whose first FAT partition is the boot partition.
        #[arg(long)]
        image: Option<PathBuf>,
        /// Write even where the disk does not look like a removable card.
        #[arg(long)]
        force: bool,
        /// Skip reading the seed back.
        #[arg(long)]
        no_verify: bool,
    },
    /// Check a seed (a file, a folder holding one, or an image with --image).
    Verify {
        path: PathBuf,
        #[arg(long)]
        image: bool,
    },
    /// JSON report of the seeds, and of the registry when a rendezvous is given.
    Report {
        #[arg(long, default_value = "seeds")]
        out: PathBuf,
        /// Base URL of the rendezvous server, to merge its registry into the report.
        #[arg(long, requires = "enrollment_key")]
        rendezvous: Option<String>,
        /// The fleet's enrollment key: file:PATH or env:NAME.
        #[arg(long, value_name = "REF", requires = "rendezvous")]
        enrollment_key: Option<String>,
    },
    /// Shut units out: rendezvous refuses them until they are re-provisioned.
    Revoke {
        #[arg(required = true)]
        device_ids: Vec<String>,
        #[command(flatten)]
        rendezvous: RendezvousArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Where seeds are written, one folder per unit.
    #[arg(long, default_value = "seeds")]
    pub out: PathBuf,
    /// Lifetime of newly issued enrollment tokens.
    #[arg(long, default_value_t = 30)]
    pub token_ttl_days: u64,
}

#[derive(Debug, clap::Args)]
pub struct RendezvousArgs {
    /// Base URL of the rendezvous server.
    #[arg(long)]
    pub rendezvous: String,
    /// The fleet's enrollment key: file:PATH or env:NAME.
    #[arg(long, value_name = "REF")]
    pub enrollment_key: String,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Invalid = 1,
    Environment = 2,
    Refused = 3,
}

/// A failure: the exit code and the sentence for people.
#[derive(Debug)]
pub struct Failure(pub Exit, pub String);

fn env_err(m: impl std::fmt::Display) -> Failure {
    Failure(Exit::Environment, m.to_string())
}

/// What a command printed: JSON, and the text form.
struct Output {
    json: Value,
    text: String,
    exit: Exit,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let result = run(cli);
    let (exit, json_out, text) = match result {
        Ok(out) => (out.exit, out.json, out.text),
        Err(Failure(exit, message)) => {
            eprintln!("provision: {message}");
            (
                exit,
                json!({ "ok": false, "error": message }),
                String::new(),
            )
        }
    };
    if json {
        println!("{json_out}");
    } else if !text.is_empty() {
        print!("{text}");
    }
    ExitCode::from(exit as u8)
}

fn run(cli: Cli) -> Result<Output, Failure> {
    let signing = cli
        .signing_key
        .clone()
        .or_else(|| std::env::var("VISAVIS_SIGNING_KEY").ok());
    match cli.command {
        Command::Keygen { path } => keygen(&path),
        Command::Validate { manifest } => {
            let (devices, problems) = load(&manifest)?;
            Ok(validation(&manifest, devices.len(), &problems))
        }
        Command::Plan { manifest, seeds } => plan_or_bundle(&manifest, &seeds, signing, false),
        Command::Bundle { manifest, seeds } => plan_or_bundle(&manifest, &seeds, signing, true),
        Command::Write {
            device_id,
            out,
            to,
            image,
            force,
            no_verify,
        } => write(
            &device_id, &out, to, image, force, !no_verify, cli.yes, signing,
        ),
        Command::Verify { path, image } => verify(&path, image, signing),
        Command::Report {
            out,
            rendezvous,
            enrollment_key,
        } => report(
            &out,
            rendezvous
                .zip(enrollment_key)
                .map(|(rendezvous, enrollment_key)| RendezvousArgs {
                    rendezvous,
                    enrollment_key,
                }),
        ),
        Command::Revoke {
            device_ids,
            rendezvous,
        } => revoke(&device_ids, &rendezvous, cli.yes),
    }
}

fn keygen(path: &Path) -> Result<Output, Failure> {
    let key = create_key_file(path).map_err(|e| env_err(e.to_string()))?;
    let public = DeviceKey::from_bytes(&key).public_key();
    Ok(Output {
        text: format!(
            "created {} (mode 0600). As a signing key, its public half is {public}\n\
             (pin it in the image as /etc/visavis/fleet-signing.pub).\n",
            path.display()
        ),
        json: json!({ "ok": true, "path": path, "public_key": public }),
        exit: Exit::Ok,
    })
}

fn load(path: &Path) -> Result<(Vec<Device>, Vec<manifest::Problem>), Failure> {
    if !path.is_file() {
        return Err(env_err(format!(
            "cannot read the manifest {}: no such file",
            path.display()
        )));
    }
    Ok(match manifest::load(path) {
        Ok(rows) => manifest::validate(&rows),
        Err(problems) => (Vec::new(), problems),
    })
}

fn validation(path: &Path, devices: usize, problems: &[manifest::Problem]) -> Output {
    let name = path.display();
    if problems.is_empty() {
        return Output {
            text: format!("{name}: {devices} units, no problems\n"),
            json: json!({ "ok": true, "devices": devices, "problems": [] }),
            exit: Exit::Ok,
        };
    }
    for p in problems {
        eprintln!("{name}: {p}");
    }
    let rows: std::collections::BTreeSet<_> = problems.iter().filter_map(|p| p.row).collect();
    eprintln!("{name}: {} problems in {} rows", problems.len(), rows.len());
    Output {
        text: String::new(),
        json: json!({ "ok": false, "devices": devices, "problems": problems }),
        exit: Exit::Invalid,
    }
}

fn signing_key(reference: Option<String>) -> Result<DeviceKey, Failure> {
    let reference = reference.ok_or_else(|| {
        Failure(
            Exit::Environment,
            "--signing-key is required: file:PATH or env:NAME of the fleet's signing key \
             (create one with `provision keygen`)"
                .into(),
        )
    })?;
    let key = SecretRef::parse(&reference)
        .and_then(|r| r.resolve_key())
        .map_err(|e| env_err(format!("--signing-key: {e}")))?;
    Ok(DeviceKey::from_bytes(&key))
}

fn plan_or_bundle(
    path: &Path,
    args: &SeedArgs,
    signing: Option<String>,
    write: bool,
) -> Result<Output, Failure> {
    let (devices, problems) = load(path)?;
    if !problems.is_empty() {
        return Ok(validation(path, devices.len(), &problems));
    }
    let opts = seeds::Options {
        out: args.out.clone(),
        signing_key: signing_key(signing)?,
        token_ttl_secs: args.token_ttl_days.max(1) * 86_400,
        now: now(),
    };
    let plan = seeds::plan(&devices, &opts);
    let (new, changed, unchanged) = (
        plan.count(Action::New),
        plan.count(Action::Changed),
        plan.count(Action::Unchanged),
    );
    let mut text = String::new();
    for c in plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
    {
        let what = if c.action == Action::New {
            "new    "
        } else {
            "changed"
        };
        text.push_str(&format!("{what} {} (row {})", c.device_id, c.row));
        if !c.fields.is_empty() {
            text.push_str(&format!(": {}", c.fields.join(", ")));
        }
        for note in &c.notes {
            text.push_str(&format!("; {note}"));
        }
        text.push('\n');
    }
    for id in &plan.not_in_manifest {
        text.push_str(&format!(
            "not in manifest {id} (its seed is left in place)\n"
        ));
    }
    let written = if write {
        seeds::bundle(&plan, &args.out).map_err(env_err)?
    } else {
        0
    };
    let summary = if new + changed == 0 {
        format!("{unchanged} seeds unchanged: nothing to do\n")
    } else if write {
        format!(
            "wrote {written} seeds ({new} new, {changed} changed) to {}; {unchanged} unchanged\n",
            args.out.display()
        )
    } else {
        format!(
            "{new} new, {changed} changed, {unchanged} unchanged (nothing written: this is a plan)\n"
        )
    };
    text.push_str(&summary);
    Ok(Output {
        json: json!({
            "ok": true,
            "written": written,
            "new": new,
            "changed": changed,
            "unchanged": unchanged,
            "devices": plan.changes,
            "not_in_manifest": plan.not_in_manifest,
        }),
        text,
        exit: Exit::Ok,
    })
}

/// Reads a written seed back from where it went.
type ReadBack = Box<dyn Fn() -> Result<Vec<u8>, String>>;

/// Ask on the terminal; without one, `--yes` is required.
fn confirm(question: &str, yes: bool) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure(
            Exit::Refused,
            format!("{question} needs a yes: run on a terminal, or pass --yes in scripts"),
        ));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure(Exit::Refused, "not confirmed: nothing done".into()))
    }
}

/// Parse and check a seed; the signer must be the fleet's when a signing key is given.
fn check_seed(bytes: &[u8], signing: Option<String>) -> Result<SeedFile, Failure> {
    let invalid = |m: String| Failure(Exit::Invalid, m);
    let seed = SeedFile::parse(bytes).map_err(|e| invalid(e.to_string()))?;
    let pinned = match signing {
        Some(r) => Some(signing_key(Some(r))?.public_key()),
        None => None,
    };
    seed.verify(pinned.as_deref())
        .map_err(|e| invalid(e.to_string()))?;
    let claims = enrollment::peek(seed.body.enrollment_token.expose())
        .map_err(|e| invalid(format!("the enrollment token: {e}")))?;
    if claims.expires_at <= now() {
        return Err(invalid(format!(
            "the enrollment token expired at {} (Unix time): re-run `provision bundle` and write the new seed",
            claims.expires_at
        )));
    }
    Ok(seed)
}

#[allow(clippy::too_many_arguments)] // the command's own flags, passed through once
fn write(
    device_id: &str,
    out: &Path,
    to: Option<PathBuf>,
    image: Option<PathBuf>,
    force: bool,
    verify_after: bool,
    yes: bool,
    signing: Option<String>,
) -> Result<Output, Failure> {
    let source = seeds::seed_path(out, device_id);
    let bytes = std::fs::read(&source).map_err(|e| {
        env_err(format!(
            "cannot read {}: {e} (run `provision bundle` first, with the same --out)",
            source.display()
        ))
    })?;
    check_seed(&bytes, signing.clone())?;
    let (target, read_back): (String, ReadBack) = match (to, image) {
        (Some(mount), _) => {
            if !force {
                disk::check_removable(&mount, Path::new("/proc"), Path::new("/sys"))
                    .map_err(|r| Failure(Exit::Refused, r.0))?;
            }
            let path = mount.join(SEED_FILE_NAME);
            confirm(
                &format!("Write the seed of {device_id} to {}?", path.display()),
                yes,
            )?;
            atomic::write(&path, &bytes, 0o600)
                .map_err(|e| env_err(format!("cannot write {}: {e}", path.display())))?;
            let p = path.clone();
            (
                path.display().to_string(),
                Box::new(move || std::fs::read(&p).map_err(|e| e.to_string())),
            )
        }
        (None, Some(img)) => {
            confirm(
                &format!("Write the seed of {device_id} into {}?", img.display()),
                yes,
            )?;
            image::write_seed(&img, &bytes).map_err(|e| env_err(e.to_string()))?;
            let i = img.clone();
            (
                format!("{} (boot partition)", img.display()),
                Box::new(move || image::read_seed(&i).map_err(|e| e.to_string())),
            )
        }
        (None, None) => return Err(env_err("give --to <mount point> or --image <file>")),
    };
    if verify_after {
        let back = read_back().map_err(|e| env_err(format!("reading back {target}: {e}")))?;
        if back != bytes {
            return Err(Failure(
                Exit::Invalid,
                format!(
                    "the seed read back from {target} differs from what was written: the card may be failing"
                ),
            ));
        }
        check_seed(&back, signing)?;
    }
    Ok(Output {
        text: format!(
            "wrote the seed of {device_id} to {target}{}\n",
            if verify_after {
                ", read back and verified"
            } else {
                ""
            }
        ),
        json: json!({ "ok": true, "device_id": device_id, "target": target, "verified": verify_after }),
        exit: Exit::Ok,
    })
}

fn verify(path: &Path, is_image: bool, signing: Option<String>) -> Result<Output, Failure> {
    let bytes = if is_image {
        image::read_seed(path).map_err(|e| env_err(e.to_string()))?
    } else {
        let file = if path.is_dir() {
            path.join(SEED_FILE_NAME)
        } else {
            path.to_owned()
        };
        std::fs::read(&file).map_err(|e| env_err(format!("cannot read {}: {e}", file.display())))?
    };
    match check_seed(&bytes, signing) {
        Ok(seed) => {
            let expires = enrollment::peek(seed.body.enrollment_token.expose())
                .map(|c| c.expires_at)
                .unwrap_or(0);
            Ok(Output {
                text: format!(
                    "{}: the seed of {} is intact and signed by {}; its token expires at {expires} (Unix time)\n",
                    path.display(),
                    seed.body.device_id,
                    seed.signer
                ),
                json: json!({
                    "ok": true,
                    "device_id": seed.body.device_id,
                    "signer": seed.signer,
                    "sha256": seed.sha256,
                    "token_expires_at": expires,
                }),
                exit: Exit::Ok,
            })
        }
        Err(Failure(exit, message)) => Err(Failure(exit, format!("{}: {message}", path.display()))),
    }
}

fn client(args: &RendezvousArgs) -> Result<fleet::Client, Failure> {
    let key = SecretRef::parse(&args.enrollment_key)
        .and_then(|r| r.resolve_key())
        .map_err(|e| env_err(format!("--enrollment-key: {e}")))?;
    fleet::Client::new(&args.rendezvous, &key).map_err(env_err)
}

fn report(out: &Path, rendezvous: Option<RendezvousArgs>) -> Result<Output, Failure> {
    let mut units: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(out) {
        for entry in entries.filter_map(|e| e.ok()) {
            let path = entry.path().join(SEED_FILE_NAME);
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let id = entry.file_name().to_string_lossy().into_owned();
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs());
            let seed = match SeedFile::parse(&bytes) {
                Ok(s) => json!({
                    "store": s.body.store,
                    "location": s.body.location,
                    "mode": s.body.mode,
                    "orientation": s.body.orientation,
                    "sha256": s.sha256,
                    "file_sha256": sha256_hex(&bytes),
                    "signer": s.signer,
                    "intact": s.verify(None).is_ok(),
                    "token_expires_at": enrollment::peek(s.body.enrollment_token.expose()).ok().map(|c| c.expires_at),
                    "written_at": modified,
                }),
                Err(e) => json!({ "error": e.to_string() }),
            };
            units.insert(id.clone(), json!({ "device_id": id, "seed": seed }));
        }
    }
    if let Some(args) = &rendezvous {
        for r in client(args)?.list().map_err(env_err)? {
            let entry = units
                .entry(r.device_id.clone())
                .or_insert_with(|| json!({ "device_id": r.device_id, "seed": null }));
            entry["registry"] = json!(r);
        }
    }
    let list: Vec<Value> = units.into_values().collect();
    let report = json!({
        "ok": true,
        "generated_at": now(),
        "seeds_folder": out,
        "rendezvous": rendezvous.as_ref().map(|r| r.rendezvous.clone()),
        "units": list,
    });
    Ok(Output {
        text: format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        json: report,
        exit: Exit::Ok,
    })
}

fn revoke(ids: &[String], args: &RendezvousArgs, yes: bool) -> Result<Output, Failure> {
    for id in ids {
        visavis_api::fleet::check_device_id(id)
            .map_err(|e| Failure(Exit::Invalid, e.to_string()))?;
    }
    let client = client(args)?;
    confirm(
        &format!(
            "Revoke {} on {}? They will be refused until re-provisioned.",
            ids.join(", "),
            args.rendezvous
        ),
        yes,
    )?;
    let mut text = String::new();
    let mut done = Vec::new();
    for id in ids {
        let at = client.revoke(id).map_err(env_err)?;
        text.push_str(&format!("revoked {id} (at {at}, Unix time)\n"));
        done.push(json!({ "device_id": id, "revoked_at": at }));
    }
    Ok(Output {
        text,
        json: json!({ "ok": true, "revoked": done }),
        exit: Exit::Ok,
    })
}
