//! `format` as Helm 4 checks it: a port of the validators of santhosh-tekuri/jsonschema v6.0.2
//! (`format.go`), the library Helm 4 validates values with, including the parts of Go's standard
//! library they lean on (`net/url.Parse`, `net/netip.ParseAddr`, `strconv.Atoi`,
//! `time.Parse("2006-01-02")`).
//!
//! Helm 4 asserts `format` for drafts 4, 6 and 7 and treats it as an annotation for 2019-09 and
//! 2020-12 (`objcompiler.go`: `draftVersion < 2019`); formats its library does not know
//! (`idn-email`, `idn-hostname`, …) pass. `regex` is Go's `regexp` syntax ([`go_regex_ok`]).
//! Where Helm 4 is stricter or looser than the JSON-Schema-Test-Suite, this module follows Helm:
//! Helm decides the install. `tests/schema_suite.rs` compares every case with real Helm.

/// A format check: `true` when the string is valid.
pub type Check = fn(&str) -> bool;

/// The formats Helm 4 knows, with their check. Non-strings are never checked.
pub const HELM_FORMATS: &[(&str, Check)] = &[
    ("json-pointer", json_pointer),
    ("relative-json-pointer", relative_json_pointer),
    ("uuid", uuid),
    ("duration", duration),
    ("period", period),
    ("ipv4", ipv4),
    ("ipv6", ipv6),
    ("hostname", hostname),
    ("email", email),
    ("date", date),
    ("time", time),
    ("date-time", date_time),
    ("uri", uri),
    ("iri", uri),
    ("uri-reference", uri_reference),
    ("iri-reference", uri_reference),
    ("uri-template", uri_template),
    ("semver", semver),
    ("regex", go_regex_ok),
];

/// Formats jsonschema-rs knows and Helm 4 does not: they must pass, as in Helm.
pub const UNKNOWN_TO_HELM: &[&str] = &["idn-email", "idn-hostname", "unknown"];

/// Go's `strconv.Atoi`: optional sign, then decimal digits only.
fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

pub fn json_pointer(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let Some(rest) = s.strip_prefix('/') else {
        return false;
    };
    for tok in rest.split('/') {
        let mut escape = false;
        for ch in tok.chars() {
            if escape {
                escape = false;
                if ch != '0' && ch != '1' {
                    return false;
                }
                continue;
            }
            if ch == '~' {
                escape = true;
                continue;
            }
            // Go's ranges: \x00-\x2E, \x30-\x7D, \x7F-\U0010FFFF (`/` and `~` excluded).
            let ok =
                matches!(ch, '\u{00}'..='\u{2E}' | '\u{30}'..='\u{7D}' | '\u{7F}'..='\u{10FFFF}');
            if !ok {
                return false;
            }
        }
        if escape {
            return false;
        }
    }
    true
}

pub fn relative_json_pointer(s: &str) -> bool {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits > 1 && s.starts_with('0')) {
        return false;
    }
    let rest = &s[digits..];
    rest == "#" || json_pointer(rest)
}

pub fn uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

pub fn duration(s: &str) -> bool {
    let Some(s) = s.strip_prefix('P') else {
        return false;
    };
    if s.is_empty() {
        return false;
    }
    if let Some(w) = s.strip_suffix('W') {
        return !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
    }
    let all_units = ["YMD", "HMS"];
    for (i, part) in s.split('T').enumerate() {
        if i != 0 && part.is_empty() {
            return false;
        }
        if i >= all_units.len() {
            return false;
        }
        let mut units = all_units[i];
        let mut rest = part;
        while !rest.is_empty() {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return false;
            }
            rest = &rest[n..];
            let Some(&unit) = rest.as_bytes().first() else {
                return false;
            };
            let Some(j) = units.bytes().position(|u| u == unit) else {
                return false;
            };
            units = &units[j + 1..];
            rest = &rest[1..];
        }
    }
    true
}

pub fn period(s: &str) -> bool {
    let Some((start, end)) = s.split_once('/') else {
        return false;
    };
    if start.starts_with('P') {
        duration(start) && date_time(end)
    } else {
        date_time(start)
            && if end.starts_with('P') {
                duration(end)
            } else {
                date_time(end)
            }
    }
}

