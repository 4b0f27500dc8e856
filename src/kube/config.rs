//! How to reach the API server: the validated `KubeConfig`, and choosing its source
//! the way kube-router does (`--kubeconfig`, `--master`, else in-cluster).
//!
//! Owns the in-cluster loader, PEM/TLS material checks (a client certificate and key
//! must belong together, CA certificates must parse) and `KubeConfigError`. YAML parsing
//! lives in `kubeconfig.rs`. Must not open connections, and must never put a token,
//! password or key into an error message or `Debug` output.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Default directory of the service-account token and CA when running in a pod.
pub(crate) const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Environment variable that overrides `SERVICE_ACCOUNT_DIR` (for tests and unusual
/// mounts).
pub(crate) const SERVICE_ACCOUNT_DIR_ENV: &str = "KUBE_BGP_SERVICEACCOUNT_DIR";

/// A configuration error. Every variant names the file (or source) and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeConfigError {
    /// `source` is e.g. `kubeconfig /etc/k.yaml` or `in-cluster`; `field` the YAML path
    /// or file role (`users[admin].user.client-key`, `token`).
    Field {
        source: String,
        field: String,
        problem: String,
    },
    /// Neither `--kubeconfig` nor `--master` given and not running in a pod.
    NotInCluster,
}

impl fmt::Display for KubeConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KubeConfigError::Field {
                source,
                field,
                problem,
            } => write!(f, "{source}: {field}: {problem}"),
            KubeConfigError::NotInCluster => write!(
                f,
                "no API server configured: give --kubeconfig or --master, or run in a pod \
                 (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)"
            ),
        }
    }
}

impl std::error::Error for KubeConfigError {}

pub(crate) fn field_err(source: &str, field: &str, problem: impl Into<String>) -> KubeConfigError {
    KubeConfigError::Field {
        source: source.to_string(),
        field: field.to_string(),
        problem: problem.into(),
    }
}

/// Bearer-token or basic credentials. Attached only over `https://` (as client-go).
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    None,
    /// `initial` is used first; `file`, when set, is re-read at least every 60 s and
    /// after any 401.
    Token {
        initial: Option<String>,
        file: Option<PathBuf>,
    },
    Basic {
        username: String,
        password: String,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => write!(f, "None"),
            Auth::Token { initial, file } => write!(
                f,
                "Token {{ initial: {}, file: {:?} }}",
                if initial.is_some() { "<set>" } else { "<none>" },
                file
            ),
            Auth::Basic { username, .. } => write!(f, "Basic {{ username: {username:?} }}"),
        }
    }
}

/// A client certificate chain and its private key, checked to belong together.
#[derive(Clone)]
pub(crate) struct ClientIdentity {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: Arc<PrivateKeyDer<'static>>,
}

impl PartialEq for ClientIdentity {
    fn eq(&self, o: &Self) -> bool {
        self.chain == o.chain && self.key.secret_der() == o.key.secret_der()
    }
}
impl Eq for ClientIdentity {}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ClientIdentity {{ certs: {}, key: <hidden> }}",
            self.chain.len()
        )
    }
}

/// TLS settings for the API server connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// Trusted roots (DER). Empty with `https://` and no `insecure` is an error at load.
    pub(crate) ca: Vec<CertificateDer<'static>>,
    pub(crate) client: Option<ClientIdentity>,
    pub(crate) insecure_skip_tls_verify: bool,
}

/// A validated API server configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeConfig {
    /// `https://host:port[/prefix]` or `http://…`, without a trailing `/`.
    pub(crate) server: String,
    pub(crate) tls: TlsSettings,
    pub(crate) auth: Auth,
    /// Where it came from, for logs: `kubeconfig /path` or `in-cluster /dir`.
    pub(crate) origin: String,
}

impl KubeConfig {
    pub(crate) fn is_https(&self) -> bool {
        self.server.starts_with("https://")
    }

    /// What makes this connection unsafe, to be logged loudly at start: the API server's
    /// certificate not verified, or no TLS at all. Empty when it is sound.
    pub(crate) fn security_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.tls.insecure_skip_tls_verify {
            out.push(format!(
                "INSECURE: {}: insecure-skip-tls-verify is set, so the API server's certificate \
                 is NOT verified; anyone on the path to {} can impersonate the API server, \
                 read this node's credentials and dictate its peers and routes; set \
                 certificate-authority(-data) instead",
                self.origin, self.server
            ));
        }
        if !self.is_https() {
            out.push(format!(
                "INSECURE: {}: the API server {} is plain http: credentials and cluster data \
                 travel unencrypted and unauthenticated",
                self.origin, self.server
            ));
        }
        out
    }
}

