//! Every YAML file appkit writes goes through this module: it owns the one rule for when a string
//! may be written as a plain scalar ([`is_safe_plain`]), the one double-quoting function
//! ([`quoted`]), the one number form ([`number`]) and the block emitter ([`to_yaml`]). It does not
//! parse YAML, and it does not own what is written: the Chart.yaml fields (`chart/goenc.rs`), the
//! Flux objects (`flux/model.rs`), the commented scaffolds (`scaffold/yamlfmt.rs`, which lays out
//! its own flow collections and comment lines) and the lock layout (`lock.rs`) stay with their
//! owners.
//!
//! Why our own emitter: the bytes must not move with a YAML library's version (the chart archive's
//! digest, the committed Flux files and `render --check` depend on them), and every value must
//! keep its type when read by a YAML 1.1 reader (Helm and Flux read YAML through Go's
//! `sigs.k8s.io/yaml`, where a plain `yes`, `on`, `0777` or `1e3` is not a string) *and* by a
//! YAML 1.2 one. So a string is plain only when it is made of a few ASCII characters and no
//! dialect could read it as anything else; everything else is double-quoted.
//!
//! # Profiles
//!
//! Outputs whose bytes are already fixed somewhere keep them, so the rule has named [`Profile`]s:
//!
//! * [`Profile::ChartArchive`] — the Chart.yaml inside a packaged chart. The archive's digest is
//!   the chart's identity, so this profile freezes what appkit has always written there: Go's
//!   layout (keys sorted by the caller, sequences not indented under their key, as yaml.v2 writes
//!   them) and JSON-spelled escapes (`\b`, `\f`, lowercase `\u001f`, as Go's and serde's JSON).
//!   Its plain rule is *stricter* than Go's yaml.v2 (Helm writes `version: 0.1.0` plain; appkit
//!   writes `"0.1.0"`), so the archive is not byte-identical to `helm package` output — only stable.
//! * [`Profile::Appkit`] — the Flux files and `appkit.lock`: sequences indented under their key,
//!   literal blocks (`|`, `|-`, `|+`) for clean multi-line values, floats always with `.` and a
//!   signed exponent, YAML-spelled escapes (`\u001F`). Users commit the Flux files and check them
//!   with `render --check`, so this rule is frozen too.
//! * [`Profile::Scaffold`] — the values scaffold (`new`) and the chart's values reference
//!   (`docs`): [`Profile::Appkit`] plus `%` inside a string, because the bundled chart's README.md
//!   (which is packaged in the chart) shows the example `50%` plain, while Flux files quote it.
//!
//! The plain rule is one function; the profiles differ in exactly three places:
//!
//! | | `ChartArchive` | `Appkit` | `Scaffold` |
//! |---|---|---|---|
//! | characters besides `A-Za-z0-9-_./+` | single inner spaces (`Platform team`) | `@`, and `:` inside a letter-led string (`sha256:…`, `oci://…`) | as `Appkit`, and `%` (`50%`) |
//! | may start with a digit | never (`"0.1.0"`, `"10m"`) | when some character rules out every number and it is not a date (`10m`, `64Mi`, `10.0.0.0/8`) | as `Appkit` |
//! | reserved words (any case) | `y n yes no on off true false null` and `nan inf` | `y n yes no on off true false null` | as `Appkit` |
//!
//! Shared by all: never empty; must start with an ASCII letter or `/` (or a digit, above); no
//! trailing or doubled space; `:` never last; non-ASCII always quoted. Quoting differs only in
//! the spelling of escapes (`ChartArchive` JSON's, the others YAML's); what is escaped is shared.
//!
//! # What this replaced (issue 12, item 8)
//!
//! Four rules lived in four files; this is how they differed and what became of each:
//!
//! * `chart/goenc.rs` `yaml_scalar` — exactly [`Profile::ChartArchive`] above, quoted with
//!   `serde_json::to_string`. Kept byte for byte, except that the characters no YAML reader
//!   accepts raw (DEL, C1 controls, U+2028/U+2029, BOM, U+FFFE/U+FFFF) are now escaped: they
//!   reach the archive only through annotations or import-values (the other fields pass Helm's
//!   `sanitizeString`), and an archive carrying them raw could not be read by Helm at all.
//! * `flux/yaml.rs` `is_safe_plain` — exactly [`Profile::Appkit`]; its escapes are kept, plus
//!   U+2028/U+2029 (which a YAML 1.1 reader folds as line breaks, even inside a quoted string).
//!   Its literal blocks are kept too, except for a value whose first line is empty and whose
//!   first non-empty line starts with a space (`"\n a"`): written as a block, that space became
//!   the block's indentation and was lost on reading; such a value is now double-quoted.
//! * `scaffold/yamlfmt.rs` `needs_quotes` — a looser black-list: plain unless it started with an
//!   indicator, looked numeric, was a special word, or held `: `, ` #`, a control character or
//!   (in flow) `,[]{}`. Every string [`Profile::Scaffold`] writes plain it also wrote plain, so
//!   the scaffolds moved to the stricter rule: the bundled chart's `new` and `docs` output (and
//!   every fixture) is unchanged; a custom schema whose defaults, examples or enum values hold
//!   spaces, non-ASCII, `#`, `,`, `=` and the like now sees them quoted (the same values). That
//!   also fixes plain strings YAML 1.1 misreads (`2001-12-14t21:59:43`, a raw U+2028). Its
//!   numbers use [`number`] too (only exponent floats such as `1e20` change, to `1.0e+20`).
//! * `lock.rs` `json_str` — never plain, `serde_json::to_string`. The lock still never writes a
//!   plain scalar, now through [`quoted`] with [`Profile::Appkit`]; the escapes differ only for
//!   control characters, which OCI references, SemVer versions, tags and digests do not hold.

