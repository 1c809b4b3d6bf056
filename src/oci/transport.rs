//! HTTP to one registry repository: TLS settings, bounded retries, and the auth handshake.
//!
//! Every request goes through [`Transport::send`], which
//! * retries connection errors, timeouts, 5xx and 429 as the [`RetryPolicy`] says (`--retries`
//!   times, exponential backoff, `Retry-After` honoured; see `retry.rs`);
//! * answers a `401` by reading `WWW-Authenticate`: Basic → the resolved credentials; Bearer →
//!   `GET realm?service=…&scope=repository:<repo>:<actions>` (Basic credentials to the realm, if
//!   any; `token` or `access_token` in the answer), asking for `pull,push` up front when pushing so
//!   one token serves the whole push. The token is reused for later requests;
//! * counts requests, retries and uploads, so commands can report them and tests can assert them.
//!
//! **Credentials stay home.** The registry's credentials (Basic or its token) are attached only to
//! requests for the registry's own origin (scheme + host + port). A URL the registry hands out —
//! an upload `Location`, a tag-list `Link` — on another origin is refused ([`Transport::url`]);
//! a redirect is followed by hand (at most [`MAX_REDIRECTS`]): to another origin without
//! `Authorization` (Harbor on S3 redirects blob GETs to a presigned URL), never from https to
//! http. A token realm may be another host (Docker Hub's is), but never plain HTTP when the
//! registry is HTTPS: the realm gets the Basic credentials.
//!
//! Debug lines (method, URL, status) go to an optional hook; the `Authorization` header, the
//! password, the token and the query of a URL on another origin (a presigned URL's signature)
//! are never passed to it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode, Url};

use super::auth::{parse_challenge, token_from_response, Challenge, Credentials, Secret};
use super::error::OciError;
use super::retry::RetryPolicy;
use super::tls::{certificate_problem, client_certificate_refused, plain_http_answer_to_tls};

/// Connection settings (from `RegistryArgs`).
#[derive(Debug, Clone)]
pub struct TransportOptions {
    pub plain_http: bool,
    pub ca_file: Option<PathBuf>,
    pub insecure_skip_tls_verify: bool,
    /// `--cert-file`/`--key-file`, read and checked.
    pub client_identity: Option<super::tls::ClientIdentity>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retries: u32,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            plain_http: false,
            ca_file: None,
            insecure_skip_tls_verify: false,
            client_identity: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            retries: 4,
        }
    }
}

/// A debug sink (never given secrets). Lines starting with [`NOTICE`] are for every user, not
/// only `--debug` (a retry: CI logs must show why a run took longer); the sink routes them.
pub type DebugHook = Arc<dyn Fn(&str) + Send + Sync>;

/// The prefix of a [`DebugHook`] line that is a notice (shown without `--debug`, not under `-q`).
pub const NOTICE: &str = "notice: ";

/// What a command did on the wire.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub blob_uploads: AtomicU64,
    pub uploaded_bytes: AtomicU64,
}

impl Stats {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
    fn inc(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
    pub fn count_upload(&self, bytes: u64) {
        Stats::inc(&self.blob_uploads, 1);
        Stats::inc(&self.uploaded_bytes, bytes);
    }
}

/// One request; the body is cloned for each attempt (chart blobs are small).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    /// Retry this request itself on failure (off for upload PUTs: the caller restarts the upload).
    pub retry: bool,
    /// Count the body's bytes here as they are handed to the connection (a blob upload's
    /// progress); set to 0 when a send starts.
    pub sent: Option<Arc<AtomicU64>>,
}

/// The size of the pieces a counted body is sent in. The connection queues up to 16 pieces before
/// it waits for the socket, and the socket buffers more: the count runs that far ahead of the
/// bytes the registry has (a small chart's bar fills at once, then waits for the answer).
const UPLOAD_CHUNK: usize = 8 * 1024;

/// A request body sent in [`UPLOAD_CHUNK`] pieces, counting each one as the connection takes it
/// (it takes the next when it can write more, so the count follows the upload, a socket buffer
/// ahead). Its exact size is known, so it goes with a `Content-Length`, as a plain body does.
struct CountedBody {
    rest: bytes::Bytes,
    sent: Arc<AtomicU64>,
}