/// Loads the configuration as kube-router does: `--kubeconfig` (with `--master`
/// overriding its server), else in-cluster files with `--master` as the server, else
/// in-cluster from `KUBERNETES_SERVICE_HOST`/`_PORT`. The service-account directory can
/// be moved with `KUBE_BGP_SERVICEACCOUNT_DIR`.
pub fn load(
    kubeconfig: Option<&Path>,
    master: Option<&str>,
) -> Result<KubeConfig, KubeConfigError> {
    let env = |k: &str| std::env::var(k).ok();
    let sa_dir = env(SERVICE_ACCOUNT_DIR_ENV).unwrap_or_else(|| SERVICE_ACCOUNT_DIR.into());
    load_with(kubeconfig, master, &env, Path::new(&sa_dir))
}

/// `load` with the environment and service-account directory given explicitly.
pub(crate) fn load_with(
    kubeconfig: Option<&Path>,
    master: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    sa_dir: &Path,
) -> Result<KubeConfig, KubeConfigError> {
    let master = master.map(str::trim).filter(|m| !m.is_empty());
    if let Some(path) = kubeconfig {
        return super::kubeconfig::from_file(path, master);
    }
    let server = match master {
        Some(m) => m.to_string(),
        None => {
            let host = env("KUBERNETES_SERVICE_HOST").unwrap_or_default();
            let port = env("KUBERNETES_SERVICE_PORT").unwrap_or_default();
            let (host, port) = (host.trim(), port.trim());
            if host.is_empty() || port.is_empty() {
                return Err(KubeConfigError::NotInCluster);
            }
            if host.contains(':') {
                format!("https://[{host}]:{port}")
            } else {
                format!("https://{host}:{port}")
            }
        }
    };
    in_cluster(&server, sa_dir)
}

/// In-cluster credentials (`token`, `ca.crt` in `sa_dir`) for `server`. Over plain
/// `http://` (only reachable through `--master`) missing files are tolerated, since no
/// credentials are sent there anyway.
pub(crate) fn in_cluster(server: &str, sa_dir: &Path) -> Result<KubeConfig, KubeConfigError> {
    let origin = format!("in-cluster {}", sa_dir.display());
    let token_path = sa_dir.join("token");
    let ca_path = sa_dir.join("ca.crt");
    let plain_http = server.starts_with("http://");
    let tls_configured = !plain_http;
    let server = normalize_server(&origin, "--master", server, tls_configured)?;
    let mut tls = TlsSettings::default();
    let mut auth = Auth::None;
    if server.starts_with("https://") {
        let token = read_token(&origin, "token", &token_path)?;
        auth = Auth::Token {
            initial: Some(token),
            file: Some(token_path),
        };
        let pem = read_file(&origin, "ca.crt", &ca_path)?;
        tls.ca = parse_ca(&origin, "ca.crt", &pem)?;
    }
    Ok(KubeConfig {
        server,
        tls,
        auth,
        origin,
    })
}

/// Reads a whole file; the error names `field` and the path.
/// Largest certificate, key or token file read (they are a few kilobytes).
const MAX_CREDENTIAL_FILE: u64 = 1024 * 1024;

/// Reads a certificate, key or token file, refusing one over `MAX_CREDENTIAL_FILE` (a
/// path to `/dev/zero` or a huge file is an error, not an endless read).
pub(crate) fn read_file(
    source: &str,
    field: &str,
    path: &Path,
) -> Result<Vec<u8>, KubeConfigError> {
    use std::io::Read;
    let cannot = |e: std::io::Error| {
        field_err(
            source,
            field,
            format!("cannot read {}: {e}", path.display()),
        )
    };
    let mut out = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_CREDENTIAL_FILE + 1)
        .read_to_end(&mut out)
        .map_err(cannot)?;
    if out.len() as u64 > MAX_CREDENTIAL_FILE {
        return Err(field_err(
            source,
            field,
            format!(
                "{} is larger than {MAX_CREDENTIAL_FILE} bytes; not a credential file",
                path.display()
            ),
        ));
    }
    Ok(out)
}

