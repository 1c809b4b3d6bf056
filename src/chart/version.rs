//! Chart versions and version constraints the way Helm reads them (Masterminds/semver v3:
//! v3.3.0 in Helm 3.17, v3.4.0 in Helm 4.1).
//!
//! * [`parse_helm`] is Masterminds' `NewVersion`, what Helm's `Metadata.Validate` accepts in
//!   Chart.yaml: an optional `v`, one to three numeric parts (leading zeros allowed, missing parts
//!   are 0), an optional pre-release and build metadata (`v1.2`, `1`, `01.2.3`, `1.2.3-rc.1+b`).
//!   The result is a `semver::Version`, whose precedence (`cmp_precedence`) is Masterminds'
//!   `Compare`.
//! * [`Constraint`] is Masterminds' `NewConstraint` + `Check`: `||` alternatives of `,`/space
//!   separated comparisons (`=`, `!=`, `>`, `<`, `>=`, `=>`, `<=`, `=<`, `~`, `~>`, `^`, none),
//!   wildcards (`1.x`, `1.2.*`, `*`), partial versions (`~0.1`, `^1`), ranges (`1.0 - 2.0`).
//!   Pre-releases: a pre-release version matches only an alternative that names a pre-release
//!   somewhere (`>=1.0.0-0` matches `2.0.0-rc.1`, unlike Cargo's rule, which is why
//!   `semver::VersionReq` is not used). That is v3.4.0's rule (Helm 4); v3.3.0 (Helm 3) asks it
//!   of each comparison, so `>=1.0.0-0 <2.0.0` matches `1.5.0-rc.1` in Helm 4 but not in Helm 3.
//!
//! Owns: reading versions and constraints. Does not own: which versions a registry holds.

use std::cmp::Ordering;

use semver::{BuildMetadata, Prerelease, Version};

/// Masterminds' `NewVersion`: the version Helm reads from `s`, or why it is not one.
pub fn parse_helm(s: &str) -> Result<Version, String> {
    let bad = || format!("{s:?} is not a version (Helm expects e.g. 1.2.3, v1.2 or 1.2.3-rc.1)");
    let rest = s.strip_prefix('v').unwrap_or(s);
    let (core, build) = match rest.split_once('+') {
        Some((c, b)) => (c, Some(b)),
        None => (rest, None),
    };
    let (nums, pre) = match core.split_once('-') {
        Some((n, p)) => (n, Some(p)),
        None => (core, None),
    };
    let parts: Vec<&str> = nums.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(bad());
    }
    let mut n = [0u64; 3];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        n[i] = p.parse().map_err(|_| bad())?;
    }
    let pre = match pre {
        Some(p) => {
            if !identifiers_ok(p) {
                return Err(bad());
            }
            Prerelease::new(p).map_err(|_| bad())?
        }
        None => Prerelease::EMPTY,
    };
    let build = match build {
        Some(b) => {
            if !identifiers_ok(b) {
                return Err(bad());
            }
            BuildMetadata::new(b).map_err(|_| bad())?
        }
        None => BuildMetadata::EMPTY,
    };
    Ok(Version {
        major: n[0],
        minor: n[1],
        patch: n[2],
        pre,
        build,
    })
}

