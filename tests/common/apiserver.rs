//! Launcher for the project's fake Kubernetes API server (tests/apiserver/fake_apiserver.py)
//! in integration tests: starts it (on loopback or inside a test namespace), exposes its
//! URL, kubeconfigs and certificates, runs the real `kubectl` against it, calls its
//! /__test/ hooks, and kills it and removes its state directory on drop.
//!
//! It uses only std and libc and never talks HTTPS itself: hooks and raw requests go
//! through the script's own `call` sub-command (admin client certificate).
#![allow(dead_code)]

use super::{Netns, require_tool, wait_for};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static DIR_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Path of the server script.
pub fn script() -> &'static str {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/apiserver/fake_apiserver.py"
    )
}

/// True when python3 and openssl are present; otherwise skips loudly (panics
/// under CI=true, like `require_tool`).
pub fn available(test: &str) -> bool {
    require_tool(test, "python3") && require_tool(test, "openssl")
}

/// Escapes a string for a JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A running fake API server, stopped (SIGTERM, then SIGKILL) and cleaned up on drop.
pub struct FakeApiServer {
    child: Option<Child>,
    dir: PathBuf,
    netns: Option<String>,
    host_port: String,
}

impl FakeApiServer {
    /// Starts the server on `listen_ip` (port chosen by the kernel), inside `netns` when
    /// given. Panics (with the server's stderr) if it is not listening within 30 s.
    pub fn start(listen_ip: &str, netns: Option<&Netns>) -> FakeApiServer {
        FakeApiServer::start_with(listen_ip, netns, &[])
    }