impl http_body::Body for CountedBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        if self.rest.is_empty() {
            return std::task::Poll::Ready(None);
        }
        let n = self.rest.len().min(UPLOAD_CHUNK);
        let chunk = self.rest.split_to(n);
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.rest.len() as u64)
    }
}

impl Request {
    pub fn new(method: Method, url: String) -> Request {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
            retry: true,
            sent: None,
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into()));
        self
    }
    pub fn body(mut self, body: Vec<u8>) -> Request {
        self.body = Some(body);
        self
    }
    pub fn no_retry(mut self) -> Request {
        self.retry = false;
        self
    }
    /// Count the body's bytes sent in `sent` ([`Request::sent`]).
    pub fn counting(mut self, sent: Arc<AtomicU64>) -> Request {
        self.sent = Some(sent);
        self
    }
}

/// The most redirects followed for one request (curl's and Go's default is more; registries use
/// one: a blob GET to storage).
pub const MAX_REDIRECTS: usize = 5;

/// `scheme://host:port` with the default port filled in: the unit credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    pub fn of(url: &Url) -> Origin {
        Origin {
            scheme: url.scheme().to_ascii_lowercase(),
            host: url.host_str().unwrap_or("").to_ascii_lowercase(),
            port: url.port_or_known_default(),
        }
    }
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}://{}:{p}", self.scheme, self.host),
            None => write!(f, "{}://{}", self.scheme, self.host),
        }
    }
}

/// Why `next` may not be requested after `from` with the credentials of `home`, if it may not
/// at all: a scheme other than http(s), or a step down from https to http.
fn step_refusal(from: &Url, next: &Url) -> Option<String> {
    match next.scheme() {
        "http" if from.scheme() == "https" => Some(
            "it would leave HTTPS for plain HTTP (refused: anything sent could be read on the way)"
                .into(),
        ),
        "http" | "https" => None,
        other => Some(format!("`{other}:` is not HTTP")),
    }
}

/// `given` (absolute, or relative to `base`) if it is on `origin`; else the URL as it may be shown
/// and why it is refused.
pub fn join_on_origin(base: &Url, given: &str, origin: &Origin) -> Result<Url, (String, String)> {
    let url = base
        .join(given)
        .map_err(|e| (given.to_string(), format!("it is not a URL ({e})")))?;
    if let Some(reason) = step_refusal(base, &url) {
        return Err((loggable(&url, origin), reason));
    }
    if Origin::of(&url) != *origin {
        return Err((
            loggable(&url, origin),
            format!(
                "it is on another origin than the registry ({origin}); appkit sends the registry's \
                 requests and credentials only to the registry itself"
            ),
        ));
    }
    Ok(url)
}

/// A URL for a debug line: in full on `home`, without its query elsewhere (a presigned storage
/// URL carries its signature there).
fn loggable(url: &Url, home: &Origin) -> String {
    if Origin::of(url) == *home || url.query().is_none() {
        url.to_string()
    } else {
        let mut u = url.clone();
        u.set_query(None);
        format!("{u}?…")
    }
}

pub struct Transport {
    http: reqwest::Client,
    /// `http(s)://host[:port]`
    pub base: String,
    /// The registry's origin: the only one its credentials are sent to.
    origin: Origin,
    pub registry: String,
    scope: String,
    creds: Option<Credentials>,
    authorization: Mutex<Option<Secret>>,
    policy: RetryPolicy,
    pub stats: Stats,
    debug: Option<DebugHook>,
}

