//! The blocking API client: one ureq agent per `KubeConfig`, bearer-token caching, and
//! the two requests kube-bgp makes (paged LIST and WATCH) plus a plain GET.
//!
//! Owns TLS setup (explicit roots, checked client identity), credentials (sent only
//! over https; a token file is re-read when older than 60 s and right after a 401),
//! and `ClientError`. Must not retry or back off (the reflector in `watch.rs` does) and
//! must never log or format a token or password.

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use rustls_pki_types::PrivateKeyDer;
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};

use super::config::{Auth, KubeConfig};
use super::decoder::{ApiDecodeError, Page, WatchDecoder, decode_list};
use super::objects::{ResourceKind, Status};

/// How long a token read from a file is trusted before it is read again.
pub(crate) const TOKEN_MAX_AGE: Duration = Duration::from_secs(60);

/// A failed request. `what` names the request (`LIST /api/v1/nodes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// No HTTP response: connect, TLS or I/O failure, or a timeout.
    Transport { what: String, error: String },
    /// The server answered with a non-2xx status (`status` is its decoded body, if any).
    Api {
        what: String,
        code: u16,
        status: Option<Status>,
    },
    /// The body could not be decoded.
    Decode { what: String, error: ApiDecodeError },
}

impl ClientError {
    /// HTTP 410 Gone / `Expired`: the resourceVersion or continue token is too old.
    pub(crate) fn is_gone(&self) -> bool {
        matches!(self, ClientError::Api { code: 410, .. })
    }

    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ClientError::Api { code: 401, .. })
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Transport { what, error } => write!(f, "{what}: {error}"),
            ClientError::Api {
                what,
                code,
                status: Some(s),
            } => write!(f, "{what}: HTTP {code} {}: {}", s.reason, s.message),
            ClientError::Api {
                what,
                code,
                status: None,
            } => write!(f, "{what}: HTTP {code}"),
            ClientError::Decode { what, error } => write!(f, "{what}: {error}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Cached credentials shared by all clones of a `Client`.
struct TokenCache {
    token: Option<String>,
    file: Option<PathBuf>,
    read_at: Instant,
    max_age: Duration,
    /// Set by a 401: re-read before the next request.
    stale: bool,
}

impl TokenCache {
    /// The token to send, re-reading the file when stale or old. A failed re-read keeps
    /// the previous token (client-go does the same) and is logged once per attempt.
    fn current(&mut self, now: Instant) -> Option<String> {
        if let Some(path) = &self.file {
            if self.stale || now.duration_since(self.read_at) >= self.max_age {
                match super::config::read_token("bearer token", "tokenFile", path) {
                    Ok(t) => self.token = Some(t),
                    Err(e) => {
                        crate::warn!("kube", "token re-read failed, keeping the old one: {e}")
                    }
                }
                self.read_at = now;
                self.stale = false;
            }
        }
        self.token.clone()
    }
}

/// A cloneable API client (clones share the connection pool and the token cache).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    server: String,
    https: bool,
    basic: Option<String>,
    tokens: Arc<Mutex<TokenCache>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Client {{ server: {:?} }}", self.server)
    }
}

