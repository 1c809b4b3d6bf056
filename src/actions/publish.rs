//! `publish`: the CI verb, as build → plan → decide → execute.
//!
//! 1. [`build`]: package the chart reproducibly and build the OCI artifact offline;
//! 2. [`plan`]: read what the target holds — the highest published version, and the content of
//!    this chart's version if it is published;
//! 3. [`decide`]: the version-increment rule, per `major.minor` line. The chart's version must be
//!    new and above the highest published version of its own line (`0.9.2` after `0.9.1`, even
//!    when `1.0.0-rc.1` exists: a hotfix); a version that opens a new line must be above every
//!    published line (`0.10.0` is refused once `1.0.x` exists). That exact version already
//!    holding this exact content means there is nothing to push; the same version with other
//!    content is refused;
//! 4. [`execute`]: push (only missing blobs, manifest last), then record `version → tag, digest`
//!    in `appkit.lock` — saved only after a successful push, and also when only the chart's
//!    repository changed (the same digest published elsewhere). A concurrent publish or push of
//!    this version with other content that wins the tag fails the push
//!    ([`crate::oci::OciError::TagConflict`], checked again before and read back after the tag
//!    is moved; see `oci::ops::push`), so the lock never names a digest the tag does not.
//!
//! `--dry-run` is plan + decide only ([`PublishOutcome::planned`]). Validating the apps and loading
//! `appkit.yaml` happen before, in the command.
//!
//! Owns: the rule and the lock update. Does not own: which target (the command opens it), the
//! wording of refusals and hints (the command).

use std::path::{Path, PathBuf};

use semver::Version;

use crate::chart::archive::source_date_epoch_from_env;
use crate::lock::Lock;
use crate::oci::manifest::{self, Artifact};
use crate::oci::ops::{self, PublishedContent, PublishedVersion};
use crate::oci::reference::tag_for_version;
use crate::oci::target::{OnTransfer, Target};

use super::chart_io::package_dir;
use super::Error;

/// Package `chart_dir` and build its artifact (`SOURCE_DATE_EPOCH` fixes timestamps and
/// `created`).
pub fn build(chart_dir: &Path) -> Result<Artifact, Error> {
    let sde = source_date_epoch_from_env()?;
    let packaged = package_dir(chart_dir, sde)?;
    let created = sde
        .map(|s| manifest::created_from_epoch(&s.to_string()))
        .transpose()?;
    Ok(manifest::build(
        packaged.metadata.to_helm_config_json(),
        packaged.bytes,
        created.as_deref(),
    )?)
}

/// The chart reference `appkit.lock` records: where `appkit.yaml` says the chart lives (what
/// render points Flux at), even when `--to` publishes elsewhere (an OCI layout for an air-gapped
/// transfer, a staging registry) — appkit's manifests are canonical, so the digest is the same
/// wherever this artifact is pushed.
pub fn lock_chart(repository: &str, chart: &str) -> String {
    format!("{}/{chart}", repository.trim_end_matches('/'))
}

/// What publishing would start from.
#[derive(Debug, Clone)]
pub struct PublishPlan {
    pub artifact: Artifact,
    pub version: Version,
    pub tag: String,
    /// The tag in the target, for output.
    pub reference: String,
    pub highest: Option<PublishedVersion>,
    /// Every published version, ascending.
    pub published: Vec<PublishedVersion>,
    /// What the target holds for this chart's version, if it is published.
    pub existing: Option<PublishedContent>,
}

/// Read what `target` holds for `artifact`'s chart.
pub async fn plan<T: Target>(target: &T, artifact: Artifact) -> Result<PublishPlan, Error> {
    let version =
        Version::parse(&artifact.version).map_err(|source| Error::NotSemver { source })?;
    let published = ops::versions(target).await?.0;
    let highest = published.last().cloned();
    let existing = ops::published_content(target, &artifact.version).await?;
    let tag = tag_for_version(&artifact.version);
    Ok(PublishPlan {
        reference: target.display(&tag),
        tag,
        version,
        artifact,
        highest,
        published,
        existing,
    })
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// This version is published with this content (`digest` is the published manifest, which
    /// may differ from ours only in annotations).
    AlreadyPublished { digest: String },
    /// Push it.
    Push,
    /// The version is not above `highest`: the highest published version of its own
    /// `major.minor` line (`same_line`), or, for a version opening a new line, the highest
    /// published version of a line above it.
    VersionNotRaised {
        highest: PublishedVersion,
        same_line: bool,
    },
    /// This version is published with other content (`published` is its manifest digest).
    ContentChanged { published: String },
}

