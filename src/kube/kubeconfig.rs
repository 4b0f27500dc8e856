//! kubectl's kubeconfig YAML → `KubeConfig` (current-context only).
//!
//! Owns the YAML field names and their rules: `*-data` fields are base64 PEM and win
//! over the file form, relative paths resolve against the kubeconfig's directory,
//! `token` wins over `tokenFile` (which stays the refresh source), a CA cannot be
//! combined with `insecure-skip-tls-verify`, and exec/auth-provider users are refused.
//! Must not open connections; errors name the file and the YAML field.

use std::path::{Path, PathBuf};

use base64::Engine;
use yaml_rust2::Yaml;

use crate::safe_yaml::{KUBECONFIG_LIMITS, load_first};

use super::config::{
    Auth, KubeConfig, KubeConfigError, TlsSettings, client_identity, field_err, normalize_server,
    parse_ca, read_file, read_token,
};

/// Loads `path`'s current context. `master`, when given, replaces the cluster's server.
pub(crate) fn from_file(path: &Path, master: Option<&str>) -> Result<KubeConfig, KubeConfigError> {
    use std::io::Read;
    let source = format!("kubeconfig {}", path.display());
    let cannot = |e: std::io::Error| field_err(&source, "(file)", format!("cannot read: {e}"));
    // Read at most one byte past the cap: a huge (or endless) file is refused, not
    // loaded.
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(KUBECONFIG_LIMITS.max_bytes as u64 + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    let base = path.parent().unwrap_or(Path::new("."));
    from_str(&text, &source, base, master)
}

/// Parses kubeconfig text; `source` names it in errors, `base` resolves relative paths.
pub fn from_str(
    text: &str,
    source: &str,
    base: &Path,
    master: Option<&str>,
) -> Result<KubeConfig, KubeConfigError> {
    let doc = load_first(text, &KUBECONFIG_LIMITS)
        .map_err(|e| field_err(source, "(yaml)", format!("refused: {e}")))?;
    let doc = &doc;
    let p = Parser { source, base };

    let current = p.opt_str(&doc["current-context"], "current-context")?;
    let current = current
        .filter(|c| !c.is_empty())
        .ok_or_else(|| field_err(source, "current-context", "not set"))?;
    let (ctx, ctx_field) = p.named(doc, "contexts", "context", &current)?;
    let cluster_name = p
        .opt_str(&ctx["cluster"], &format!("{ctx_field}.cluster"))?
        .filter(|c| !c.is_empty())
        .ok_or_else(|| field_err(source, &format!("{ctx_field}.cluster"), "not set"))?;
    let user_name = p
        .opt_str(&ctx["user"], &format!("{ctx_field}.user"))?
        .unwrap_or_default();

    let (cluster, cf) = p.named(doc, "clusters", "cluster", &cluster_name)?;
    let mut tls = TlsSettings {
        insecure_skip_tls_verify: p.opt_bool(
            &cluster["insecure-skip-tls-verify"],
            &format!("{cf}.insecure-skip-tls-verify"),
        )?,
        ..TlsSettings::default()
    };
    if let Some((pem, field)) = p.pem(cluster, &cf, "certificate-authority")? {
        if tls.insecure_skip_tls_verify {
            return Err(field_err(
                source,
                &field,
                "a CA cannot be combined with insecure-skip-tls-verify: true",
            ));
        }
        tls.ca = parse_ca(source, &field, &pem)?;
    }

    let mut auth = Auth::None;
    if !user_name.is_empty() {
        let (user, uf) = p.named(doc, "users", "user", &user_name)?;
        for plugin in ["exec", "auth-provider"] {
            if !user[plugin].is_badvalue() && !user[plugin].is_null() {
                return Err(field_err(
                    source,
                    &format!("{uf}.{plugin}"),
                    "credential plugins are not supported; use token, tokenFile or \
                     client-certificate/client-key (kube-router's in-cluster setup needs none)",
                ));
            }
        }
        let cert = p.pem(user, &uf, "client-certificate")?;
        let key = p.pem(user, &uf, "client-key")?;
        match (cert, key) {
            (Some((c, cfield)), Some((k, kfield))) => {
                tls.client = Some(client_identity(source, &cfield, &c, &kfield, &k)?);
            }
            (Some((_, f)), None) => {
                return Err(field_err(source, &f, "given without client-key"));
            }
            (None, Some((_, f))) => {
                return Err(field_err(source, &f, "given without client-certificate"));
            }
            (None, None) => {}
        }
        let token = p
            .opt_str(&user["token"], &format!("{uf}.token"))?
            .filter(|t| !t.is_empty());
        let token_file = p
            .opt_str(&user["tokenFile"], &format!("{uf}.tokenFile"))?
            .filter(|t| !t.is_empty())
            .map(|f| p.resolve(&f));
        let username = p
            .opt_str(&user["username"], &format!("{uf}.username"))?
            .unwrap_or_default();
        let password = p
            .opt_str(&user["password"], &format!("{uf}.password"))?
            .unwrap_or_default();
        if token.is_some() || token_file.is_some() {
            let initial = match (&token, &token_file) {
                (Some(t), _) => t.clone(),
                (None, Some(f)) => read_token(source, &format!("{uf}.tokenFile"), f)?,
                (None, None) => String::new(),
            };
            auth = Auth::Token {
                initial: Some(initial),
                file: token_file,
            };
        } else if !username.is_empty() {
            auth = Auth::Basic { username, password };
        }
    }

    let tls_configured = !tls.ca.is_empty() || tls.client.is_some() || tls.insecure_skip_tls_verify;
    let server = match master.filter(|m| !m.trim().is_empty()) {
        Some(m) => normalize_server(source, "--master", m, tls_configured)?,
        None => {
            let field = format!("{cf}.server");
            let s = p
                .opt_str(&cluster["server"], &field)?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| field_err(source, &field, "not set"))?;
            normalize_server(source, &field, &s, tls_configured)?
        }
    };
    if server.starts_with("https://") && tls.ca.is_empty() && !tls.insecure_skip_tls_verify {
        return Err(field_err(
            source,
            &format!("{cf}.certificate-authority"),
            "an https server needs certificate-authority or certificate-authority-data \
             (or insecure-skip-tls-verify: true); there are no system roots",
        ));
    }
    Ok(KubeConfig {
        server,
        tls,
        auth,
        origin: source.to_string(),
    })
}