impl Transport {
    /// A transport for `repository` on `registry`; `push` asks for `pull,push` scope.
    pub fn new(
        opts: &TransportOptions,
        registry: &str,
        repository: &str,
        push: bool,
        creds: Option<Credentials>,
        debug: Option<DebugHook>,
    ) -> Result<Transport, OciError> {
        let mut b = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            .user_agent(concat!("helm-appkit/", env!("CARGO_PKG_VERSION")))
            // Redirects are followed by hand (`execute`), to decide per hop what is sent.
            .redirect(reqwest::redirect::Policy::none());
        if let (Some(path), false) = (&opts.ca_file, opts.insecure_skip_tls_verify) {
            let pem = std::fs::read(path).map_err(|source| OciError::CaFile {
                path: path.clone(),
                source,
            })?;
            let bad = |why: String| OciError::ClientSetup {
                reason: format!("{}: {why}", path.display()),
            };
            let certs = super::tls::pem_certificates(&pem).map_err(bad)?;
            let config = super::tls::ca_file_config(certs, opts.client_identity.as_ref());
            b = b.tls_backend_preconfigured(config.map_err(bad)?);
        } else if let Some(id) = &opts.client_identity {
            let identity = id
                .reqwest_identity()
                .map_err(|reason| OciError::ClientSetup { reason })?;
            b = b.identity(identity);
        }
        if opts.insecure_skip_tls_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        if opts.plain_http {
            // No TLS roots are needed for http:// (loading the platform's ~440 root certificates
            // cost ~5 ms per run); a redirect to https:// then fails closed instead of connecting.
            b = b.tls_certs_only(Vec::new());
        }
        let http = b.build().map_err(|e| OciError::ClientSetup {
            reason: e.to_string(),
        })?;
        let scheme = if opts.plain_http { "http" } else { "https" };
        let base = format!("{scheme}://{registry}");
        let origin =
            Url::parse(&base)
                .map(|u| Origin::of(&u))
                .map_err(|e| OciError::ClientSetup {
                    reason: format!("`{registry}` is not a host name ({e})"),
                })?;
        Ok(Transport {
            http,
            base,
            origin,
            registry: registry.to_string(),
            scope: format!(
                "repository:{repository}:{}",
                if push { "pull,push" } else { "pull" }
            ),
            creds,
            authorization: Mutex::new(None),
            policy: RetryPolicy::new(opts.retries),
            stats: Stats::default(),
            debug,
        })
    }

    fn log(&self, msg: &str) {
        if let Some(d) = &self.debug {
            d(msg);
        }
    }

    /// The notice of a whole attempt run again (a body that broke off, a restarted upload), in the
    /// words of a request's retry: "503 from HOST (PUT URL), retry 1 of 2 in 0.2 s".
    pub fn retry_notice(&self, e: &OciError, retry: u32, retries: u32, wait: Duration) {
        let cause = match e {
            OciError::Status {
                method,
                url,
                status,
                ..
            } => format!("{status} from {} ({method} {url})", self.registry),
            OciError::Transport { method, url, .. } => {
                format!("connection error to {} ({method} {url})", self.registry)
            }
            OciError::Body { method, url, .. } => {
                format!("the body broke off from {} ({method} {url})", self.registry)
            }
            other => other.to_string(),
        };
        self.log(&format!(
            "{NOTICE}{cause}, retry {retry} of {retries} in {:.1} s",
            wait.as_secs_f64()
        ));
    }

    /// The URL of a path on this registry (`/v2/…`).
    pub fn registry_url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A URL the registry handed out (`what`: "the upload Location", "the tag list's Link"),
    /// resolved against `base_url`; refused unless it is on the registry's own origin.
    pub fn url(&self, what: &str, base_url: &str, given: &str) -> Result<String, OciError> {
        let refused = |(url, reason): (String, String)| OciError::Refused {
            what: format!("{what} from {}", self.registry),
            url,
            reason,
        };
        let base = Url::parse(base_url).map_err(|e| refused((base_url.into(), e.to_string())))?;
        join_on_origin(&base, given, &self.origin)
            .map(|u| u.to_string())
            .map_err(refused)
    }

    /// When and how often failures are tried again (shared with the client).
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Send with auth handling and retries. Non-success statuses other than 401 are returned to
    /// the caller (after retries, for 5xx/429).
    pub async fn send(&self, req: &Request) -> Result<Response, OciError> {
        // Every registry request is for the registry's origin (URLs it hands out went through
        // `url`); a caller that built one by hand is caught here, before anything is sent.
        let on_registry = Url::parse(&req.url).is_ok_and(|u| Origin::of(&u) == self.origin);
        if !on_registry {
            return Err(OciError::Refused {
                what: format!("a request for {}", self.registry),
                url: req.url.clone(),
                reason: format!("it is not on the registry's origin {}", self.origin),
            });
        }
        let mut authenticated = false;
        loop {
            let auth = self
                .authorization
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let resp = self.execute(req, auth.as_ref()).await?;
            if resp.status() != StatusCode::UNAUTHORIZED {
                return Ok(resp);
            }
            if authenticated {
                let challenge = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if challenge.contains("insufficient_scope") {
                    let who = self.creds.as_ref().map_or("anonymous".to_string(), |c| {
                        format!("user `{}`", c.username)
                    });
                    return Err(OciError::Unauthorized {
                        registry: self.registry.clone(),
                        detail: format!(
                            "{who} lacks the permission `{}` (insufficient_scope)",
                            self.scope
                        ),
                    });
                }
                return Err(self.refused(None));
            }
            let header = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let challenge = header.as_deref().and_then(parse_challenge).ok_or_else(|| {
                OciError::Unauthorized {
                    registry: self.registry.clone(),
                    detail: "401 without a usable WWW-Authenticate challenge".into(),
                }
            })?;
            self.authenticate(challenge).await?;
            authenticated = true;
        }
    }

