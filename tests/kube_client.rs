//! The kube client against the project's fake API server (tests/apiserver/): config
//! loading and auth (token, token file rotation, client certificates, TLS failures),
//! and the list+watch reflector (resume, 410 in both forms, restarts, split events,
//! paging, an outage). Loopback only; the fake is killed when each test ends.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::apiserver::FakeApiServer;
use kube_bgp::kube::{
    Client, KubeEvent, ResourceKind, Snapshot, SyncState, WatchOptions, Watchers, load,
    start_watchers,
};

fn fake(test: &str) -> Option<FakeApiServer> {
    if !common::apiserver::available(test) {
        return None;
    }
    Some(FakeApiServer::start("127.0.0.1", None))
}

fn client(path: &Path) -> Client {
    let cfg = load(Some(path), None).unwrap_or_else(|e| panic!("load {}: {e}", path.display()));
    Client::new(&cfg)
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/kube/testdata")
        .join(name)
}

fn quick() -> WatchOptions {
    WatchOptions {
        backoff_initial: Duration::from_millis(100),
        backoff_max: Duration::from_millis(500),
        ..WatchOptions::default()
    }
}

/// Watchers feeding a snapshot, woken through a real mio::Waker.
struct Harness {
    rx: Receiver<KubeEvent>,
    poll: mio::Poll,
    watchers: Option<Watchers>,
    snap: Snapshot,
    seen: Vec<KubeEvent>,
}

impl Harness {
    fn start(kubeconfig: &Path, kinds: &[ResourceKind], opts: WatchOptions) -> Harness {
        let poll = mio::Poll::new().expect("poll");
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(7)).expect("waker"));
        let (tx, rx) = channel();
        let w = start_watchers(&client(kubeconfig), kinds, tx, waker, opts).expect("spawn");
        Harness {
            rx,
            poll,
            watchers: Some(w),
            snap: Snapshot::new(),
            seen: Vec::new(),
        }
    }

    /// Runs the daemon-style loop (poll, then drain the channel) until `pred` holds.
    fn until(&mut self, what: &str, secs: u64, pred: impl Fn(&Snapshot, &KubeEvent) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut events = mio::Events::with_capacity(8);
        while Instant::now() < deadline {
            let _ = self
                .poll
                .poll(&mut events, Some(Duration::from_millis(200)));
            while let Ok(ev) = self.rx.try_recv() {
                self.snap.apply(ev.clone());
                self.seen.push(ev.clone());
                if pred(&self.snap, &ev) {
                    return;
                }
            }
        }
        let tail: Vec<_> = self.seen.iter().rev().take(8).collect();
        panic!("timed out waiting for {what}; last events: {tail:?}");
    }

    fn count(&self, f: impl Fn(&KubeEvent) -> bool) -> usize {
        self.seen.iter().filter(|e| f(e)).count()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(w) = self.watchers.take() {
            w.stop();
        }
    }
}

fn replaced(kind: ResourceKind) -> impl Fn(&KubeEvent) -> bool {
    move |e| matches!(e, KubeEvent::Replaced { kind: k, .. } if *k == kind)
}

fn replaced_ev(_: &Snapshot, e: &KubeEvent) -> bool {
    replaced(ResourceKind::Node)(e)
}

/// Request-log lines (path with query) matching `f`.
fn logged(srv: &FakeApiServer, f: impl Fn(&str) -> bool) -> Vec<String> {
    srv.requests()
        .lines()
        .filter(|l| f(l))
        .map(str::to_string)
        .collect()
}

fn is_node_list(l: &str) -> bool {
    l.contains("\"path\": \"/api/v1/nodes?") && !l.contains("watch=true")
}

