//! The errors of the OCI module. Each says what failed and where (registry URL, layout path); the
//! cause stays in `#[source]`. No variant ever carries a password or token.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("invalid reference `{input}`: {reason}")]
    Reference { input: String, reason: String },

    #[error("cannot build the HTTP client: {reason}")]
    ClientSetup { reason: String },

    #[error("cannot read CA file {}", path.display())]
    CaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{method} {url} failed after {attempts} attempt(s){}",
        transport_summary(source)
    )]
    Transport {
        method: String,
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },

    /// The answer started but its body could not be read to the end (connection reset, body cut
    /// short): retried for GETs, whose content is verified anyway.
    #[error("{method} {url}: the response broke off before its end (after {attempts} attempt(s))")]
    Body {
        method: String,
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },

    /// The registry sent more than appkit reads for this kind of response.
    #[error("{method} {url}: the response is larger than {limit} bytes; refusing to read it")]
    TooLarge {
        method: String,
        url: String,
        limit: u64,
    },

    #[error(
        "{method} {url}: the registry answered {status}{}",
        detail_suffix(detail)
    )]
    Status {
        method: String,
        url: String,
        status: u16,
        detail: String,
    },

    /// A request appkit will not send: to another origin than the registry's (an upload
    /// `Location`, a tag-list `Link`), from https to http, a token realm weaker than the registry,
    /// a redirect chain too long, a tag list that never ends. Nothing was sent to `url`.
    #[error("{what}: refused {url}: {reason}")]
    Refused {
        what: String,
        url: String,
        reason: String,
    },

    #[error("authentication to {registry} failed{}", detail_suffix(detail))]
    Unauthorized { registry: String, detail: String },

    #[error("credentials: {message}")]
    Credentials { message: String },

    #[error("{what}: digest mismatch (expected {expected}, got {actual})")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },

    #[error("{what}: {reason}")]
    BadArtifact { what: String, reason: String },

    #[error("{reference} already exists with digest {existing}; this chart's digest is {new}")]
    TagExists {
        reference: String,
        existing: String,
        new: String,
    },

    /// A concurrent push of the same tag with other content won (`after`: it moved the tag right
    /// after this push had moved it; otherwise it held the tag before this push could move it).
    #[error(
        "{reference}: a concurrent push with other content {}: it points at {}, this chart is {ours}",
        if *after { "moved the tag right after this push had tagged it" } else { "tagged it first" },
        theirs.as_deref().unwrap_or("no manifest")
    )]
    TagConflict {
        reference: String,
        ours: String,
        theirs: Option<String>,
        after: bool,
    },

    #[error("{reference} not found")]
    NotFound { reference: String },

    /// The registry answered 404 to the tag list: no repository of that name (distribution:
    /// `NAME_UNKNOWN`). A repository whose tags were all deleted lists an empty page instead.
    #[error(
        "repository {repository} does not exist (the registry answered 404{} to the tag list)",
        code.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
    )]
    RepositoryUnknown {
        repository: String,
        /// The distribution error code of the answer (`NAME_UNKNOWN`), when it sent one.
        code: Option<String>,
    },

    /// The registry answered 401 or 403 to the tag list: the credentials (or anonymous) may not
    /// see the repository (Harbor answers 403 for a project a robot account has no access to).
    #[error(
        "the registry refused to list the tags of {repository} ({status}{}): the credentials cannot see this repository",
        detail_suffix(detail)
    )]
    ListRefused {
        repository: String,
        status: u16,
        detail: String,
    },

    /// appkit spoke one protocol and the registry the other: TLS to a plain-HTTP registry
    /// (`registry_https: false`: its answer to the TLS handshake was plain HTTP), or plain HTTP to
    /// an HTTPS one (`registry_https: true`: it answered with a TLS server's 400). Never retried:
    /// the next attempt would get the same answer.
    #[error(
        "{method} {url}: the registry speaks {}: {evidence}",
        if *registry_https { "HTTPS, not plain HTTP" } else { "plain HTTP, not HTTPS" }
    )]
    WrongProtocol {
        method: String,
        url: String,
        registry_https: bool,
        evidence: String,
        #[source]
        source: Option<reqwest::Error>,
    },

    #[error("OCI layout {}: {reason}", path.display())]
    Layout { path: PathBuf, reason: String },

    #[error("OCI layout: cannot access {}", path.display())]
    LayoutIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What kind of network failure it was, in words, when reqwest knows: a timeout must say which one,
/// since "deadline has elapsed" at the end of the chain does not.
fn transport_summary(source: &reqwest::Error) -> &'static str {
    match (source.is_connect(), source.is_timeout()) {
        (true, true) => ": no connection within the connect timeout (--connect-timeout)",
        (false, true) => ": timed out waiting for the registry (--request-timeout)",
        (true, false) => ": cannot connect",
        _ => "",
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}