/// ureq's key type can only be built from PEM (its key-kind enum is private), so the
/// checked DER is re-wrapped in the PEM label of its kind.
fn ureq_key(k: &PrivateKeyDer<'_>) -> Option<PrivateKey<'static>> {
    let label = match k {
        PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        PrivateKeyDer::Pkcs8(_) => "PRIVATE KEY",
        PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        _ => return None,
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(k.secret_der());
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    PrivateKey::from_pem(pem.as_bytes()).ok()
}

impl Client {
    /// Builds a client; TLS material was validated when `cfg` was loaded.
    pub fn new(cfg: &KubeConfig) -> Client {
        Client::with_token_max_age(cfg, TOKEN_MAX_AGE)
    }

    /// As `new`, with a different token re-read period (tests).
    pub(crate) fn with_token_max_age(cfg: &KubeConfig, max_age: Duration) -> Client {
        let roots: Vec<Certificate<'static>> = cfg
            .tls
            .ca
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect();
        let client_cert = cfg.tls.client.as_ref().and_then(|id| {
            let chain: Vec<Certificate<'static>> = id
                .chain
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                .collect();
            let key = ureq_key(&id.key);
            if key.is_none() {
                crate::warn!(
                    "kube",
                    "client key of an unsupported kind; sending no certificate"
                );
            }
            key.map(|k| ClientCert::new_with_certs(&chain, k))
        });
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::new_with_certs(&roots))
            .client_cert(client_cert)
            .disable_verification(cfg.tls.insecure_skip_tls_verify)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .user_agent(concat!("kube-bgp/", env!("CARGO_PKG_VERSION")))
            .accept("application/json")
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .max_redirects(0)
            .build()
            .into();
        let https = cfg.is_https();
        let (token, file, basic) = match &cfg.auth {
            Auth::None => (None, None, None),
            Auth::Token { initial, file } => (initial.clone(), file.clone(), None),
            Auth::Basic { username, password } => {
                let raw = format!("{username}:{password}");
                let enc = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
                (None, None, Some(format!("Basic {enc}")))
            }
        };
        Client {
            agent,
            server: cfg.server.clone(),
            https,
            basic,
            tokens: Arc::new(Mutex::new(TokenCache {
                token,
                file,
                read_at: Instant::now(),
                max_age,
                stale: false,
            })),
        }
    }

    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    fn auth_header(&self) -> Option<String> {
        if !self.https {
            return None; // client-go sends no credentials over plain http
        }
        if let Some(b) = &self.basic {
            return Some(b.clone());
        }
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        t.current(Instant::now()).map(|t| format!("Bearer {t}"))
    }

    fn forget_token(&self) {
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        t.stale = true;
    }

    /// Sends one GET; non-2xx statuses come back as `ClientError::Api` (body decoded as
    /// a Status when possible). A 401 marks the token for re-reading.
    fn get(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, &str)],
        body_timeout: Duration,
    ) -> Result<ureq::Body, ClientError> {
        let sent = self.auth_header();
        match self.get_once(what, path, query, body_timeout, sent.clone()) {
            // After a 401 the token file was marked stale: retry once if it now holds a
            // different token (rotation), as the next request would anyway.
            Err(e) if e.is_unauthorized() && sent.is_some() => {
                let fresh = self.auth_header();
                if fresh != sent {
                    crate::info!("kube", "token changed on disk after 401, retrying {what}");
                    self.get_once(what, path, query, body_timeout, fresh)
                } else {
                    Err(e)
                }
            }
            r => r,
        }
    }

    fn get_once(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, &str)],
        body_timeout: Duration,
        auth: Option<String>,
    ) -> Result<ureq::Body, ClientError> {
        let url = format!("{}{}", self.server, path);
        let mut req = self.agent.get(&url);
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        if let Some(h) = auth {
            req = req.header("Authorization", h);
        }
        let resp = req
            .config()
            .timeout_recv_body(Some(body_timeout))
            .build()
            .call()
            .map_err(|e| ClientError::Transport {
                what: what.to_string(),
                error: describe_ureq(&self.server, &e),
            })?;
        let code = resp.status().as_u16();
        let mut body = resp.into_body();
        if (200..300).contains(&code) {
            return Ok(body);
        }
        if code == 401 {
            self.forget_token();
        }
        let status = body
            .with_config()
            .limit(1024 * 1024)
            .read_to_vec()
            .ok()
            .and_then(|b| serde_json::from_slice::<Status>(&b).ok())
            .filter(|s| s.code != 0 || !s.reason.is_empty() || !s.message.is_empty());
        Err(ClientError::Api {
            what: what.to_string(),
            code,
            status,
        })
    }

    /// One LIST page of `kind` (all namespaces). `limit` 0 means unpaged; `cont` is the
    /// previous page's continue token (no resourceVersion is sent with it).
    pub fn list_page(
        &self,
        kind: ResourceKind,
        limit: usize,
        cont: Option<&str>,
    ) -> Result<Page, ClientError> {
        let what = format!("LIST {}", kind.path());
        let limit_s = limit.to_string();
        let mut q: Vec<(&str, &str)> = Vec::new();
        if limit > 0 {
            q.push(("limit", &limit_s));
        }
        if let Some(c) = cont {
            q.push(("continue", c));
        }
        let body = self.get(&what, kind.path(), &q, Duration::from_secs(300))?;
        decode_list(kind, body.into_reader()).map_err(|error| ClientError::Decode { what, error })
    }

    /// Opens a WATCH of `kind` from `resource_version` with bookmarks; the server ends
    /// it after `timeout_secs`. The returned decoder yields events as they arrive.
    pub(crate) fn watch(
        &self,
        kind: ResourceKind,
        resource_version: &str,
        timeout_secs: u64,
    ) -> Result<WatchDecoder<impl Read + use<>>, ClientError> {
        let what = format!("WATCH {}", kind.path());
        let t = timeout_secs.to_string();
        let q = [
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", t.as_str()),
            ("watch", "true"),
        ];
        // A quiet stream is normal; only a stream silent well past the server's own
        // deadline is treated as dead.
        let body_timeout = Duration::from_secs(timeout_secs.saturating_add(60));
        let body = self.get(&what, kind.path(), &q, body_timeout)?;
        Ok(WatchDecoder::new(body.into_reader()))
    }
}

