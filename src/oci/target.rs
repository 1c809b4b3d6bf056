//! One interface over the two places charts live — a registry repository
//! ([`Repository`](super::repository::Repository)) and an OCI image layout
//! ([`LayoutTarget`](super::layout::LayoutTarget)) — so push, pull and versions (`ops.rs`) are
//! written once, generic over [`Target`]: oras-go's shape, where `content/oci.Store` and
//! `registry/remote.Repository` implement the same interface.
//!
//! Each implementation keeps its own details (URLs and auth; blob paths and `index.json`) and
//! verifies what it returns with `content::verify`. [`open`] turns a parsed
//! [`Location`] into the right one; the only place that names both is the
//! [`with_target!`](crate::oci::target::with_target) dispatch, used once per action.
//!
//! `async fn` in the trait (no boxing, no extra crate): everything runs on the one current-thread
//! runtime (`crate::runtime`), so no future has to be `Send`. The price is that a `Target` is not
//! `dyn`-compatible, hence [`Opened`] and generics instead of a trait object.
//!
//! Owns: the operations and opening. Does not own: the policy built on them (`ops`, `actions`).

use super::auth::{CredentialQuery, CredentialSource};
use super::error::OciError;
use super::layout::LayoutTarget;
use super::manifest::{Blob, Descriptor};
use super::reference::Location;
use super::repository::Repository;
use super::transport::{DebugHook, Stats, TransportOptions};

/// Which way a blob moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upload,
    Download,
}

/// How a blob transfer goes, for a progress indicator: [`ops`](super::ops) says when a blob
/// starts and ends (on either target); a registry reports the bytes in between as they go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferEvent {
    Started {
        digest: String,
        size: u64,
        direction: Direction,
    },
    /// `bytes` moved so far (a restarted upload starts again from 0).
    Progress { digest: String, bytes: u64 },
    Finished {
        digest: String,
        direction: Direction,
    },
}

/// Where [`TransferEvent`]s go (a command's progress display; `&|_| {}` for none).
pub type OnTransfer<'a> = &'a (dyn Fn(TransferEvent) + Sync);

/// How to reach registries: transport settings, where credentials come from, a debug sink.
#[derive(Clone, Default)]
pub struct Connection {
    pub options: TransportOptions,
    pub credentials: CredentialQuery,
    pub debug: Option<DebugHook>,
}

/// What a target is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access<'a> {
    /// Read: pull, versions, publish's comparison alone.
    Pull,
    /// Write `chart`: a registry location is the namespace the chart name is appended to, a
    /// layout records it as the entry's title; a missing layout is created.
    Push { chart: &'a str },
}

/// The operations push, pull and versions need, on a registry repository or an OCI layout.
#[allow(async_fn_in_trait)] // one current-thread runtime: no `Send` bound is ever needed
pub trait Target {
    /// How to name `reference` (a tag or a digest) in this target, for output.
    fn display(&self, reference: &str) -> String;

    /// The request counters (`None` for a layout).
    fn stats(&self) -> Option<&Stats>;

    /// HTTP requests made so far (0 for a layout).
    fn requests(&self) -> u64 {
        self.stats().map_or(0, |s| Stats::get(&s.requests))
    }

    /// Requests retried so far (0 for a layout).
    fn retries(&self) -> u64 {
        self.stats().map_or(0, |s| Stats::get(&s.retries))
    }

    /// The manifest digest a tag points at, `None` when the tag does not exist.
    async fn resolve(&self, tag: &str) -> Result<Option<String>, OciError>;

    /// Manifest bytes and digest for a tag or digest (verified), `None` when absent.
    async fn fetch_manifest(&self, reference: &str) -> Result<Option<(Vec<u8>, String)>, OciError>;

    async fn has_blob(&self, digest: &str) -> Result<bool, OciError>;

    /// Store `blob`, reporting [`TransferEvent::Progress`] as its bytes go out.
    async fn put_blob(&self, blob: &Blob, progress: OnTransfer<'_>) -> Result<(), OciError>;

    /// Store `manifest` (whose blobs are already there) and point `tag` at it. Unless `replace`,
    /// a tag that points at another manifest right before it would be moved is left alone
    /// ([`TagResult::Held`]). A layout checks and writes under its lock; a registry has no
    /// compare-and-swap, so it checks right before the tag PUT and reads the tag back after it
    /// (twice: once more after a settle delay) — see `repository.rs`.
    async fn put_manifest(
        &self,
        tag: &str,
        manifest: &Blob,
        replace: bool,
    ) -> Result<TagResult, OciError>;

    /// A blob's bytes, verified against `descriptor` (digest and size) once all are read;
    /// [`TransferEvent::Progress`] as they come in.
    async fn fetch_blob(
        &self,
        descriptor: &Descriptor,
        progress: OnTransfer<'_>,
    ) -> Result<Vec<u8>, OciError>;

    /// Tags, with their manifest digest when the target knows it without another request. A
    /// registry repository that does not exist is [`OciError::RepositoryUnknown`].
    async fn list_tags(&self) -> Result<Vec<(String, Option<String>)>, OciError>;
}

/// How [`Target::put_manifest`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagResult {
    /// The tag was moved to the manifest; `now` is what it points at when read back afterwards:
    /// this manifest, or another one when a concurrent push moved it after this one (`None`: the
    /// tag is gone).
    Moved { now: Option<String> },
    /// The tag was not moved: when checked, it pointed at `holds` (another manifest).
    Held { holds: String },
}

/// A target opened from a [`Location`]: one of the two implementations. Use it through
/// [`with_target!`](crate::oci::target::with_target).
#[allow(clippy::large_enum_variant)] // one per run, never moved around: a box buys nothing
pub enum Opened {
    Registry(Repository),
    Layout(LayoutTarget),
}

/// Open `location` for `access`. For a registry this resolves the credentials for its host
/// (their source is returned, for `--debug`) and builds the HTTP client; a layout is checked
/// (and, for a push, accepted when missing or empty).
pub fn open(
    location: &Location,
    access: Access<'_>,
    conn: &Connection,
) -> Result<(Opened, Option<CredentialSource>), OciError> {
    match location {
        Location::Registry(r) => {
            let (repo, source) = Repository::open(r, access, conn)?;
            Ok((Opened::Registry(repo), source))
        }
        Location::Layout(l) => Ok((Opened::Layout(LayoutTarget::open(l, access)?), None)),
    }
}

/// Run `$body` with `$t` bound to the concrete [`Target`] inside an [`Opened`] (the body is
/// compiled once per implementation):
/// `block_on(async { with_target!(&opened, |t| ops::versions(t).await) })` — the body awaits,
/// since the two arms are different future types.
macro_rules! with_target {
    ($opened:expr, |$t:ident| $body:expr) => {
        match $opened {
            $crate::oci::target::Opened::Registry($t) => $body,
            $crate::oci::target::Opened::Layout($t) => $body,
        }
    };
}
pub(crate) use with_target;
