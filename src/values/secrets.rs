//! Recognising credentials in values: keys that name one (`password`, `token`, `apiKey`, …, but
//! not `…Name`/`…Ref`/`…Store`, which name a secret rather than hold it) and values that look like
//! one (private keys, JWTs, well-known token formats). The matched value is never printed.

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
pub(super) fn is_secret_key(k: &str) -> bool {
    let n = norm(k);
    SECRET_WORDS.iter().any(|w| n.contains(w))
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