use serde_json::{Map, Number, Value};

/// Which of appkit's two YAML outputs is being written (see the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The Chart.yaml inside a packaged chart; frozen by the archive digest.
    ChartArchive,
    /// Flux files and `appkit.lock`.
    Appkit,
    /// The values scaffold and the chart's values reference: `Appkit`, and `%` inside a string.
    Scaffold,
}

impl Profile {
    /// Characters allowed in a plain scalar besides ASCII letters, digits and `-_./+`.
    fn extra_plain_chars(self) -> &'static str {
        match self {
            Profile::ChartArchive => " ",
            Profile::Appkit => "@:",
            Profile::Scaffold => "@:%",
        }
    }

    /// Whether a plain scalar may start with a digit (when it cannot be a number or a date).
    fn digit_may_lead(self) -> bool {
        self != Profile::ChartArchive
    }

    /// Words quoted in any ASCII case on top of [`RESERVED_WORDS`].
    fn extra_reserved(self) -> &'static [&'static str] {
        match self {
            Profile::ChartArchive => &["nan", "inf"],
            Profile::Appkit | Profile::Scaffold => &[],
        }
    }

    /// How far a sequence is indented under its key.
    fn seq_indent(self) -> usize {
        match self {
            Profile::ChartArchive => 0,
            Profile::Appkit | Profile::Scaffold => 2,
        }
    }

    /// Whether multi-line mapping and sequence values may be literal blocks.
    fn literal_blocks(self) -> bool {
        self != Profile::ChartArchive
    }
}

/// The words YAML 1.1 (and Go's YAML libraries) read as booleans or null, in any ASCII case.
const RESERVED_WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];