/// Reads a bearer token file (whitespace trimmed, must not be empty).
pub(crate) fn read_token(
    source: &str,
    field: &str,
    path: &Path,
) -> Result<String, KubeConfigError> {
    let bytes = read_file(source, field, path)?;
    let s = String::from_utf8(bytes).map_err(|_| {
        field_err(
            source,
            field,
            format!("{} is not UTF-8 text", path.display()),
        )
    })?;
    let t = s.trim();
    if t.is_empty() {
        return Err(field_err(
            source,
            field,
            format!("{} is empty", path.display()),
        ));
    }
    Ok(t.to_string())
}

/// Checks and normalises a server URL. Without a scheme, `https://` is assumed when
/// TLS material is configured, else `http://` (client-go's rule).
pub(crate) fn normalize_server(
    source: &str,
    field: &str,
    url: &str,
    tls_configured: bool,
) -> Result<String, KubeConfigError> {
    let url = url.trim();
    let full = if url.contains("://") {
        url.to_string()
    } else if tls_configured {
        format!("https://{url}")
    } else {
        format!("http://{url}")
    };
    let rest = full
        .strip_prefix("https://")
        .or_else(|| full.strip_prefix("http://"))
        .ok_or_else(|| {
            field_err(
                source,
                field,
                format!("{url:?} is not an http:// or https:// URL"),
            )
        })?;
    let host = rest.split('/').next().unwrap_or("");
    let full = full.trim_end_matches('/').to_string();
    if host.is_empty() || host.contains(['?', '#', '@', ' ']) {
        return Err(field_err(
            source,
            field,
            format!("{url:?} has no usable host"),
        ));
    }
    Ok(full)
}

