//! Recognising credentials in values: keys that name one (`password`, `token`, `apiKey`, …, but
//! not `…Name`/`…Ref`/`…Store`, which name a secret rather than hold it) and values that look like
//! one (private keys, JWTs, well-known token formats). The matched value is never printed.
//!
//! The YAML loader ([`super::yaml`]) finds the secrets of a file once, while it parses, with the
//! same predicates the `inline-secret` rule uses ([`Found`]); their byte ranges travel with the
//! file's text ([`crate::diagnostics::SourceFile`]), so every quote of the file masks them,
//! whichever diagnostic quotes it. A file that does not parse is scanned line by line instead
//! ([`lexical`]).

use std::ops::Range;

use super::node::{Node, Val};

/// Secrets found in one file: byte range and value as read.
pub type Found = Vec<(Range<usize>, String)>;

/// A value that would be a credential written in plain text under a credential key.
pub(super) fn holds_literal(n: &Node) -> bool {
    match &n.val {
        Val::Str(s) => !s.trim().is_empty(),
        Val::Num(_) => true,
        _ => false,
    }
}

/// The text of a scalar node, as read.
fn scalar_text(n: &Node) -> Option<String> {
    match &n.val {
        Val::Str(s) => Some(s.clone()),
        Val::Num(x) => Some(x.to_string()),
        _ => None,
    }
}

/// A scalar that looks like a secret wherever it is (a key, a value, a list item), and the
/// credentials of every URL in it (`postgres://user:password@host`): `text` is the file's text,
/// where the scalar's bytes are `n.pos.start..n.pos.end`.
pub(super) fn scalar(n: &Node, text: &str, out: &mut Found) {
    if let Val::Str(s) = &n.val {
        if looks_like_secret(s).is_some() {
            out.push((n.pos.start..n.pos.end, s.clone()));
        }
        url_secrets(s, n.pos.start..n.pos.end, text, out);
    }
}

/// The credentials of the URLs in the string `s` read from `span` of `text`: each one's bytes
/// as written (found in the span; when the scalar was escaped or folded so that they cannot be
/// found there, the whole scalar), with the credential, its password and the whole string as
/// words never to be quoted.
fn url_secrets(s: &str, span: Range<usize>, text: &str, out: &mut Found) {
    let creds = url_credentials(s);
    if creds.is_empty() {
        return;
    }
    let written = text.get(span.clone()).unwrap_or("");
    for c in creds {
        let userinfo = &s[c.userinfo.clone()];
        let at = written
            .find(&format!("://{userinfo}@"))
            .map(|i| span.start + i + 3);
        let range = match at {
            Some(a) => a..a + userinfo.len(),
            None => span.clone(),
        };
        out.push((range.clone(), userinfo.to_string()));
        out.push((range.clone(), s.to_string()));
        if let Some(pw) = c.password.clone() {
            out.push((range, s[pw].to_string()));
        }
    }
}

/// Credentials in a URL: `scheme://user:password@host…` (or a token as the user alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlCredential {
    /// The scheme, as written (`postgres`).
    pub scheme: String,
    /// `host[:port]` after the credentials (no user, no password).
    pub host: String,
    /// The bytes of `user:password` in the string.
    pub userinfo: Range<usize>,
    /// The bytes of the password in the string, when there is one.
    pub password: Option<Range<usize>>,
}

/// Whether a password is a placeholder filled in later, not a credential: `$(DB_PASSWORD)`
/// (Kubernetes expands it), `${…}`, `$VAR`, `{{ … }}`, `<password>`, `****`, `xxx`.
fn placeholder(p: &str) -> bool {
    p.starts_with('$')
        || p.starts_with("{{")
        || (p.starts_with('<') && p.ends_with('>'))
        || p.chars().all(|c| c == '*' || c == 'x' || c == 'X')
}

/// Every URL with credentials in `s`, wherever it is in the string (`DSN=postgres://…`,
/// `{"url":"redis://:pw@…"}`): a scheme, `://`, then `user:password@` (the password not a
/// [`placeholder`]) or a user alone that looks like a token.
pub fn url_credentials(s: &str) -> Vec<UrlCredential> {
    let mut out = Vec::new();
    for (i, _) in s.match_indices("://") {
        let before = &s[..i];
        let scheme_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c)))
            .map_or(0, |k| k + 1);
        let scheme = before[scheme_start..].trim_start_matches(|c: char| !c.is_ascii_alphabetic());
        if scheme.is_empty() {
            continue;
        }
        let a = i + 3;
        let rest = &s[a..];
        let len = rest
            .find(|c: char| c.is_whitespace() || "/?#\"'`,;<>(){}|".contains(c))
            .unwrap_or(rest.len());
        let authority = &rest[..len];
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        let (userinfo, host) = (&authority[..at], &authority[at + 1..]);
        let password = userinfo.find(':').map(|c| a + c + 1..a + at);
        let credential = match &password {
            Some(p) => !s[p.clone()].is_empty() && !placeholder(&s[p.clone()]),
            None => {
                looks_like_secret(userinfo).is_some()
                    || (userinfo.len() >= 32
                        && userinfo
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            }
        };
        if credential {
            out.push(UrlCredential {
                scheme: scheme.to_string(),
                host: host.to_string(),
                userinfo: a..a + at,
                password,
            });
        }
    }
    out
}