/// True when `s` can be written as a plain scalar and read back as this same string by every
/// YAML 1.1 / 1.2 reader, under `profile`'s rule.
pub fn is_safe_plain(s: &str, profile: Profile) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let extra = profile.extra_plain_chars();
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./+".contains(c) || extra.contains(c))
    {
        return false;
    }
    // A space only singly and inside (a leading one is ruled out by the first character).
    if s.ends_with(' ') || s.contains("  ") {
        return false;
    }
    // `:` only inside (never `: `, since a profile allowing `:` allows no space, nor at the end),
    // and only after a letter-led start (a leading digit could make it a YAML 1.1 sexagesimal).
    if s.contains(':') && (s.ends_with(':') || !first.is_ascii_alphabetic()) {
        return false;
    }
    if RESERVED_WORDS
        .iter()
        .chain(profile.extra_reserved())
        .any(|w| w.eq_ignore_ascii_case(s))
    {
        return false;
    }
    if first.is_ascii_alphabetic() || first == '/' {
        return true;
    }
    // Leading digit: plain only when some character rules out every number syntax (`10m`, `64Mi`).
    // A leading date (`2001-12-14…`) is a timestamp to YAML 1.1 and Go's readers.
    if first.is_ascii_digit() && profile.digit_may_lead() {
        return !s.chars().all(numberish_char) && !looks_like_date(s);
    }
    // Leading `-`, `.`, `_`, `+`, `@`, `:` or space: quote (`-1`, `.inf`, `-` alone, `.5`).
    false
}

/// Characters that can form a number in some YAML dialect or in Go's number parsing
/// (digits, hex digits, base prefixes, separators, signs, exponent markers).
fn numberish_char(c: char) -> bool {
    c.is_ascii_hexdigit()
        || matches!(
            c,
            'x' | 'X' | 'o' | 'O' | 'p' | 'P' | '_' | '.' | ':' | '+' | '-'
        )
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5].is_ascii_digit()
}

/// Characters that are never written raw inside a double-quoted scalar: those YAML does not
/// allow unescaped or that a YAML 1.1 reader would not keep (it folds U+2028/U+2029 as breaks).
fn needs_escape(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || u == 0x7f
        || (0x80..=0x9f).contains(&u)
        || u == 0x2028
        || u == 0x2029
        || u == 0xfeff
        || u == 0xfffe
        || u == 0xffff
}

