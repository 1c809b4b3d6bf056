//! Parsing what users type as a chart location:
//!
//! * `oci://HOST[:PORT][/PATH…][:TAG|@DIGEST]` — a registry repository (Helm's syntax). For `push`
//!   the path is the namespace the chart name is appended to (`oci://harbor/platform` →
//!   `harbor/platform/<chart>`); for `pull`/`versions` it names the chart repository itself.
//! * `oci-layout:DIR` — an OCI image layout directory (appkit's offline target). For `pull` and
//!   `versions`, `oci-layout:DIR/CHART` selects one chart in the layout at `DIR` (entries whose
//!   `org.opencontainers.image.title` is `CHART`); `oci-layout:DIR` alone means every chart in it.
//!
//! Also here: the tag rule Helm uses (`+` is not allowed in OCI tags, so `1.0.0+build` is stored as
//! `1.0.0_build` and mapped back on read). Parsing only; nothing here touches the network or disk
//! except [`Location::parse`] checking whether an `oci-layout:` path is itself a layout.

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::OciError;

/// Where charts live, as the user named it: a registry repository or an OCI image layout
/// directory. `oci::target::open` turns it into a [`Target`](super::target::Target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Registry(RegistryRef),
    Layout(LayoutRef),
}

/// `oci://registry/repository[:tag|@digest]`, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRef {
    /// `host` or `host:port`.
    pub registry: String,
    /// The repository path (may be empty for a push target at the registry root).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// `oci-layout:DIR[/CHART]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutRef {
    /// The layout root (the directory holding `oci-layout` and `index.json`).
    pub dir: PathBuf,
    /// The chart selected in the layout, when the reference names one.
    pub chart: Option<String>,
    /// `oci-layout:DIR/CHART:TAG`
    pub tag: Option<String>,
    /// `oci-layout:DIR/CHART@sha256:…`
    pub digest: Option<String>,
}

pub const OCI_SCHEME: &str = "oci://";
pub const LAYOUT_SCHEME: &str = "oci-layout:";

/// The OCI tag for a chart version: `+` (not allowed in tags) becomes `_`, as Helm does.
pub fn tag_for_version(version: &str) -> String {
    version.replace('+', "_")
}

/// The chart version a tag stands for: `_` back to `+`.
pub fn version_for_tag(tag: &str) -> String {
    tag.replace('_', "+")
}

impl Location {
    /// The registry host (`host[:port]`), for a registry location.
    pub fn registry_host(&self) -> Option<&str> {
        match self {
            Location::Registry(r) => Some(&r.registry),
            Location::Layout(_) => None,
        }
    }

    /// Parse a reference for `push` (`for_push`: the path is a namespace and no tag is allowed)
    /// or for `pull`/`versions`.
    pub fn parse(input: &str, for_push: bool) -> Result<Location, OciError> {
        if let Some(rest) = input.strip_prefix(LAYOUT_SCHEME) {
            if rest.is_empty() {
                return Err(err(input, "no directory after `oci-layout:`"));
            }
            let path = PathBuf::from(rest);
            if for_push || path.join("oci-layout").is_file() {
                return Ok(Location::Layout(LayoutRef {
                    dir: path,
                    chart: None,
                    tag: None,
                    digest: None,
                }));
            }
            let last = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string);
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            // CHART, CHART:TAG or CHART@DIGEST, as in an oci:// reference.
            let (chart, tag, digest) = match last.as_deref() {
                Some(l) if l.contains('@') => {
                    let (c, d) = l.split_once('@').unwrap_or((l, ""));
                    validate_digest(d).map_err(|r| err(input, &r))?;
                    (Some(c.to_string()), None, Some(d.to_string()))
                }
                Some(l) if l.contains(':') => {
                    let (c, t) = l.split_once(':').unwrap_or((l, ""));
                    validate_tag(t).map_err(|r| err(input, &r))?;
                    (Some(c.to_string()), Some(t.to_string()), None)
                }
                other => (other.map(str::to_string), None, None),
            };
            match chart {
                Some(chart) if validate_component(&chart).is_ok() => {
                    Ok(Location::Layout(LayoutRef {
                        dir: parent.to_path_buf(),
                        chart: Some(chart),
                        tag,
                        digest,
                    }))
                }
                _ if tag.is_some() || digest.is_some() => Err(err(
                    input,
                    "the part before the tag or digest is not a chart name",
                )),
                _ => Ok(Location::Layout(LayoutRef {
                    dir: path,
                    chart: None,
                    tag: None,
                    digest: None,
                })),
            }
        } else {
            let r = RegistryRef::parse(input)?;
            if for_push && (r.tag.is_some() || r.digest.is_some()) {
                return Err(err(
                    input,
                    "a push target names the namespace only; the tag comes from the chart version",
                ));
            }
            if !for_push && r.repository.is_empty() {
                return Err(err(input, "no chart repository after the registry host"));
            }
            Ok(Location::Registry(r))
        }
    }
}