    fn refused(&self, realm: Option<&str>) -> OciError {
        let who = match &self.creds {
            Some(c) => format!("the credentials of user `{}` were refused", c.username),
            None => "the registry requires credentials and none were found".to_string(),
        };
        let detail = match realm {
            Some(r) => format!("{who} by the token service {r}"),
            None => who,
        };
        OciError::Unauthorized {
            registry: self.registry.clone(),
            detail,
        }
    }

    async fn authenticate(&self, challenge: Challenge) -> Result<(), OciError> {
        let value = match challenge {
            Challenge::Basic => match &self.creds {
                Some(c) => c.basic_header(),
                None => return Err(self.refused(None)),
            },
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let mut url = reqwest::Url::parse(&realm).map_err(|e| OciError::Unauthorized {
                    registry: self.registry.clone(),
                    detail: format!("the token realm `{realm}` is not a URL ({e})"),
                })?;
                self.check_realm(&url)?;
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = &service {
                        q.append_pair("service", s);
                    }
                    q.append_pair("scope", &self.scope);
                    if let Some(extra) =
                        scope.filter(|s| *s != self.scope && !s.starts_with("repository:"))
                    {
                        q.append_pair("scope", &extra);
                    }
                }
                let req = Request::new(Method::GET, url.to_string());
                let basic = self.creds.as_ref().map(|c| Secret::new(c.basic_header()));
                let resp = self.execute(&req, basic.as_ref()).await?;
                let status = resp.status();
                if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                    return Err(self.refused(Some(&realm)));
                }
                if !status.is_success() {
                    return Err(OciError::Unauthorized {
                        registry: self.registry.clone(),
                        detail: format!("the token service {realm} answered {status}"),
                    });
                }
                let body = read_body(resp, MAX_TOKEN_BODY, &Method::GET, &realm).await?;
                let token = token_from_response(&body).ok_or_else(|| OciError::Unauthorized {
                    registry: self.registry.clone(),
                    detail: format!("the token service {realm} sent no `token` or `access_token`"),
                })?;
                format!("Bearer {}", token.expose())
            }
        };
        *self.authorization.lock().unwrap_or_else(|p| p.into_inner()) = Some(Secret::new(value));
        Ok(())
    }

    /// The token realm gets the Basic credentials: it may be another host (over https), but
    /// never plain HTTP when the registry is HTTPS. Plain HTTP is accepted only when the user
    /// marked the registry plain-HTTP (`--plain-http`): an in-cluster Harbor's realm is its
    /// external URL, often another host name.
    fn check_realm(&self, realm: &Url) -> Result<(), OciError> {
        let refused = |reason: String| OciError::Refused {
            what: format!("the token realm of {}", self.registry),
            url: loggable(realm, &Origin::of(realm)),
            reason,
        };
        match realm.scheme() {
            "https" => Ok(()),
            "http" if !self.origin.is_https() => Ok(()),
            "http" => Err(refused(
                "the registry is HTTPS but its token service is plain HTTP: the credentials would cross \
                 the network in clear text"
                    .into(),
            )),
            other => Err(refused(format!("`{other}:` is not HTTP"))),
        }
    }

    /// One request with retries, no auth handshake. `auth` goes only to the origin of
    /// `req.url` (the registry, or the token realm), also across redirects.
    async fn execute(&self, req: &Request, auth: Option<&Secret>) -> Result<Response, OciError> {
        let attempts = self.policy.request_attempts(req.retry);
        let first = Url::parse(&req.url).map_err(|e| OciError::Refused {
            what: format!("a request for {}", self.registry),
            url: req.url.clone(),
            reason: format!("it is not a URL ({e})"),
        })?;
        let home = Origin::of(&first);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut cause = String::from("connection error");
            let wait = match self.follow(req, &first, &home, auth).await? {
                Ok(resp) => {
                    let s = resp.status();
                    if !(s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS)
                        || attempt >= attempts
                    {
                        return Ok(resp);
                    }
                    cause = format!("{} from {}", s.as_u16(), self.registry);
                    retry_after(&resp)
                        .map(|secs| self.policy.retry_after(secs))
                        .unwrap_or_else(|| self.policy.backoff(attempt))
                }
                Err(source) => {
                    // A registry that answers the TLS handshake in plain HTTP speaks plain HTTP:
                    // it will answer the next attempt the same way.
                    if home.is_https() && plain_http_answer_to_tls(&source) {
                        return Err(OciError::WrongProtocol {
                            method: req.method.to_string(),
                            url: req.url.clone(),
                            registry_https: false,
                            evidence: "it answered the TLS handshake with plain HTTP".into(),
                            source: Some(source),
                        });
                    }
                    // A certificate the registry presents is not going to change between attempts.
                    if attempt >= attempts
                        || certificate_problem(&source).is_some()
                        || client_certificate_refused(&source).is_some()
                    {
                        return Err(OciError::Transport {
                            method: req.method.to_string(),
                            url: req.url.clone(),
                            attempts: attempt,
                            source,
                        });
                    }
                    self.policy.backoff(attempt)
                }
            };
            Stats::inc(&self.stats.retries, 1);
            if cause == "connection error" {
                cause = format!("connection error to {}", self.registry);
            }
            self.log(&format!(
                "{NOTICE}{cause} ({} {}), retry {} of {} in {:.1} s",
                req.method,
                loggable(&first, &home),
                attempt,
                attempts - 1,
                wait.as_secs_f64()
            ));
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt of `req`, following redirects by hand: `Authorization` only on `home`, never a
    /// step from https to http, at most [`MAX_REDIRECTS`]. `Err` is a refusal (not retried);
    /// `Ok(Err)` a network error (retried by the caller).
    async fn follow(
        &self,
        req: &Request,
        first: &Url,
        home: &Origin,
        auth: Option<&Secret>,
    ) -> Result<Result<Response, reqwest::Error>, OciError> {
        let mut url = first.clone();
        let mut method = req.method.clone();
        let mut body = req.body.clone();
        let mut hops = 0usize;
        loop {
            let mut headers = HeaderMap::new();
            for (k, v) in &req.headers {
                if let Ok(v) = HeaderValue::from_str(v) {
                    headers.insert(*k, v);
                }
            }
            let at_home = Origin::of(&url) == *home;
            if let (Some(a), true) = (auth, at_home) {
                let mut v = HeaderValue::from_str(a.expose()).map_err(|_| OciError::Credentials {
                    message: "the user name or password contains characters not allowed in HTTP headers".into(),
                })?;
                v.set_sensitive(true);
                headers.insert(AUTHORIZATION, v);
            }
            let mut rb = self
                .http
                .request(method.clone(), url.clone())
                .headers(headers);
            match (&body, &req.sent) {
                (Some(b), Some(sent)) => {
                    sent.store(0, Ordering::Relaxed);
                    rb = rb.body(reqwest::Body::wrap(CountedBody {
                        rest: bytes::Bytes::from(b.clone()),
                        sent: sent.clone(),
                    }));
                }
                (Some(b), None) => rb = rb.body(b.clone()),
                (None, _) => {}
            }
            Stats::inc(&self.stats.requests, 1);
            let shown = loggable(&url, home);
            let resp = match rb.send().await {
                Ok(resp) => resp,
                Err(e) => {
                    self.log(&format!("{method} {shown} → {}", short_error(&e)));
                    return Ok(Err(e));
                }
            };
            let status = resp.status();
            self.log(&format!("{method} {shown} → {}", status.as_u16()));
            let redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok());
            let (true, Some(location)) = (redirect, location) else {
                return Ok(Ok(resp));
            };
            let refused = |to: String, reason: String| OciError::Refused {
                what: format!("the redirect of {method} {shown}"),
                url: to,
                reason,
            };
            let next = url
                .join(location)
                .map_err(|e| refused(location.into(), format!("it is not a URL ({e})")))?;
            if let Some(reason) = step_refusal(&url, &next) {
                return Err(refused(loggable(&next, home), reason));
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(refused(
                    loggable(&next, home),
                    format!("more than {MAX_REDIRECTS} redirects"),
                ));
            }
            // 303 (and 301/302 of a non-GET, as every HTTP client does) continue as a GET.
            if status == StatusCode::SEE_OTHER
                || (matches!(status.as_u16(), 301 | 302)
                    && method != Method::GET
                    && method != Method::HEAD)
            {
                method = Method::GET;
                body = None;
            }
            url = next;
        }
    }

    /// Turn an unexpected answer into an error, with the registry's own message when it sent one.
    /// Over plain HTTP, the 400 a TLS server sends to a plain-HTTP request is
    /// [`OciError::WrongProtocol`].
    pub async fn status_error(&self, method: &Method, url: &str, resp: Response) -> OciError {
        let status = resp.status().as_u16();
        let bare = bare_go_tls_refusal(&resp);
        let body = read_body(resp, MAX_ERROR_BODY, method, url)
            .await
            .unwrap_or_default();
        if !self.origin.is_https() && status == 400 {
            if let Some(evidence) = tls_server_refusal(bare, &body) {
                return OciError::WrongProtocol {
                    method: method.to_string(),
                    url: url.to_string(),
                    registry_https: true,
                    evidence,
                    source: None,
                };
            }
        }
        OciError::Status {
            method: method.to_string(),
            url: url.to_string(),
            status,
            detail: registry_message(&body),
        }
    }
}

