//! List+watch reader threads, one per resource, behaving like client-go's reflector.
//!
//! Each thread: paged LIST (`limit`, `continue`; an expired continue token falls back
//! to one unpaged list) → `KubeEvent::Replaced`; then WATCH from the list's
//! resourceVersion with bookmarks and a jittered `timeoutSeconds`; ADDED/MODIFIED →
//! `Upsert`, DELETED → `Delete`, BOOKMARK only advances the resourceVersion. A normal
//! end re-watches at once; 410 (HTTP or an ERROR event) or a failure relists after a
//! backoff (0.8 s doubling to 30 s, with jitter). Events go over `mpsc` and wake the
//! daemon through its `mio::Waker`. Must not touch daemon state or drop objects when
//! the API is unreachable (only a successful relist replaces them).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::{Client, ClientError};
use super::decoder::Frame;
use super::objects::{Item, KubeObject, ResourceKind, Status};
use super::snapshot::{KubeEvent, SyncState};

/// Reflector tuning; `Default` is client-go's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// LIST page size (`limit`).
    pub page_size: usize,
    /// `timeoutSeconds` is drawn from [min, 2×min).
    pub watch_timeout_min: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            page_size: 500,
            watch_timeout_min: Duration::from_secs(300),
            backoff_initial: Duration::from_millis(800),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// The running reader threads (detached; they end when asked or when the receiver is gone).
pub struct Watchers {
    stop: Arc<AtomicBool>,
}