/// A double-quoted scalar with escapes both YAML 1.1 and JSON understand (so it is also a JSON
/// string). `profile` only chooses the spelling: [`Profile::ChartArchive`] writes `\b`, `\f` and
/// lowercase hex (JSON's spelling), the other profiles uppercase hex for all of those.
pub fn quoted(s: &str, profile: Profile) -> String {
    let json = profile == Profile::ChartArchive;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' if json => out.push_str("\\b"),
            '\u{c}' if json => out.push_str("\\f"),
            c if needs_escape(c) && json => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string on one line (a key, a flow item, a value after `key: `): plain when safe, else
/// [`quoted`].
pub fn scalar(s: &str, profile: Profile) -> String {
    if is_safe_plain(s, profile) {
        s.to_string()
    } else {
        quoted(s, profile)
    }
}

/// A number as `profile` writes it. [`Profile::Appkit`] and [`Profile::Scaffold`]: a form both
/// YAML 1.1 and 1.2 read back as the same number — integers as digits, floats always with a `.` and a signed exponent (YAML
/// 1.1's float pattern needs both). [`Profile::ChartArchive`]: serde_json's form.
pub fn number(n: &Number, profile: Profile) -> String {
    if profile == Profile::ChartArchive || n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    let s = format!("{f:?}"); // Rust's shortest round-trip form: "1.5", "1e20", "1.5e-7"
    match s.split_once('e') {
        None if s.contains('.') => s,
        None => format!("{s}.0"),
        Some((mant, exp)) => {
            let mant = if mant.contains('.') {
                mant.to_string()
            } else {
                format!("{mant}.0")
            };
            let exp = if exp.starts_with('-') {
                exp.to_string()
            } else {
                format!("+{exp}")
            };
            format!("{mant}e{exp}")
        }
    }
}

/// Emit one YAML document (no `---`, ends with a newline) in block style with two-space
/// indentation and `{}`/`[]` for empties. Mapping keys are written in the order the value holds
/// them (struct field order for typed objects; [`sort_keys`] for values whose order is free).
pub fn to_yaml(value: &Value, profile: Profile) -> String {
    let mut e = Emitter {
        out: String::new(),
        profile,
    };
    match value {
        Value::Object(m) if !m.is_empty() => e.map(m, 0),
        Value::Array(a) if !a.is_empty() => e.seq(a, 0),
        scalar => {
            e.scalar(scalar, 0);
            e.out.push('\n');
        }
    }
    e.out
}

/// Recursively sort every mapping's keys (byte order), for values whose key order is free.
pub fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut v) in entries {
                sort_keys(&mut v);
                m.insert(k, v);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

struct Emitter {
    out: String,
    profile: Profile,
}

impl Emitter {
    fn indent(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    fn key(&mut self, k: &str) {
        let k = scalar(k, self.profile);
        self.out.push_str(&k);
        self.out.push(':');
    }

    fn map(&mut self, m: &Map<String, Value>, level: usize) {
        for (k, v) in m {
            self.indent(level);
            self.key(k);
            self.after_key(v, level);
        }
    }

    /// After `key:`: a nested mapping two columns in, a sequence [`Profile::seq_indent`] in, a
    /// scalar after a space.
    fn after_key(&mut self, v: &Value, level: usize) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                self.out.push('\n');
                self.map(m, level + 2);
            }
            Value::Array(a) if !a.is_empty() => {
                self.out.push('\n');
                self.seq(a, level + self.profile.seq_indent());
            }
            _ => {
                self.out.push(' ');
                self.scalar(v, level + 2);
                self.out.push('\n');
            }
        }
    }

    fn seq(&mut self, a: &[Value], level: usize) {
        for item in a {
            self.indent(level);
            self.out.push('-');
            match item {
                Value::Object(m) if !m.is_empty() => {
                    // First entry on the dash line, the rest aligned under it.
                    for (i, (k, v)) in m.iter().enumerate() {
                        if i == 0 {
                            self.out.push(' ');
                        } else {
                            self.indent(level + 2);
                        }
                        self.key(k);
                        self.after_key(v, level + 2);
                    }
                }
                Value::Array(inner) if !inner.is_empty() => {
                    self.out.push('\n');
                    self.seq(inner, level + 2);
                }
                _ => {
                    self.out.push(' ');
                    self.scalar(item, level + 2);
                    self.out.push('\n');
                }
            }
        }
    }

    /// A scalar or an empty collection, inline. `level` is the indentation of block-scalar
    /// content lines.
    fn scalar(&mut self, v: &Value, level: usize) {
        let p = self.profile;
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => self.out.push_str(&number(n, p)),
            Value::String(s) if is_safe_plain(s, p) => self.out.push_str(s),
            Value::String(s) => {
                let block = p.literal_blocks().then(|| literal_block(s, level));
                match block.flatten() {
                    Some(b) => self.out.push_str(&b),
                    None => self.out.push_str(&quoted(s, p)),
                }
            }
            Value::Array(_) => self.out.push_str("[]"),
            Value::Object(_) => self.out.push_str("{}"),
        }
    }
}

/// `|`-style block for multi-line strings whose every character is printable and whose lines
/// carry no ambiguity (first non-empty line not indented, no whitespace-only lines, no `\r`, no
/// tab).
fn literal_block(s: &str, level: usize) -> Option<String> {
    if !s.contains('\n') {
        return None;
    }
    if s.chars().any(|c| c != '\n' && needs_escape(c)) {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    // The first non-empty line sets the block's indentation, so it must not start with a space.
    if body.trim_start_matches('\n').is_empty() || body.trim_start_matches('\n').starts_with(' ') {
        return None;
    }
    if body
        .split('\n')
        .any(|l| !l.is_empty() && l.trim().is_empty())
    {
        return None;
    }
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&" ".repeat(level));
            out.push_str(line);
        }
    }
    // Keep chomping: the extra newlines are empty lines after the body.
    for _ in 1..trailing {
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
#[path = "yamlout_tests.rs"]
mod tests;
