//! The Buildpacks lifecycle's build report, `report.toml`: what `set-image --from-pack-report`
//! reads to learn the digest of the image a build pushed.
//!
//! The exporter writes it (buildpacks/lifecycle `platform/files/report.go`, TOML keys from the Go
//! struct tags): a top-level `[image]` table with `tags` (every `registry/repository:tag` the
//! image was exported to), `digest` (the manifest digest the registry stored; left out when the
//! image went to a Docker daemon), and optionally `image-id` and `manifest-size`; a `[build]`
//! table with `[[build.bom]]` entries, which appkit does not read (and does not reject).
//!
//! Owns: reading the file and splitting its tags into repository and tag. Does not own: which
//! repository is right (the set-image action compares with the app's `image.repository`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The largest report read (a report with a large bill of materials is still well below this).
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a lifecycle report (TOML syntax, wrong types, no `[image]`).
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

/// `report.toml`, the parts appkit reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Report {
    pub image: ImageReport,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ImageReport {
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(rename = "image-id", default)]
    pub image_id: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(rename = "manifest-size", default)]
    pub manifest_size: Option<i64>,
}

/// One exported tag: `registry/repository` and the tag (`None`: the name had no tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub repository: String,
    pub tag: Option<String>,
}

impl Report {
    pub fn load(path: &Path) -> Result<Report, ReportError> {
        let text =
            crate::fsutil::read_to_string_limited(path, MAX_REPORT_BYTES).map_err(|source| {
                ReportError::Read {
                    path: path.into(),
                    source,
                }
            })?;
        Report::parse(&text).map_err(|message| ReportError::Parse {
            path: path.into(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Report, String> {
        toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: {msg}")
                }
                None => msg,
            }
        })
    }

    /// The exported names split into repository and tag, in the report's order.
    pub fn exported(&self) -> Vec<Exported> {
        self.image.tags.iter().map(|t| split_name(t)).collect()
    }
}

/// `registry/repo:tag` (or `…@sha256:…`) → repository and tag. The tag is after the last `:`
/// that follows the last `/` (a `:` before it is the registry's port).
pub fn split_name(name: &str) -> Exported {
    let name = name.split_once('@').map_or(name, |(n, _)| n);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(i) => Exported {
            repository: name[..last_slash + i].to_string(),
            tag: Some(name[last_slash + i + 1..].to_string()),
        },
        None => Exported {
            repository: name.to_string(),
            tag: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_lifecycle_report_and_ignores_the_bom() {
        let r = Report::parse(
            r#"
[image]
  tags = ["harbor.example.com:8443/apps/app1:1.4.2", "harbor.example.com:8443/apps/app1:latest"]
  image-id = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
  digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
  manifest-size = 1083

[build]
  [[build.bom]]
    name = "jvm"
    [build.bom.metadata]
      version = "17"
    [build.bom.buildpack]
      id = "paketo-buildpacks/bellsoft-liberica"
      version = "10.2.0"
"#,
        )
        .unwrap();
        assert_eq!(
            r.image.digest.as_deref(),
            Some("sha256:2222222222222222222222222222222222222222222222222222222222222222")
        );
        assert_eq!(r.image.manifest_size, Some(1083));
        assert_eq!(
            r.exported(),
            vec![
                Exported {
                    repository: "harbor.example.com:8443/apps/app1".into(),
                    tag: Some("1.4.2".into())
                },
                Exported {
                    repository: "harbor.example.com:8443/apps/app1".into(),
                    tag: Some("latest".into())
                },
            ]
        );
    }

    #[test]
    fn names_without_tags_and_broken_reports() {
        assert_eq!(
            split_name("localhost:5000/app"),
            Exported {
                repository: "localhost:5000/app".into(),
                tag: None
            }
        );
        let err = Report::parse("[image]\ntags = \"one\"\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(Report::parse("[build]\n").is_err(), "no [image]");
    }
}