#[test]
fn token_auth_list_and_watch_all_kinds() {
    let Some(srv) = fake("token_auth_list_and_watch_all_kinds") else {
        return;
    };
    srv.create_node(
        "node-a",
        "192.168.0.11",
        "10.244.1.0/24",
        &[("kube-router.io/node.asn", "64512")],
    );
    let mut h = Harness::start(&srv.kubeconfig_token(), &ResourceKind::ALL, quick());
    h.until("all listed", 20, |s, _| s.all_listed());
    let n = &h.snap.nodes["node-a"];
    assert_eq!(n.spec.pod_cidr, "10.244.1.0/24");
    assert_eq!(n.metadata.annotations["kube-router.io/node.asn"], "64512");
    assert_eq!(n.status.addresses[0].address, "192.168.0.11");

    srv.create(
        "/api/v1/namespaces/default/services",
        r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
            "spec":{"type":"ClusterIP","clusterIP":"10.96.0.10","clusterIPs":["10.96.0.10"],"ports":[{"port":80}]}}"#,
    );
    srv.create(
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        r#"{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
            "metadata":{"name":"web-1","namespace":"default","labels":{"kubernetes.io/service-name":"web"}},
            "addressType":"IPv4","endpoints":[{"addresses":["10.244.1.5"],"nodeName":"node-a"}]}"#,
    );
    srv.annotate_node("node-a", &[("kube-router.io/node.asn", Some("64513"))]);
    h.until("service, slice, annotation", 20, |s, _| {
        s.slices_for_service("default", "web").count() == 1
            && s.services
                .values()
                .any(|v| v.spec.cluster_ip == "10.96.0.10")
            && s.nodes
                .get("node-a")
                .map(|n| n.metadata.annotations["kube-router.io/node.asn"].as_str())
                == Some("64513")
    });
    srv.delete_node("node-a");
    h.until("node deleted", 20, |s, _| s.nodes.is_empty());
    let auths = logged(&srv, |l| l.contains("kube-bgp/"));
    assert!(auths.len() >= 3, "{auths:?}");
    assert!(
        auths.iter().all(|l| l.contains("\"user\": \"kube-bgp\"")),
        "{auths:?}"
    );
}

#[test]
fn client_certificates_and_tls_failures() {
    let Some(srv) = fake("client_certificates_and_tls_failures") else {
        return;
    };
    for v in ["cert", "cert-data", "tokenfile"] {
        let c = client(&srv.kubeconfig(v));
        let p = c
            .list_page(ResourceKind::Node, 500, None)
            .unwrap_or_else(|e| panic!("{v}: {e}"));
        assert!(!p.meta.resource_version.is_empty());
    }
    // Rejected credentials: HTTP 401 with the server's Status, no panic.
    for v in ["expired", "other-ca", "bad-token"] {
        let e = client(&srv.kubeconfig(v))
            .list_page(ResourceKind::Node, 500, None)
            .unwrap_err();
        assert!(e.is_unauthorized(), "{v}: {e}");
        assert!(e.to_string().contains("401"), "{v}: {e}");
    }
    // A CA that did not sign the server certificate.
    let dir = srv.state_dir();
    let text = std::fs::read_to_string(srv.kubeconfig("token")).unwrap();
    let wrong_ca = text.replace(
        &srv.ca_cert().display().to_string(),
        &testdata("other-ca.pem").display().to_string(),
    );
    assert_ne!(wrong_ca, text, "kubeconfig-token should name ca.crt");
    let kc = dir.join("kubeconfig-wrong-ca");
    std::fs::write(&kc, wrong_ca).unwrap();
    let e = client(&kc)
        .list_page(ResourceKind::Node, 500, None)
        .unwrap_err();
    let s = e.to_string();
    assert!(s.contains("TLS") && s.contains("UnknownIssuer"), "{s}");
    // A client key that does not belong to the certificate: refused at load time.
    let cert_kc = std::fs::read_to_string(srv.kubeconfig("cert")).unwrap();
    let mism = cert_kc.replace("admin.key", "other.key");
    assert_ne!(mism, cert_kc, "kubeconfig-cert should name admin.key");
    let kc = dir.join("kubeconfig-mismatch");
    std::fs::write(&kc, mism).unwrap();
    let e = load(Some(&kc), None).unwrap_err().to_string();
    assert!(
        e.contains("kubeconfig-mismatch") && e.contains("client-key") && e.contains("does not fit"),
        "{e}"
    );
}

#[test]
fn expired_server_certificate_is_a_clear_error() {
    use std::io::Read;
    // A one-shot TLS server presenting an expired certificate (src/kube/testdata).
    let chain: Vec<_> =
        rustls_pki_types::CertificateDer::pem_file_iter(testdata("expired-server.pem"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    use rustls_pki_types::pem::PemObject;
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(testdata("server.key")).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        if let Ok((sock, _)) = l.accept() {
            let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
            if let Ok(conn) = rustls::ServerConnection::new(Arc::new(cfg)) {
                let mut s = rustls::StreamOwned::new(conn, sock);
                let mut buf = [0u8; 64];
                let _ = s.read(&mut buf);
            }
        }
    });
    let dir = std::env::temp_dir().join(format!("kube-client-expired-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kc = dir.join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "current-context: c\ncontexts: [{{name: c, context: {{cluster: k, user: u}}}}]\n\
             clusters: [{{name: k, cluster: {{server: 'https://127.0.0.1:{port}', certificate-authority: {}}}}}]\n\
             users: [{{name: u, user: {{token: t}}}}]\n",
            testdata("ca.pem").display()
        ),
    )
    .unwrap();
    let e = client(&kc)
        .list_page(ResourceKind::Node, 1, None)
        .unwrap_err()
        .to_string();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = t.join();
    assert!(e.contains("TLS") && e.contains("expired"), "{e}");
}