/// The largest error body read (only its message is shown).
pub const MAX_ERROR_BODY: u64 = 64 * 1024;
/// The largest token-service answer read.
pub const MAX_TOKEN_BODY: u64 = 1024 * 1024;

/// A response body of at most `limit` bytes, read chunk by chunk: a registry that announces or
/// sends more is refused before it can exhaust memory. A connection that breaks mid-body is
/// [`OciError::Body`].
pub async fn read_body(
    resp: Response,
    limit: u64,
    method: &Method,
    url: &str,
) -> Result<Vec<u8>, OciError> {
    read_body_counted(resp, limit, method, url, &mut |_| {}).await
}

/// [`read_body`], telling `read` the bytes read so far after each chunk (a blob download's
/// progress).
pub async fn read_body_counted(
    mut resp: Response,
    limit: u64,
    method: &Method,
    url: &str,
    read: &mut dyn FnMut(u64),
) -> Result<Vec<u8>, OciError> {
    let too_large = || OciError::TooLarge {
        method: method.to_string(),
        url: url.to_string(),
        limit,
    };
    let announced = resp.content_length();
    if announced.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut buf = Vec::with_capacity(announced.unwrap_or(0) as usize);
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if (buf.len() + chunk.len()) as u64 > limit {
                    return Err(too_large());
                }
                buf.extend_from_slice(&chunk);
                read(buf.len() as u64);
            }
            Ok(None) => return Ok(buf),
            Err(source) => {
                return Err(OciError::Body {
                    method: method.to_string(),
                    url: url.to_string(),
                    attempts: 1,
                    source,
                })
            }
        }
    }
}