impl RegistryRef {
    pub fn parse(input: &str) -> Result<RegistryRef, OciError> {
        let Some(rest) = input.strip_prefix(OCI_SCHEME) else {
            let reason = if input.contains("://") {
                "only oci:// references are supported (or oci-layout:DIR)"
            } else {
                "missing the oci:// scheme (e.g. oci://harbor.example.com/project)"
            };
            return Err(err(input, reason));
        };
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        validate_host(host).map_err(|r| err(input, &r))?;
        let (path, digest) = match path.split_once('@') {
            Some((p, d)) => {
                validate_digest(d).map_err(|r| err(input, &r))?;
                (p, Some(d.to_string()))
            }
            None => (path, None),
        };
        let last_slash = path.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (repo, tag) = match path[last_slash..].find(':') {
            Some(i) => (&path[..last_slash + i], Some(&path[last_slash + i + 1..])),
            None => (path, None),
        };
        let repo = repo.trim_end_matches('/');
        if !repo.is_empty() {
            for c in repo.split('/') {
                validate_component(c).map_err(|r| err(input, &r))?;
            }
        }
        if let Some(t) = tag {
            validate_tag(t).map_err(|r| err(input, &r))?;
        }
        Ok(RegistryRef {
            registry: host.to_string(),
            repository: repo.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The repository of a chart pushed under this namespace.
    pub fn chart_repository(&self, chart: &str) -> String {
        if self.repository.is_empty() {
            chart.to_string()
        } else {
            format!("{}/{}", self.repository, chart)
        }
    }

    /// `oci://registry/repository` without tag or digest.
    pub fn base(&self) -> String {
        if self.repository.is_empty() {
            format!("{OCI_SCHEME}{}", self.registry)
        } else {
            format!("{OCI_SCHEME}{}/{}", self.registry, self.repository)
        }
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn err(input: &str, reason: &str) -> OciError {
    OciError::Reference {
        input: input.to_string(),
        reason: reason.to_string(),
    }
}

fn validate_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("no registry host after oci://".into());
    }
    let (name, port) = if let Some(stripped) = host.strip_prefix('[') {
        // [IPv6]:port
        let end = stripped
            .find(']')
            .ok_or("unterminated `[` in the registry host")?;
        let after = &stripped[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected `{after}` after the IPv6 address")),
        };
        if !stripped[..end]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':')
        {
            return Err(format!("`{host}` is not a valid IPv6 address"));
        }
        (None, port)
    } else {
        match host.rsplit_once(':') {
            Some((n, p)) => (Some(n), Some(p)),
            None => (Some(host), None),
        }
    };
    if let Some(name) = name {
        let ok = !name.is_empty()
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !ok {
            return Err(format!("`{name}` is not a valid registry host name"));
        }
    }
    if let Some(p) = port {
        if p.parse::<u16>().ok().filter(|p| *p > 0).is_none() {
            return Err(format!("`{p}` is not a valid port"));
        }
    }
    Ok(())
}

/// One repository path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` (the distribution grammar).
fn validate_component(c: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "`{c}` is not a valid repository name component (lower-case letters, digits, and \
             single `.`/`_`, double `_` or dashes between them)"
        )
    };
    if c.is_empty() {
        return Err("empty repository path component (`//` or a trailing `/`)".into());
    }
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err(bad());
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

/// An OCI tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn validate_tag(t: &str) -> Result<(), String> {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let ok = !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|&x| word(x) || x == b'.' || x == b'-');
    if ok {
        Ok(())
    } else if t.contains('+') {
        Err(format!(
            "`{t}` is not a valid tag (write `+` as `_`, as Helm stores it)"
        ))
    } else {
        Err(format!("`{t}` is not a valid tag"))
    }
}