#[test]
fn token_rotation_on_disk_after_401() {
    let Some(srv) = fake("token_rotation_on_disk_after_401") else {
        return;
    };
    let tok = srv.state_dir().join("rotating-token");
    std::fs::write(&tok, srv.token()).unwrap();
    let text = std::fs::read_to_string(srv.kubeconfig("tokenfile")).unwrap();
    let old = srv.state_dir().join("token").display().to_string();
    assert!(text.contains(&old));
    let kc = srv.state_dir().join("kubeconfig-rotating");
    std::fs::write(&kc, text.replace(&old, &tok.display().to_string())).unwrap();
    let c = client(&kc); // re-reads only after 60 s, or after a 401
    c.list_page(ResourceKind::Node, 10, None)
        .expect("first token");

    srv.set_tokens(&[("rotated-token-2", "kube-bgp")]);
    std::fs::write(&tok, "rotated-token-2\n").unwrap();
    // The old token gets a 401; the client re-reads the file and retries once.
    c.list_page(ResourceKind::Node, 10, None)
        .expect("rotated token");
    // The server logs a request just after answering it: wait for the third line.
    let codes = common::wait_for(Duration::from_secs(5), || {
        Some(logged(&srv, is_node_list)).filter(|c| c.len() >= 3)
    })
    .unwrap_or_else(|| logged(&srv, is_node_list));
    assert_eq!(codes.len(), 3, "{codes:?}");
    assert!(
        codes[1].contains("\"code\": 401") && codes[2].contains("\"code\": 200"),
        "{codes:?}"
    );

    // Watchers keep working across a rotation: the reopened watch re-reads the token.
    let mut h = Harness::start(&kc, &[ResourceKind::Node], quick());
    h.until("listed", 20, |s, _| {
        s.all_listed() || s.listed.contains_key(&ResourceKind::Node)
    });
    srv.set_tokens(&[("rotated-token-3", "kube-bgp")]);
    std::fs::write(&tok, "rotated-token-3").unwrap();
    srv.drop_watches();
    srv.create_node("after-rotation", "192.168.0.12", "", &[]);
    h.until("node after rotation", 20, |s, _| {
        s.nodes.contains_key("after-rotation")
    });
}

#[test]
fn watch_resumes_from_resource_version_after_a_dropped_stream() {
    let Some(srv) = fake("watch_resumes_from_resource_version_after_a_dropped_stream") else {
        return;
    };
    srv.create_node("n1", "192.168.0.1", "", &[]);
    let mut h = Harness::start(&srv.kubeconfig_token(), &[ResourceKind::Node], quick());
    h.until("listed", 20, |s, _| s.nodes.contains_key("n1"));
    srv.drop_watches();
    srv.create_node("n2", "192.168.0.2", "", &[]);
    h.until("n2", 20, |s, _| s.nodes.contains_key("n2"));
    // One LIST only: the broken stream was resumed with a WATCH from the last RV.
    assert_eq!(h.count(replaced(ResourceKind::Node)), 1);
    assert_eq!(logged(&srv, is_node_list).len(), 1);
}

