//! TLS trust for registry connections, and TLS failures in words.
//!
//! Without `--ca-file`, reqwest's rustls with the platform verifier decides. With `--ca-file`,
//! the bundle's certificates are the only trust anchors ([`ca_file_config`]), and one more case
//! is accepted, as curl, skopeo and `helm --ca-file` accept it: the registry's own certificate is
//! **itself in the bundle** (the usual `openssl req -x509` self-signed certificate, which carries
//! `CA:TRUE` and which webpki refuses as `CaUsedAsEndEntity`). Exact-certificate trust loosens
//! nothing else: the certificate must be byte-for-byte one of the bundle's, still valid by date
//! (webpki checks the dates before the basic constraints, so a `CaUsedAsEndEntity` verdict means
//! the dates passed — the expired case is tested), valid for the host name, allowed for servers
//! when it lists extended key usages, and the handshake signature is verified with its key.
//!
//! [`certificate_problem`] finds why a connection's certificate was refused in an error chain, as
//! a [`CertificateProblem`] with words a user can act on (the hints are in
//! `commands/registry.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The certificates of a PEM bundle (`--ca-file`).
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let certs = certs.map_err(|e| format!("not a PEM certificate bundle ({e})"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate".into());
    }
    Ok(certs)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// A TLS client certificate and its private key (`--cert-file`/`--key-file`), checked to belong
/// together. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct ClientIdentity {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    certs: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    /// The certificate chain and the key as one PEM buffer, for reqwest's `Identity::from_pem`.
    pem: Arc<Vec<u8>>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// Read and check `cert_file` (PEM certificates, the client's first) and `key_file` (one
    /// unencrypted PEM private key: PKCS#8, PKCS#1 or SEC1). Errors name the file and never
    /// quote its content.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<ClientIdentity, String> {
        let cert_pem = std::fs::read(cert_file).map_err(|e| {
            format!(
                "cannot read the client certificate file {} ({e})",
                cert_file.display()
            )
        })?;
        let certs = pem_certificates(&cert_pem).map_err(|why| {
            format!(
                "the client certificate file {} {}",
                cert_file.display(),
                why.replace("not a PEM", "is not a PEM")
            )
        })?;
        let key_pem = std::fs::read(key_file).map_err(|e| {
            format!(
                "cannot read the client key file {} ({e})",
                key_file.display()
            )
        })?;
        // The parser's own error is left out: it could quote a line of the key file.
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
            format!(
                "the client key file {} holds no unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)",
                key_file.display()
            )
        })?;
        rustls::sign::CertifiedKey::from_der(certs.clone(), key.clone_key(), &provider()).map_err(
            |e| match e {
                rustls::Error::InconsistentKeys(_) => format!(
                    "the private key in {} does not belong to the client certificate in {}",
                    key_file.display(),
                    cert_file.display()
                ),
                rustls::Error::General(_) => format!(
                    "the client key file {} holds a private key of a kind that cannot be used",
                    key_file.display()
                ),
                other => format!(
                    "the client certificate {} with the key {} cannot be used ({other})",
                    cert_file.display(),
                    key_file.display()
                ),
            },
        )?;
        let mut pem = Vec::new();
        for c in &certs {
            pem.extend_from_slice(pem_encode("CERTIFICATE", c.as_ref()).as_bytes());
        }
        pem.extend_from_slice(&key_pem);
        pem.push(b'\n');
        Ok(ClientIdentity {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            certs,
            key: Arc::new(key),
            pem: Arc::new(pem),
        })
    }

    /// The identity for reqwest's own TLS setup (no `--ca-file`).
    pub fn reqwest_identity(&self) -> Result<reqwest::Identity, String> {
        reqwest::Identity::from_pem(&self.pem).map_err(|e| {
            format!(
                "the client certificate {} with the key {} cannot be used ({e})",
                self.cert_file.display(),
                self.key_file.display()
            )
        })
    }
}

