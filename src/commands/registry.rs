//! What `push`, `pull`, `versions` and `publish` share: turning [`RegistryArgs`] (+ stdin,
//! environment) into a [`Connection`], and turning OCI and action errors into command errors with
//! hints ([`Hinted`]) and the right exit code (an immutable tag or an invalid chart is "input is
//! wrong", exit 1; the rest exit 2).
//!
//! A hint is attached to the error it explains, never folded into a context string: the printed
//! `error:` / `Caused by:` lines are the error's own chain, and `hint:` comes last.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};

use crate::actions::{self, ArchiveError};
use crate::chart::ChartError;
use crate::cli::RegistryArgs;
use crate::error::{Hinted, Invalid};
use crate::oci::auth::{CredentialQuery, CredentialSource, Credentials, Secret};
use crate::oci::credhelper::HelperLimits;
use crate::oci::reference::Location;
use crate::oci::target::{Access, Connection, Opened};
use crate::oci::tls::{
    certificate_problem, client_certificate_refused, CertificateProblem, ClientCertRefused,
    ClientIdentity,
};
use crate::oci::transport::TransportOptions;
use crate::oci::OciError;
use crate::printer::Printer;

/// Say in debug output where the credentials came from (never the secret), and warn when they
/// came from a file that other users can read.
pub fn report_credentials(printer: &Printer, source: Option<&CredentialSource>) {
    match source {
        Some(s) => {
            printer.debug(&format!("credentials from {s}"));
            if let Some(w) = s.permission_warning() {
                printer.warn(&w);
            }
        }
        None => printer.debug("no credentials found for the registry: anonymous"),
    }
}

/// Open the target `location` names for `access`: the connection from the registry flags, the
/// credentials for its host (where they came from is reported), an OCI error as a command error.
/// In a platform repo (`platform`), a registry `appkit.yaml` marks plain-HTTP
/// (`registry.insecure: true`, for the host of `chart.repository`) is spoken to over HTTP, as if
/// `--plain-http` were given — an explicit ask of the platform's config, said on stderr.
pub fn open_target_for(
    location: &Location,
    access: Access<'_>,
    args: &RegistryArgs,
    printer: &Printer,
    platform: Option<&crate::config::Loaded>,
) -> Result<Opened> {
    let mut plain = false;
    if let (Some(l), Location::Registry(r)) = (platform, location) {
        if l.config.registry.insecure
            && insecure_host(&l.config.chart.repository) == Some(r.registry.as_str())
        {
            if args.ca_file.is_some() || args.insecure_skip_tls_verify || args.cert_file.is_some() {
                bail!("{} is a plain-HTTP registry (registry.insecure in appkit.yaml): --ca-file, --insecure-skip-tls-verify and --cert-file/--key-file do not apply to it", r.registry);
            }
            if !args.plain_http {
                printer.debug(&format!(
                    "plain HTTP to {}: registry.insecure is true in appkit.yaml",
                    r.registry
                ));
            }
            plain = true;
        }
    }
    let mut conn = connection(args, printer)?;
    conn.options.plain_http |= plain;
    let (opened, source) =
        crate::oci::target::open(location, access, &conn).map_err(|e| oci_error(e, location))?;
    report_credentials(printer, source.as_ref());
    Ok(opened)
}

/// The platform repo's config when the command runs in one (for `registry.insecure`); a missing
/// or invalid `appkit.yaml` is not this command's business.
pub fn platform_config(global: &crate::cli::GlobalArgs) -> Option<crate::workspace::Workspace> {
    crate::workspace::Workspace::open_optional(global)
        .ok()
        .flatten()
}

/// The registry host of an `oci://host/project` repository.
fn insecure_host(repository: &str) -> Option<&str> {
    repository.strip_prefix("oci://")?.split('/').next()
}

