//! `helm appkit package [CHART_DIR] [-d DEST] [--version V] [--app-version V]`: chart directory →
//! `<dest>/<name>-<version>.tgz`, byte-reproducible (see `chart::archive`).
//!
//! The chart directory defaults to `chart.path` of the `appkit.yaml` found (or given with
//! `--config`), else the current directory. stdout gets the archive path and its `sha256:` digest
//! (two lines), or one JSON object with `--output json`; the archive is only written once the
//! whole chart has been checked and encoded, atomically, so a failure leaves no archive behind.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::chart::{self, ChartError, PackageOptions};
use crate::cli::{GlobalArgs, PackageArgs};
use crate::error::{Hinted, Rejected, Status};
use crate::fsutil;
use crate::printer::Printer;
use crate::workspace::Workspace;

pub fn run(global: &GlobalArgs, args: PackageArgs, printer: &Printer) -> Result<Status> {
    let chart_dir = resolve_chart_dir(global, args.chart)?;
    printer.debug(&format!("packaging the chart in {}", chart_dir.display()));
    let opts = PackageOptions {
        version: args.version,
        app_version: args.app_version,
        source_date_epoch: chart::archive::source_date_epoch_from_env().map_err(report)?,
    };
    let packaged = chart::package(&chart_dir, &opts).map_err(report)?;

    let out = args.destination.join(&packaged.file_name);
    if args.destination.exists() && !args.destination.is_dir() {
        anyhow::bail!(
            "cannot write to {}: it is not a directory",
            args.destination.display()
        );
    }
    fsutil::write_atomic(&out, &packaged.bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;

    warn_if_inside_chart(&chart_dir, &out, printer);

    let digest = format!("sha256:{}", packaged.sha256);
    printer.status(&format!(
        "Packaged {} {} ({} files, {} bytes)",
        packaged.metadata.name,
        packaged.metadata.version,
        packaged.files.len(),
        packaged.bytes.len()
    ));
    if printer.json_output() {
        printer.json(&serde_json::json!({
            "path": out.display().to_string(),
            "name": packaged.metadata.name,
            "version": packaged.metadata.version,
            "archiveDigest": digest,
            "size": packaged.bytes.len(),
        }))?;
    } else {
        printer.data(&out.display().to_string())?;
        printer.data(&digest)?;
    }
    Ok(Status::Ok)
}

/// The explicit argument, else `chart.path` of appkit.yaml, else `.`.
fn resolve_chart_dir(global: &GlobalArgs, explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir);
    }
    Ok(match Workspace::open_optional(global)? {
        Some(ws) => ws.config().chart_dir(),
        None => PathBuf::from("."),
    })
}

/// An archive written into the chart directory would be packaged by the next run (as with
/// `helm package`), changing the digest: say so unless `.helmignore` already leaves it out.
fn warn_if_inside_chart(chart_dir: &Path, archive: &Path, printer: &Printer) {
    let (Ok(chart), Some(dest)) = (
        chart_dir.canonicalize(),
        archive.parent().and_then(|p| p.canonicalize().ok()),
    ) else {
        return;
    };
    let Ok(rel_dir) = dest.strip_prefix(&chart) else {
        return;
    };
    let rel = rel_dir.join(archive.file_name().unwrap_or_default());
    let rel = rel.to_string_lossy().replace('\\', "/");
    let ignored = chart::ignore::Rules::for_chart(&chart)
        .map(|r| r.ignore(&rel, false))
        .unwrap_or(false);
    if !ignored {
        printer.warn(&format!(
            "{} is inside the chart directory: the next `package` would include it and change the digest; \
             add `*.tgz` to .helmignore or write elsewhere with -d",
            archive.display()
        ));
    }
}

/// A chart error as the user sees it: exit 1 when the chart is wrong, with a hint when one helps.
fn report(err: ChartError) -> anyhow::Error {
    let hint = match &err {
        ChartError::MissingChartYaml { .. } => {
            Some("pass the chart directory (`helm appkit package path/to/chart`) or run it where appkit.yaml is")
        }
        ChartError::BadValues { .. } => {
            Some("values.yaml holds the chart's defaults: a mapping such as `replicaCount: 1` (or an empty file)")
        }
        ChartError::Invalid { .. } | ChartError::Yaml { .. } => {
            Some("fix Chart.yaml; see https://helm.sh/docs/topics/charts/#the-chartyaml-file")
        }
        ChartError::SymlinkOutside { .. } | ChartError::HardLinkOutside { .. } => {
            Some("copy the file into the chart directory, or list the link in .helmignore")
        }
        ChartError::BadSymlink { .. } | ChartError::SymlinkLoop { .. } | ChartError::Irregular { .. } => {
            Some("remove it, or list it in .helmignore")
        }
        ChartError::MissingDependencies { .. } => {
            Some("run `helm dependency build` (or `helm dependency update`) in the chart directory first")
        }
        ChartError::IgnoreRule { .. } => Some("Helm's .helmignore supports Go globs (*, ?, [a-z]) but not **"),
        _ => None,
    };
    let err = if err.is_invalid() {
        anyhow::Error::new(Rejected::new(err))
    } else {
        anyhow::Error::new(err)
    };
    match hint {
        Some(h) => Hinted::new(err, h).into(),
        None => err,
    }
}