struct Parser<'a> {
    source: &'a str,
    base: &'a Path,
}

impl Parser<'_> {
    fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    fn opt_str(&self, y: &Yaml, field: &str) -> Result<Option<String>, KubeConfigError> {
        match y {
            Yaml::BadValue | Yaml::Null => Ok(None),
            Yaml::String(s) => Ok(Some(s.clone())),
            // Unquoted scalars YAML reads as numbers or booleans (e.g. a numeric token).
            Yaml::Integer(i) => Ok(Some(i.to_string())),
            Yaml::Real(r) => Ok(Some(r.clone())),
            Yaml::Boolean(b) => Ok(Some(b.to_string())),
            _ => Err(field_err(self.source, field, "expected a string")),
        }
    }

    fn opt_bool(&self, y: &Yaml, field: &str) -> Result<bool, KubeConfigError> {
        match y {
            Yaml::BadValue | Yaml::Null => Ok(false),
            Yaml::Boolean(b) => Ok(*b),
            Yaml::String(s) if s == "true" => Ok(true),
            Yaml::String(s) if s == "false" => Ok(false),
            _ => Err(field_err(self.source, field, "expected true or false")),
        }
    }

    /// Finds `list[name=…].inner` (e.g. `clusters[x].cluster`); returns it and its
    /// field path for errors.
    fn named<'y>(
        &self,
        doc: &'y Yaml,
        list: &str,
        inner: &str,
        name: &str,
    ) -> Result<(&'y Yaml, String), KubeConfigError> {
        let items = match &doc[list] {
            Yaml::Array(a) => a.as_slice(),
            Yaml::BadValue | Yaml::Null => &[],
            _ => return Err(field_err(self.source, list, "expected a list")),
        };
        let found = items
            .iter()
            .find(|i| i["name"].as_str() == Some(name))
            .ok_or_else(|| field_err(self.source, list, format!("no entry named {name:?}")))?;
        let field = format!("{list}[{name}].{inner}");
        match &found[inner] {
            Yaml::Hash(_) => Ok((&found[inner], field)),
            // An empty user (`user: {}` written as `user:`) is legal.
            Yaml::Null | Yaml::BadValue if inner == "user" => Ok((&Yaml::Null, field)),
            _ => Err(field_err(self.source, &field, "missing or not a mapping")),
        }
    }

    /// `name-data` (base64 PEM) if set, else the file `name`; returns the PEM and the
    /// field it came from.
    fn pem(
        &self,
        y: &Yaml,
        prefix: &str,
        name: &str,
    ) -> Result<Option<(Vec<u8>, String)>, KubeConfigError> {
        let data_field = format!("{prefix}.{name}-data");
        if let Some(d) = self.opt_str(&y[format!("{name}-data").as_str()], &data_field)? {
            if !d.is_empty() {
                let compact: String = d.chars().filter(|c| !c.is_whitespace()).collect();
                let pem = base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .map_err(|e| field_err(self.source, &data_field, format!("bad base64: {e}")))?;
                return Ok(Some((pem, data_field)));
            }
        }
        let file_field = format!("{prefix}.{name}");
        match self.opt_str(&y[name], &file_field)? {
            Some(f) if !f.is_empty() => {
                let pem = read_file(self.source, &file_field, &self.resolve(&f))?;
                Ok(Some((pem, file_field)))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::testpki::{Pki, TempDir};

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    fn parse(text: &str, base: &Path) -> Result<KubeConfig, KubeConfigError> {
        from_str(text, "kubeconfig K", base, None)
    }

    #[test]
    fn token_and_ca_data() {
        let pki = Pki::get();
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c1\n\
             contexts:\n- name: c0\n  context: {{cluster: x, user: y}}\n\
             - name: c1\n  context:\n    cluster: k\n    user: admin\n\
             clusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:6443/\n    \
             certificate-authority-data: {}\n\
             users:\n- name: admin\n  user:\n    token: abc.def\n",
            b64(pki.ca_pem)
        );
        let c = parse(&text, Path::new("/nowhere")).unwrap();
        assert_eq!(c.server, "https://127.0.0.1:6443");
        assert_eq!(c.tls.ca.len(), 1);
        assert_eq!(
            c.auth,
            Auth::Token {
                initial: Some("abc.def".into()),
                file: None
            }
        );
        assert!(!format!("{c:?}").contains("abc.def"));
        let c = from_str(&text, "K", Path::new("/"), Some("https://10.1.1.1:443")).unwrap();
        assert_eq!(c.server, "https://10.1.1.1:443");
    }

    #[test]
    fn relative_files_resolve_against_kubeconfig_dir() {
        let pki = Pki::get();
        let dir = TempDir::new("kc-rel");
        std::fs::create_dir(dir.path().join("pki")).unwrap();
        std::fs::write(dir.path().join("pki/ca.pem"), pki.ca_pem).unwrap();
        std::fs::write(dir.path().join("pki/client.pem"), pki.client_cert_pem).unwrap();
        std::fs::write(dir.path().join("pki/client.key"), pki.client_key_pem).unwrap();
        std::fs::write(dir.path().join("tok"), "  t0k \n").unwrap();
        let kc = dir.path().join("config");
        std::fs::write(
            &kc,
            "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n\
             clusters:\n- name: k\n  cluster: {server: 'https://localhost:1', certificate-authority: pki/ca.pem}\n\
             users:\n- name: u\n  user:\n    client-certificate: pki/client.pem\n    \
             client-key: pki/client.key\n    tokenFile: tok\n",
        )
        .unwrap();
        let c = from_file(&kc, None).unwrap();
        assert!(c.tls.client.is_some());
        assert_eq!(
            c.auth,
            Auth::Token {
                initial: Some("t0k".into()),
                file: Some(dir.path().join("tok"))
            }
        );
        assert!(c.origin.contains("config"));
    }

    #[test]
    fn errors_name_file_and_field() {
        let pki = Pki::get();
        let base = Path::new("/nonexistent-dir");
        let head = "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n";
        let cases: Vec<(String, &str)> = vec![
            ("kind: Config\n".into(), "current-context"),
            (
                "current-context: zz\ncontexts: []\n".into(),
                "contexts: no entry named \"zz\"",
            ),
            (
                format!(
                    "{head}clusters:\n- name: k\n  cluster: {{}}\nusers: [{{name: u, user: {{}}}}]\n"
                ),
                "clusters[k].cluster.server: not set",
            ),
            (
                format!(
                    "{head}clusters:\n- name: k\n  cluster: {{server: 'https://h:1', certificate-authority: ca.pem}}\n"
                ),
                "clusters[k].cluster.certificate-authority: cannot read /nonexistent-dir/ca.pem",
            ),
            (
                format!(
                    "{head}clusters:\n- name: k\n  cluster: {{server: 'https://h:1'}}\nusers: [{{name: u}}]\n"
                ),
                "clusters[k].cluster.certificate-authority: an https server needs",
            ),
            (
                format!(
                    "{head}clusters:\n- name: k\n  cluster: {{server: 'https://h:1', insecure-skip-tls-verify: true}}\n\
                     users:\n- name: u\n  user:\n    exec: {{command: aws}}\n"
                ),
                "users[u].user.exec: credential plugins are not supported",
            ),
            (
                format!(
                    "{head}clusters:\n- name: k\n  cluster: {{server: 'https://h:1', insecure-skip-tls-verify: true}}\n\
                     users:\n- name: u\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
                    b64(pki.client_cert_pem),
                    b64(pki.other_key_pem)
                ),
                "users[u].user.client-key-data: private key does not fit",
            ),
            (
                format!(
                    "{head}clusters:\n- name: k\n  cluster: {{server: 'https://h:1', insecure-skip-tls-verify: true, \
                     certificate-authority-data: {}}}\n",
                    b64(pki.ca_pem)
                ),
                "certificate-authority-data: a CA cannot be combined",
            ),
            (
                format!(
                    "{head}clusters:\n- name: k\n  cluster: {{server: 'h:1', certificate-authority-data: '!!'}}\n"
                ),
                "clusters[k].cluster.certificate-authority-data: bad base64",
            ),
            ("a: [".into(), "(yaml): refused: invalid YAML"),
            // Anchors and aliases: refused (an alias bomb would exhaust memory).
            (
                format!(
                    "{head}base: &b {{server: 'https://h:1'}}\nclusters:\n- name: k\n  cluster: *b\n"
                ),
                "(yaml): refused: YAML anchors and aliases",
            ),
            (
                format!("{head}x: {}1{}\n", "[".repeat(40), "]".repeat(40)),
                "(yaml): refused: nested deeper than 32 levels",
            ),
        ];
        for (text, want) in cases {
            let e = parse(&text, base).unwrap_err().to_string();
            assert!(e.starts_with("kubeconfig K: "), "{e}");
            assert!(e.contains(want), "want {want:?} in {e:?}");
        }
        let e = from_file(Path::new("/nonexistent/kc"), None).unwrap_err();
        assert!(e.to_string().contains("kubeconfig /nonexistent/kc"), "{e}");
        // An endless file is read only up to the cap, then refused.
        let e = from_file(Path::new("/dev/zero"), None).unwrap_err();
        assert!(e.to_string().contains("bytes, more than the"), "{e}");
    }

    #[test]
    fn plain_http_and_basic_auth() {
        let text = "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n\
                    clusters:\n- name: k\n  cluster: {server: '127.0.0.1:8080'}\n\
                    users:\n- name: u\n  user: {username: bob, password: s3cret}\n";
        let c = parse(text, Path::new("/")).unwrap();
        assert_eq!(c.server, "http://127.0.0.1:8080");
        assert!(!c.is_https());
        assert!(matches!(&c.auth, Auth::Basic { username, .. } if username == "bob"));
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