/// The seconds of a `Retry-After` header (the policy caps them).
fn retry_after(resp: &Response) -> Option<u64> {
    resp.headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn short_error(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s = format!("{s}: {c}");
        src = c.source();
    }
    s
}

/// True for the answer Go's TLS server (distribution's, Harbor's) gives a plain-HTTP request:
/// `HTTP/1.0 400 Bad Request` with no header at all (its body, not sent for a HEAD, says "Client
/// sent an HTTP request to an HTTPS server."). A registry's own 400 is HTTP/1.1 with headers.
fn bare_go_tls_refusal(resp: &Response) -> bool {
    resp.status() == StatusCode::BAD_REQUEST
        && resp.version() == reqwest::Version::HTTP_10
        && resp.headers().is_empty()
}

/// What shows that a 400 to a plain-HTTP request came from a TLS server, if anything: the
/// words of Go's TLS server or of nginx's TLS port, or Go's bare answer (`bare`) to a HEAD.
fn tls_server_refusal(bare: bool, body: &[u8]) -> Option<String> {
    const TLS_PORT_ANSWERS: [&str; 2] = [
        // Go's crypto/tls server (distribution, Harbor's registry and core).
        "Client sent an HTTP request to an HTTPS server",
        // nginx (a TLS-terminating proxy in front of a registry).
        "The plain HTTP request was sent to HTTPS port",
    ];
    let text = String::from_utf8_lossy(body);
    if let Some(said) = TLS_PORT_ANSWERS.iter().find(|a| text.contains(**a)) {
        return Some(format!("it answered 400 \"{said}\""));
    }
    bare.then(|| {
        "it answered 400 with no headers, as a TLS server answers a plain-HTTP request".to_string()
    })
}

