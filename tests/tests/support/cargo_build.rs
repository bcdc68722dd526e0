//! (A copy of plugins/host/tests/support/cargo_build.rs.)
//!
//! Building what a test needs with the cargo that runs the test, so that
//! `cargo test -p <this crate>` alone has the plugin `.so` files and the
//! binaries it runs: `$CARGO build -p ...` with the profile (and target
//! triple) of the test executable, the artifacts' paths taken from
//! cargo's JSON messages. Cargo serialises builds on a target folder's
//! lock, so test threads and test binaries building at once only wait.
//!
//! Crates with a `cdylib` (the plugins) are built in a target folder of
//! their own ([`cargo_build_apart`]): cargo names a cdylib crate's `.so`
//! *and* `.rlib` without a hash, so a build of them with other features
//! (`-p` resolves features for its packages only) would overwrite the
//! rlib the running `cargo test` linked against, and a later link (a
//! doctest) would get two copies of their dependencies.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// One file cargo reported building: the target's name and kinds, and
/// the files it wrote (`filenames`, or `executable` for a binary).
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The target's name: a library's `[lib] name`, a binary's name.
    pub name: String,
    /// `lib`, `cdylib`, `bin`, ...
    pub kinds: Vec<String>,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// A binary's executable.
    pub executable: Option<PathBuf>,
}

/// Runs `$CARGO build <args>` into this test executable's target folder,
/// profile and target triple; the artifacts it reported, or a panic
/// with cargo's own output when the build fails. Only for crates
/// without a `cdylib` (see [`cargo_build_apart`]).
pub fn cargo_build(args: &[&str]) -> Vec<Artifact> {
    run_build(args, &target_dir())
}

/// As [`cargo_build`], into `<target-dir>/tmp/<folder>` (a target folder
/// of its own, kept between runs), for crates with a `cdylib`.
pub fn cargo_build_apart(folder: &str, args: &[&str]) -> Vec<Artifact> {
    run_build(args, &Path::new(env!("CARGO_TARGET_TMPDIR")).join(folder))
}

fn run_build(args: &[&str], target_dir: &Path) -> Vec<Artifact> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .arg("--target-dir")
        .arg(target_dir)
        .args(profile_and_triple());
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run {shown}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        panic!(
            "{shown} failed ({}), so this test has nothing to run:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .map(|m| {
            let strings = |v: &serde_json::Value| -> Vec<String> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            };
            Artifact {
                name: m["target"]["name"].as_str().unwrap_or_default().to_string(),
                kinds: strings(&m["target"]["kind"]),
                files: strings(&m["filenames"])
                    .into_iter()
                    .map(PathBuf::from)
                    .collect(),
                executable: m["executable"].as_str().map(PathBuf::from),
            }
        })
        .collect()
}

/// This test executable's target folder: an integration test's
/// CARGO_TARGET_TMPDIR is `<target-dir>/tmp`.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent")
        .to_path_buf()
}

/// The profile and, when the test was built for an explicit `--target`,
/// the triple: where the running test executable
/// (`<target-dir>/[<triple>/]<profile-dir>/deps/<name>`) was built.
fn profile_and_triple() -> Vec<String> {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable is in <profile>/deps/");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let mut args = vec!["--profile".to_string(), profile.to_string()];
    let triple = profile_dir
        .strip_prefix(target_dir())
        .ok()
        .filter(|rel| rel.components().count() == 2)
        .and_then(|rel| rel.components().next())
        .and_then(|c| c.as_os_str().to_str().map(str::to_string));
    if let Some(triple) = triple {
        args.extend(["--target".to_string(), triple]);
    }
    args
}

/// The `lib<lib_name>.so` among `artifacts`.
pub fn cdylib(artifacts: &[Artifact], lib_name: &str) -> Option<PathBuf> {
    let file = format!("lib{lib_name}.so");
    artifacts
        .iter()
        .filter(|a| a.name == lib_name && a.kinds.iter().any(|k| k == "cdylib"))
        .flat_map(|a| &a.files)
        .find(|f| f.file_name().is_some_and(|n| n == file.as_str()))
        .cloned()
}

/// The executable of binary `bin_name` among `artifacts`.
pub fn executable(artifacts: &[Artifact], bin_name: &str) -> Option<PathBuf> {
    artifacts
        .iter()
        .filter(|a| a.name == bin_name && a.kinds.iter().any(|k| k == "bin"))
        .find_map(|a| a.executable.clone())
}
