//! Reflector tests against the scripted plain-HTTP server (`testserver.rs`).

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::kube::config::{Auth, KubeConfig, TlsSettings};
use crate::kube::snapshot::Snapshot;
use crate::kube::testserver::{Reply, Req, TestServer};

fn opts() -> WatchOptions {
    WatchOptions {
        page_size: 500,
        watch_timeout_min: Duration::from_secs(300),
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
    }
}

struct Running {
    rx: Receiver<KubeEvent>,
    stop: Arc<AtomicBool>,
    snap: Snapshot,
}

impl Running {
    fn start(url: &str, kind: ResourceKind, opts: WatchOptions) -> Running {
        let cfg = KubeConfig {
            server: url.to_string(),
            tls: TlsSettings::default(),
            auth: Auth::None,
            origin: "test".into(),
        };
        let (tx, rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let r = Reflector::new(
            kind,
            Client::new(&cfg),
            opts,
            Sink { tx, waker: None },
            stop.clone(),
        );
        std::thread::spawn(move || r.run());
        Running {
            rx,
            stop,
            snap: Snapshot::new(),
        }
    }

    /// Applies events until `pred` holds on (snapshot, last event); bounded wait.
    fn until(
        &mut self,
        what: &str,
        pred: impl Fn(&Snapshot, &KubeEvent) -> bool,
    ) -> Vec<KubeEvent> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(ev) = self.rx.recv_timeout(Duration::from_millis(100)) {
                self.snap.apply(ev.clone());
                seen.push(ev.clone());
                if pred(&self.snap, &ev) {
                    return seen;
                }
            }
        }
        panic!("timed out waiting for {what}; events: {seen:?}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn node_json(name: &str, rv: u64) -> String {
    format!(r#"{{"metadata":{{"name":"{name}","resourceVersion":"{rv}"}}}}"#)
}

fn event(t: &str, name: &str, rv: u64) -> String {
    format!(r#"{{"type":"{t}","object":{}}}"#, node_json(name, rv)) + "\n"
}

fn list(items: &[String], rv: u64, cont: &str) -> String {
    format!(
        r#"{{"kind":"NodeList","metadata":{{"resourceVersion":"{rv}","continue":"{cont}"}},"items":[{}]}}"#,
        items.join(",")
    )
}

/// A watch that stays open quietly (so the reflector does not spin in tests).
fn idle() -> Reply {
    Reply::Chunked {
        pieces: vec![(Duration::from_secs(3), b"\n".to_vec())],
        abort: false,
    }
}

fn is_watch(r: &Req) -> bool {
    r.query.get("watch").map(String::as_str) == Some("true")
}

#[test]
fn paged_list_then_watch_with_split_events_and_bookmarks() {
    let n = 1203;
    let watches = Arc::new(Mutex::new(0));
    let w = watches.clone();
    let srv = TestServer::start(move |r| {
        if is_watch(r) {
            let mut k = w.lock().unwrap();
            *k += 1;
            if *k > 1 {
                return idle();
            }
            let s = event("ADDED", "new", 2000)
                + &event("MODIFIED", "node-0", 2001)
                + r#"{"type":"BOOKMARK","object":{"kind":"Node","metadata":{"resourceVersion":"2500"}}}"#
                + "\n"
                + &event("DELETED", "node-1", 2501);
            // Split every few bytes: events straddle chunk boundaries.
            let bytes = s.as_bytes();
            let pieces = bytes
                .chunks(7)
                .map(|c| (Duration::from_millis(1), c.to_vec()))
                .collect();
            return Reply::Chunked {
                pieces,
                abort: false,
            };
        }
        let start: usize = r
            .query
            .get("continue")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let limit: usize = r
            .query
            .get("limit")
            .and_then(|c| c.parse().ok())
            .unwrap_or(n);
        let end = (start + limit).min(n);
        let items: Vec<String> = (start..end)
            .map(|i| node_json(&format!("node-{i}"), 5))
            .collect();
        let cont = if end < n {
            end.to_string()
        } else {
            String::new()
        };
        Reply::json(200, list(&items, 1000, &cont))
    });
    let mut run = Running::start(&srv.url(), ResourceKind::Node, opts());
    run.until("initial list", |s, _| s.nodes.len() == n);
    let seen = run.until("watch events", |s, _| {
        s.nodes.contains_key("new") && !s.nodes.contains_key("node-1")
    });
    // MODIFIED arrives as an Upsert of the new object (the snapshot does not keep
    // resourceVersions: see `KubeObject::into_kept`).
    assert!(
        seen.iter()
            .any(|ev| matches!(ev, KubeEvent::Upsert(KubeObject::Node(n))
            if n.metadata.name == "node-0" && n.metadata.resource_version == "2001")),
        "{seen:?}"
    );
    // The second watch resumes from the bookmark's RV (the DELETE's, 2501, came later).
    let deadline = Instant::now() + Duration::from_secs(5);
    while *watches.lock().unwrap() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let reqs = srv.requests();
    let lists: Vec<&Req> = reqs.iter().filter(|r| !is_watch(r)).collect();
    assert_eq!(lists.len(), 3, "{lists:?}");
    assert_eq!(lists[0].query.get("limit").map(String::as_str), Some("500"));
    assert!(!lists[0].query.contains_key("continue"));
    assert_eq!(
        lists[1].query.get("continue").map(String::as_str),
        Some("500")
    );
    assert!(
        lists
            .iter()
            .all(|r| !r.query.contains_key("resourceVersion"))
    );
    let ws: Vec<&Req> = reqs.iter().filter(|r| is_watch(r)).collect();
    assert!(ws.len() >= 2, "{ws:?}");
    assert_eq!(ws[0].path, "/api/v1/nodes");
    assert_eq!(ws[0].query["resourceVersion"], "1000");
    assert_eq!(ws[0].query["allowWatchBookmarks"], "true");
    let t: u64 = ws[0].query["timeoutSeconds"].parse().unwrap();
    assert!((300..600).contains(&t), "{t}");
    assert_eq!(ws[1].query["resourceVersion"], "2501");
    // Plain http: no credentials header.
    assert!(reqs.iter().all(|r| r.auth.is_none()));
}

/// 410 as an ERROR event in a 200 stream, then as an HTTP status: both relist.
#[test]
fn gone_in_both_forms_relists() {
    let step = Arc::new(Mutex::new(0u32));
    let s2 = step.clone();
    let srv = TestServer::start(move |r| {
        let mut st = s2.lock().unwrap();
        if !is_watch(r) {
            *st += 1;
            let items: Vec<String> = (0..*st).map(|i| node_json(&format!("n{i}"), 1)).collect();
            return Reply::json(200, list(&items, 10 * u64::from(*st), ""));
        }
        match *st {
            1 => Reply::stream(&[
                &event("ADDED", "extra", 11),
                r#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","#,
                r#""message":"too old resource version: 5 (11)","reason":"Expired","code":410}}"#,
                "\n",
            ]),
            2 => Reply::json(
                410,
                r#"{"kind":"Status","status":"Failure","reason":"Expired","code":410,"message":"gone"}"#,
            ),
            _ => idle(),
        }
    });
    let mut run = Running::start(&srv.url(), ResourceKind::Node, opts());
    let evs = run.until("third list", |s, _| s.nodes.len() == 3);
    let relisting = evs
        .iter()
        .filter(|e| {
            matches!(
                e,
                KubeEvent::Status {
                    state: SyncState::Relisting,
                    ..
                }
            )
        })
        .count();
    assert!(relisting >= 1, "{evs:?}");
    // "extra" came from a watch but the relist replaced it.
    assert!(!run.snap.nodes.contains_key("extra"));
    let ws: Vec<Req> = srv.requests().into_iter().filter(is_watch).collect();
    assert_eq!(ws[0].query["resourceVersion"], "10");
    assert_eq!(ws[1].query["resourceVersion"], "20");
}

#[test]
fn expired_continue_falls_back_to_unpaged_list() {
    let srv = TestServer::start(|r| {
        if is_watch(r) {
            return idle();
        }
        match (r.query.get("limit"), r.query.get("continue")) {
            (Some(_), None) => Reply::json(200, list(&[node_json("a", 1)], 7, "tok")),
            (Some(_), Some(_)) => Reply::json(
                410,
                r#"{"kind":"Status","reason":"Expired","code":410,"message":"The provided continue parameter is too old"}"#,
            ),
            (None, _) => Reply::json(200, list(&[node_json("a", 1), node_json("b", 1)], 9, "")),
        }
    });
    let mut run = Running::start(&srv.url(), ResourceKind::Node, opts());
    run.until("unpaged list", |s, _| s.nodes.len() == 2);
    let ws: Vec<Req> = srv.requests().into_iter().filter(is_watch).collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut ws = ws;
    while ws.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        ws = srv.requests().into_iter().filter(is_watch).collect();
    }
    assert_eq!(ws[0].query["resourceVersion"], "9");
}

#[test]
fn malformed_objects_are_skipped_alone() {
    let srv = TestServer::start(|r| {
        if is_watch(r) {
            if r.query["resourceVersion"] == "3" {
                return Reply::stream(&[
                    r#"{"type":"ADDED","object":{"metadata":{"name":"bad2","resourceVersion":"4","labels":[1]}}}"#,
                    &event("ADDED", "good2", 5),
                ]);
            }
            return idle();
        }
        let items = [
            node_json("good", 1),
            r#"{"metadata":{"name":"bad","annotations":{"x":1}}}"#.to_string(),
        ];
        Reply::json(200, list(&items, 3, ""))
    });
    let mut run = Running::start(&srv.url(), ResourceKind::Node, opts());
    run.until("good2", |s, _| s.nodes.contains_key("good2"));
    let names: Vec<&String> = run.snap.nodes.keys().collect();
    assert_eq!(names, vec!["good", "good2"]);
}

#[test]
fn unreachable_keeps_snapshot_then_recovers() {
    // First a working server; it goes away (stream cut, then connections refused).
    let srv = TestServer::start(|r| {
        if is_watch(r) {
            return Reply::Chunked {
                pieces: vec![
                    (
                        Duration::from_millis(1),
                        event("ADDED", "b", 6).into_bytes(),
                    ),
                    (
                        Duration::from_millis(1),
                        br#"{"type":"ADDED","obj"#.to_vec(),
                    ),
                ],
                abort: true,
            };
        }
        Reply::json(200, list(&[node_json("a", 1)], 5, ""))
    });
    let addr = srv.addr;
    let mut run = Running::start(&srv.url(), ResourceKind::Node, opts());
    run.until("b", |s, _| s.nodes.contains_key("b"));
    drop(srv);
    // The listener is closed: reconnects are refused; state goes Unreachable, data stays.
    run.until("unreachable", |_, e| {
        matches!(
            e,
            KubeEvent::Status {
                state: SyncState::Unreachable { .. },
                ..
            }
        )
    });
    assert_eq!(run.snap.nodes.len(), 2);
    // The server comes back on the same port with different contents: a relist.
    let srv = TestServer::start_on(addr, |r| {
        if is_watch(r) {
            return idle();
        }
        Reply::json(200, list(&[node_json("c", 9)], 9, ""))
    });
    run.until("relisted", |s, _| s.nodes.contains_key("c"));
    assert_eq!(run.snap.nodes.len(), 1);
    assert_eq!(run.snap.state(ResourceKind::Node), Some(&SyncState::Synced));
    drop(srv);
}