/// `key: value` with a credential key and a literal value.
pub(super) fn entry(key: &str, value: &Node, out: &mut Found) {
    if is_secret_key(key) && holds_literal(value) {
        if let Some(t) = scalar_text(value) {
            out.push((value.pos.start..value.pos.end, t));
        }
    }
}

/// `{name: API_TOKEN, value: "…"}` (an environment variable list item).
pub(super) fn name_value(entries: &[(String, Node)], out: &mut Found) {
    let get = |k: &str| entries.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v);
    if let (Some(Val::Str(name)), Some(value)) = (get("name").map(|n| &n.val), get("value")) {
        if is_secret_key(name) && holds_literal(value) {
            if let Some(t) = scalar_text(value) {
                out.push((value.pos.start..value.pos.end, t));
            }
        }
    }
}

/// Secrets of a file that does not parse, found line by line: the value after a credential key
/// (`password: x`, `{token: y, …}`) and any word that looks like a secret.
pub fn lexical(text: &str) -> Found {
    let mut out = Found::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let b = line.as_bytes();
        // `key: value` pairs: the key runs back to a delimiter, the value to the next one.
        for (i, _) in line.match_indices(':') {
            if b.get(i + 1).is_some_and(|c| !c.is_ascii_whitespace()) {
                continue;
            }
            let key_from = line[..i]
                .rfind(|c: char| matches!(c, '{' | ',' | '[' | '-') || c.is_whitespace())
                .map_or(0, |k| k + 1);
            let key = line[key_from..i].trim_matches(|c| c == '"' || c == '\'');
            if key.is_empty() || !is_secret_key(key) {
                continue;
            }
            let v_from = i + 1 + line[i + 1..].len() - line[i + 1..].trim_start().len();
            let v_len = line[v_from..]
                .find([',', '}', ']', '#', '\r', '\n'])
                .unwrap_or(line.len() - v_from);
            let mut value = line[v_from..v_from + v_len].trim_end();
            let mut at = line_start + v_from;
            // Past a tag or an anchor (`!!int 123`, `&a x`).
            while value.starts_with(['!', '&']) {
                let Some(sp) = value.find(char::is_whitespace) else {
                    value = "";
                    break;
                };
                let rest = value[sp..].trim_start();
                at += value.len() - rest.len();
                value = rest;
            }
            if !value.is_empty() && value != "|" && value != ">" {
                out.push((at..at + value.len(), value.to_string()));
            }
        }
        // Credentials in URLs.
        for c in url_credentials(line) {
            let r = line_start + c.userinfo.start..line_start + c.userinfo.end;
            out.push((r, line[c.userinfo].to_string()));
        }
        // Words that look like secrets.
        for word in line.split(|c: char| c.is_whitespace() || "{}[],\"'".contains(c)) {
            if looks_like_secret(word).is_some() {
                let at = line_start + (word.as_ptr() as usize - line.as_ptr() as usize);
                out.push((at..at + word.len(), word.to_string()));
            }
        }
        line_start += line.len();
    }
    out
}

