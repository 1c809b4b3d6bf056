//! The application layer between `commands/` and the domain (Helm's `pkg/action`): the policy of
//! each verb as named steps, returning typed outcomes. An action takes a resolved
//! [`crate::workspace::Workspace`] (or an opened OCI target) and typed settings; it never prints
//! and never parses arguments.
//!
//! * `validate`: which apps, files and environments → the values engine → every diagnostic.
//! * `render`: every selected environment rendered in memory, planned against the disk, applied
//!   (or kept as a plan for `--check`).
//! * `docs`: the values reference rendered from the schema, compared with the README, written.
//! * `import`: read Flux files → plan values files and appkit.yaml settings (drift refused)
//!   → splice appkit.yaml and re-load it → write; then validate the imported apps.
//! * `new`: check the request → render the scaffold → stage → validate → one rename.
//! * `publish`: build → plan (what the target holds) → [`publish::decide`] (already published /
//!   push / version not raised / content changed) → execute (push, then `appkit.lock`); a dry run
//!   is plan + decide only.
//! * `push`: prepare (package a directory or read and check an archive, build the artifact
//!   offline) → push.
//! * `pull`: fetch (resolve the reference, pull, verify) → save (the same archive check as push,
//!   then an atomic write or a safe untar).
//! * `versions`: list what a target holds.
//! * `promote`: decide the chart versions and pins from the typed config → check each is in
//!   `appkit.lock` → splice appkit.yaml, re-load and compare → write (a dry run stops before).
//! * `set-image`: the target file and the app's image → the digest (given, a Buildpacks report,
//!   the registry) → splice `image.digest` → validate the app with the new text → write.
//! * `report`: every selected app × environment coalesced as render does → capacity, versions
//!   and the traffic graph ([`crate::report::Report`]).
//!
//! `chart_io` is what push, pull and publish share about chart archives (one archive check, one
//! safe untar). Async steps are generic over [`crate::oci::target::Target`]; the command opens the
//! target and runs the async steps inside one [`crate::runtime::block_on`].
//!
//! Owns: the decisions. Does not own: parsing arguments, loading `appkit.yaml`, printing (progress
//! goes to callbacks), or presentation of errors — hints and exit codes are the commands' (they
//! map an [`Error`] with `commands::registry::action_error`). Nothing here prints.

use std::path::PathBuf;

use crate::chart::ChartError;
use crate::lock::LockError;
use crate::oci::OciError;

pub mod chart_io;
pub mod docs;
pub mod file_write;
pub mod import;
pub mod new;
pub mod plan;
pub mod promote;
pub mod publish;
pub mod pull;
pub mod push;
pub mod render;
pub mod report;
pub mod set_image;
pub mod validate;
pub mod versions;

pub use chart_io::ArchiveError;

/// Why an action failed. Each variant says what failed; the cause stays in `#[source]`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Oci(#[from] OciError),

    #[error(transparent)]
    Chart(#[from] ChartError),

    #[error(transparent)]
    Lock(#[from] LockError),

    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A chart archive is not the chart it should be: `message` says which (a `.tgz` given to
    /// push, a pulled chart), `source` why.
    #[error("{message}")]
    Unusable {
        message: String,
        #[source]
        source: ArchiveError,
    },

    #[error("{reference} holds chart version {found}, not {wanted}")]
    WrongVersion {
        reference: String,
        found: String,
        wanted: String,
    },

    #[error("the chart version is not SemVer")]
    NotSemver {
        #[source]
        source: semver::Error,
    },
}