    /// Same, with extra `serve` flags, e.g. `["--bookmark-interval", "0.5"]`.
    pub fn start_with(listen_ip: &str, netns: Option<&Netns>, extra: &[&str]) -> FakeApiServer {
        let k = DIR_COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("kb-apiserver-{}-{k}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let stdout = std::fs::File::create(dir.join("stdout.log")).expect("create stdout.log");
        let stderr = std::fs::File::create(dir.join("stderr.log")).expect("create stderr.log");
        let mut cmd = match netns {
            Some(ns) => ns.command("python3"),
            None => Command::new("python3"),
        };
        cmd.arg(script())
            .args(["serve", "--state-dir"])
            .arg(&dir)
            .args(["--listen", listen_ip])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start fake apiserver: {e}"));
        let mut srv = FakeApiServer {
            child: Some(child),
            dir,
            netns: netns.map(|n| n.name.clone()),
            host_port: String::new(),
        };
        let addr_file = srv.dir.join("address");
        let port_file = srv.dir.join("port");
        // Start-up runs openssl several times (CA and certificates); inside a VM under
        // TCG on a loaded host that alone has taken over 30 s.
        let limit = Duration::from_secs(if super::vm::in_vm() { 180 } else { 30 });
        let ready = wait_for(limit, || {
            if let Some(c) = srv.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    return Some(Err(format!("exited with {st}")));
                }
            }
            if port_file.exists() {
                let a = std::fs::read_to_string(&addr_file).ok()?;
                return Some(Ok(a.trim().to_string()));
            }
            None
        });
        match ready {
            Some(Ok(a)) => srv.host_port = a,
            other => {
                let err = std::fs::read_to_string(srv.dir.join("stderr.log")).unwrap_or_default();
                panic!("fake apiserver did not start ({other:?}); stderr:\n{err}");
            }
        }
        srv
    }

    /// `https://host:port` (IPv6 in brackets).
    pub fn url(&self) -> String {
        format!("https://{}", self.host_port)
    }

    pub fn port(&self) -> u16 {
        self.host_port
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn state_dir(&self) -> &Path {
        &self.dir
    }

    /// One of the generated kubeconfigs: token, tokenfile, cert, cert-data, expired,
    /// other-ca, bad-token.
    pub fn kubeconfig(&self, variant: &str) -> PathBuf {
        self.dir.join(format!("kubeconfig-{variant}"))
    }

    pub fn kubeconfig_token(&self) -> PathBuf {
        self.kubeconfig("token")
    }

    pub fn kubeconfig_cert(&self) -> PathBuf {
        self.kubeconfig("cert")
    }

    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The bearer token accepted by default (user "kube-bgp"); also in `state_dir()/token`.
    pub fn token(&self) -> &'static str {
        "kube-bgp-token"
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(match self.netns {
            Some(_) => "ip",
            None => program,
        });
        if let Some(ns) = &self.netns {
            c.args(["netns", "exec", ns, program]);
        }
        c.stdin(Stdio::null());
        c
    }

    /// Runs the real `kubectl` with the admin client-cert kubeconfig and a private cache.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_as("cert", args)
    }

    /// Runs `kubectl` with the given kubeconfig variant (see `kubeconfig`).
    pub fn kubectl_as(&self, variant: &str, args: &[&str]) -> Output {
        let mut c = self.command("kubectl");
        c.arg("--kubeconfig")
            .arg(self.kubeconfig(variant))
            .arg("--cache-dir")
            .arg(self.dir.join(format!("kubectl-cache-{variant}")))
            .arg("--request-timeout=20s")
            .args(args);
        c.output()
            .unwrap_or_else(|e| panic!("cannot run kubectl: {e}"))
    }

    /// `kubectl` that must succeed; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        if !out.status.success() {
            panic!(
                "kubectl {args:?} failed: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// An HTTPS request as admin: returns (status, body). Status 0 = no response.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        content_type: &str,
    ) -> (u16, String) {
        let mut c = self.command("python3");
        c.arg(script())
            .args(["call", "--state-dir"])
            .arg(&self.dir)
            .args(["--method", method, "--content-type", content_type]);
        if let Some(b) = body {
            c.args(["--data", b]);
        }
        c.arg(path);
        let out = c
            .output()
            .unwrap_or_else(|e| panic!("cannot run the hook client: {e}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let code = first
            .strip_prefix("HTTP ")
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0);
        if code == 0 {
            return (0, String::from_utf8_lossy(&out.stderr).into_owned());
        }
        (code, rest.trim_end().to_string())
    }

    /// GET a /__test/ hook (path after /__test/, with query); panics unless 2xx.
    pub fn hook(&self, what: &str) -> String {
        let (code, body) = self.call("GET", &format!("/__test/{what}"), None, "application/json");
        if !(200..300).contains(&code) {
            panic!("hook {what} failed: HTTP {code}: {body}");
        }
        body
    }

    /// Forget all history: any older resourceVersion or continue token gets 410.
    pub fn compact(&self) -> String {
        self.hook("compact")
    }

    /// The next LIST or WATCH (verb "list", "watch" or "any") answers HTTP 410 directly.
    pub fn next_410(&self, verb: &str) {
        self.hook(&format!("next-410?verb={verb}"));
    }

    /// The next `count` watch events are sent in chunks of `size` bytes, `delay_ms` apart.
    pub fn split(&self, count: u32, size: u32, delay_ms: u32) {
        self.hook(&format!(
            "split?count={count}&size={size}&delay_ms={delay_ms}"
        ));
    }

    /// target "list" (next LIST) or "watch" (open watches now); mode "schema" or "json".
    pub fn malformed(&self, target: &str, resource: &str, mode: &str) {
        self.hook(&format!(
            "malformed?target={target}&resource={resource}&mode={mode}"
        ));
    }

    pub fn bookmark_interval(&self, seconds: f64) {
        self.hook(&format!("bookmark-interval?seconds={seconds}"));
    }

    /// Closes every open watch abruptly (no final chunk).
    pub fn drop_watches(&self) {
        self.hook("drop-watches?mode=abrupt");
    }

    /// Closes the listener and all connections, stays down `down_ms`, listens again on
    /// the same port with the same objects. Returns once it answers again.
    pub fn restart(&self, down_ms: u32) {
        self.hook(&format!("restart?down_ms={down_ms}"));
        std::thread::sleep(Duration::from_millis(150 + u64::from(down_ms)));
        let back = wait_for(Duration::from_secs(10), || {
            (self.call("GET", "/__test/state", None, "").0 == 200).then_some(())
        });
        assert!(
            back.is_some(),
            "fake apiserver did not come back after restart"
        );
    }

    /// Creates `count` generated nodes named `{prefix}{i}` quickly.
    pub fn load_nodes(&self, prefix: &str, count: u32) {
        self.hook(&format!(
            "load?resource=nodes&count={count}&prefix={prefix}"
        ));
    }

    /// Replaces the accepted bearer tokens with `(token, user)` pairs.
    pub fn set_tokens(&self, tokens: &[(&str, &str)]) {
        let list: Vec<String> = tokens.iter().map(|(t, u)| format!("{t}:{u}")).collect();
        self.hook(&format!("tokens?set={}", list.join(",")));
    }

    /// Current global resourceVersion as the server reports it.
    pub fn resource_version(&self) -> String {
        let state = self.hook("state");
        // {"resourceVersion": "1234", ...}
        state
            .split("\"resourceVersion\": \"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string()
    }

    /// The request log (one JSON object per line: method, path, user, auth, code, ...).
    pub fn requests(&self) -> String {
        std::fs::read_to_string(self.dir.join("requests.jsonl")).unwrap_or_default()
    }

    /// POSTs a JSON object to a collection path; panics unless 201.
    pub fn create(&self, collection_path: &str, json: &str) -> String {
        let (code, body) = self.call("POST", collection_path, Some(json), "application/json");
        assert_eq!(code, 201, "create at {collection_path} failed: {body}");
        body
    }

    /// Creates a Node with an InternalIP, a pod CIDR (empty = none) and annotations.
    pub fn create_node(
        &self,
        name: &str,
        ip: &str,
        pod_cidr: &str,
        annotations: &[(&str, &str)],
    ) -> String {
        let ann: Vec<String> = annotations
            .iter()
            .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
            .collect();
        let spec = if pod_cidr.is_empty() {
            "{}".to_string()
        } else {
            format!("{{\"podCIDR\":{0},\"podCIDRs\":[{0}]}}", json_str(pod_cidr))
        };
        let json = format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{{\"name\":{n},\"labels\":{{\"kubernetes.io/hostname\":{n}}},\"annotations\":{{{a}}}}},\"spec\":{spec},\"status\":{{\"addresses\":[{{\"type\":\"InternalIP\",\"address\":{ip}}},{{\"type\":\"Hostname\",\"address\":{n}}}]}}}}",
            n = json_str(name),
            a = ann.join(","),
            ip = json_str(ip),
        );
        self.create("/api/v1/nodes", &json)
    }

    /// Merge-patches a node's annotations (a None value removes the key).
    pub fn annotate_node(&self, name: &str, annotations: &[(&str, Option<&str>)]) -> String {
        let ann: Vec<String> = annotations
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}:{}",
                    json_str(k),
                    v.map(json_str).unwrap_or_else(|| "null".into())
                )
            })
            .collect();
        let body = format!("{{\"metadata\":{{\"annotations\":{{{}}}}}}}", ann.join(","));
        let (code, out) = self.call(
            "PATCH",
            &format!("/api/v1/nodes/{name}"),
            Some(&body),
            "application/merge-patch+json",
        );
        assert_eq!(code, 200, "annotate {name} failed: {out}");
        out
    }

    pub fn delete_node(&self, name: &str) {
        let (code, out) = self.call(
            "DELETE",
            &format!("/api/v1/nodes/{name}"),
            None,
            "application/json",
        );
        assert_eq!(code, 200, "delete {name} failed: {out}");
    }

    /// Stops the server now (SIGTERM, then SIGKILL after 5 s). Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill with the pid of a child we own and have not reaped.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let exited = wait_for(Duration::from_secs(5), || child.try_wait().ok().flatten());
            if exited.is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