/// The `--cert-file` of this run, once loaded: says whether a refused handshake refused the
/// certificate appkit sent, or wanted one (a command runs once per process).
static CLIENT_CERT_SENT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Resolve the connection settings; reads the password from stdin for `--password-stdin`.
pub fn connection(args: &RegistryArgs, printer: &Printer) -> Result<Connection> {
    let explicit = match (&args.username, args.password_stdin) {
        (Some(u), true) => {
            let mut pw = String::new();
            std::io::stdin()
                .read_to_string(&mut pw)
                .map_err(|e| anyhow!("cannot read the password from stdin: {e}"))?;
            let pw = pw.trim_end_matches(['\n', '\r']).to_string();
            if pw.is_empty() {
                bail!("--password-stdin: stdin was empty");
            }
            Some(Credentials {
                username: u.clone(),
                password: Secret::new(pw),
            })
        }
        (Some(_), false) => {
            bail!("--username needs --password-stdin (passwords are never taken as arguments)")
        }
        (None, true) => bail!("--password-stdin needs --username"),
        (None, false) => None,
    };
    if args.plain_http && (args.ca_file.is_some() || args.insecure_skip_tls_verify) {
        bail!("--plain-http cannot be combined with --ca-file or --insecure-skip-tls-verify");
    }
    let client_identity = match (&args.cert_file, &args.key_file) {
        (Some(cert), Some(key)) => {
            if args.plain_http {
                bail!("--plain-http cannot be combined with --cert-file/--key-file (a client certificate is a TLS thing)");
            }
            let id = ClientIdentity::load(cert, key).map_err(|e| anyhow!(e))?;
            let _ = CLIENT_CERT_SENT.set(cert.clone());
            Some(id)
        }
        (Some(_), None) => {
            return Err(anyhow::Error::new(Hinted::new(
                anyhow!("--cert-file needs --key-file"),
                "a TLS client certificate goes with its private key: pass both --cert-file FILE and --key-file FILE (PEM)",
            )))
        }
        (None, Some(_)) => {
            return Err(anyhow::Error::new(Hinted::new(
                anyhow!("--key-file needs --cert-file"),
                "a TLS client certificate goes with its private key: pass both --cert-file FILE and --key-file FILE (PEM)",
            )))
        }
        (None, None) => None,
    };
    if args.insecure_skip_tls_verify {
        printer.warn("TLS certificate verification is disabled (--insecure-skip-tls-verify)");
    }
    // Debug lines go to --debug; notices (a retry and why) to every user's stderr, not under -q.
    let debug = {
        let p = printer.clone();
        Some(Arc::new(
            move |m: &str| match m.strip_prefix(crate::oci::transport::NOTICE) {
                Some(notice) => p.status(notice),
                None => p.debug(m),
            },
        ) as crate::oci::transport::DebugHook)
    };
    Ok(Connection {
        options: TransportOptions {
            plain_http: args.plain_http,
            ca_file: args.ca_file.clone(),
            insecure_skip_tls_verify: args.insecure_skip_tls_verify,
            client_identity,
            connect_timeout: Duration::from_secs(args.connect_timeout.max(1)),
            request_timeout: Duration::from_secs(args.request_timeout.max(1)),
            retries: args.retries,
        },
        credentials: CredentialQuery {
            helper_limits: HelperLimits {
                timeout: Duration::from_secs(args.credential_helper_timeout.max(1)),
            },
            ..CredentialQuery::from_env(explicit, args.registry_config.clone())
        },
        debug,
    })
}

/// The advice for a push that lost a race with another push of the same tag.
pub const CONCURRENT_PUSH_HINT: &str = "another run published this version with other content at the same time; \
published versions are immutable: raise the chart version. A registry rule can refuse the second push \
outright (Harbor: a tag immutability rule, see SECURITY.md)";

/// An OCI error as a command error: exit 1 for an immutable tag, a hint where one helps.
pub fn oci_error(e: OciError, location: &Location) -> anyhow::Error {
    let host = location.registry_host().unwrap_or("REGISTRY");
    if let OciError::TagExists { .. } = &e {
        let msg = e.to_string();
        return anyhow::Error::new(Invalid::new(msg).with_hint(
            "published versions are immutable: raise the chart version (or pass --force to replace the tag)",
        ));
    }
    if let OciError::TagConflict { .. } = &e {
        let msg = e.to_string();
        return anyhow::Error::new(Invalid::new(msg).with_hint(CONCURRENT_PUSH_HINT));
    }
    if let OciError::RepositoryUnknown { .. } = &e {
        let msg = e.to_string();
        return anyhow::Error::new(Invalid::new(msg).with_hint(
            "check the name: `versions` takes the chart's own repository, oci://HOST/PROJECT/CHART \
             (the project plus the chart name); or nothing was published there yet: the first \
             `helm appkit publish` (or `push`) creates it",
        ));
    }
    if let OciError::Transport { source, .. } = &e {
        if let Some(problem) = certificate_problem(source) {
            return certificate_error(e, host, &problem);
        }
        if let Some(ClientCertRefused(alert)) = client_certificate_refused(source) {
            return client_certificate_error(e, host, alert);
        }
    }
    match hint_for(&e, host) {
        Some(h) => anyhow::Error::new(Hinted::new(e, h)),
        None => anyhow::Error::new(e),
    }
}