/// Dot-separated, non-empty `[0-9A-Za-z-]+` identifiers.
fn identifiers_ok(s: &str) -> bool {
    s.split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// True when `s` is a strict SemVer 2 version (what `helm push`/`helm pull` list as tags:
/// Masterminds' `StrictNewVersion`).
pub fn is_strict(s: &str) -> bool {
    Version::parse(s).is_ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Comparison {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// A Helm version constraint (`^1.0.0`, `~0.1`, `>=1.0.0-0`, `1.x`, `*`, `>=1 <2 || 3.x`).
#[derive(Debug, Clone)]
pub struct Constraint {
    text: String,
    /// Alternatives (`||`) of comparisons that must all hold.
    any_of: Vec<Vec<Comparison>>,
}

/// Two constraints are equal when they were written the same.
impl PartialEq for Constraint {
    fn eq(&self, other: &Constraint) -> bool {
        self.text == other.text
    }
}
impl Eq for Constraint {}

impl std::fmt::Display for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Constraint {
    /// Masterminds' `NewConstraint`.
    pub fn parse(s: &str) -> Result<Constraint, String> {
        let rewritten = rewrite_ranges(s);
        let mut any_of = Vec::new();
        for alt in rewritten.split("||") {
            let group = parse_group(alt).ok_or_else(|| {
                format!(
                    "{s:?} is neither a version nor a version constraint \
                     (e.g. 1.2.3, ^1.0.0, ~0.1, >=1.0.0-0, 1.x, *)"
                )
            })?;
            any_of.push(group);
        }
        Ok(Constraint {
            text: s.to_string(),
            any_of,
        })
    }

    /// Masterminds' `Check` (v3.4.0, Helm 4).
    pub fn matches(&self, v: &Version) -> bool {
        self.any_of.iter().any(|group| {
            let include_pre = group.iter().any(|c| !c.con.pre.is_empty());
            group.iter().all(|c| c.check(v, include_pre))
        })
    }
}

/// `A - B` → `>= A, <= B` (Masterminds' `rewriteRange`).
fn rewrite_ranges(s: &str) -> String {
    let tokens: Vec<&str> = s.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if i + 2 < tokens.len()
            && tokens[i + 1] == "-"
            && is_cv(tokens[i])
            && is_cv(tokens[i + 2].trim_end_matches(','))
        {
            out.push(format!(">= {}, <= {}", tokens[i], tokens[i + 2]));
            i += 3;
        } else {
            out.push(tokens[i].to_string());
            i += 1;
        }
    }
    out.join(" ")
}

fn is_cv(t: &str) -> bool {
    let mut chars = t.chars().peekable();
    let mut rest = String::new();
    if chars.peek() == Some(&'v') {
        chars.next();
    }
    rest.extend(chars);
    matches!(split_cv(&rest), Some((_, r)) if r.is_empty())
}

/// Split a constraint version (`[v]1.x.3-pre+meta`, `v` already removed) off the front of `s`:
/// (the parts, the rest of `s`).
#[allow(clippy::type_complexity)]
fn split_cv(s: &str) -> Option<((Vec<&str>, &str, &str), &str)> {
    let is_part = |b: u8| b.is_ascii_digit() || b == b'x' || b == b'X' || b == b'*';
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && is_part(bytes[i]) {
            i += 1;
        }
        if i == start {
            return None;
        }
        parts.push(&s[start..i]);
        if parts.len() < 3 && i + 1 < bytes.len() && bytes[i] == b'.' && is_part(bytes[i + 1]) {
            i += 1;
            continue;
        }
        break;
    }
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
    let take = |i: &mut usize, lead: u8| -> &str {
        if *i < bytes.len() && bytes[*i] == lead {
            let start = *i + 1;
            let mut j = start;
            while j < bytes.len() && ident(bytes[j]) {
                j += 1;
            }
            if j > start {
                *i = j;
                return &s[start..j];
            }
        }
        ""
    };
    let pre = take(&mut i, b'-');
    let meta = take(&mut i, b'+');
    Some(((parts, pre, meta), &s[i..]))
}

const OPS: [(&str, Op); 11] = [
    ("!=", Op::Ne),
    (">=", Op::Ge),
    ("=>", Op::Ge),
    ("<=", Op::Le),
    ("=<", Op::Le),
    ("~>", Op::Tilde),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("=", Op::Eq),
    ("~", Op::Tilde),
    ("^", Op::Caret),
];

fn parse_group(s: &str) -> Option<Vec<Comparison>> {
    let mut rest = s.trim_start();
    let mut out = Vec::new();
    loop {
        let mut op = Op::Eq;
        for (text, o) in OPS {
            if let Some(r) = rest.strip_prefix(text) {
                op = o;
                rest = r;
                break;
            }
        }
        rest = rest.trim_start();
        let had_v = rest.starts_with('v');
        let body = if had_v { &rest[1..] } else { rest };
        let ((parts, pre, meta), after) = split_cv(body)?;
        out.push(comparison(op, &parts, pre, meta)?);
        let trimmed = after.trim_start();
        if trimmed.is_empty() {
            return Some(out);
        }
        let separated = trimmed.len() < after.len() || trimmed.starts_with(',');
        if !separated {
            return None;
        }
        rest = trimmed.strip_prefix(',').unwrap_or(trimmed).trim_start();
        if rest.is_empty() {
            return None;
        }
    }
}

fn comparison(op: Op, parts: &[&str], pre: &str, meta: &str) -> Option<Comparison> {
    let is_x = |p: &str| matches!(p, "x" | "X" | "*");
    let num = |p: &str| p.parse::<u64>().ok();
    let mut c = Comparison {
        op,
        con: Version::new(0, 0, 0),
        dirty: false,
        minor_dirty: false,
        patch_dirty: false,
    };
    let (major, minor, patch) = match parts {
        [a] if is_x(a) => {
            c.dirty = true;
            (0, 0, 0)
        }
        [a, ..] if is_x(a) => {
            c.dirty = true;
            (0, 0, 0)
        }
        [a] => {
            c.dirty = true;
            c.minor_dirty = true;
            (num(a)?, 0, 0)
        }
        [a, b, ..] if is_x(b) => {
            c.dirty = true;
            c.minor_dirty = true;
            (num(a)?, 0, 0)
        }
        [a, b] => {
            c.dirty = true;
            c.patch_dirty = true;
            (num(a)?, num(b)?, 0)
        }
        [a, b, p] if is_x(p) => {
            c.dirty = true;
            c.patch_dirty = true;
            (num(a)?, num(b)?, 0)
        }
        [a, b, p] => (num(a)?, num(b)?, num(p)?),
        _ => return None,
    };
    c.con = Version::new(major, minor, patch);
    if !pre.is_empty() {
        c.con.pre = Prerelease::new(pre).ok()?;
    }
    if !c.dirty && !meta.is_empty() {
        c.con.build = BuildMetadata::new(meta).ok()?;
    }
    Some(c)
}

fn cmp(a: &Version, b: &Version) -> Ordering {
    a.cmp_precedence(b)
}

impl Comparison {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op {
            Op::Ne => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return v.pre != c.pre;
                        }
                        return false;
                    }
                }
                cmp(v, c) != Ordering::Equal
            }
            Op::Gt => {
                if !self.dirty {
                    return cmp(v, c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                cmp(v, c) == Ordering::Greater
            }
            Op::Lt => cmp(v, c) == Ordering::Less,
            Op::Ge => cmp(v, c) != Ordering::Less,
            Op::Le => {
                if !self.dirty {
                    return cmp(v, c) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            Op::Tilde => self.tilde(v),
            Op::Eq => {
                if self.dirty {
                    return self.tilde(v);
                }
                cmp(v, c) == Ordering::Equal
            }
            Op::Caret => {
                if cmp(v, c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if cmp(v, c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_reads_loose_versions() {
        for (s, want) in [
            ("1.2.3", "1.2.3"),
            ("v1.2", "1.2.0"),
            ("1", "1.0.0"),
            ("01.2.3", "1.2.3"),
            ("v0.1.0-rc.1+b.01", "0.1.0-rc.1+b.01"),
        ] {
            assert_eq!(parse_helm(s).unwrap().to_string(), want, "{s}");
        }
        for s in [
            "", "1.2.3.4", " 1.2.3", "1.2.3-01", "1.2.3-", "a.b", "1..2", "V1",
        ] {
            assert!(parse_helm(s).is_err(), "{s}");
        }
    }

    fn m(c: &str, v: &str) -> bool {
        Constraint::parse(c)
            .unwrap()
            .matches(&Version::parse(v).unwrap())
    }

    #[test]
    fn masterminds_constraints() {
        assert!(m("*", "1.0.0") && !m("*", "1.0.0-rc.1"));
        assert!(m(">=1.0.0-0", "2.0.0-rc.1") && m(">=1.0.0-0", "1.0.0"));
        assert!(!m(">=1.0.0-0", "0.9.0"));
        assert!(m("^1.0.0", "1.9.9") && !m("^1.0.0", "2.0.0") && !m("^1.0.0", "1.5.0-rc.1"));
        assert!(m("^0.2.3", "0.2.9") && !m("^0.2.3", "0.3.0"));
        assert!(m("~0.1", "0.1.9") && !m("~0.1", "0.2.0"));
        assert!(m("~1.2.3", "1.2.9") && !m("~1.2.3", "1.3.0"));
        assert!(m("1.x", "1.9.0") && !m("1.x", "2.0.0"));
        assert!(m("1.2.*", "1.2.7") && !m("1.2.*", "1.3.0"));
        assert!(m(">1", "2.0.0") && !m(">1", "1.9.0"));
        assert!(m(">=1 <2 || 3.x", "3.1.0") && !m(">=1 <2 || 3.x", "2.1.0"));
        assert!(m(">=1.0.0, <2.0.0", "1.5.0"));
        assert!(m("1.0 - 2.0", "2.0.9") && !m("1.0 - 2.0", "2.1.0"));
        assert!(m("!=1.0.0", "1.0.1") && !m("!=1.0.0", "1.0.0"));
        assert!(m("=1.0.0", "1.0.0") && m("v1.0.0", "1.0.0"));
        // Helm 4's group rule: one pre-release in the group lets pre-releases through.
        assert!(m(">=1.0.0-0 <2.0.0", "1.5.0-rc.1"));
        for bad in ["", "abc", ">=", "1.0.0 ||", "^1.0.0,", ">=1.0.0garbage"] {
            assert!(Constraint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