pub fn ipv4(s: &str) -> bool {
    let groups: Vec<&str> = s.split('.').collect();
    groups.len() == 4
        && groups.iter().all(|g| {
            !(g.len() > 1 && g.starts_with('0')) && atoi(g).is_some_and(|n| (0..=255).contains(&n))
        })
}

/// Go's `netip.ParseAddr`, for a string that holds a colon (an IPv6 address): no zone allowed.
pub fn ipv6(s: &str) -> bool {
    if !s.contains(':') {
        return false;
    }
    // `netip` accepts a zone (`%eth0`); the format then refuses it. Without a zone it is a plain
    // IPv6 address; its embedded IPv4 part follows netip's rules (no leading zeros).
    if s.contains('%') {
        return false;
    }
    parse_ipv6(s)
}

/// RFC 4291 text form as `netip.ParseAddr` reads it: 1–4 hex digits per group, one `::`, an
/// optional dotted IPv4 tail in the last 32 bits.
fn parse_ipv6(s: &str) -> bool {
    let (head, tail, ellipsis) = match s.find("::") {
        Some(i) => (&s[..i], &s[i + 2..], true),
        None => (s, "", false),
    };
    if ellipsis && tail.contains("::") {
        return false;
    }
    let groups = |part: &str, allow_v4: bool| -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let items: Vec<&str> = part.split(':').collect();
        let mut n = 0;
        for (i, g) in items.iter().enumerate() {
            let last = i + 1 == items.len();
            if last && allow_v4 && g.contains('.') {
                if !ipv4(g) {
                    return None;
                }
                n += 2;
            } else if (1..=4).contains(&g.len()) && g.chars().all(|c| c.is_ascii_hexdigit()) {
                n += 1;
            } else {
                return None;
            }
        }
        Some(n)
    };
    if ellipsis {
        let (Some(a), Some(b)) = (groups(head, false), groups(tail, true)) else {
            return false;
        };
        // `::` stands for at least one group.
        a + b <= 7
    } else {
        groups(head, true) == Some(8)
    }
}

pub fn hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return false;
    }
    s.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