/// The version-increment rule.
pub fn decide(plan: &PublishPlan) -> Decision {
    let artifact = &plan.artifact;
    match &plan.existing {
        Some(c) if c.manifest == artifact.manifest.digest || c.same_content(artifact) => {
            return Decision::AlreadyPublished {
                digest: c.manifest.clone(),
            }
        }
        Some(c) => {
            return Decision::ContentChanged {
                published: c.manifest.clone(),
            }
        }
        None => {}
    }
    let v = &plan.version;
    let line = |p: &PublishedVersion| (p.semver.major, p.semver.minor);
    let own = (v.major, v.minor);
    let same = highest_of(plan.published.iter().filter(|p| line(p) == own));
    if let Some(h) = same {
        if v.cmp_precedence(&h.semver).is_le() {
            return Decision::VersionNotRaised {
                highest: h.clone(),
                same_line: true,
            };
        }
        return Decision::Push;
    }
    // A new line: above every published line.
    if let Some(h) = highest_of(plan.published.iter().filter(|p| line(p) > own)) {
        return Decision::VersionNotRaised {
            highest: h.clone(),
            same_line: false,
        };
    }
    Decision::Push
}

/// The highest of `versions` by SemVer precedence.
fn highest_of<'a>(
    versions: impl Iterator<Item = &'a PublishedVersion>,
) -> Option<&'a PublishedVersion> {
    versions.fold(None, |best: Option<&PublishedVersion>, p| match best {
        Some(b) if p.semver.cmp_precedence(&b.semver).is_le() => Some(b),
        _ => Some(p),
    })
}

/// What publishing did (or, for a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOutcome {
    /// The manifest digest the version is published with.
    pub digest: String,
    /// Whether anything was written to the target.
    pub uploaded: bool,
    pub already_published: bool,
    /// `appkit.lock`, when it was written.
    pub lock_written: Option<PathBuf>,
    /// The chart the lock named before, when it named another one.
    pub lock_chart_replaced: Option<String>,
}

impl PublishOutcome {
    /// The outcome of a dry run: what `decision` means, with nothing written.
    pub fn planned(plan: &PublishPlan, decision: &Decision) -> PublishOutcome {
        let (digest, already_published) = match decision {
            Decision::AlreadyPublished { digest } => (digest.clone(), true),
            _ => (plan.artifact.manifest.digest.clone(), false),
        };
        PublishOutcome {
            digest,
            uploaded: false,
            already_published,
            lock_written: None,
            lock_chart_replaced: None,
        }
    }
}

