//! Who we are to a registry: credential resolution, the secret type, and `WWW-Authenticate`
//! challenge parsing. The HTTP side of the token flow lives in `transport.rs`.
//!
//! Credentials are looked up in this order (the first source that has an entry for the registry
//! wins, and the source — never the secret — is reported in debug output):
//! 1. `--username` + `--password-stdin`;
//! 2. `APPKIT_REGISTRY_USERNAME` + `APPKIT_REGISTRY_PASSWORD`;
//! 3. Helm's registry config (`--registry-config` / `$HELM_REGISTRY_CONFIG`, default
//!    `$HELM_CONFIG_HOME/registry/config.json` → `~/.config/helm/registry/config.json`), the
//!    docker-config format `helm registry login` writes;
//! 4. Docker's `config.json` (`$DOCKER_CONFIG` or `~/.docker`): `auths`, then `credHelpers`,
//!    then `credsStore`, the helpers run as `docker-credential-<name> get`.
//!
//! Harbor robot accounts (`robot$project+ci`) are ordinary user names here; nothing is shell-expanded.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

use super::credhelper::{self, Answer, HelperLimits};
use super::error::OciError;

/// The largest registry credentials file (Helm `config.json`, Docker `config.json`) read.
pub const MAX_CREDENTIALS_FILE_BYTES: u64 = 1024 * 1024;

/// A password or token. `Debug` and `Display` print `****`; use [`Secret::expose`] to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// A user name and its password (or token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

impl Credentials {
    /// The value of an `Authorization: Basic …` header.
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password.expose());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// Where credentials came from (for debug output; never includes the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    Flags,
    Environment,
    HelmRegistryConfig(PathBuf),
    DockerConfig(PathBuf),
    CredentialHelper(String),
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Flags => f.write_str("--username/--password-stdin"),
            CredentialSource::Environment => {
                f.write_str("APPKIT_REGISTRY_USERNAME/APPKIT_REGISTRY_PASSWORD")
            }
            CredentialSource::HelmRegistryConfig(p) => {
                write!(f, "Helm registry config {}", p.display())
            }
            CredentialSource::DockerConfig(p) => write!(f, "Docker config {}", p.display()),
            CredentialSource::CredentialHelper(h) => write!(f, "docker-credential-{h}"),
        }
    }
}

impl CredentialSource {
    /// A warning when the credentials came from a file that users other than its owner can read
    /// or write (group or world permission bits), with the fix. Docker writes its config with
    /// mode 0600; a CI runner's shared workspace often leaves 0644 behind.
    pub fn permission_warning(&self) -> Option<String> {
        let path = match self {
            CredentialSource::HelmRegistryConfig(p) | CredentialSource::DockerConfig(p) => p,
            _ => return None,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                let who = if mode & 0o007 != 0 {
                    "every user"
                } else {
                    "its group"
                };
                return Some(format!(
                    "{} holds registry credentials and can be read or written by {who} (mode {mode:04o}); run `chmod 600 {}`",
                    path.display(),
                    path.display()
                ));
            }
        }
        None
    }
}

/// Inputs of the lookup, resolved by the command (flags and environment already read).
#[derive(Debug, Clone, Default)]
pub struct CredentialQuery {
    /// `--username` with the password read from stdin.
    pub explicit: Option<Credentials>,
    /// `APPKIT_REGISTRY_USERNAME` / `APPKIT_REGISTRY_PASSWORD` (either may be unset).
    pub env_username: Option<String>,
    pub env_password: Option<Secret>,
    /// Helm's registry config path (`None`: Helm's default location).
    pub helm_config: Option<PathBuf>,
    /// Docker's config.json path (`None`: `$DOCKER_CONFIG` or `~/.docker`).
    pub docker_config: Option<PathBuf>,
    /// How long a credential helper may take (`--credential-helper-timeout`).
    pub helper_limits: HelperLimits,
}

impl CredentialQuery {
    /// Fill the environment-derived fields from the process environment.
    pub fn from_env(
        explicit: Option<Credentials>,
        helm_config: Option<PathBuf>,
    ) -> CredentialQuery {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        CredentialQuery {
            explicit,
            env_username: var("APPKIT_REGISTRY_USERNAME"),
            env_password: var("APPKIT_REGISTRY_PASSWORD").map(Secret::new),
            helm_config: helm_config.or_else(default_helm_registry_config),
            docker_config: var("DOCKER_CONFIG")
                .map(|d| PathBuf::from(d).join("config.json"))
                .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))),
            helper_limits: HelperLimits::default(),
        }
    }
}