/// The hint for an OCI error (other than a certificate problem), if one helps.
fn hint_for(e: &OciError, host: &str) -> Option<String> {
    match e {
        OciError::Unauthorized { .. } => Some(format!(
            "log in with `helm registry login {host}`, or pass --username NAME --password-stdin, or set \
             APPKIT_REGISTRY_USERNAME/APPKIT_REGISTRY_PASSWORD"
        )),
        OciError::Transport { source, .. } => {
            let mentions = |needles: &[&str]| cause_mentions(source, needles);
            if mentions(&["certificate", "UnknownIssuer"]) {
                Some("the registry's TLS certificate is not trusted: pass --ca-file with its CA bundle".into())
            } else if mentions(&["http"]) && mentions(&["received"]) {
                Some("the registry may speak plain HTTP: pass --plain-http".into())
            } else if source.is_connect() && source.is_timeout() {
                Some(format!(
                    "{host} did not answer the connection: check the address, a firewall or proxy in \
                     between, or raise --connect-timeout (seconds) on a slow network"
                ))
            } else if source.is_timeout() {
                Some(format!(
                    "{host} accepted the connection but did not answer in time: raise --request-timeout \
                     (seconds) for a slow registry or a large chart"
                ))
            } else if mentions(&["onnect"]) {
                Some(format!("is the registry at {host} running and reachable?"))
            } else {
                None
            }
        }
        OciError::WrongProtocol {
            registry_https: false,
            ..
        } => Some(format!(
            "{host} speaks plain HTTP: pass --plain-http (for the host of `chart.repository`, \
             `registry.insecure: true` in appkit.yaml does the same); plain HTTP sends everything, \
             credentials included, unencrypted: only for a registry on a network you trust"
        )),
        OciError::WrongProtocol {
            registry_https: true,
            ..
        } => Some(format!(
            "{host} speaks HTTPS: drop --plain-http (and `registry.insecure: true` from appkit.yaml \
             if it names this host); if its certificate is signed by a private CA, pass --ca-file \
             with that CA's bundle"
        )),
        OciError::ListRefused { status: 403, .. } => Some(format!(
            "403 Forbidden: the credentials used for {host} were accepted but cannot see this \
             repository (Harbor: a robot account sees only the projects it was given pull on; give \
             it pull on this project, or log in as an account that has it with `helm registry login \
             {host}`); run with --debug to see which credentials were used"
        )),
        OciError::ListRefused { .. } => Some(format!(
            "the registry wants credentials that can read this repository: log in with `helm \
             registry login {host}` (Harbor: a robot account with pull on the project), or pass \
             --username NAME --password-stdin; run with --debug to see which credentials were used"
        )),
        OciError::Status { status: 403, .. } => Some(format!(
            "403 Forbidden: the credentials used for {host} were accepted but lack the permission for \
             this repository (Harbor: give the robot account pull/push on the project); run with \
             --debug to see which credentials were used"
        )),
        OciError::Body { .. } => Some(format!(
            "the connection to {host} broke while the answer was read (retried with --retries): \
             check the network or a proxy in between, then run again"
        )),
        OciError::NotFound { .. } => {
            Some("list what is published with `helm appkit versions <chart ref>`".to_string())
        }
        OciError::TooLarge { limit, .. } => Some(format!(
            "appkit reads at most {limit} bytes of this kind of answer (SECURITY.md, \"Limits\"); a \
             registry, token service or proxy sending more is misbehaving: check what answers at {host}"
        )),
        OciError::Credentials { message } if message.contains("the credential helper") => {
            let helper = message
                .split_whitespace()
                .find(|w| w.starts_with("docker-credential-"))
                .unwrap_or("docker-credential-NAME")
                .trim_end_matches(':');
            Some(if message.contains("--credential-helper-timeout") {
                format!(
                    "a helper that waits for a keychain unlock or a prompt never answers in CI: try \
                     `echo {host} | {helper} get` by hand, raise --credential-helper-timeout, or log in \
                     with `helm registry login {host}` instead"
                )
            } else {
                format!(
                    "try `echo {host} | {helper} get` by hand, or remove the helper from the Docker \
                     config (credsStore, credHelpers) and log in with `helm registry login {host}`"
                )
            })
        }
        OciError::Refused { what, .. } if what.starts_with("the token realm") => Some(format!(
            "serve the token service over HTTPS (Harbor: set `external_url` to an https:// URL); \
             if {host} is an in-cluster registry you reach over plain HTTP on purpose, pass --plain-http"
        )),
        OciError::Refused { what, .. } if what.starts_with("the tag list") => Some(format!(
            "the registry at {host} paginates its tag list wrongly; report it to its administrator \
             (a `Link` header must point at the next page, on the registry's own address)"
        )),
        OciError::Refused { .. } => Some(format!(
            "the registry must give URLs on its own address ({host}): check its external URL setting \
             (distribution: `http.host`; Harbor: `external_url`) or a proxy in between that rewrites it"
        )),
        _ => None,
    }
}