/// A readable one-line description of a ureq failure, with a hint for TLS problems.
fn describe_ureq(server: &str, e: &ureq::Error) -> String {
    let s = e.to_string();
    let tls = matches!(e, ureq::Error::Rustls(_) | ureq::Error::Tls(_))
        || s.contains("certificate")
        || s.contains("alert");
    if tls {
        format!(
            "TLS with {server} failed: {s} (check certificate-authority, the server \
             certificate's validity and names, and the client certificate)"
        )
    } else {
        format!("cannot reach {server}: {s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_cache_rereads_when_old_or_stale() {
        let dir = crate::kube::testpki::TempDir::new("tokcache");
        let f = dir.path().join("token");
        std::fs::write(&f, "one").unwrap();
        let t0 = Instant::now();
        let mut c = TokenCache {
            token: Some("zero".into()),
            file: Some(f.clone()),
            read_at: t0,
            max_age: Duration::from_secs(60),
            stale: false,
        };
        assert_eq!(c.current(t0).as_deref(), Some("zero"));
        assert_eq!(
            c.current(t0 + Duration::from_secs(61)).as_deref(),
            Some("one")
        );
        std::fs::write(&f, "two\n").unwrap();
        let t1 = t0 + Duration::from_secs(62);
        assert_eq!(c.current(t1).as_deref(), Some("one"));
        c.stale = true;
        assert_eq!(c.current(t1).as_deref(), Some("two"));
        // A vanished file keeps the last good token.
        std::fs::remove_file(&f).unwrap();
        c.stale = true;
        assert_eq!(c.current(t1).as_deref(), Some("two"));
    }

    #[test]
    fn errors_display_and_classify() {
        let e = ClientError::Api {
            what: "WATCH /api/v1/nodes".into(),
            code: 410,
            status: Some(Status {
                status: "Failure".into(),
                message: "too old".into(),
                reason: "Expired".into(),
                code: 410,
            }),
        };
        assert!(e.is_gone());
        assert!(!e.is_unauthorized());
        assert_eq!(
            e.to_string(),
            "WATCH /api/v1/nodes: HTTP 410 Expired: too old"
        );
    }
}