pub fn email(s: &str) -> bool {
    if s.len() > 254 {
        return false;
    }
    let Some(at) = s.rfind('@') else {
        return false;
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.len() > 64 {
        return false;
    }
    // The library's test is `HasPrefix(local, "\"")` twice (sic): a local part that starts with
    // a quote counts as quoted.
    if local.len() > 1 && local.starts_with('"') {
        let inner = &local[1..local.len() - 1];
        if inner.contains('\\') || inner.contains('"') {
            return false;
        }
    } else {
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return false;
        }
        if !local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+-/=?^_`{|}~".contains(c))
        {
            return false;
        }
    }
    if domain.starts_with('[') && domain.ends_with(']') && domain.len() >= 2 {
        let inner = &domain[1..domain.len() - 1];
        return match inner.strip_prefix("IPv6:") {
            Some(v6) => ipv6(v6),
            None => ipv4(inner),
        };
    }
    hostname(domain)
}

/// Go's `time.Parse("2006-01-02", s)`.
pub fn date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    d <= days[(m - 1) as usize]
}

pub fn time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    // `str[:8]` is a byte slice in Go; a multi-byte character there fails Atoi anyway.
    let Some(head) = s.get(..8) else {
        return false;
    };
    let mut hms = Vec::new();
    for tok in head.splitn(3, ':') {
        match atoi(tok) {
            Some(i) if i >= 0 => hms.push(i),
            _ => return false,
        }
    }
    if hms.len() != 3 {
        return false;
    }
    let (mut h, mut m, sec) = (hms[0], hms[1], hms[2]);
    if h > 23 || m > 59 || sec > 60 {
        return false;
    }
    let mut rest = &s[8..];
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &r[n..];
    }
    if rest != "z" && rest != "Z" {
        if rest.len() != 6 {
            return false;
        }
        let sign = match rest.as_bytes()[0] {
            b'+' => -1,
            b'-' => 1,
            _ => return false,
        };
        let off = &rest[1..];
        if off.as_bytes()[2] != b':' {
            return false;
        }
        let mut zhm = Vec::new();
        for tok in off.splitn(2, ':') {
            match atoi(tok) {
                Some(i) if i >= 0 => zhm.push(i),
                _ => return false,
            }
        }
        let (zh, zm) = (zhm[0], zhm[1]);
        if zh > 23 || zm > 59 {
            return false;
        }
        let mut hm = (h * 60 + m) + sign * (zh * 60 + zm);
        if hm < 0 {
            hm += 24 * 60;
        }
        h = hm / 60;
        m = hm % 60;
    }
    !(sec >= 60 && (h != 23 || m != 59))
}

pub fn date_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || (b[10] != b't' && b[10] != b'T') {
        return false;
    }
    match (s.get(..10), s.get(11..)) {
        (Some(d), Some(t)) => date(d) && time(t),
        _ => false,
    }
}

pub fn uri(s: &str) -> bool {
    go_url::parse(s).is_some_and(|u| u.has_scheme)
}

pub fn uri_reference(s: &str) -> bool {
    !s.contains('\\') && go_url::parse(s).is_some()
}

pub fn uri_template(s: &str) -> bool {
    let Some(u) = go_url::parse(s) else {
        return false;
    };
    // The library splits `u.RawPath`, which Go sets only when the path's escaping is not the
    // default one; usually it is empty, and then there is nothing to check.
    for tok in u.raw_path.split('/') {
        let Some(tok) = go_url::unescape_path(tok) else {
            return false;
        };
        let mut want = true;
        for ch in tok.chars() {
            let got = match ch {
                '{' => true,
                '}' => false,
                _ => continue,
            };
            if got != want {
                return false;
            }
            want = !want;
        }
        if !want {
            return false;
        }
    }
    true
}

pub fn semver(s: &str) -> bool {
    let mut s = s;
    if let Some(i) = s.find('+') {
        let build = &s[i + 1..];
        if build.is_empty()
            || build.split('.').any(|id| {
                id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        {
            return false;
        }
        s = &s[..i];
    }
    if let Some(i) = s.find('-') {
        for id in s[i + 1..].split('.') {
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return false;
            }
            let all_digits = id.bytes().all(|b| b.is_ascii_digit());
            if all_digits && id.len() > 1 && id.starts_with('0') {
                return false;
            }
        }
        s = &s[..i];
    }
    let core: Vec<&str> = s.split('.').collect();
    core.len() == 3
        && core.iter().all(|v| {
            !(v.is_empty() || v.len() > 1 && v.starts_with('0'))
                && v.bytes().all(|b| b.is_ascii_digit())
        })
}

/// Would Go's `regexp.Compile` accept `pattern`? RE2 syntax, as the `regex` crate's parser reads
/// it (both are RE2 dialects: no look-around, no backreferences), plus Go's own limits: a
/// repetition count above 1000 is an error in Go.
pub fn go_regex_ok(pattern: &str) -> bool {
    if regex_syntax::ast::parse::Parser::new()
        .parse(pattern)
        .is_err()
    {
        return false;
    }
    !repeat_over_1000(pattern) && regex_syntax::Parser::new().parse(pattern).is_ok()
}

fn repeat_over_1000(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'{' => {
                let end = b[i..].iter().position(|c| *c == b'}').map(|e| i + e);
                if let Some(end) = end {
                    let inner = &pattern[i + 1..end];
                    if inner
                        .split(',')
                        .any(|n| n.parse::<u64>().is_ok_and(|n| n > 1000))
                    {
                        return true;
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    false
}

/// The parts of Go's `net/url.Parse` that decide whether it fails (Go 1.24).
pub mod go_url {
    pub struct Url {
        pub has_scheme: bool,
        /// Go's `RawPath`: set only when the path's escaping differs from Go's default one.
        pub raw_path: String,
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        Path,
        Host,
        Zone,
        UserPassword,
        Fragment,
    }

    fn is_hex(b: u8) -> bool {
        b.is_ascii_hexdigit()
    }

    fn unhex(b: u8) -> u8 {
        match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => 0,
        }
    }

    /// Go's `shouldEscape(c, mode)` for the modes parsing uses.
    fn should_escape(c: u8, mode: Mode) -> bool {
        if c.is_ascii_alphanumeric() {
            return false;
        }
        let host_sub_delim = b"!$&'()*+,;=:[]<>\"".contains(&c);
        if (mode == Mode::Host || mode == Mode::Zone) && host_sub_delim {
            return false;
        }
        match c {
            b'-' | b'_' | b'.' | b'~' => false,
            b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
                Mode::Path => c == b'?',
                Mode::UserPassword => c == b'@' || c == b'/' || c == b'?' || c == b':',
                Mode::Fragment => false,
                _ => true,
            },
            _ => {
                if mode == Mode::Fragment {
                    // RFC 3986 §2.2 allows these unescaped in a fragment.
                    !matches!(c, b'!' | b'(' | b')' | b'*')
                } else {
                    true
                }
            }
        }
    }

    /// Go's `unescape(s, mode)`: `None` on an error.
    fn unescape(s: &str, mode: Mode) -> Option<String> {
        let b = s.as_bytes();
        let mut i = 0;
        let mut out = Vec::with_capacity(b.len());
        while i < b.len() {
            match b[i] {
                b'%' => {
                    if i + 2 >= b.len() || !is_hex(b[i + 1]) || !is_hex(b[i + 2]) {
                        return None;
                    }
                    // In a host, %-escapes are only allowed for non-ASCII bytes (and `%25`).
                    if mode == Mode::Host && unhex(b[i + 1]) < 8 && &s[i..i + 3] != "%25" {
                        return None;
                    }
                    if mode == Mode::Zone {
                        let v = unhex(b[i + 1]) << 4 | unhex(b[i + 2]);
                        if &s[i..i + 3] != "%25" && v != b' ' && should_escape(v, Mode::Host) {
                            return None;
                        }
                    }
                    out.push(unhex(b[i + 1]) << 4 | unhex(b[i + 2]));
                    i += 3;
                }
                c => {
                    if (mode == Mode::Host || mode == Mode::Zone)
                        && c < 0x80
                        && should_escape(c, mode)
                    {
                        return None;
                    }
                    out.push(c);
                    i += 1;
                }
            }
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    pub fn unescape_path(s: &str) -> Option<String> {
        unescape(s, Mode::Path)
    }

    fn get_scheme(raw: &str) -> Result<(&str, &str), ()> {
        for (i, c) in raw.bytes().enumerate() {
            match c {
                b'a'..=b'z' | b'A'..=b'Z' => {}
                b'0'..=b'9' | b'+' | b'-' | b'.' => {
                    if i == 0 {
                        return Ok(("", raw));
                    }
                }
                b':' => {
                    if i == 0 {
                        return Err(());
                    }
                    return Ok((&raw[..i], &raw[i + 1..]));
                }
                _ => return Ok(("", raw)),
            }
        }
        Ok(("", raw))
    }

    fn valid_optional_port(port: &str) -> bool {
        port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    }

    fn valid_userinfo(s: &str) -> bool {
        s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c) || c >= 0x80)
    }

    fn parse_host(host: &str) -> Option<String> {
        if let Some(stripped) = host.strip_prefix('[') {
            let _ = stripped;
            let i = host.rfind(']')?;
            let colon_port = &host[i + 1..];
            if !valid_optional_port(colon_port) {
                return None;
            }
            if let Some(zone) = host[..i].find("%25") {
                let h1 = unescape(&host[..zone], Mode::Host)?;
                let h2 = unescape(&host[zone..i], Mode::Zone)?;
                let h3 = unescape(&host[i..], Mode::Host)?;
                return Some(h1 + &h2 + &h3);
            }
        } else if let Some(i) = host.rfind(':') {
            if !valid_optional_port(&host[i..]) {
                return None;
            }
        }
        unescape(host, Mode::Host)
    }

    /// The `Hostname()` of a parsed host: without port and brackets.
    fn hostname(host: &str) -> &str {
        let h = if let Some(rest) = host.strip_prefix('[') {
            return rest.split(']').next().unwrap_or("");
        } else {
            host
        };
        match h.rfind(':') {
            Some(i) if valid_optional_port(&h[i..]) => &h[..i],
            _ => h,
        }
    }

    /// `url.Parse(s)`; `None` when Go returns an error. Also the library's own IPv6 check of the
    /// host (`parseURL` in format.go).
    pub fn parse(raw: &str) -> Option<Url> {
        let (u, frag) = match raw.split_once('#') {
            Some((u, f)) => (u, Some(f)),
            None => (raw, None),
        };
        // Control bytes anywhere in the URL (`stringContainsCTLByte`).
        if u.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return None;
        }
        let mut url = Url {
            has_scheme: false,
            raw_path: String::new(),
        };
        if u == "*" {
            return finish(url, frag);
        }
        let (scheme, mut rest) = get_scheme(u).ok()?;
        url.has_scheme = !scheme.is_empty();
        if rest.ends_with('?') && rest.matches('?').count() == 1 {
            rest = &rest[..rest.len() - 1];
        } else if let Some((r, _query)) = rest.split_once('?') {
            rest = r;
        }
        if !rest.starts_with('/') {
            if url.has_scheme {
                // Opaque: not checked further.
                return finish(url, frag);
            }
            let segment = rest.split('/').next().unwrap_or("");
            if segment.contains(':') {
                return None;
            }
        }
        let mut host = String::new();
        if (url.has_scheme || !rest.starts_with("///")) && rest.starts_with("//") {
            let after = &rest[2..];
            let (authority, path) = match after.find('/') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            };
            let host_part = match authority.rfind('@') {
                Some(i) => {
                    let userinfo = &authority[..i];
                    if !valid_userinfo(userinfo) {
                        return None;
                    }
                    match userinfo.split_once(':') {
                        None => {
                            unescape(userinfo, Mode::UserPassword)?;
                        }
                        Some((user, pass)) => {
                            unescape(user, Mode::UserPassword)?;
                            unescape(pass, Mode::UserPassword)?;
                        }
                    }
                    &authority[i + 1..]
                }
                None => authority,
            };
            parse_host(host_part)?;
            host = host_part.to_string();
            rest = path;
        }
        let path = unescape(rest, Mode::Path)?;
        // Go keeps RawPath only when escaping the decoded path differs from the original.
        if escape_path(&path) != rest {
            url.raw_path = rest.to_string();
        }
        // The library: an IPv6 host must be bracketed and valid.
        let name = hostname(&host);
        if name.contains(':') {
            if !(host.contains('[') && host.contains(']')) {
                return None;
            }
            if !super::ipv6(name) {
                return None;
            }
        }
        finish(url, frag)
    }

    fn finish(url: Url, frag: Option<&str>) -> Option<Url> {
        if let Some(f) = frag {
            unescape(f, Mode::Fragment)?;
        }
        Some(url)
    }

    /// Go's `EscapedPath` default encoding (`escape(path, encodePath)`).
    fn escape_path(p: &str) -> String {
        let mut out = String::new();
        for &c in p.as_bytes() {
            if should_escape(c, Mode::Path) {
                out.push_str(&format!("%{c:02X}"));
            } else {
                out.push(c as char);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_go() {
        assert!(date("2020-02-29") && !date("2021-02-29") && !date("2020-1-01"));
        assert!(time("23:59:60Z") && !time("12:00:60Z") && time("08:30:06.283185+01:00"));
        assert!(date_time("1963-06-19T08:30:06.283185Z") && !date_time("1963-06-19 08:30:06Z"));
        assert!(ipv4("192.168.0.1") && !ipv4("192.168.0.01") && !ipv4("1.2.3") && ipv4("+1.2.3.4"));
        assert!(ipv6("::1") && ipv6("1:2:3:4:5:6:7:8") && !ipv6("12345::") && !ipv6("::1%eth0"));
        assert!(ipv6("::ffff:192.168.0.1") && !ipv6("1:2:3:4:5:6:7:8:9") && !ipv6("1::2::3"));
        assert!(hostname("www.example.com") && !hostname("-a.com") && !hostname("a..b"));
        assert!(email("joe.bloggs@example.com") && !email("2962") && !email(".a@b.com"));
        assert!(uri("http://example.com/a b") && !uri("//foo.bar/?baz=qux") && !uri("http://a b/"));
        assert!(uri_reference("/abc") && !uri_reference("\\\\WINDOWS\\fileshare"));
        assert!(json_pointer("/foo/0") && !json_pointer("/foo/~2") && !json_pointer("a"));
        assert!(relative_json_pointer("1#") && !relative_json_pointer("01/a"));
        assert!(
            uuid("2eb8aa08-aa98-11ea-b4aa-73b441d16380")
                && !uuid("2eb8aa08aa9811eab4aa73b441d16380")
        );
        assert!(
            duration("P4DT12H30M5S") && !duration("PT") && duration("P2W") && !duration("P1D2H")
        );
        assert!(semver("1.2.3-alpha.1+b") && !semver("1.2") && !semver("01.2.3"));
        assert!(
            go_regex_ok("^[a-z]+$")
                && !go_regex_ok("(?=a)")
                && !go_regex_ok("\\1")
                && !go_regex_ok("a{1001}")
        );
    }
}