/// Carry out `decision` ([`Decision::Push`] or [`Decision::AlreadyPublished`]; a refusal does
/// nothing): push, then record the version in the lock at `lock_path` naming `chart_ref`. The
/// blobs' uploads are reported to `progress`.
pub async fn execute<T: Target>(
    target: &T,
    plan: &PublishPlan,
    decision: &Decision,
    lock_path: &Path,
    chart_ref: &str,
    progress: OnTransfer<'_>,
) -> Result<PublishOutcome, Error> {
    let mut outcome = PublishOutcome::planned(plan, decision);
    // Push first (scripts/mutants moves the lock block here to prove the tests catch it) …
    match decision {
        Decision::Push => {
            let pushed = ops::push(target, &plan.artifact, false, progress).await?;
            // The digest the tag names: ours, or the same chart under another manifest that a
            // concurrent `helm push` tagged (a concurrent push of other content is an error).
            outcome.digest = pushed.digest;
            outcome.uploaded = pushed.uploaded;
            outcome.already_published = pushed.already_published;
        }
        Decision::AlreadyPublished { .. } => {}
        Decision::VersionNotRaised { .. } | Decision::ContentChanged { .. } => return Ok(outcome),
    }
    // … then record it in appkit.lock, only after a successful push.
    let mut lock = Lock::load(lock_path)?.unwrap_or_else(|| Lock::new(chart_ref));
    if lock.chart != chart_ref {
        outcome.lock_chart_replaced = Some(std::mem::replace(&mut lock.chart, chart_ref.into()));
    }
    // A changed repository is recorded even when the digest is unchanged (a copied platform repo
    // pointed at another registry): render pins the chart the lock names.
    let digest_changed = lock.digest_of(&plan.artifact.version) != Some(outcome.digest.as_str());
    if digest_changed || outcome.lock_chart_replaced.is_some() {
        if digest_changed {
            lock.record(&plan.artifact.version, &plan.tag, &outcome.digest);
        }
        lock.save(lock_path)?;
        outcome.lock_written = Some(lock_path.to_path_buf());
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(version: &str, content: &[u8]) -> Artifact {
        let config = format!(r#"{{"name":"app","version":"{version}"}}"#);
        manifest::build(config.into_bytes(), content.to_vec(), None).unwrap()
    }

    fn published(v: &str) -> PublishedVersion {
        PublishedVersion {
            version: v.into(),
            semver: Version::parse(v).unwrap(),
            tag: tag_for_version(v),
            digest: "sha256:h".into(),
        }
    }

    /// `highest`: every published version, ascending.
    fn plan_for(a: Artifact, highest: Option<&str>, existing: Option<&Artifact>) -> PublishPlan {
        plan_with(a, highest.into_iter().collect(), existing)
    }

    fn plan_with(a: Artifact, highest: Vec<&str>, existing: Option<&Artifact>) -> PublishPlan {
        PublishPlan {
            version: Version::parse(&a.version).unwrap(),
            tag: tag_for_version(&a.version),
            reference: "oci://r/app".into(),
            highest: highest.last().map(|v| published(v)),
            published: highest.iter().map(|v| published(v)).collect(),
            existing: existing.map(|e| PublishedContent {
                manifest: e.manifest.digest.clone(),
                config: e.config.digest.clone(),
                layer: e.layer.digest.clone(),
            }),
            artifact: a,
        }
    }

    #[test]
    fn the_version_increment_rule() {
        let a = artifact("1.1.0", b"one");
        assert_eq!(decide(&plan_for(a.clone(), None, None)), Decision::Push);
        assert_eq!(
            decide(&plan_for(a.clone(), Some("1.0.0"), None)),
            Decision::Push
        );
        assert!(matches!(
            decide(&plan_for(a.clone(), Some("1.1.0"), None)),
            Decision::VersionNotRaised { .. }
        ));
        // Build metadata does not raise a version.
        let b = artifact("1.1.0+b2", b"one");
        assert!(matches!(
            decide(&plan_for(b, Some("1.1.0+b1"), None)),
            Decision::VersionNotRaised { .. }
        ));
        assert_eq!(
            decide(&plan_for(a.clone(), Some("1.1.0"), Some(&a))),
            Decision::AlreadyPublished {
                digest: a.manifest.digest.clone()
            }
        );
        let changed = artifact("1.1.0", b"two");
        assert_eq!(
            decide(&plan_for(changed, Some("1.1.0"), Some(&a))),
            Decision::ContentChanged {
                published: a.manifest.digest.clone()
            }
        );
    }

    /// Per `major.minor` line: a hotfix of an older line is not blocked by a newer line (or its
    /// pre-releases); a new line must be above every published line.
    #[test]
    fn the_gate_is_per_major_minor_line() {
        let gate = |v: &str, published: &[&str]| {
            decide(&plan_with(artifact(v, b"x"), published.to_vec(), None))
        };
        let refused_by = |d: Decision| match d {
            Decision::VersionNotRaised { highest, same_line } => Some((highest.version, same_line)),
            _ => None,
        };
        let published = ["0.9.0", "0.9.1", "1.0.0-rc.1"];
        assert_eq!(gate("0.9.2", &published), Decision::Push, "a hotfix of 0.9");
        assert_eq!(gate("1.0.0", &published), Decision::Push);
        assert_eq!(gate("1.0.0-rc.2", &published), Decision::Push);
        assert_eq!(
            refused_by(gate("0.9.1", &published)),
            Some(("0.9.1".into(), true))
        );
        assert_eq!(
            refused_by(gate("0.9.0", &published)),
            Some(("0.9.1".into(), true)),
            "below its line's highest"
        );
        assert_eq!(
            refused_by(gate("0.10.0", &published)),
            Some(("1.0.0-rc.1".into(), false)),
            "a new line below a published one"
        );
        assert_eq!(
            refused_by(gate("1.0.0-rc.0", &published)),
            Some(("1.0.0-rc.1".into(), true))
        );
        assert_eq!(
            gate("1.1.0", &published),
            Decision::Push,
            "a new line above all"
        );
        assert_eq!(gate("2.0.0-alpha.1", &published), Decision::Push);
        let published = ["1.0.0", "1.1.0", "2.0.0"];
        assert_eq!(gate("1.0.1", &published), Decision::Push);
        assert_eq!(gate("1.1.1", &published), Decision::Push);
        assert_eq!(
            refused_by(gate("1.0.0", &published)),
            Some(("1.0.0".into(), true))
        );
        assert_eq!(
            refused_by(gate("0.5.0", &published)),
            Some(("2.0.0".into(), false))
        );
    }

    #[test]
    fn a_dry_run_reports_the_decision_and_writes_nothing() {
        let a = artifact("1.0.0", b"one");
        let plan = plan_for(a.clone(), None, None);
        let o = PublishOutcome::planned(&plan, &Decision::Push);
        assert_eq!(o.digest, a.manifest.digest);
        assert!(!o.uploaded && !o.already_published && o.lock_written.is_none());
    }
}