/// The `errors[0].code` of a distribution error body (`NAME_UNKNOWN`), if it is one.
pub fn registry_error_code(body: &[u8]) -> Option<String> {
    let v = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    let code = v
        .get("errors")?
        .as_array()?
        .first()?
        .get("code")?
        .as_str()?;
    let code = code.trim();
    (!code.is_empty()
        && code.len() <= 64
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then(|| code.to_string())
}

/// The first `errors[].message` of a distribution error body, else a short text body.
pub fn registry_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(e) = v
            .get("errors")
            .and_then(|e| e.as_array())
            .and_then(|a| a.first())
        {
            let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
            let msg = e.get("message").and_then(|c| c.as_str()).unwrap_or("");
            return format!("{code} {msg}").trim().to_string();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.len() > 200 || text.contains('<') {
        String::new()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_from_https_to_http_is_refused_and_foreign_queries_are_not_logged() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(
            step_refusal(&u("https://r.example/v2/"), &u("http://r.example/v2/"))
                .unwrap()
                .contains("leave HTTPS")
        );
        assert!(step_refusal(&u("https://r.example/"), &u("https://s3.example/x")).is_none());
        assert!(step_refusal(&u("http://r.example/"), &u("https://r.example/")).is_none());
        assert!(step_refusal(&u("http://r.example/"), &u("file:///etc/passwd")).is_some());
        let home = Origin::of(&u("https://r.example"));
        assert_eq!(home, Origin::of(&u("https://R.example:443/v2/")));
        assert_ne!(home, Origin::of(&u("https://r.example:8443/")));
        assert_ne!(home, Origin::of(&u("http://r.example/")));
        assert_eq!(
            loggable(&u("https://s3.example/b?X-Amz-Signature=s"), &home),
            "https://s3.example/b?…"
        );
        assert_eq!(
            loggable(&u("https://r.example/v2/u?_state=x"), &home),
            "https://r.example/v2/u?_state=x"
        );
    }

    #[test]
    fn registry_messages_are_extracted() {
        let body =
            br#"{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{}}]}"#;
        assert_eq!(registry_message(body), "MANIFEST_INVALID manifest invalid");
        assert_eq!(registry_message(b"<html>nope</html>"), "");
        assert_eq!(registry_message(b"busy\n"), "busy");
        let unknown = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"p/x"}}]}"#;
        assert_eq!(
            registry_error_code(unknown).as_deref(),
            Some("NAME_UNKNOWN")
        );
        assert_eq!(registry_error_code(b"404 page not found"), None);
        assert_eq!(
            registry_error_code(br#"{"errors":[{"code":"has spaces; and more"}]}"#),
            None
        );
    }

    #[test]
    fn a_tls_servers_answer_to_plain_http_is_recognised() {
        let go = b"Client sent an HTTP request to an HTTPS server.\n";
        assert!(tls_server_refusal(false, go)
            .unwrap()
            .contains("HTTPS server"));
        let nginx = b"<html><center>The plain HTTP request was sent to HTTPS port</center></html>";
        assert!(tls_server_refusal(false, nginx).is_some());
        // A HEAD gets no body: Go's bare answer (HTTP/1.0, no headers) is the evidence.
        assert!(tls_server_refusal(true, b"")
            .unwrap()
            .contains("no headers"));
        let registry =
            br#"{"errors":[{"code":"TAG_INVALID","message":"manifest tag did not match URI"}]}"#;
        assert_eq!(tls_server_refusal(false, registry), None);
    }
}
