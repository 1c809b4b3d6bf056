//! Embeds the git commit the binary is built from (`APPKIT_COMMIT`, "unknown" outside a git
//! checkout), so that `helm appkit version -o json` says it and the plugin's install hook can
//! tell a prebuilt `bin/helm-appkit` from another commit from a current one (file times mean
//! nothing after a checkout).
use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=APPKIT_COMMIT={commit}");
    // Run again when HEAD moves: HEAD itself (a checkout), the branch it names (a commit) and
    // packed refs.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]).map(PathBuf::from) {
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let common = git(&["rev-parse", "--git-common-dir"])
                .map(PathBuf::from)
                .unwrap_or_else(|| dir.clone());
            let file = common.join(&branch);
            if file.exists() {
                println!("cargo:rerun-if-changed={}", file.display());
            }
            let packed = common.join("packed-refs");
            if packed.exists() {
                println!("cargo:rerun-if-changed={}", packed.display());
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
