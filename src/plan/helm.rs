//! The real Helm, as `plan` runs it: found once (`--helm PATH`, else `$HELM_BIN` — Helm sets it
//! for plugins — else `helm` on `PATH`), asked its version once (part of every render key), then
//! `helm template` once per render, with the release name, namespace and values exactly as the
//! HelmRelease passes them. Helm stays the renderer: appkit has no template engine of its own.
//!
//! Owns: finding Helm, the `helm template` command line, counting invocations. Does not own: what
//! to render (`actions::plan`) or what the output means (`plan::manifest`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// A Helm binary that answered `helm version`.
#[derive(Debug)]
pub struct Helm {
    pub path: PathBuf,
    /// `v3.17.3`, `v4.1.4`: part of every render key (another Helm may render differently).
    pub version: String,
    invocations: AtomicU64,
}

/// What one render passes to `helm template`.
#[derive(Debug, Clone)]
pub struct TemplateArgs<'a> {
    pub chart_dir: &'a Path,
    pub release: &'a str,
    pub namespace: &'a str,
    /// The HelmRelease's `spec.values` (JSON is YAML).
    pub values: &'a serde_json::Value,
    pub kube_version: Option<&'a str>,
    pub api_versions: &'a [String],
}

impl Helm {
    /// `explicit` (`--helm`), else `$HELM_BIN`, else `helm` on `PATH`; it must run and say its
    /// version. `Err` says which was tried and how to point appkit at a Helm.
    pub fn find(explicit: Option<&Path>) -> Result<Helm, String> {
        let (path, how) = match explicit {
            Some(p) => (p.to_path_buf(), "--helm"),
            None => match std::env::var_os("HELM_BIN").filter(|v| !v.is_empty()) {
                Some(p) => (PathBuf::from(p), "$HELM_BIN"),
                None => (PathBuf::from("helm"), "PATH"),
            },
        };
        let out = Command::new(&path)
            .args(["version", "--template", "{{.Version}}"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run Helm {} (from {how}): {e}", path.display()))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || !version.starts_with('v') {
            return Err(format!(
                "{} (from {how}) did not answer `helm version` like Helm: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Helm {
            path,
            version,
            invocations: AtomicU64::new(0),
        })
    }

    /// `helm template` invocations so far.
    pub fn invocations(&self) -> u64 {
        self.invocations.load(Ordering::Relaxed)
    }

    /// Run `helm template`; `Ok` is its stdout, `Err` Helm's own error (its stderr, trimmed).
    pub fn template(&self, a: &TemplateArgs<'_>, scratch: &Path) -> Result<String, String> {
        let values = tempfile::Builder::new()
            .prefix(".appkit-plan-values-")
            .suffix(".json")
            .tempfile_in(scratch)
            .map_err(|e| format!("cannot write the values file for Helm: {e}"))?;
        std::fs::write(values.path(), a.values.to_string())
            .map_err(|e| format!("cannot write the values file for Helm: {e}"))?;
        let mut cmd = Command::new(&self.path);
        cmd.arg("template")
            .arg(a.release)
            .arg(a.chart_dir)
            .arg("--namespace")
            .arg(a.namespace)
            .arg("--values")
            .arg(values.path());
        if let Some(k) = a.kube_version {
            cmd.arg("--kube-version").arg(k);
        }
        for v in a.api_versions {
            cmd.arg("--api-versions").arg(v);
        }
        // The user's Helm settings stay (repositories, registry config); debug output would mix
        // into the manifest.
        cmd.env_remove("HELM_DEBUG").stdin(Stdio::null());
        self.invocations.fetch_add(1, Ordering::Relaxed);
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.path.display()))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let err = err.trim();
            return Err(if err.is_empty() {
                format!("helm template exited with {}", out.status)
            } else {
                err.to_string()
            });
        }
        String::from_utf8(out.stdout)
            .map_err(|_| "helm template wrote output that is not UTF-8".into())
    }
}