impl Watchers {
    /// Asks the threads to end. A thread blocked in a read ends when that read returns
    /// (next event, the watch timeout, or the connection closing); it also ends as soon
    /// as it finds the receiver gone.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts one reader thread per kind. Events go to `tx`; `waker` is woken after each.
pub fn start_watchers(
    client: &Client,
    kinds: &[ResourceKind],
    tx: Sender<KubeEvent>,
    waker: Arc<mio::Waker>,
    opts: WatchOptions,
) -> std::io::Result<Watchers> {
    let stop = Arc::new(AtomicBool::new(false));
    for &kind in kinds {
        let sink = Sink {
            tx: tx.clone(),
            waker: Some(waker.clone()),
        };
        let r = Reflector::new(kind, client.clone(), opts.clone(), sink, stop.clone());
        std::thread::Builder::new()
            .name(format!("kube-{}", kind.name().to_ascii_lowercase()))
            .spawn(move || r.run())?;
    }
    Ok(Watchers { stop })
}

/// Where a reflector's events go.
pub(crate) struct Sink {
    pub(crate) tx: Sender<KubeEvent>,
    pub(crate) waker: Option<Arc<mio::Waker>>,
}

impl Sink {
    /// Sends and wakes the loop; false when the receiver is gone.
    fn send(&self, ev: KubeEvent) -> bool {
        if self.tx.send(ev).is_err() {
            return false;
        }
        if let Some(w) = &self.waker {
            if let Err(e) = w.wake() {
                crate::warn!("kube", "waking the event loop failed: {e}");
            }
        }
        true
    }
}

/// How one watch ended.
enum WatchEnd {
    /// The server closed the stream between events (its `timeoutSeconds`).
    Normal,
    /// 410 Expired, as an HTTP status or an ERROR event.
    Gone(String),
    /// Any other failure (open failed, stream broke, ERROR event, receiver gone).
    Failed(String),
    Stopped,
}

pub(crate) struct Reflector {
    kind: ResourceKind,
    client: Client,
    opts: WatchOptions,
    sink: Sink,
    stop: Arc<AtomicBool>,
    backoff: Duration,
    last_state: Option<SyncState>,
    rng: u64,
    /// Current resourceVersion; `None` means a (re)list is needed.
    rv: Option<String>,
    /// Whether the current watch got its HTTP 200, and when it was requested.
    opened: bool,
    watch_started: Instant,
}

/// A watch that lived this long before breaking counts as healthy (backoff reset).
const HEALTHY_WATCH: Duration = Duration::from_secs(30);

impl Reflector {
    pub(crate) fn new(
        kind: ResourceKind,
        client: Client,
        opts: WatchOptions,
        sink: Sink,
        stop: Arc<AtomicBool>,
    ) -> Reflector {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            ^ ((kind as u64 + 1) << 40);
        Reflector {
            kind,
            client,
            backoff: opts.backoff_initial,
            opts,
            sink,
            stop,
            last_state: None,
            rng: seed | 1,
            rv: None,
            opened: false,
            watch_started: Instant::now(),
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// xorshift64: jitter only, not security.
    fn rand(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn set_state(&mut self, state: SyncState) -> bool {
        if self.last_state.as_ref() == Some(&state) {
            return true;
        }
        self.last_state = Some(state.clone());
        self.sink.send(KubeEvent::Status {
            kind: self.kind,
            state,
        })
    }

    /// Sleeps for the current backoff plus up to 25% jitter, then doubles it.
    /// Returns false if stopped meanwhile.
    fn sleep_backoff(&mut self) -> bool {
        let base = self.backoff;
        let jitter_ms = (base.as_millis() as u64 / 4).max(1);
        let d = base + Duration::from_millis(self.rand() % jitter_ms);
        self.backoff = (base * 2).min(self.opts.backoff_max);
        let end = Instant::now() + d;
        while Instant::now() < end {
            if self.stopped() {
                return false;
            }
            std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
        }
        !self.stopped()
    }

    /// The reader thread's body: list, watch, repeat until stopped or unheard.
    pub(crate) fn run(mut self) {
        let kind = self.kind;
        crate::debug!("kube", "reflector started kind={kind}");
        while !self.stopped() {
            if self.rv.is_none() {
                match self.list() {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        crate::warn!("kube", "list failed kind={kind}: {e}");
                        let state = SyncState::Unreachable {
                            error: e.to_string(),
                        };
                        if !self.set_state(state) || !self.sleep_backoff() {
                            return;
                        }
                        continue;
                    }
                }
            }
            match self.watch_once() {
                WatchEnd::Normal => {
                    self.backoff = self.opts.backoff_initial;
                }
                WatchEnd::Gone(why) => {
                    crate::info!("kube", "watch expired kind={kind}, relisting: {why}");
                    self.rv = None;
                    if !self.set_state(SyncState::Relisting) || !self.sleep_backoff() {
                        return;
                    }
                }
                WatchEnd::Failed(why) => {
                    crate::warn!("kube", "watch failed kind={kind}: {why}");
                    if self.opened {
                        // The stream was open and then broke (e.g. the server restarted):
                        // resume from the last RV after a backoff; if that fails too,
                        // the next round relists. A long-lived stream resets the backoff.
                        if self.watch_started.elapsed() >= HEALTHY_WATCH {
                            self.backoff = self.opts.backoff_initial;
                        }
                        if !self.sleep_backoff() {
                            return;
                        }
                        continue;
                    }
                    self.rv = None;
                    let state = SyncState::Unreachable { error: why };
                    if !self.set_state(state) || !self.sleep_backoff() {
                        return;
                    }
                }
                WatchEnd::Stopped => return,
            }
        }
    }

    /// Paged LIST; sends `Replaced` and sets `rv`. Ok(false): receiver gone.
    fn list(&mut self) -> Result<bool, ClientError> {
        let kind = self.kind;
        let started = Instant::now();
        let mut objects = Vec::new();
        let mut rv = String::new();
        let mut cont: Option<String> = None;
        let mut limit = self.opts.page_size;
        let mut pages = 0u64;
        let mut skipped = 0u64;
        loop {
            if self.stopped() {
                return Ok(false);
            }
            let page = match self.client.list_page(kind, limit, cont.as_deref()) {
                Ok(p) => p,
                Err(e) if e.is_gone() && cont.is_some() => {
                    crate::info!(
                        "kube",
                        "continue token expired kind={kind}, listing unpaged: {e}"
                    );
                    objects.clear();
                    rv.clear();
                    cont = None;
                    limit = 0;
                    continue;
                }
                Err(e) => return Err(e),
            };
            pages += 1;
            if rv.is_empty() {
                rv = page.meta.resource_version;
            }
            for item in page.items {
                match item {
                    Item::Ok(o) => objects.push(o),
                    Item::Bad { who, error } => {
                        skipped += 1;
                        crate::warn!("kube", "skipping malformed {kind} {who}: {error}");
                    }
                }
            }
            let next = page.meta.continue_;
            if next.is_empty() {
                break;
            }
            if cont.as_deref() == Some(next.as_str()) {
                return Err(ClientError::Decode {
                    what: format!("LIST {}", kind.path()),
                    error: super::decoder::ApiDecodeError::Syntax(
                        "server repeated the same continue token".into(),
                    ),
                });
            }
            cont = Some(next);
        }
        if rv.is_empty() {
            return Err(ClientError::Decode {
                what: format!("LIST {}", kind.path()),
                error: super::decoder::ApiDecodeError::Syntax(
                    "list has no metadata.resourceVersion".into(),
                ),
            });
        }
        crate::info!(
            "kube",
            "listed kind={kind} objects={} skipped={skipped} pages={pages} rv={rv} ms={}",
            objects.len(),
            started.elapsed().as_millis()
        );
        self.rv = Some(rv);
        self.last_state = Some(SyncState::Synced);
        Ok(self.sink.send(KubeEvent::Replaced { kind, objects }))
    }

    fn watch_once(&mut self) -> WatchEnd {
        let kind = self.kind;
        let rv = self.rv.clone().unwrap_or_default();
        self.opened = false;
        self.watch_started = Instant::now();
        let min = self.opts.watch_timeout_min.as_secs().max(1);
        let timeout = min + self.rand() % min;
        let stream = match self.client.watch(kind, &rv, timeout) {
            Ok(s) => s,
            Err(e) if e.is_gone() => return WatchEnd::Gone(e.to_string()),
            Err(e) => return WatchEnd::Failed(e.to_string()),
        };
        self.opened = true;
        if self.last_state != Some(SyncState::Synced) && !self.set_state(SyncState::Synced) {
            return WatchEnd::Stopped;
        }
        for frame in stream {
            if self.stopped() {
                return WatchEnd::Stopped;
            }
            let (type_, object) = match frame {
                Ok(Frame::Event { type_, object }) => (type_, object),
                Ok(Frame::NotAnEvent(s)) => {
                    crate::warn!("kube", "ignoring non-event in {kind} watch: {s}");
                    continue;
                }
                Err(e) => return WatchEnd::Failed(format!("WATCH {}: {e}", kind.path())),
            };
            match self.handle_event(&type_, object) {
                Ok(true) => {}
                Ok(false) => return WatchEnd::Stopped,
                Err(end) => return end,
            }
        }
        WatchEnd::Normal
    }

    /// Applies one event; Ok(false) when the receiver is gone, Err to end the watch.
    fn handle_event(&mut self, type_: &str, object: Value) -> Result<bool, WatchEnd> {
        let kind = self.kind;
        let obj_rv = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match type_ {
            "ADDED" | "MODIFIED" | "DELETED" => {
                if !obj_rv.is_empty() {
                    self.rv = Some(obj_rv);
                }
                match KubeObject::from_value(kind, object) {
                    Item::Ok(o) if type_ == "DELETED" => Ok(self.sink.send(KubeEvent::Delete(o))),
                    Item::Ok(o) => Ok(self.sink.send(KubeEvent::Upsert(o))),
                    Item::Bad { who, error } => {
                        crate::warn!("kube", "skipping malformed {kind} {who} ({type_}): {error}");
                        Ok(true)
                    }
                }
            }
            "BOOKMARK" => {
                if !obj_rv.is_empty() {
                    self.rv = Some(obj_rv);
                }
                Ok(true)
            }
            "ERROR" => {
                let status: Status = serde_json::from_value(object).unwrap_or_default();
                let msg = format!("WATCH {}: ERROR event {status}", kind.path());
                if status.code == 410 || status.reason == "Expired" || status.reason == "Gone" {
                    Err(WatchEnd::Gone(msg))
                } else {
                    Err(WatchEnd::Failed(msg))
                }
            }
            other => {
                crate::warn!(
                    "kube",
                    "ignoring watch event of unknown type {other:?} kind={kind}"
                );
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
