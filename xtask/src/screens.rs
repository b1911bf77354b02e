//! `cargo xtask screens`: render every kiosk screen (both installations, both languages)
//! to `docs/screens/`, with egui_kittest's wgpu renderer on Mesa's software Vulkan
//! (lavapipe), so no GPU or display is needed. Not part of `cargo xtask test`: the
//! pictures are for people, and the screens' behaviour is tested by label.

use anyhow::{Context, bail};

/// Mesa's Vulkan drivers: lavapipe renders on the CPU.
const PACKAGES: &[&str] = &["mesa-vulkan-drivers"];

pub fn run() -> anyhow::Result<()> {
    crate::setup::install(PACKAGES)?;
    let args = [
        "test",
        "--locked",
        "-p",
        "visavis-kiosk",
        "--features",
        "screens",
        "--lib",
        "screens::screens",
        "--",
        "--nocapture",
    ];
    println!("xtask: running cargo {}", args.join(" "));
    let status = crate::workspace::cargo(args)
        .status()
        .context("could not start cargo")?;
    if !status.success() {
        bail!(
            "rendering the screens failed ({}); see the test's output above",
            crate::workspace::describe(status)
        );
    }
    println!(
        "xtask: screens written to {}",
        crate::workspace::root().join("docs/screens").display()
    );
    Ok(())
}