/// True when `err` or one of its causes says one of `needles` (reqwest and hyper describe
/// protocol mismatches only in text).
fn cause_mentions(err: &(dyn std::error::Error + 'static), needles: &[&str]) -> bool {
    std::iter::successors(Some(err), |e| e.source()).any(|e| {
        let text = e.to_string();
        needles.iter().any(|n| text.contains(n))
    })
}

/// A TLS verification failure: say which of the usual three it is, first, then the chain, then
/// the fix for that case.
fn certificate_error(e: OciError, host: &str, problem: &CertificateProblem) -> anyhow::Error {
    let hint = match problem {
        CertificateProblem::UnknownIssuer => format!(
            "the certificate of {host} is not signed by a CA this machine trusts: pass --ca-file with \
             the registry's CA bundle (PEM), or install the CA in the system trust store"
        ),
        CertificateProblem::NameMismatch => format!(
            "the certificate of {host} was issued for other names: use a host name listed in its \
             subjectAltName (see `openssl s_client -connect {host} </dev/null | openssl x509 -noout -ext subjectAltName`)"
        ),
        CertificateProblem::Expired => format!(
            "the certificate of {host} has expired: the registry's administrator must renew it \
             (if it looks valid, check this machine's clock)"
        ),
        CertificateProblem::NotYetValid => {
            "the certificate is not valid yet: check this machine's clock".to_string()
        }
        CertificateProblem::CaAsServer => format!(
            "{host} presents a CA certificate as its own (a self-signed `openssl req -x509` certificate): \
             pass that certificate with --ca-file to trust exactly it, or give the registry a \
             certificate signed by that CA"
        ),
        CertificateProblem::NotForServers => format!(
            "the certificate of {host} lists extended key usages without serverAuth: its administrator \
             must issue one with `extendedKeyUsage = serverAuth`"
        ),
        CertificateProblem::Revoked => format!(
            "the certificate of {host} was revoked by its issuer: the registry's administrator must \
             replace it; do not work around this"
        ),
        CertificateProblem::BadSignature => format!(
            "the certificate of {host} does not verify against its issuer (a wrong --ca-file, a \
             re-issued CA, or an unsupported algorithm): check that --ca-file holds the CA that \
             signed it (`openssl verify -CAfile CA.pem CERT.pem`)"
        ),
        CertificateProblem::BadEncoding => format!(
            "{host} sent a malformed certificate: check what answers on that port (`openssl s_client -connect {host}`)"
        ),
        CertificateProblem::Other(_) => {
            "the registry's TLS certificate was refused; --insecure-skip-tls-verify skips the check (insecure)".to_string()
        }
    };
    anyhow::Error::new(Hinted::new(e, hint))
        .context(format!("TLS: the certificate of {host} {problem}"))
}

/// The registry ended the handshake over the client certificate: it wants one (none was sent),
/// or does not accept the one `--cert-file` gave.
fn client_certificate_error(
    e: OciError,
    host: &str,
    alert: rustls::AlertDescription,
) -> anyhow::Error {
    match CLIENT_CERT_SENT.get() {
        None => anyhow::Error::new(Hinted::new(
            e,
            "pass the client certificate the registry accepts and its private key: \
             --cert-file FILE --key-file FILE (PEM)",
        ))
        .context(format!(
            "TLS: {host} refused the connection: it requires a client certificate (TLS alert {alert:?})"
        )),
        Some(cert) => anyhow::Error::new(Hinted::new(
            e,
            "check that the --cert-file certificate is signed by a CA the registry trusts for \
             clients (distribution: `http.tls.clientcas`), is still valid, and allows client use \
             (`extendedKeyUsage = clientAuth` if it lists usages)",
        ))
        .context(format!(
            "TLS: {host} refused the client certificate {} (TLS alert {alert:?})",
            cert.display()
        )),
    }
}

/// A chart error as a command error: exit 1 when the chart itself is wrong.
pub fn chart_error(e: ChartError) -> anyhow::Error {
    if e.is_invalid() {
        anyhow::Error::new(Invalid::new(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}

fn archive_error(e: ArchiveError) -> anyhow::Error {
    match e {
        ArchiveError::Chart(c) => chart_error(c),
        other => anyhow::Error::new(other),
    }
}

/// An action error as a command error: OCI errors get their hints (`location`: where the action
/// went, when it got that far), chart errors their exit code; the text is the error's own.
pub fn action_error(e: actions::Error, location: Option<&Location>) -> anyhow::Error {
    match e {
        actions::Error::Oci(e) => match location {
            Some(l) => oci_error(e, l),
            None => anyhow::Error::new(e),
        },
        actions::Error::Chart(e) => chart_error(e),
        actions::Error::Unusable { message, source } => archive_error(source).context(message),
        other => anyhow::Error::new(other),
    }
}