/// `sha256:<64 hex>` (or `sha512:<128 hex>`), lower case.
pub fn validate_digest(d: &str) -> Result<(), String> {
    let ok = match d.split_once(':') {
        Some(("sha256", h)) => h.len() == 64,
        Some(("sha512", h)) => h.len() == 128,
        _ => false,
    } && d.split_once(':').is_some_and(|(_, h)| {
        h.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{d}` is not a valid digest (expected sha256:<64 hex digits>)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(s: &str) -> RegistryRef {
        RegistryRef::parse(s).unwrap()
    }

    #[test]
    fn parses_host_port_path_tag_and_digest() {
        let r = reg("oci://localhost:5000/platform/app:1.2.3_build.1");
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "platform/app");
        assert_eq!(r.tag.as_deref(), Some("1.2.3_build.1"));
        let d = format!("sha256:{}", "a".repeat(64));
        let r = reg(&format!("oci://harbor.example.com/p/app@{d}"));
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.tag, None);
        let r = reg("oci://harbor.example.com");
        assert_eq!(r.repository, "");
        assert_eq!(r.chart_repository("app"), "app");
        assert_eq!(reg("oci://h/p/").chart_repository("app"), "p/app");
        assert_eq!(reg("oci://[::1]:5000/p").registry, "[::1]:5000");
    }

    #[test]
    fn rejects_bad_references_with_reasons() {
        for (input, needle) in [
            ("harbor/p", "missing the oci:// scheme"),
            ("https://harbor/p", "only oci://"),
            ("oci:///p", "no registry host"),
            ("oci://host:99999/p", "not a valid port"),
            ("oci://host/Upper", "not a valid repository name"),
            ("oci://host/a//b", "empty repository path"),
            ("oci://host/a:1.0+x", "write `+` as `_`"),
            ("oci://host/a@sha256:abc", "not a valid digest"),
            ("oci://bad_host/a", "not a valid registry host"),
        ] {
            let e = RegistryRef::parse(input).unwrap_err().to_string();
            assert!(e.contains(needle), "{input}: {e}");
        }
    }

    #[test]
    fn push_targets_take_no_tag_and_pull_targets_need_a_repository() {
        assert!(Location::parse("oci://h/p:1.0.0", true).is_err());
        assert!(Location::parse("oci://h", false).is_err());
        assert!(matches!(
            Location::parse("oci://h", true),
            Ok(Location::Registry(_))
        ));
    }

    #[test]
    fn layout_references_select_a_chart_unless_the_path_is_a_layout() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let s = format!("oci-layout:{}/app", root.display());
        assert_eq!(
            Location::parse(&s, false).unwrap(),
            Location::Layout(LayoutRef {
                dir: root.clone(),
                chart: Some("app".into()),
                tag: None,
                digest: None,
            })
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            Location::parse(&format!("{s}@{digest}"), false).unwrap(),
            Location::Layout(LayoutRef {
                dir: root.clone(),
                chart: Some("app".into()),
                tag: None,
                digest: Some(digest),
            })
        );
        assert_eq!(
            Location::parse(&format!("{s}:1.2.3_build"), false).unwrap(),
            Location::Layout(LayoutRef {
                dir: root.clone(),
                chart: Some("app".into()),
                tag: Some("1.2.3_build".into()),
                digest: None,
            })
        );
        let e = Location::parse(&format!("{s}@sha256:abc"), false).unwrap_err();
        assert!(e.to_string().contains("digest"), "{e}");
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::write(root.join("app/oci-layout"), "{}").unwrap();
        assert_eq!(
            Location::parse(&s, false).unwrap(),
            Location::Layout(LayoutRef {
                dir: root.join("app"),
                chart: None,
                tag: None,
                digest: None,
            })
        );
        assert!(Location::parse("oci-layout:", true).is_err());
    }

    #[test]
    fn plus_and_underscore_round_trip() {
        assert_eq!(tag_for_version("1.0.0+build.5"), "1.0.0_build.5");
        assert_eq!(version_for_tag("1.0.0_build.5"), "1.0.0+build.5");
    }
}
