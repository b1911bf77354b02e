//! The guest page's own checks, run by `cargo test`: ESLint on `web/` (installed by
//! `cargo xtask test` with `npm ci`), its state-machine tests under `web/test/` with node's
//! test runner, and what rendezvous embeds of `web/` (the page's modules, nothing of its
//! tooling).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failure is a failed test

mod web;

use std::collections::BTreeSet;
use visavis_rendezvous::assets;

const NO_ESLINT: &str = "ESLint is not installed in rendezvous/web/node_modules: run \
     `cargo xtask test` (or `npm ci` in rendezvous/web)";

#[test]
fn the_page_lints_clean_with_eslint() {
    let eslint = web::dir().join("node_modules/.bin/eslint");
    assert!(eslint.exists(), "{NO_ESLINT}");
    let output = web::run(&eslint, &["--max-warnings", "0", "."], NO_ESLINT);
    assert!(
        output.status.success(),
        "ESLint found problems in rendezvous/web:\n{}",
        web::printed(&output)
    );
}

#[test]
fn the_page_state_machine_passes_its_node_tests() {
    let mut files: Vec<String> = std::fs::read_dir(web::dir().join("test"))
        .expect("rendezvous/web/test")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.js"))
        .map(|name| format!("test/{name}"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no web/test/*.test.js");
    let mut args = vec!["--test"];
    args.extend(files.iter().map(String::as_str));
    let output = web::run(&web::node(), &args, web::NODE_MISSING);
    assert!(
        output.status.success(),
        "the guest page's node tests failed:\n{}",
        web::printed(&output)
    );
}

/// The `./x.js` modules a script imports.
fn imports(script: &str) -> Vec<String> {
    script
        .lines()
        .filter(|line| line.starts_with("import ") || line.starts_with("export {"))
        .filter_map(|line| line.split("from './").nth(1))
        .map(|rest| rest[..rest.find('\'').expect("a quoted module")].to_owned())
        .collect()
}

#[test]
fn every_module_the_page_loads_is_embedded_and_nothing_else() {
    let embedded: BTreeSet<&str> = assets::names().collect();
    for name in &embedded {
        assert!(
            !name.starts_with("package") && !name.contains("test") && !name.contains("eslint"),
            "{name} is tooling, not part of the page"
        );
        assert!(web::dir().join(name).is_file(), "{name} is not in web/");
    }
    // Every module main.js reaches, and every /app/ file index.html names.
    let mut todo = vec!["main.js".to_owned()];
    let mut seen = BTreeSet::new();
    while let Some(module) = todo.pop() {
        if seen.insert(module.clone()) {
            todo.extend(imports(&web::read(&module)));
        }
    }
    let html = web::read("index.html");
    let linked: BTreeSet<String> = html
        .split("/app/")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect();
    for name in seen.iter().chain(&linked) {
        assert!(
            embedded.contains(name.as_str()),
            "{name} is loaded by the page but not embedded (src/assets.rs)"
        );
    }
    // The page's every top-level script is one it loads: no forgotten script.
    for entry in std::fs::read_dir(web::dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".js") && name != "eslint.config.js" {
            assert!(
                seen.contains(&name) || linked.contains(&name),
                "web/{name} is neither imported nor linked by the page"
            );
        }
    }
}