/// Parses one or more PEM CA certificates and checks they make valid trust anchors.
pub(crate) fn parse_ca(
    source: &str,
    field: &str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, KubeConfigError> {
    let certs = parse_certs(source, field, pem)?;
    let mut store = rustls::RootCertStore::empty();
    for c in &certs {
        store
            .add(c.clone())
            .map_err(|e| field_err(source, field, format!("not a usable CA certificate: {e}")))?;
    }
    Ok(certs)
}

pub(crate) fn parse_certs(
    source: &str,
    field: &str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, KubeConfigError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| field_err(source, field, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(field_err(source, field, "no PEM CERTIFICATE found"));
    }
    Ok(certs)
}

/// Builds a client identity, checking the key parses, is a type ring can sign with,
/// and matches the first certificate (ureq would panic at request time otherwise).
pub(crate) fn client_identity(
    source: &str,
    cert_field: &str,
    cert_pem: &[u8],
    key_field: &str,
    key_pem: &[u8],
) -> Result<ClientIdentity, KubeConfigError> {
    let chain = parse_certs(source, cert_field, cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| field_err(source, key_field, format!("no usable PEM private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| field_err(source, key_field, format!("TLS setup failed: {e}")))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_client_auth_cert(chain.clone(), key.clone_key())
        .map_err(|e| {
            field_err(
                source,
                key_field,
                format!("private key does not fit the certificate in {cert_field}: {e}"),
            )
        })?;
    Ok(ClientIdentity {
        chain,
        key: Arc::new(key),
    })
}

/// This node's name, as kube-router finds it: `--hostname-override`, else `NODE_NAME`,
/// else the host name. Empty values are skipped.
pub(crate) fn local_node_name(hostname_override: Option<&str>) -> String {
    let env = std::env::var("NODE_NAME").ok();
    pick_node_name(hostname_override, env.as_deref(), host_name)
}

fn pick_node_name(
    hostname_override: Option<&str>,
    env: Option<&str>,
    host: fn() -> String,
) -> String {
    [hostname_override, env]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(host)
}

/// The kernel's host name (`gethostname`), empty if unavailable.
pub(crate) fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for buf.len() bytes; gethostname writes at most that many
    // and we look only up to the first NUL within the buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod security_warning_tests {
    use super::*;

    #[test]
    fn credential_files_are_read_with_a_cap() {
        let e = read_file(
            "kubeconfig K",
            "users[u].user.tokenFile",
            Path::new("/dev/zero"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("/dev/zero is larger than"), "{e}");
    }

    #[test]
    fn insecure_settings_are_named() {
        let mut c = KubeConfig {
            server: "https://10.0.0.1:6443".into(),
            tls: TlsSettings::default(),
            auth: Auth::None,
            origin: "kubeconfig /k".into(),
        };
        assert!(c.security_warnings().is_empty());
        c.tls.insecure_skip_tls_verify = true;
        let w = c.security_warnings();
        assert_eq!(w.len(), 1);
        assert!(
            w[0].starts_with("INSECURE: kubeconfig /k: insecure-skip-tls-verify"),
            "{w:?}"
        );
        c.tls.insecure_skip_tls_verify = false;
        c.server = "http://10.0.0.1:8080".into();
        assert!(c.security_warnings()[0].contains("plain http"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_name_precedence() {
        let h = || "host-x".to_string();
        assert_eq!(pick_node_name(Some("ovr"), Some("env"), h), "ovr");
        assert_eq!(pick_node_name(Some(" "), Some("env"), h), "env");
        assert_eq!(pick_node_name(None, None, h), "host-x");
        assert!(!host_name().is_empty());
    }

    #[test]
    fn normalize() {
        assert_eq!(
            normalize_server("s", "f", "https://h:6443/", false).unwrap(),
            "https://h:6443"
        );
        assert_eq!(
            normalize_server("s", "f", "h:6443", true).unwrap(),
            "https://h:6443"
        );
        assert_eq!(
            normalize_server("s", "f", "h:8080", false).unwrap(),
            "http://h:8080"
        );
        let e = normalize_server("kc", "clusters[c].cluster.server", "ftp://x", true).unwrap_err();
        assert!(
            e.to_string().starts_with("kc: clusters[c].cluster.server:"),
            "{e}"
        );
        assert!(normalize_server("s", "f", "https://", true).is_err());
    }

    #[test]
    fn not_in_cluster_without_env() {
        let env = |_: &str| None;
        let e = load_with(None, None, &env, Path::new("/nonexistent")).unwrap_err();
        assert_eq!(e, KubeConfigError::NotInCluster);
    }

    #[test]
    fn in_cluster_reads_token_and_ca() {
        let dir = crate::kube::testpki::TempDir::new("incluster");
        let pki = crate::kube::testpki::Pki::get();
        std::fs::write(dir.path().join("token"), "tok-1\n").unwrap();
        std::fs::write(dir.path().join("ca.crt"), pki.ca_pem).unwrap();
        let env = |k: &str| match k {
            "KUBERNETES_SERVICE_HOST" => Some("fd00::1".to_string()),
            "KUBERNETES_SERVICE_PORT" => Some("443".to_string()),
            _ => None,
        };
        let c = load_with(None, None, &env, dir.path()).unwrap();
        assert_eq!(c.server, "https://[fd00::1]:443");
        assert_eq!(c.tls.ca.len(), 1);
        assert_eq!(
            c.auth,
            Auth::Token {
                initial: Some("tok-1".into()),
                file: Some(dir.path().join("token"))
            }
        );
        // --master overrides the server but keeps the service-account credentials.
        let c = load_with(None, Some("https://10.0.0.1:6443"), &env, dir.path()).unwrap();
        assert_eq!(c.server, "https://10.0.0.1:6443");
        assert!(matches!(c.auth, Auth::Token { .. }));
        // Debug output hides the token.
        assert!(!format!("{c:?}").contains("tok-1"));
    }

    #[test]
    fn in_cluster_missing_token_names_file() {
        let dir = crate::kube::testpki::TempDir::new("incluster-missing");
        let e = in_cluster("https://h:1", dir.path()).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("token") && s.contains("cannot read"), "{s}");
        // Plain http needs no files.
        let c = in_cluster("http://127.0.0.1:8080", dir.path()).unwrap();
        assert_eq!(c.auth, Auth::None);
    }

    #[test]
    fn client_identity_checks_pair() {
        let pki = crate::kube::testpki::Pki::get();
        client_identity("s", "cert", pki.client_cert_pem, "key", pki.client_key_pem).unwrap();
        let e = client_identity("s", "cert", pki.client_cert_pem, "key", pki.other_key_pem)
            .unwrap_err();
        assert!(e.to_string().contains("does not fit"), "{e}");
        let e = client_identity("s", "cert", b"junk", "key", pki.client_key_pem).unwrap_err();
        assert!(e.to_string().contains("s: cert:"), "{e}");
        let e = client_identity("s", "cert", pki.client_cert_pem, "key", b"").unwrap_err();
        assert!(e.to_string().contains("s: key:"), "{e}");
    }
}