#[test]
fn gone_as_error_event_and_as_http_410_relists() {
    let Some(srv) = fake("gone_as_error_event_and_as_http_410_relists") else {
        return;
    };
    srv.create_node("n1", "192.168.0.1", "", &[]);
    // A slow first backoff leaves time to change and compact history while the
    // reflector waits to resume its broken watch.
    let opts = WatchOptions {
        backoff_initial: Duration::from_secs(3),
        backoff_max: Duration::from_secs(3),
        ..WatchOptions::default()
    };
    let mut h = Harness::start(&srv.kubeconfig_token(), &[ResourceKind::Node], opts);
    h.until("listed", 20, |s, _| s.nodes.contains_key("n1"));
    // Form 1: the resumed watch's RV was compacted away: HTTP 200 + ERROR 410 event.
    srv.drop_watches();
    srv.create_node("n2", "192.168.0.2", "", &[]);
    srv.compact();
    h.until("relist after ERROR 410", 30, replaced_ev);
    assert!(h.snap.nodes.contains_key("n2"));
    assert_eq!(h.count(replaced(ResourceKind::Node)), 2);
    // Form 2: the next watch is answered with HTTP 410.
    srv.next_410("watch");
    srv.drop_watches();
    h.until("relist after HTTP 410", 30, replaced_ev);
    assert_eq!(h.count(replaced(ResourceKind::Node)), 3);
    let relists = h.count(|e| {
        matches!(
            e,
            KubeEvent::Status {
                state: SyncState::Relisting,
                ..
            }
        )
    });
    assert_eq!(relists, 2);
    assert_eq!(h.snap.nodes.len(), 2);
    let watches = logged(&srv, |l| l.contains("watch=true"));
    assert!(
        watches.iter().any(|l| l.contains("\"code\": 410")),
        "{watches:?}"
    );
}

#[test]
fn server_restart_mid_stream_and_split_events() {
    let Some(srv) = fake("server_restart_mid_stream_and_split_events") else {
        return;
    };
    let mut h = Harness::start(&srv.kubeconfig_token(), &[ResourceKind::Node], quick());
    h.until("listed", 20, |s, _| {
        s.listed.contains_key(&ResourceKind::Node)
    });
    // Events sent one byte per chunk.
    srv.split(5, 1, 1);
    for i in 0..5 {
        srv.create_node(
            &format!("s{i}"),
            "192.168.1.1",
            "",
            &[("kube-router.io/peers", "- ip: 1.2.3.4\n  asn: 65000\n")],
        );
    }
    h.until("split events", 30, |s, _| s.nodes.len() == 5);
    assert_eq!(
        h.snap.nodes["s4"].metadata.annotations["kube-router.io/peers"],
        "- ip: 1.2.3.4\n  asn: 65000\n"
    );
    srv.restart(500);
    srv.create_node("after-restart", "192.168.1.2", "", &[]);
    h.until("after restart", 30, |s, _| {
        s.nodes.contains_key("after-restart")
    });
    assert_eq!(h.snap.nodes.len(), 6);
}

#[test]
fn five_thousand_nodes_are_listed_in_pages() {
    let Some(srv) = fake("five_thousand_nodes_are_listed_in_pages") else {
        return;
    };
    srv.load_nodes("load-", 5000);
    let mut h = Harness::start(&srv.kubeconfig_token(), &[ResourceKind::Node], quick());
    h.until("5000 nodes", 120, |s, _| s.nodes.len() == 5000);
    let lists = logged(&srv, is_node_list);
    assert_eq!(lists.len(), 10, "{:?}", lists.first());
    assert!(lists.iter().all(|l| l.contains("limit=500")));
    assert!(
        lists[1..]
            .iter()
            .all(|l| l.contains("continue=") && !l.contains("resourceVersion="))
    );
}

fn outage(test: &str, down_ms: u32) {
    let Some(srv) = fake(test) else {
        return;
    };
    srv.create_node("n1", "192.168.0.1", "", &[]);
    let mut h = Harness::start(&srv.kubeconfig_token(), &[ResourceKind::Node], quick());
    h.until("listed", 20, |s, _| s.nodes.contains_key("n1"));
    srv.hook(&format!("restart?down_ms={down_ms}"));
    h.until("unreachable", 20, |_, e| {
        matches!(
            e,
            KubeEvent::Status {
                state: SyncState::Unreachable { .. },
                ..
            }
        )
    });
    // The last good snapshot stays while the API is down.
    assert!(h.snap.nodes.contains_key("n1"));
    let secs = u64::from(down_ms / 1000) + 30;
    h.until("relisted after outage", secs, |s, e| {
        replaced(ResourceKind::Node)(e) && s.state(ResourceKind::Node) == Some(&SyncState::Synced)
    });
    srv.create_node("n2", "192.168.0.2", "", &[]);
    h.until("caught up", 20, |s, _| s.nodes.contains_key("n2"));
}

#[test]
fn api_server_down_for_a_while_then_catching_up() {
    outage("api_server_down_for_a_while_then_catching_up", 3000);
}

/// The two-minute outage: `cargo test --test kube_client -- --ignored`.
#[test]
#[ignore]
fn api_server_down_two_minutes() {
    outage("api_server_down_two_minutes", 120_000);
}