/// Helm's default registry config: `$HELM_CONFIG_HOME`, else `$XDG_CONFIG_HOME/helm`, else
/// `~/.config/helm`, then `registry/config.json`.
pub fn default_helm_registry_config() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = var("HELM_CONFIG_HOME")
        .or_else(|| var("XDG_CONFIG_HOME").map(|x| x.join("helm")))
        .or_else(|| var("HOME").map(|h| h.join(".config/helm")))?;
    Some(home.join("registry/config.json"))
}

/// Find credentials for `registry` (`host[:port]`); `Ok(None)` means anonymous.
pub fn resolve(
    registry: &str,
    q: &CredentialQuery,
) -> Result<Option<(Credentials, CredentialSource)>, OciError> {
    if let Some(c) = &q.explicit {
        return Ok(Some((c.clone(), CredentialSource::Flags)));
    }
    match (&q.env_username, &q.env_password) {
        (Some(u), Some(p)) => {
            return Ok(Some((
                Credentials {
                    username: u.clone(),
                    password: p.clone(),
                },
                CredentialSource::Environment,
            )))
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(OciError::Credentials {
                message:
                    "set both APPKIT_REGISTRY_USERNAME and APPKIT_REGISTRY_PASSWORD, or neither"
                        .into(),
            })
        }
        (None, None) => {}
    }
    if let Some(p) = &q.helm_config {
        if let Some(c) = from_config_file(registry, p, true, q.helper_limits)? {
            return Ok(Some(c));
        }
    }
    if let Some(p) = &q.docker_config {
        if let Some(c) = from_config_file(registry, p, false, q.helper_limits)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// `https://host:port/v1/` → `host:port`.
fn normalize_key(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

fn from_config_file(
    registry: &str,
    path: &Path,
    helm: bool,
    limits: HelperLimits,
) -> Result<Option<(Credentials, CredentialSource)>, OciError> {
    let text = match crate::fsutil::read_to_string_limited(path, MAX_CREDENTIALS_FILE_BYTES) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(OciError::Credentials {
                message: format!("cannot read {}: {e}", path.display()),
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let bad = |why: String| OciError::Credentials {
        message: format!("{}: {why}", path.display()),
    };
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON ({e})")))?;
    let source = if helm {
        CredentialSource::HelmRegistryConfig(path.to_path_buf())
    } else {
        CredentialSource::DockerConfig(path.to_path_buf())
    };
    if let Some(auths) = doc.get("auths").and_then(Value::as_object) {
        for (key, entry) in auths {
            if normalize_key(key) != registry {
                continue;
            }
            if let Some(c) =
                entry_credentials(entry).map_err(|w| bad(format!("entry `{key}`: {w}")))?
            {
                return Ok(Some((c, source)));
            }
        }
    }
    let helper = doc
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|h| {
            h.iter()
                .find(|(k, _)| normalize_key(k) == registry)
                .map(|(_, v)| v)
        })
        .or_else(|| doc.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    match helper {
        Some(h) => credential_helper(h, registry, limits),
        None => Ok(None),
    }
}

fn entry_credentials(entry: &Value) -> Result<Option<Credentials>, String> {
    let s = |k: &str| {
        entry
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    if let Some(auth) = s("auth") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| "`auth` is not base64".to_string())?;
        let raw = String::from_utf8(raw).map_err(|_| "`auth` is not UTF-8".to_string())?;
        let (u, p) = raw.split_once(':').ok_or("`auth` is not `user:password`")?;
        return Ok(Some(Credentials {
            username: u.to_string(),
            password: Secret::new(p),
        }));
    }
    if let (Some(u), Some(p)) = (s("username"), s("password")) {
        return Ok(Some(Credentials {
            username: u.to_string(),
            password: Secret::new(p),
        }));
    }
    Ok(None)
}

/// `docker-credential-<helper> get` (see `credhelper.rs`: timeout, bounded output, never echoed).
fn credential_helper(
    helper: &str,
    registry: &str,
    limits: HelperLimits,
) -> Result<Option<(Credentials, CredentialSource)>, OciError> {
    let program = format!("docker-credential-{helper}");
    match credhelper::run(&program, registry, limits) {
        Ok(Answer::Found(user, secret)) => Ok(Some((
            Credentials {
                username: user,
                password: Secret::new(secret),
            },
            CredentialSource::CredentialHelper(helper.to_string()),
        ))),
        Ok(Answer::NotFound) => Ok(None),
        Err(e) => Err(OciError::Credentials {
            message: format!("the credential helper {program}: {e}"),
        }),
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parse `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(rest);
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        Some(Challenge::Basic)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    } else {
        None
    }
}

fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n)
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.push((name.trim().to_string(), value.trim().to_string()));
    }
    out
}

/// The token in a token-service answer: `token`, else `access_token` (Harbor sends both).
pub fn token_from_response(body: &[u8]) -> Option<Secret> {
    let v: Value = serde_json::from_slice(body).ok()?;
    ["token", "access_token"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(Value::as_str))
        .find(|t| !t.is_empty())
        .map(Secret::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn credential_files_readable_by_others_get_a_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(&p, "{}").unwrap();
        let src = CredentialSource::DockerConfig(p.clone());
        for (mode, want) in [
            (0o600, None),
            (0o400, None),
            (0o640, Some("its group (mode 0640)")),
            (0o644, Some("every user (mode 0644)")),
            (0o602, Some("every user (mode 0602)")),
        ] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let w = src.permission_warning();
            match want {
                None => assert!(w.is_none(), "{mode:o}: {w:?}"),
                Some(s) => {
                    let w = w.unwrap();
                    assert!(w.contains(s) && w.contains("chmod 600"), "{w}");
                }
            }
        }
        assert!(CredentialSource::Flags.permission_warning().is_none());
    }

    #[test]
    fn secrets_never_print() {
        let c = Credentials {
            username: "robot$proj+ci".into(),
            password: Secret::new("hunter2"),
        };
        let shown = format!("{c:?} {}", c.password);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("robot$proj+ci"));
    }

    #[test]
    fn parses_harbor_and_basic_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://harbor.example.com/service/token",service="harbor-registry",scope="repository:p/app:pull""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://harbor.example.com/service/token".into(),
                service: Some("harbor-registry".into()),
                scope: Some("repository:p/app:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge("Bearer service=x"), None);
    }

    #[test]
    fn token_or_access_token() {
        assert_eq!(
            token_from_response(br#"{"token":"a","access_token":"b"}"#)
                .unwrap()
                .expose(),
            "a"
        );
        assert_eq!(
            token_from_response(br#"{"access_token":"b"}"#)
                .unwrap()
                .expose(),
            "b"
        );
        assert!(token_from_response(br#"{"token":""}"#).is_none());
    }

    fn query(dir: &Path) -> CredentialQuery {
        CredentialQuery {
            helm_config: Some(dir.join("helm.json")),
            docker_config: Some(dir.join("docker.json")),
            ..Default::default()
        }
    }

    #[test]
    fn resolution_order_flags_env_helm_docker() {
        let dir = tempfile::tempdir().unwrap();
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        std::fs::write(
            dir.path().join("helm.json"),
            format!(
                r#"{{"auths":{{"reg:5000":{{"auth":"{}"}}}}}}"#,
                enc("robot$p+ci:helmpw")
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("docker.json"),
            r#"{"auths":{"https://other:443/v1/":{"username":"d","password":"dockerpw"}}}"#,
        )
        .unwrap();
        let mut q = query(dir.path());
        let (c, s) = resolve("reg:5000", &q).unwrap().unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.expose()),
            ("robot$p+ci", "helmpw")
        );
        assert!(matches!(s, CredentialSource::HelmRegistryConfig(_)));
        let (c, s) = resolve("other:443", &q).unwrap().unwrap();
        assert_eq!(c.username, "d");
        assert!(matches!(s, CredentialSource::DockerConfig(_)));
        assert!(resolve("nobody", &q).unwrap().is_none());
        q.env_username = Some("e".into());
        assert!(
            resolve("reg:5000", &q).is_err(),
            "half-set environment is an error"
        );
        q.env_password = Some(Secret::new("envpw"));
        assert_eq!(
            resolve("reg:5000", &q).unwrap().unwrap().1,
            CredentialSource::Environment
        );
        q.explicit = Some(Credentials {
            username: "f".into(),
            password: Secret::new("x"),
        });
        assert_eq!(
            resolve("reg:5000", &q).unwrap().unwrap().1,
            CredentialSource::Flags
        );
    }

    #[test]
    fn missing_helper_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("docker.json"),
            r#"{"credsStore":"appkit-test-none"}"#,
        )
        .unwrap();
        let e = resolve("reg", &query(dir.path())).unwrap_err().to_string();
        assert!(e.contains("docker-credential-appkit-test-none"), "{e}");
    }
}
