//! Charts: the Chart.yaml model and its checks (`metadata`), `.helmignore` with Helm's own rules
//! (`ignore`), and chart archives (`archive`): building the byte-reproducible `.tgz` from a
//! directory, reading one safely, and extracting one safely.
//!
//! Nothing here prints or knows about the CLI; commands decide how to report a [`ChartError`]
//! (see [`ChartError::is_invalid`] for which errors mean "the chart is wrong", exit 1).

use std::fmt;
use std::path::PathBuf;

pub mod archive;
mod chartfile_raw;
mod goenc;
pub mod ignore;
pub mod metadata;
mod unpack;
mod values_check;
pub mod version;

pub use archive::{
    extract_safely, package, read_tgz, ArchiveContents, ArchiveFile, PackageOptions, Packaged,
};
pub use metadata::{ChartMetadata, Dependency, Maintainer};
pub use unpack::MAX_CHART_SIZE;

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a chart directory: it has no Chart.yaml", dir.display())]
    MissingChartYaml { dir: PathBuf },
    #[error("{}{}: invalid YAML: {message}", path.display(), Loc(*line, *column))]
    Yaml {
        path: PathBuf,
        line: Option<u64>,
        column: Option<u64>,
        message: String,
    },
    #[error("{}{}: {message}", path.display(), Loc(*line, *column))]
    BadValues {
        path: PathBuf,
        line: Option<u64>,
        column: Option<u64>,
        message: String,
    },
    #[error("the chart name {name:?} cannot be pushed: {why}; OCI repository names are lower-case (`helm push` refuses it too: \"invalid repository\")")]
    NotAnOciName { name: String, why: &'static str },
    #[error("{} is not a valid chart:{}", path.display(), ProblemList(problems, path))]
    Invalid {
        path: PathBuf,
        /// Every problem (code `chart`), with positions and the Chart.yaml text.
        problems: Vec<crate::diagnostics::Diagnostic>,
    },
    #[error("{}:{line}: invalid .helmignore rule {rule:?}: {message}", path.display())]
    IgnoreRule {
        path: PathBuf,
        line: usize,
        rule: String,
        message: String,
    },
    #[error("{} is a symbolic link to {}, outside the chart directory", path.display(), target.display())]
    SymlinkOutside { path: PathBuf, target: PathBuf },
    #[error("{} is a symbolic link that cannot be resolved (dangling or a loop)", path.display())]
    BadSymlink {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is a symbolic link back into its own parent directory (a loop)", path.display())]
    SymlinkLoop { path: PathBuf },
    #[error("{} is a hard link with {links} names, {outside} of them outside the chart directory", path.display())]
    HardLinkOutside {
        path: PathBuf,
        links: u64,
        outside: u64,
    },
    #[error("{} is a {kind}, not a regular file; only regular files can go into a chart", path.display())]
    Irregular { path: PathBuf, kind: &'static str },
    #[error("{} is {size} bytes, larger than Helm's limit of {limit} bytes per chart file", path.display())]
    FileTooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{} holds a file that is not part of a chart; Helm cannot load it: {message}", path.display())]
    BadChartsEntry { path: PathBuf, message: String },
    #[error("Chart.yaml lists dependencies that are not in {}: {}", path.display(), names.join(", "))]
    MissingDependencies { path: PathBuf, names: Vec<String> },
    #[error("{} is not valid JSON: {message}", path.display())]
    BadSchema { path: PathBuf, message: String },
    #[error("the chart archive is unusable: {0}")]
    Archive(String),
    #[error("the chart archive holds an unsafe entry {name:?}: {reason}")]
    UnsafeEntry { name: String, reason: &'static str },
    #[error("SOURCE_DATE_EPOCH={0:?} is not a non-negative whole number of seconds")]
    BadSourceDateEpoch(String),
}

impl ChartError {
    /// True when the chart itself is wrong (exit 1): bad Chart.yaml, a bad .helmignore rule,
    /// a bad values.schema.json. I/O problems, unusable files and unsafe archives are exit 2.
    pub fn is_invalid(&self) -> bool {
        matches!(
            self,
            ChartError::Yaml { .. }
                | ChartError::BadValues { .. }
                | ChartError::NotAnOciName { .. }
                | ChartError::Invalid { .. }
                | ChartError::IgnoreRule { .. }
                | ChartError::BadSchema { .. }
                | ChartError::BadChartsEntry { .. }
                | ChartError::MissingDependencies { .. }
        )
    }
}

struct Loc(Option<u64>, Option<u64>);

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(l), Some(c)) => write!(f, ":{l}:{c}"),
            (Some(l), None) => write!(f, ":{l}"),
            _ => Ok(()),
        }
    }
}

/// One line per problem, `path:line:col: message` (the error's text; the printer can also render
/// the diagnostics themselves with carets).
struct ProblemList<'a>(&'a [crate::diagnostics::Diagnostic], &'a PathBuf);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.0 {
            let (line, column) = p
                .location
                .as_ref()
                .filter(|l| l.line > 0)
                .map_or((None, None), |l| {
                    (Some(l.line as u64), Some(l.column as u64))
                });
            write!(
                f,
                "\n  {}{}: {}",
                self.1.display(),
                Loc(line, column),
                p.message
            )?;
        }
        Ok(())
    }
}