/// `der` as a PEM block with `label`.
fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A rustls client configuration trusting exactly `certs`: as CAs, and each as itself; presenting
/// `identity` when the registry asks for a client certificate.
pub fn ca_file_config(
    certs: Vec<CertificateDer<'static>>,
    identity: Option<&ClientIdentity>,
) -> Result<rustls::ClientConfig, String> {
    let provider = provider();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs.iter().cloned());
    if added == 0 {
        return Err("holds no certificate usable as a trust anchor".into());
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let verifier = ExactTrust {
        inner,
        pinned: certs,
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match identity {
        Some(id) => config
            .with_client_auth_cert(id.certs.clone(), id.key.clone_key())
            .map_err(|e| format!("{}: {e}", id.cert_file.display()))?,
        None => config.with_no_client_auth(),
    };
    // appkit's client speaks HTTP/1.1 only (reqwest's default features here).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// webpki's verdict, plus exact-certificate trust for a `CA:TRUE` leaf in the bundle.
#[derive(Debug)]
struct ExactTrust {
    inner: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for ExactTrust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verdict {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(ref other)))
                if is_ca_used_as_end_entity(other)
                    && self
                        .pinned
                        .iter()
                        .any(|c| c.as_ref() == end_entity.as_ref()) =>
            {
                if !allows_server_auth(end_entity) {
                    return Err(rustls::Error::InvalidCertificate(
                        CertificateError::InvalidPurpose,
                    ));
                }
                let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

fn is_ca_used_as_end_entity(other: &rustls::OtherError) -> bool {
    matches!(
        other.0.downcast_ref::<webpki::Error>(),
        Some(webpki::Error::CaUsedAsEndEntity)
    )
}

/// False when the certificate lists extended key usages without `serverAuth` (webpki's rule for
/// a server's certificate; no list means any use).
fn allows_server_auth(cert: &[u8]) -> bool {
    const EKU: &[u8] = &[0x55, 0x1d, 0x25];
    const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    match der::extension(cert, EKU) {
        // Unparseable: webpki parsed it already, so this is only reached for a cert it accepted.
        Err(()) => false,
        Ok(None) => true,
        Ok(Some(value)) => {
            der::sequence_of_oids(value).is_ok_and(|oids| oids.contains(&SERVER_AUTH))
        }
    }
}

/// The few DER steps needed to find one X.509 extension (RFC 5280 §4.1).
mod der {
    /// `(tag, content, rest)` of the first TLV in `input`.
    fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), ()> {
        let (&tag, rest) = input.split_first().ok_or(())?;
        let (&first, rest) = rest.split_first().ok_or(())?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return Err(());
            }
            let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
            (len, &rest[n..])
        };
        if rest.len() < len {
            return Err(());
        }
        Ok((tag, &rest[..len], &rest[len..]))
    }

    fn items(mut input: &[u8]) -> Result<Vec<(u8, &[u8])>, ()> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let (tag, content, rest) = tlv(input)?;
            out.push((tag, content));
            input = rest;
        }
        Ok(out)
    }

    /// The value (inside the OCTET STRING) of the extension with OID `oid`, if present.
    pub fn extension<'a>(cert: &'a [u8], oid: &[u8]) -> Result<Option<&'a [u8]>, ()> {
        let (0x30, cert, _) = tlv(cert)? else {
            return Err(());
        };
        let (0x30, tbs, _) = tlv(cert)? else {
            return Err(());
        };
        for (tag, content) in items(tbs)? {
            if tag != 0xa3 {
                continue;
            }
            let (0x30, exts, _) = tlv(content)? else {
                return Err(());
            };
            for (tag, ext) in items(exts)? {
                if tag != 0x30 {
                    return Err(());
                }
                let parts = items(ext)?;
                let Some(&(0x06, id)) = parts.first() else {
                    return Err(());
                };
                if id != oid {
                    continue;
                }
                return match parts.last() {
                    Some(&(0x04, value)) => Ok(Some(value)),
                    _ => Err(()),
                };
            }
        }
        Ok(None)
    }

    /// The OIDs of a `SEQUENCE OF OBJECT IDENTIFIER`.
    pub fn sequence_of_oids(value: &[u8]) -> Result<Vec<&[u8]>, ()> {
        let (0x30, seq, _) = tlv(value)? else {
            return Err(());
        };
        items(seq)?
            .into_iter()
            .map(|(tag, oid)| if tag == 0x06 { Ok(oid) } else { Err(()) })
            .collect()
    }
}

/// Why the registry's TLS certificate was refused, when that is why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateProblem {
    /// Signed by a CA that is not trusted (not in the system roots nor in `--ca-file`).
    UnknownIssuer,
    /// Valid, but not for the host name (or IP) that was connected to.
    NameMismatch,
    /// Past its `notAfter` date.
    Expired,
    /// Before its `notBefore` date.
    NotYetValid,
    /// A CA certificate presented as the server's own, not in `--ca-file`.
    CaAsServer,
    /// Its extended key usages do not include TLS servers.
    NotForServers,
    /// Revoked by its issuer.
    Revoked,
    /// Its signature does not verify, or uses an algorithm not supported.
    BadSignature,
    /// Not a well-formed certificate.
    BadEncoding,
    /// Anything else, in rustls' and webpki's words.
    Other(String),
}

impl std::fmt::Display for CertificateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertificateProblem::UnknownIssuer => {
                f.write_str("is signed by an unknown certificate authority")
            }
            CertificateProblem::NameMismatch => f.write_str("is not valid for this host name"),
            CertificateProblem::Expired => f.write_str("has expired"),
            CertificateProblem::NotYetValid => f.write_str("is not valid yet"),
            CertificateProblem::CaAsServer => f.write_str(
                "is a CA certificate (CA:TRUE) used as a server certificate, and not in --ca-file",
            ),
            CertificateProblem::NotForServers => {
                f.write_str("is not allowed for TLS servers (its extended key usage)")
            }
            CertificateProblem::Revoked => f.write_str("has been revoked"),
            CertificateProblem::BadSignature => f.write_str("has a signature that does not verify"),
            CertificateProblem::BadEncoding => f.write_str("is not a well-formed certificate"),
            CertificateProblem::Other(s) => write!(f, "was refused ({s})"),
        }
    }
}

