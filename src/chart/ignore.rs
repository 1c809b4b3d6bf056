//! `.helmignore` with **Helm's** semantics, ported from Helm's `pkg/ignore/rules.go` (identical in
//! 3.17 and 4.1) — not gitignore's:
//!
//! * rules are tried in file order and the **first rule that decides wins**;
//! * a plain rule ignores the path when it matches;
//! * a negated rule `!p` ignores every path that does *not* match `p` (and, for `!dir/`, every
//!   non-directory), and lets a matching path fall through to the next rule — so `!p` never
//!   "re-includes" something an earlier rule ignored;
//! * `p/` only applies to directories (a non-directory skips the rule);
//! * `/p` matches the full relative path; a rule containing `/` matches the full relative path;
//!   a rule without `/` matches only the last path element;
//! * globs are Go's `filepath.Match` (`*`, `?`, `[a-z]`, `[^a]`, `\` escapes; `*` and `?` never
//!   match `/`); `**` is an error; a malformed glob is an error;
//! * blank lines and lines starting with `#` are skipped; lines are trimmed; a UTF-8 BOM on the
//!   first line is dropped;
//! * `.helmignore` itself is *not* ignored unless a rule says so (Helm packages it);
//! * Helm appends one default rule, `templates/.?*` (dotfiles in templates/), after the file's.
//!
//! An ignored directory is skipped with everything in it (the walk never enters it).

use std::path::Path;

use super::ChartError;

pub const HELMIGNORE: &str = ".helmignore";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Leading `/`: the pattern matches the whole relative path.
    Rooted,
    /// Contains `/`: the pattern matches the whole relative path.
    Structural,
    /// No `/`: the pattern matches the base name only.
    Base,
}

#[derive(Debug, Clone)]
struct Rule {
    glob: String,
    negate: bool,
    must_dir: bool,
    kind: Kind,
}

/// A parsed `.helmignore` (plus Helm's default rule once [`Rules::add_defaults`] ran).
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// No rules at all.
    pub fn empty() -> Self {
        Rules::default()
    }

    /// Parse `.helmignore` text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ChartError> {
        let mut r = Rules::empty();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Go's bufio.Scanner splits on \n and drops one trailing \r.
        for (i, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            r.parse_rule(line)
                .map_err(|message| ChartError::IgnoreRule {
                    path: path.to_path_buf(),
                    line: i + 1,
                    rule: line.trim().to_string(),
                    message,
                })?;
        }
        Ok(r)
    }

    /// Read `<chart_dir>/.helmignore` when there is one, then add Helm's defaults.
    pub fn for_chart(chart_dir: &Path) -> Result<Self, ChartError> {
        let path = chart_dir.join(HELMIGNORE);
        let mut rules = match crate::fsutil::read_limited(&path, super::archive::MAX_FILE_SIZE) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                Rules::parse(&text, &path)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Rules::empty(),
            Err(source) => return Err(ChartError::Io { path, source }),
        };
        rules.add_defaults();
        Ok(rules)
    }

    /// Helm's `AddDefaults`: ignore dotfiles in `templates/`.
    pub fn add_defaults(&mut self) {
        self.parse_rule("templates/.?*")
            .expect("the default rule is valid");
    }

    fn parse_rule(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        if go_match(rule, "abc").is_err() {
            return Err("syntax error in pattern".into());
        }
        let mut glob = rule;
        let negate = glob.starts_with('!');
        if negate {
            glob = &glob[1..];
        }
        let must_dir = glob.ends_with('/');
        if must_dir {
            glob = &glob[..glob.len() - 1];
        }
        let (kind, glob) = if let Some(rest) = glob.strip_prefix('/') {
            (Kind::Rooted, rest)
        } else if glob.contains('/') {
            (Kind::Structural, glob)
        } else {
            (Kind::Base, glob)
        };
        self.rules.push(Rule {
            glob: glob.to_string(),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Helm's `Rules.Ignore`: `path` is relative to the chart directory with `/` separators.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for r in &self.rules {
            if r.negate {
                if r.must_dir && !is_dir {
                    return true;
                }
                if !r.matches(path) {
                    return true;
                }
                continue;
            }
            if r.must_dir && !is_dir {
                continue;
            }
            if r.matches(path) {
                return true;
            }
        }
        false
    }
}

impl Rule {
    fn matches(&self, path: &str) -> bool {
        let name = match self.kind {
            Kind::Rooted | Kind::Structural => path,
            // filepath.Base: last element, trailing slashes removed
            Kind::Base => {
                let trimmed = path.trim_end_matches('/');
                if trimmed.is_empty() {
                    "/"
                } else {
                    trimmed.rsplit('/').next().unwrap_or(trimmed)
                }
            }
        };
        go_match(&self.glob, name).unwrap_or(false)
    }
}

/// Go's `filepath.ErrBadPattern`: the pattern is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern")]
pub struct BadPattern;

/// Go's `path/filepath.Match` on Unix, ported line by line (including its error rules: a
/// malformed pattern is an error even when the name already failed to match).
pub fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let mut pattern: Vec<char> = pattern.chars().collect();
    let mut name: Vec<char> = name.chars().collect();
    'outer: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(&pattern);
        let (chunk, rest) = (chunk.to_vec(), rest.to_vec());
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains(&'/'));
        }
        let (t, ok) = match_chunk(&chunk, &name)?;
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != '/' {
                let (t, ok) = match_chunk(&chunk, &name[i + 1..])?;
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'outer;
                }
                i += 1;
            }
        }
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(&pattern);
            let (chunk, rest) = (chunk.to_vec(), rest.to_vec());
            pattern = rest;
            match_chunk(&chunk, &[])?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(pattern: &[char]) -> (bool, &[char], &[char]) {
    let mut p = pattern;
    let mut star = false;
    while let Some('*') = p.first() {
        p = &p[1..];
        star = true;
    }
    let mut inrange = false;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 < p.len() => i += 1,
            '[' => inrange = true,
            ']' => inrange = false,
            '*' if !inrange => break,
            _ => {}
        }
        i += 1;
    }
    (star, &p[..i], &p[i..])
}

/// Returns the rest of `s` after the chunk and whether it matched; `Err` for a bad pattern.
fn match_chunk(chunk: &[char], s: &[char]) -> Result<(Vec<char>, bool), BadPattern> {
    let mut chunk = chunk;
    let mut s = s;
    let mut failed = false;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match chunk[0] {
            '[' => {
                let mut r = '\0';
                if !failed {
                    r = s[0];
                    s = &s[1..];
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if chunk.first() == Some(&'^') {
                    negated = true;
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk[0] == '-' {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed {
                    if s[0] == '/' {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
            c => {
                let c = if c == '\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(BadPattern);
                    }
                    chunk[0]
                } else {
                    c
                };
                if !failed {
                    if c != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed {
        Ok((Vec::new(), false))
    } else {
        Ok((s.to_vec(), true))
    }
}

fn get_esc(chunk: &[char]) -> Result<(char, &[char]), BadPattern> {
    let mut chunk = chunk;
    if chunk.is_empty() || chunk[0] == '-' || chunk[0] == ']' {
        return Err(BadPattern);
    }
    if chunk[0] == '\\' {
        chunk = &chunk[1..];
        if chunk.is_empty() {
            return Err(BadPattern);
        }
    }
    let r = chunk[0];
    let rest = &chunk[1..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

#[cfg(test)]
#[path = "ignore_tests.rs"]
mod tests;