/// A key without separators, lower case (`DB_PASSWORD` → `dbpassword`).
pub(super) fn norm(k: &str) -> String {
    k.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

const SECRET_WORDS: [&str; 9] = [
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "credential",
    "clientsecret",
];
const NOT_SECRET_SUFFIXES: [&str; 7] =
    ["name", "ref", "store", "path", "file", "enabled", "keyname"];

/// A key that names a credential.
pub fn is_secret_key(k: &str) -> bool {
    let n = norm(k);
    // `auth` alone (a Docker config's base64 `user:password`), not `author` or `oauthIssuer`.
    n == "auth"
        || SECRET_WORDS.iter().any(|w| n.contains(w))
            && !NOT_SECRET_SUFFIXES.iter().any(|s| n.ends_with(s))
}

/// Recognise private keys, JWTs and well-known token formats (the value itself is never printed).
pub fn looks_like_secret(s: &str) -> Option<&'static str> {
    let s = s.trim();
    if s.contains("-----BEGIN") && s.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    let tokenish = |rest: &str, min: usize| {
        rest.len() >= min
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[1].starts_with("eyJ")
        && parts.iter().all(|p| tokenish(p, 2))
    {
        return Some("a JSON Web Token");
    }
    for (prefix, min) in [
        ("ghp_", 30),
        ("gho_", 30),
        ("ghs_", 30),
        ("github_pat_", 30),
        ("glpat-", 20),
        ("xoxb-", 20),
        ("xoxp-", 20),
        ("sk_live_", 20),
        ("sk-", 32),
        ("AIza", 35),
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            if tokenish(rest, min) {
                return Some("an API token");
            }
        }
    }
    if s.len() == 20
        && s.starts_with("AKIA")
        && s[4..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Some("an AWS access key id");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_of_a_broken_file_are_found_by_line() {
        let text = "a: {password: hunter2secret, bogus: [\nb: ghp_abcdefghijklmnopqrstuvwxyz0123456789 x\nsecretName: n\ntoken: !!int &t tok123\n";
        let found: Vec<&str> = lexical(text)
            .iter()
            .map(|(r, _)| &text[r.clone()])
            .collect();
        assert_eq!(
            found,
            [
                "hunter2secret",
                "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                "tok123"
            ]
        );
        assert!(lexical(text).iter().all(|(r, v)| &text[r.clone()] == v));
    }

    #[test]
    fn credentials_in_urls_are_found_wherever_they_are_in_the_string() {
        let shown = |s: &str| -> Vec<(String, String, Option<String>)> {
            url_credentials(s)
                .into_iter()
                .map(|c| {
                    (
                        format!("{}://{}", c.scheme, c.host),
                        s[c.userinfo].to_string(),
                        c.password.map(|p| s[p].to_string()),
                    )
                })
                .collect()
        };
        let one = |url: &str, ui: &str, pw: Option<&str>| {
            vec![(url.to_string(), ui.to_string(), pw.map(str::to_string))]
        };
        assert_eq!(
            shown("postgres://admin:pw@db:5432/x"),
            one("postgres://db:5432", "admin:pw", Some("pw"))
        );
        assert_eq!(
            shown("redis://:pw@redis:6379"),
            one("redis://redis:6379", ":pw", Some("pw"))
        );
        assert_eq!(
            shown("DSN=mysql://u:p%40ss@tcp:3306 other=1"),
            one("mysql://tcp:3306", "u:p%40ss", Some("p%40ss"))
        );
        assert_eq!(
            shown(r#"{"url":"amqp://guest:guest@rabbit:5672","x":1}"#),
            one("amqp://rabbit:5672", "guest:guest", Some("guest"))
        );
        // An unencoded `@` in the password: the host is after the last one.
        assert_eq!(
            shown("redis://:p@ss@redis:6379"),
            one("redis://redis:6379", ":p@ss", Some("p@ss"))
        );
        let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        assert_eq!(
            shown(&format!("https://{token}@github.com/org/repo")),
            one("https://github.com", token, None)
        );
        // Not credentials: no password, a placeholder, `@` past the authority, no scheme.
        for s in [
            "ssh://git@github.com/org/repo",
            "postgres://app:$(DB_PASSWORD)@db:5432/x",
            "postgres://app:${DB_PASSWORD}@db/x",
            "postgres://app:****@db/x",
            "postgres://app:@db/x",
            "https://example.com/users/a:b@c",
            "user:pw@host",
            "://u:p@h",
        ] {
            assert_eq!(shown(s), vec![], "{s}");
        }
    }

    #[test]
    fn a_url_credential_is_a_secret_span_of_its_file() {
        // Plain and quoted scalars: the credential's bytes are found in the file; an escaped
        // scalar (`\x40` for `@`) masks the whole value.
        for (text, masked) in [
            (
                "u: postgres://admin:hunter2pw@db:5432/x\n",
                "admin:hunter2pw",
            ),
            ("u: \"redis://:hunter2pw@redis:6379\"\n", ":hunter2pw"),
            (
                "u: \"redis://:hunter2pw\\x40x@redis:6379\"\n",
                "\"redis://:hunter2pw\\x40x@redis:6379\"",
            ),
        ] {
            let (node, found) =
                super::super::yaml::parse_with_secrets(text, 1, std::path::Path::new("v.yaml"));
            node.unwrap();
            let spans: Vec<&str> = found.iter().map(|(r, _)| &text[r.clone()]).collect();
            assert!(spans.iter().all(|s| *s == masked), "{text}: {spans:?}");
            assert!(!spans.is_empty(), "{text}");
            assert!(
                found.iter().any(|(_, w)| w.starts_with("hunter2pw")),
                "the password is a word never quoted: {found:?}"
            );
        }
        // A file that does not parse is scanned by line.
        let broken = "u: [postgres://admin:hunter2pw@db/x\n";
        assert!(lexical(broken)
            .iter()
            .any(|(r, _)| &broken[r.clone()] == "admin:hunter2pw"));
    }

    #[test]
    fn secrets_are_recognised() {
        assert!(looks_like_secret("-----BEGIN RSA PRIVATE KEY-----\nabc").is_some());
        assert!(looks_like_secret("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl").is_some());
        assert!(looks_like_secret("ghp_abcdefghijklmnopqrstuvwxyz0123456789").is_some());
        assert!(looks_like_secret("AKIAABCDEFGHIJKLMNOP").is_some());
        assert!(looks_like_secret("harbor.example.com/apps/app1").is_none());
        assert!(
            is_secret_key("DB_PASSWORD")
                && is_secret_key("apiKey")
                && !is_secret_key("secretStoreName")
        );
    }
}