/// Walk an error's source chain (looking inside `io::Error`s, whose `source()` skips the error
/// they wrap) for a rustls certificate error.
pub fn certificate_problem(err: &(dyn std::error::Error + 'static)) -> Option<CertificateProblem> {
    use CertificateError as C;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut depth = 0;
    while let Some(e) = cur {
        depth += 1;
        if depth > 32 {
            break;
        }
        if let Some(rustls::Error::InvalidCertificate(c)) = e.downcast_ref::<rustls::Error>() {
            return Some(match c {
                C::UnknownIssuer => CertificateProblem::UnknownIssuer,
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    CertificateProblem::NameMismatch
                }
                C::Expired | C::ExpiredContext { .. } => CertificateProblem::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => CertificateProblem::NotYetValid,
                C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                    CertificateProblem::NotForServers
                }
                C::Revoked => CertificateProblem::Revoked,
                #[allow(deprecated)]
                C::UnsupportedSignatureAlgorithm => CertificateProblem::BadSignature,
                C::BadSignature
                | C::UnsupportedSignatureAlgorithmContext { .. }
                | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                    CertificateProblem::BadSignature
                }
                C::BadEncoding => CertificateProblem::BadEncoding,
                C::Other(o) if is_ca_used_as_end_entity(o) => CertificateProblem::CaAsServer,
                C::Other(o) => CertificateProblem::Other(o.to_string()),
                other => CertificateProblem::Other(format!("{other:?}")),
            });
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            cur = Some(inner as &(dyn std::error::Error + 'static));
            continue;
        }
        cur = e.source();
    }
    None
}

/// Why the registry ended the TLS handshake over appkit's client certificate, when that is why a
/// request failed: a fatal alert a server sends when it requires a client certificate and got
/// none (TLS 1.3 `certificate_required`; Go's servers, distribution's among them, send
/// `bad_certificate`), or refused the one it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCertRefused(pub rustls::AlertDescription);

/// Walk the error chain (like [`certificate_problem`]) for a fatal alert about the client
/// certificate.
pub fn client_certificate_refused(
    err: &(dyn std::error::Error + 'static),
) -> Option<ClientCertRefused> {
    use rustls::AlertDescription as A;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut depth = 0;
    while let Some(e) = cur {
        depth += 1;
        if depth > 32 {
            break;
        }
        if let Some(rustls::Error::AlertReceived(alert)) = e.downcast_ref::<rustls::Error>() {
            return matches!(
                alert,
                A::CertificateRequired
                    | A::BadCertificate
                    | A::UnsupportedCertificate
                    | A::CertificateRevoked
                    | A::CertificateExpired
                    | A::CertificateUnknown
                    | A::UnknownCA
                    | A::AccessDenied
            )
            .then_some(ClientCertRefused(*alert));
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            cur = Some(inner as &(dyn std::error::Error + 'static));
            continue;
        }
        cur = e.source();
    }
    None
}

/// True when a connection failed because the server answered the TLS handshake with something
/// that is not TLS at all — in practice a plain-HTTP server's `HTTP/1.1 400 Bad Request` to the
/// ClientHello, which rustls reads as a record of an invalid content type (`H` is no TLS record
/// type). Found through the error chain like [`certificate_problem`].
pub fn plain_http_answer_to_tls(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut depth = 0;
    while let Some(e) = cur {
        depth += 1;
        if depth > 32 {
            break;
        }
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return matches!(
                r,
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
            );
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            cur = Some(inner as &(dyn std::error::Error + 'static));
            continue;
        }
        cur = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_problems_are_found_inside_io_errors_in_the_chain() {
        #[derive(Debug)]
        struct Wrapper(std::io::Error);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let io = std::io::Error::other(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        assert_eq!(
            certificate_problem(&Wrapper(io)),
            Some(CertificateProblem::UnknownIssuer)
        );
        let ca = rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
            Arc::new(webpki::Error::CaUsedAsEndEntity),
        )));
        assert_eq!(
            certificate_problem(&ca),
            Some(CertificateProblem::CaAsServer)
        );
        let none = std::io::Error::other("plain");
        assert_eq!(certificate_problem(&none), None);
        assert!(!plain_http_answer_to_tls(&none));
        let plain = std::io::Error::other(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert!(plain_http_answer_to_tls(&Wrapper(plain)));
        let other = std::io::Error::other(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::MessageTooShort,
        ));
        assert!(!plain_http_answer_to_tls(&Wrapper(other)));
    }

    #[test]
    fn a_pem_bundle_without_certificates_is_refused() {
        assert!(pem_certificates(b"hello").is_err());
        assert!(
            pem_certificates(b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }

    #[test]
    fn der_extension_lookup_is_total() {
        // Truncated and garbage input never panics and never claims server use.
        for bad in [
            &b""[..],
            &[0x30],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
            &[0x30, 0x02, 0x30, 0x05],
        ] {
            assert!(!allows_server_auth(bad));
        }
    }
}
