//! The daemon: one thread, one mio loop, owning all state.
//!
//! Owns the cluster snapshot (fed by the Kubernetes watcher threads through a channel
//! and the loop's waker), the current [`Plan`], the BGP speaker, the kernel route
//! mirror and the operations endpoints. On every change it recomputes the plan from the
//! snapshot and applies the difference: peers added/changed/removed in place,
//! originated routes and policies updated, kernel routes reconciled (D1).

mod admin;
pub(crate) mod bfd_link;
mod conn;
mod drain;
pub mod explain;
pub mod hardening;
pub mod malloc_arenas;
pub(crate) mod metrics;
mod overlay;
mod pacing;
pub(crate) mod restart_hold;
pub(crate) mod rib_policy;
pub(crate) mod routes;
pub(crate) mod signals;
pub(crate) mod speaker;
mod status;
pub mod views;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::bgp::rib::{Rib, RibConfig};
use crate::bgp::types::{Attrs, Origin};
use crate::cluster::adverts::{OriginKind, Originated};
use crate::cluster::{self, Plan, Problem, Settings};
use crate::config::Config;
use crate::kube::objects::ResourceKind;
use crate::kube::snapshot::{KubeEvent, Snapshot};
use crate::net::timers::Stopwatch;
use crate::ops::http;
use crate::ops::notify::Notifier;
use crate::ops::serve::Server;
use crate::prefix::Prefix;
use crate::{error, info, warn};

use speaker::{LocalParams, SessionIo, Speaker};

const WAKER: Token = Token(0);
const SIGNALS: Token = Token(1);
const KERNEL: Token = Token(2);
/// The pod network's change subscriptions (links, nftables).
const PODNET_BASE: usize = 3;
const PODNET_END: usize = 5;
const CTL_BASE: usize = 100;
const METRICS_BASE: usize = 1000;
const HEALTH_BASE: usize = 2000;

/// Why the daemon could not run.
#[derive(Debug)]
pub enum DaemonError {
    Setup(String),
}

impl std::fmt::Display for DaemonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DaemonError::Setup(s) => f.write_str(s),
        }
    }
}

/// Counters kept by the daemon for metrics.
#[derive(Default, Debug, Clone)]
struct Counters {
    plans_applied: u64,
    peer_changes: u64,
    api_events: u64,
    relists: u64,
    best_received: u64,
    /// kube-router's `controller_bgp_advertisements_sent{type}`.
    adv_pod_route: u64,
    adv_vip: u64,
    withdraw_vip: u64,
    /// kube-router's `controller_bgp_internal_peers_sync_time`: applying the peer set.
    peers_sync_time: crate::ops::http::prom::Histogram,
    /// kube-router's `controller_routes_sync_time`: keeping the pod egress sets.
    routes_sync_time: crate::ops::http::prom::Histogram,
    /// Control-socket requests by verb (`neighbor`, `explain`, `disable`, …); counted
    /// while answering, which reads the daemon shared.
    ctl_requests: std::cell::RefCell<BTreeMap<&'static str, u64>>,
    /// Admin actions refused (caller not root nor the daemon's user).
    ctl_refused: u64,
}

/// What a [`Daemon`] is built from besides its configuration: the parts that reach the
/// outside world. [`run`] gives the real ones; a simulation gives its own.
pub(crate) struct AgentParts {
    /// The kernel route sync (built over the real netlink sockets, or a simulated kernel).
    pub(crate) routes: routes::KernelRoutes,
    /// Makes the io for each speaker the daemon builds (a new one whenever the BGP
    /// identity changes): the real sockets on the loop, or a simulated network.
    pub(crate) session_io: Box<dyn FnMut() -> Box<dyn SessionIo>>,
    /// Seeds the sessions' and BFD's jitter and BFD's discriminators.
    pub(crate) seed: u64,
    /// Whether the agent may touch the host: the pod network (bridge, CNI
    /// configuration, egress, FORWARD, sysctls) and the service manager's
    /// notifications. Without it only the kernel routes (through `routes`) and the
    /// BGP sessions (through `session_io`) reach outside.
    pub(crate) host: bool,
}

/// The node agent's core: all of its state, driven by [`run`]'s loop through one
/// handler per kind of event (`on_*`), one [`Daemon::turn`] after each batch of events,
/// and [`Daemon::poll_at`] for when the next turn is needed.
pub(crate) struct Daemon {
    cfg: Config,
    settings: Settings,
    node_name: String,
    snapshot: Snapshot,
    /// Replans only what the snapshot's changes reach (`cluster::plan` incrementally).
    planner: cluster::Planner,
    plan: Plan,
    /// The BGP speaker, once the plan gives an identity. Read from outside the daemon
    /// only through the status model (`Daemon::status`, `Daemon::established_peers`)
    /// and the Loc-RIB query (`Daemon::loc_rib_reader`).
    speaker: Option<Speaker>,
    /// BFD sessions of the BGP peers that have BFD configured.
    bfd: bfd_link::BfdLink,
    routes: routes::KernelRoutes,
    counters: Counters,
    /// Locally originated routes currently in the RIB.
    originated: BTreeMap<Prefix, Originated>,
    logged_problems: BTreeSet<Problem>,
    refusals: std::rc::Rc<rib_policy::RefusalLog>,
    /// The policy the RIB runs, to skip re-evaluating 1M paths when nothing changed.
    policy: Option<rib_policy::KubePolicy>,
    plan_dirty: bool,
    last_heartbeat: Instant,
    stopping: bool,
    /// The RFC 8326 wait of a stop without graceful restart.
    stop_drain: drain::StopDrain,
    /// Since when routes carry GRACEFUL_SHUTDOWN (a cordon, or the stop's drain).
    graceful_shutdown_since: Option<Instant>,
    /// The host's pod network (kube-bridge, CNI configuration, egress, FORWARD, sysctls);
    /// none for an agent that does not touch the host.
    podnet: Option<crate::podnet::PodNet>,
    /// The control socket and the metrics and health endpoints.
    ops: Endpoints,
    /// When RIB output goes to the peers and kernel passes wait for the input.
    pacing: pacing::Pacing,
    /// The service manager (systemd notify protocol).
    notifier: Notifier,
    /// The next full re-apply (kube-router's `--routes-sync-period`).
    next_sync: Instant,
    /// The next WATCHDOG=1, when the service manager asked for them.
    next_watchdog: Option<Instant>,
    /// Whether the service manager has been told "synced with the API server".
    told_synced: bool,
    /// Makes each new speaker's io.
    session_io: Box<dyn FnMut() -> Box<dyn SessionIo>>,
    /// The agent's seed; each speaker's is drawn from it.
    seed: u64,
    /// Speakers built so far (each gets its own seed).
    speakers_built: u64,
}

/// Which part of the daemon a readiness token belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenOwner {
    /// The waker: API events wait in the channel.
    Kube,
    Signals,
    /// Kernel route change notifications.
    Kernel,
    PodNet,
    Bfd,
    /// The control socket, metrics and health endpoints.
    Ops,
    /// BGP listeners and connections.
    Speaker,
    Unknown,
}

/// Runs the daemon until SIGTERM/SIGINT. Returns an error only for setup failures.
pub fn run(cfg: Config) -> Result<(), DaemonError> {
    let signals = signals::Signals::new().map_err(setup("blocking signals"))?;
    let mut poll = Poll::new().map_err(setup("mio poll"))?;
    let registry = poll.registry().try_clone().map_err(setup("mio registry"))?;
    registry
        .register(
            &mut SourceFd(&signals.raw_fd()),
            SIGNALS,
            Interest::READABLE,
        )
        .map_err(setup("signalfd"))?;
    let waker = Arc::new(Waker::new(&registry, WAKER).map_err(setup("waker"))?);
    let (watchers, rx, node_name) = start_kube(&cfg, &waker)?;
    let parts = host_parts(&cfg, &registry, waker)?;
    let mut d = Daemon::start_with(cfg, node_name, parts, Instant::now());
    d.attach(&registry);

    let mut events = Events::with_capacity(1024);
    loop {
        let now = Instant::now();
        let timeout = if d.busy() {
            // Unread input waits in a socket: only look for new events.
            Duration::ZERO
        } else {
            d.poll_at(now)
                .saturating_duration_since(now)
                .max(Duration::from_millis(1))
        };
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                error!("main", "poll: {e}");
            }
            continue;
        }
        let now = Instant::now();
        for ev in events.iter() {
            let t = ev.token();
            match d.token_owner(t) {
                TokenOwner::Kube => d.on_kube_events(rx.try_iter()),
                TokenOwner::Signals => {
                    for sig in signals.read() {
                        d.on_signal(sig, now);
                    }
                }
                TokenOwner::Kernel => d.on_kernel_notification(now),
                TokenOwner::PodNet => d.on_podnet_readable(now),
                TokenOwner::Bfd => d.on_bfd_readable(t, now),
                TokenOwner::Ops => d.on_ops_readable(t, now),
                TokenOwner::Speaker => d.on_speaker_readable(t, now),
                TokenOwner::Unknown => {}
            }
        }
        if d.stop_due(now) {
            break;
        }
        d.turn(now);
    }
    d.stop(Instant::now());
    watchers.stop();
    d.remove_ctl_socket();
    Ok(())
}

/// The real parts: the kernel route sync over netlink (its change notifications
/// registered with the loop, its writer thread waking it through `waker`), the
/// speakers' sockets on the loop, a seed different per process.
fn host_parts(
    cfg: &Config,
    registry: &mio::Registry,
    waker: Arc<Waker>,
) -> Result<AgentParts, DaemonError> {
    let routes = routes::KernelRoutes::new(cfg, Some(waker));
    if let Some(fd) = routes.watch_fd() {
        if let Err(e) = registry.register(&mut SourceFd(&fd), KERNEL, Interest::READABLE) {
            warn!("kernel", "route change notifications unavailable: {e}");
        }
    }
    let speakers = Rc::new(registry.try_clone().map_err(setup("mio registry"))?);
    Ok(AgentParts {
        routes,
        session_io: Box::new(move || -> Box<dyn SessionIo> {
            Box::new(speaker::SpeakerSockets::new(Rc::clone(&speakers)))
        }),
        seed: process_seed(),
        host: true,
    })
}

/// A setup step's error, saying which step.
fn setup(what: &'static str) -> impl Fn(std::io::Error) -> DaemonError {
    move |e| DaemonError::Setup(format!("{what}: {e}"))
}

/// Starts the API watchers (one reader thread per resource, waking the loop through
/// `waker`); returns them, their events' channel and the local node's name.
fn start_kube(
    cfg: &Config,
    waker: &Arc<Waker>,
) -> Result<(crate::kube::watch::Watchers, Receiver<KubeEvent>, String), DaemonError> {
    let kcfg = crate::kube::load(cfg.kubeconfig.as_deref(), cfg.master.as_deref())
        .map_err(|e| DaemonError::Setup(e.to_string()))?;
    for w in kcfg.security_warnings() {
        warn!("kube", "{w}");
    }
    let node_name = crate::kube::config::local_node_name(cfg.hostname_override.as_deref());
    let client = crate::kube::client::Client::new(&kcfg);
    let (tx, rx) = std::sync::mpsc::channel();
    let watchers = crate::kube::watch::start_watchers(
        &client,
        &ResourceKind::ALL,
        tx,
        waker.clone(),
        Default::default(),
    )
    .map_err(|e| DaemonError::Setup(format!("starting API watchers: {e}")))?;
    info!(
        "main",
        "kube-bgp {} starting for node {node_name}, API server {}",
        env!("CARGO_PKG_VERSION"),
        client.server()
    );
    Ok((watchers, rx, node_name))
}

impl Daemon {
    /// The agent from its configuration and `parts`: starts the kernel route sync and,
    /// when `parts.host` allows, the pod network and the service manager's
    /// notifications (told the daemon is up). Opens no socket of its own: the
    /// operations endpoints and the pod network's subscriptions come with
    /// [`Daemon::attach`].
    pub(crate) fn start_with(
        cfg: Config,
        node_name: String,
        parts: AgentParts,
        now: Instant,
    ) -> Daemon {
        let AgentParts {
            mut routes,
            session_io,
            seed,
            host,
        } = parts;
        routes.start(now);
        let podnet = host.then(|| crate::podnet::PodNet::new(&cfg));
        let notifier = if host {
            Notifier::from_env()
        } else {
            Notifier::inert()
        };
        let settings = Settings::from_config(&cfg);
        let stop_drain =
            drain::StopDrain::new(cfg.graceful_shutdown_time, settings.graceful_restart);
        notifier.ready("waiting for the API server");
        let next_watchdog = notifier.watchdog_interval().map(|i| now + i);
        let next_sync = now + cfg.routes_sync_period;
        Daemon {
            cfg,
            settings,
            node_name,
            snapshot: Snapshot::new(),
            planner: cluster::Planner::new(),
            plan: Plan::default(),
            speaker: None,
            bfd: bfd_link::BfdLink::new(seed ^ 0xB0FD_5EED),
            routes,
            counters: Counters::default(),
            originated: BTreeMap::new(),
            logged_problems: BTreeSet::new(),
            refusals: Default::default(),
            policy: None,
            plan_dirty: false,
            last_heartbeat: now,
            stopping: false,
            stop_drain,
            graceful_shutdown_since: None,
            podnet,
            ops: Endpoints::default(),
            pacing: pacing::Pacing::default(),
            notifier,
            next_sync,
            next_watchdog,
            told_synced: false,
            session_io,
            seed,
            speakers_built: 0,
        }
    }

    /// Joins the loop of `registry`: the pod network's change subscriptions, the
    /// operations endpoints (control socket, metrics, health) and BFD's sockets are
    /// registered with it from now on.
    fn attach(&mut self, registry: &mio::Registry) {
        if let Some(podnet) = self.podnet.as_ref() {
            for (i, fd) in podnet.fds().into_iter().enumerate() {
                let token = Token(PODNET_BASE + i);
                if token.0 >= PODNET_END {
                    break;
                }
                if let Err(e) = registry.register(&mut SourceFd(&fd), token, Interest::READABLE) {
                    warn!("podnet", "change notifications unavailable: {e}");
                }
            }
        }
        self.ops = Endpoints::open(&self.cfg, registry);
        if let Err(e) = self.bfd.attach(registry) {
            warn!("bfd", "BFD unavailable: {e}");
        }
    }

    /// A seed for the next speaker: different for each, all drawn from the agent's.
    fn next_speaker_seed(&mut self) -> u64 {
        self.speakers_built += 1;
        // splitmix64's increment keeps the seeds of successive speakers far apart.
        self.seed
            .wrapping_add(self.speakers_built.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// Which part a readiness token belongs to.
    fn token_owner(&self, t: Token) -> TokenOwner {
        match t {
            WAKER => TokenOwner::Kube,
            SIGNALS => TokenOwner::Signals,
            KERNEL => TokenOwner::Kernel,
            Token(p) if (PODNET_BASE..PODNET_END).contains(&p) => TokenOwner::PodNet,
            t if self.bfd.owns(t) => TokenOwner::Bfd,
            t if self.ops.owns(t) => TokenOwner::Ops,
            t if self.speaker.as_ref().is_some_and(|s| s.owns(t)) => TokenOwner::Speaker,
            _ => TokenOwner::Unknown,
        }
    }

    /// Whether input waits unread (a socket's read stopped at its budget, a long
    /// answer goes on): the loop must only look for new events, not sleep.
    pub(crate) fn busy(&self) -> bool {
        self.speaker.as_ref().is_some_and(|s| s.has_pending_reads())
            || self.bfd.has_pending_reads()
            || self.ops.has_pending()
    }

    /// When the next turn is needed at the latest: the earliest deadline of every
    /// part (the routes sync period bounds it).
    pub(crate) fn poll_at(&mut self, now: Instant) -> Instant {
        let input = arrivals(self.speaker.as_ref());
        let kernel_waits = self.pacing.kernel_waits(&input, now);
        [
            self.pacing.poll_at(&input, now),
            self.speaker.as_mut().and_then(|s| s.next_deadline()),
            self.stop_drain.deadline(),
            self.routes.next_deadline(kernel_waits, now),
            self.bfd.next_deadline(),
            self.next_watchdog,
            self.podnet.as_ref().and_then(|p| p.next_deadline()),
            self.ops.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .fold(self.next_sync, Instant::min)
    }

    /// A signal: SIGHUP re-applies the current state; SIGTERM and SIGINT stop (after
    /// the RFC 8326 drain when one is configured).
    pub(crate) fn on_signal(&mut self, sig: i32, now: Instant) {
        if sig == libc::SIGHUP {
            info!("main", "SIGHUP: re-applying the current state");
            self.plan_dirty = true;
            if let Some(p) = self.podnet.as_mut() {
                p.check_now(now);
            }
        } else if self.on_stop_signal(now) {
            self.notifier.stopping();
            self.notifier.status("draining (graceful shutdown)");
        }
    }

    /// Kernel route change notifications (other programs' changes).
    fn on_kernel_notification(&mut self, now: Instant) {
        if self.routes.on_notification() {
            self.routes.request_reconcile(now);
        }
    }

    /// Link or nftables changes the pod network watches.
    fn on_podnet_readable(&mut self, now: Instant) {
        if let Some(p) = self.podnet.as_mut() {
            p.on_readable(now);
        }
    }

    /// BFD packets.
    fn on_bfd_readable(&mut self, t: Token, now: Instant) {
        let changes = self.bfd.ready(t, now);
        self.on_bfd_changes(changes, now);
    }

    /// The control socket, metrics or health endpoint.
    fn on_ops_readable(&mut self, t: Token, now: Instant) {
        // The endpoints answer from the daemon's state (the control socket's admin
        // verbs change it): out of the daemon while they do.
        let mut ops = std::mem::take(&mut self.ops);
        ops.ready(t, self, now);
        self.ops = ops;
    }

    /// A BGP listener or connection.
    fn on_speaker_readable(&mut self, t: Token, now: Instant) {
        if let Some(sp) = self.speaker.as_mut() {
            sp.ready(t, now);
        }
    }

    /// Whether the loop ends now: a stop signal without drain, or the drain is over.
    pub(crate) fn stop_due(&mut self, now: Instant) -> bool {
        if self.stop_drain.due(now) {
            self.stopping = true;
        }
        self.stopping
    }

    /// The work after each batch of events, in this order: kernel results, unread BGP
    /// input, BFD (its failures end BGP sessions before anything else), BGP timers, the
    /// periodic re-apply, the plan, the pod network, RIB output to the peers, the
    /// kernel sync, the watchdog, the operations endpoints.
    pub(crate) fn turn(&mut self, now: Instant) {
        // Route batches the writer thread has sent (it wakes the loop when one is done).
        self.routes.collect(now);
        if let Some(sp) = self.speaker.as_mut().filter(|s| s.has_pending_reads()) {
            sp.drive_pending(now);
        }
        // BFD first: a failure it detects ends its BGP session before anything else.
        let mut bfd_changes = self.bfd.drive_pending(now);
        bfd_changes.extend(self.bfd.on_timers(now));
        self.on_bfd_changes(bfd_changes, now);
        // Timers.
        if let Some(sp) = self.speaker.as_mut() {
            sp.on_timers(now);
        }
        if now >= self.next_sync {
            // Safety net (kube-router's --routes-sync-period): re-apply everything.
            self.plan_dirty = true;
            self.routes.request_reconcile(now);
            self.next_sync = now + self.cfg.routes_sync_period;
        }
        if self.plan_dirty && self.snapshot.all_listed() {
            self.apply_plan(now);
            if let Some(p) = self.podnet.as_mut() {
                p.set_facts(&self.plan.pod_network, now);
            }
            if !self.told_synced {
                self.notifier.status("synced with the API server");
                self.told_synced = true;
            }
        }
        if let Some(t) = self.podnet.as_mut().and_then(|p| p.run(now)) {
            self.counters.routes_sync_time.observe(t);
        }
        // Hand RIB output to the sockets (`pacing` says when), then best-path changes to
        // the kernel (which waits while UPDATEs stream in).
        let input = arrivals(self.speaker.as_ref());
        let input_pending = self.pacing.kernel_waits(&input, now);
        if let Some(sp) = self.speaker.as_mut() {
            if self.pacing.flush_now(&input, now) {
                sp.flush_rib(now);
                self.pacing.flushed(sp.rib.has_out(), now);
            }
        }
        // Routes of an earlier run: deleted only once the API and the peers that are up
        // have been heard (`restart_hold`).
        let hold = self.routes.holding().then(|| routes::HoldFacts {
            listed: self.snapshot.all_listed(),
            bgp: self.speaker.is_some() && self.plan.identity.is_some(),
            peers: self
                .speaker
                .as_ref()
                .map(|sp| peer_sync(sp, now))
                .unwrap_or_default(),
            pod_cidrs: self.plan.pod_network.local_cidrs.clone(),
        });
        let synced = self.routes.sync(
            self.speaker.as_mut().map(|s| &mut s.rib),
            input_pending,
            hold,
            now,
        );
        self.counters.best_received += synced.best_taken as u64;
        if synced.addrs_changed {
            // Import safety depends on connected subnets and local addresses.
            self.plan_dirty = true;
        }
        if let Some(w) = self.next_watchdog {
            if now >= w {
                self.notifier.watchdog();
                self.next_watchdog = self.notifier.watchdog_interval().map(|i| now + i);
            }
        }
        self.last_heartbeat = now;
        let mut ops = std::mem::take(&mut self.ops);
        ops.drive(self, now);
        self.ops = ops;
    }

    /// The stop: with graceful restart, sessions closed without NOTIFICATION (after
    /// telling BFD peers AdminDown) and kernel routes kept; without, the drain's
    /// withdrawals and then a Cease to every peer.
    pub(crate) fn stop(&mut self, now: Instant) {
        self.notifier.stopping();
        let graceful = self.settings.graceful_restart;
        info!(
            "main",
            "stopping: {}",
            if graceful {
                "graceful restart enabled: sessions closed without NOTIFICATION, kernel routes kept"
            } else {
                "closing sessions with Cease so peers withdraw at once"
            }
        );
        self.withdraw_after_drain(now);
        if graceful {
            bfd_admin_down_before_stop(self);
        }
        if let Some(sp) = self.speaker.as_mut() {
            sp.shutdown(!graceful, now);
            // The Cease NOTIFICATIONs: half a second in all, however many peers.
            sp.drain_closing(Duration::from_millis(500));
        }
    }

    /// Removes the control socket's file, if the daemon made one.
    fn remove_ctl_socket(&self) {
        if self.ops.ctl.is_some() {
            let _ = std::fs::remove_file(&self.cfg.ctl_socket);
        }
    }
}

/// How long a stop with graceful restart may spend telling BFD peers AdminDown.
const BFD_ADMIN_DOWN_BOUND: Duration = Duration::from_secs(1);

/// On a stop with graceful restart: the BGP connections are closed (peers enter
/// graceful-restart helper mode on the TCP close, as without BFD), then the BFD
/// sessions go AdminDown, so peers take the stop for what it is (planned, the forwarding
/// plane stays) and keep our routes as graceful restart says instead of seeing a BFD
/// failure and withdrawing them (BFD runs in this process: its C bit is 0). A SIGKILL
/// sends nothing and is detected by peers as a failure.
fn bfd_admin_down_before_stop(d: &mut Daemon) {
    if d.bfd.sessions().next().is_none() {
        return;
    }
    // Dropping the speaker closes every BGP socket without a NOTIFICATION (what the
    // exit would do a moment later); the kernel routes stay.
    d.speaker = None;
    let n = d.bfd.admin_down_before_stop(BFD_ADMIN_DOWN_BOUND);
    info!("bfd", "told {n} BFD peer(s) AdminDown before stopping");
}

/// The operations endpoints: the control socket (`kube-bgp neighbor`, `status`, …) and
/// the metrics and health HTTP endpoints. Each answers from the daemon's state.
#[derive(Default)]
struct Endpoints {
    ctl: Option<Server<mio::net::UnixListener, views::RibCursor>>,
    metrics: Option<Server<mio::net::TcpListener, ()>>,
    health: Option<Server<mio::net::TcpListener, ()>>,
}

impl Endpoints {
    fn open(cfg: &Config, registry: &mio::Registry) -> Endpoints {
        Endpoints {
            ctl: open_ctl(cfg, registry),
            metrics: open_http(
                cfg.metrics_addr,
                cfg.metrics_port,
                METRICS_BASE,
                registry,
                "metrics",
            ),
            health: open_http(
                cfg.health_addr,
                cfg.health_port,
                HEALTH_BASE,
                registry,
                "health",
            ),
        }
    }

    fn owns(&self, t: Token) -> bool {
        self.ctl.as_ref().is_some_and(|s| s.owns(t))
            || self.metrics.as_ref().is_some_and(|s| s.owns(t))
            || self.health.as_ref().is_some_and(|s| s.owns(t))
    }

    /// Whether the control socket has answers to go on with (the loop must not sleep).
    fn has_pending(&self) -> bool {
        self.ctl.as_ref().is_some_and(|s| s.has_pending())
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.ctl.as_ref().and_then(|s| s.next_deadline()),
            self.metrics.as_ref().and_then(|s| s.next_deadline()),
            self.health.as_ref().and_then(|s| s.next_deadline()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Readiness of one of the endpoints' tokens: requests are answered from `d` at
    /// `now`.
    fn ready(&mut self, t: Token, d: &mut Daemon, now: Instant) {
        if let Some(s) = self.ctl.as_mut().filter(|s| s.owns(t)) {
            s.ready(t, &mut views::CtlView { d, now }, now);
        } else if let Some(s) = self.metrics.as_mut().filter(|s| s.owns(t)) {
            let metrics = true;
            s.ready(t, &mut views::HttpView { d, now, metrics }, now);
        } else if let Some(s) = self.health.as_mut().filter(|s| s.owns(t)) {
            let metrics = false;
            s.ready(t, &mut views::HttpView { d, now, metrics }, now);
        }
    }

    /// Long answers go on part by part, and connections past their deadline (silent,
    /// or not reading) are closed.
    fn drive(&mut self, d: &mut Daemon, now: Instant) {
        if let Some(s) = self.ctl.as_mut() {
            s.drive_pending(&mut views::CtlView { d, now }, now);
            s.expire(now);
        }
        for (s, metrics) in [(&mut self.metrics, true), (&mut self.health, false)] {
            if let Some(s) = s.as_mut() {
                s.drive_pending(&mut views::HttpView { d, now, metrics }, now);
                s.expire(now);
            }
        }
    }
}

/// The agent's seed (BGP and BFD jitter, BFD discriminators and source ports):
/// different per process, so a restarted kube-bgp does not reuse its discriminators.
fn process_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x5EED);
    t ^ (u64::from(std::process::id()) << 40)
}

/// Makes `policy` the RIB's unless it is already in force (`force`: re-evaluate even
/// then): every path re-imported and re-exported, or only re-exported when the drain is
/// all that changed. Says when graceful shutdown starts or ends.
fn install_policy(
    sp: &mut Speaker,
    current: &mut Option<rib_policy::KubePolicy>,
    refusals: &rib_policy::RefusalLog,
    policy: rib_policy::KubePolicy,
    force: bool,
) {
    if !force && current.as_ref() == Some(&policy) {
        return;
    }
    let was = current.as_ref().is_some_and(|p| p.model.graceful_shutdown);
    match (was, policy.model.graceful_shutdown) {
        (false, true) => info!(
            "bgp",
            "graceful shutdown: announcing every route with the GRACEFUL_SHUTDOWN community \
             65535:0 (LOCAL_PREF 0 to iBGP peers, RFC 8326) so routers move traffic away"
        ),
        (true, false) => info!(
            "bgp",
            "graceful shutdown over: normal announcements restored"
        ),
        _ => {}
    }
    // Only the drain changed: imports are as they were, re-running them over every
    // path (a million on a busy node) would be wasted.
    let export_only = !force
        && current.as_ref().is_some_and(|c| {
            let mut same = c.clone();
            same.model.graceful_shutdown = policy.model.graceful_shutdown;
            same == policy
        });
    sp.rib.set_policy(Box::new(policy.clone()));
    if export_only {
        sp.rib.reexport();
    } else {
        refusals.replay(|| sp.rib.reevaluate());
    }
    *current = Some(policy);
}

/// What the speaker says about its BGP input, for `pacing` (none before BGP runs).
fn arrivals(sp: Option<&Speaker>) -> pacing::Arrivals {
    sp.map(|sp| pacing::Arrivals {
        last: sp.last_input(),
        alone: sp.input_alone(pacing::OUT_QUIET),
        unread: sp.has_pending_reads(),
    })
    .unwrap_or_default()
}

/// Every configured peer's sync state, for the restart hold.
fn peer_sync(sp: &Speaker, now: Instant) -> Vec<restart_hold::PeerSync> {
    use crate::bgp::fsm::State;
    sp.peers
        .values()
        .map(|p| match (p.fsm.state(), p.fsm.negotiated()) {
            (State::Established, Some(n)) => {
                let since = p.stats.state_since;
                let last_activity = match (since, p.stats.last_update) {
                    (Some(a), Some(b)) => a.max(b),
                    (a, b) => a.or(b).unwrap_or(now),
                };
                restart_hold::PeerSync::Established {
                    last_activity,
                    eor_all: n.families.iter().all(|f| p.stats.eor.contains(f)),
                }
            }
            _ => restart_hold::PeerSync::NotEstablished,
        })
        .collect()
}

/// Largest control-socket request (one JSON line).
const MAX_CTL_REQUEST: usize = 4 * 1024;
/// Largest HTTP request head.
const MAX_HTTP_REQUEST: usize = 8 * 1024;

fn open_ctl(
    cfg: &Config,
    registry: &mio::Registry,
) -> Option<Server<mio::net::UnixListener, views::RibCursor>> {
    let path = &cfg.ctl_socket;
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::remove_file(path);
    // Created with mode 0600 from the start (no window in which others could connect).
    // SAFETY: umask only swaps the process's file-creation mask; no memory is involved.
    let old_mask = unsafe { libc::umask(0o177) };
    let bound = mio::net::UnixListener::bind(path);
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(old_mask) };
    let listener = match bound {
        Ok(l) => l,
        Err(e) => {
            warn!(
                "ctl",
                "control socket {} unavailable: {e}; the management CLI will not work",
                path.display()
            );
            return None;
        }
    };
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    let limits = crate::ops::serve::Limits {
        max_request: MAX_CTL_REQUEST,
        complete: |b| b.contains(&b'\n'),
    };
    match Server::new(listener, CTL_BASE, registry, limits) {
        Ok(s) => Some(s),
        Err(e) => {
            warn!("ctl", "control socket: {e}");
            None
        }
    }
}

fn open_http(
    addr: Option<IpAddr>,
    port: u16,
    base: usize,
    registry: &mio::Registry,
    what: &str,
) -> Option<Server<mio::net::TcpListener, ()>> {
    if port == 0 {
        return None;
    }
    let ip = addr.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let sa = std::net::SocketAddr::new(ip, port);
    let l = match mio::net::TcpListener::bind(sa) {
        Ok(l) => l,
        Err(e) => {
            warn!("ops", "{what} endpoint {sa} unavailable: {e}");
            return None;
        }
    };
    info!("ops", "{what} endpoint on http://{sa}");
    let limits = crate::ops::serve::Limits {
        max_request: MAX_HTTP_REQUEST,
        complete: http::request_complete,
    };
    Server::new(l, base, registry, limits).ok()
}

impl Daemon {
    /// API events, drained from the reader threads' channel.
    pub(crate) fn on_kube_events(&mut self, events: impl Iterator<Item = KubeEvent>) {
        for ev in events {
            self.counters.api_events += 1;
            match &ev {
                KubeEvent::Status { kind, state } => {
                    use crate::kube::snapshot::SyncState;
                    match state {
                        SyncState::Unreachable { error } => warn!(
                            "kube",
                            "{kind}: API server unreachable ({error}); keeping sessions and routes as they are"
                        ),
                        SyncState::Relisting => {
                            self.counters.relists += 1;
                            info!("kube", "{kind}: relisting")
                        }
                        SyncState::Synced => info!("kube", "{kind}: synced"),
                    }
                }
                KubeEvent::Replaced { kind, objects } => {
                    crate::debug!("kube", "{kind}: listed {} objects", objects.len())
                }
                _ => {}
            }
            if self.snapshot.apply(ev) {
                self.plan_dirty = true;
            }
        }
    }

    /// Recomputes the plan and applies the differences, each part by its owner: the
    /// BGP identity (router ID, ASN, cluster ID), the listeners, the RIB's policy, the
    /// originated routes, the peers (and their BFD sessions), the kernel sync's context.
    fn apply_plan(&mut self, now: Instant) {
        self.plan_dirty = false;
        let facts = cluster::KernelFacts {
            connected: self.routes.connected(),
            local_addrs: self.routes.local_addrs().clone(),
            adopted_at_start: self.routes.adopted_at_start(),
        };
        let plan = self
            .planner
            .plan(&self.settings, &self.node_name, &mut self.snapshot, &facts);
        self.counters.plans_applied += 1;
        self.log_problems(&plan);
        let Some(me) = plan.identity.clone() else {
            // BGP cannot run (yet): keep what runs if the local node still exists in
            // the snapshot; drop node sessions otherwise. With nothing running, what
            // an earlier run left goes when the restart hold ends (`restart_hold`).
            if self.speaker.is_none() {
                self.routes.without_bgp(&plan.pod_network.local_cidrs);
            }
            self.plan = plan;
            return;
        };
        let reevaluate = self.apply_identity(&me, &plan, now);
        if let Some(sp) = self.speaker.as_mut() {
            for (addr, err) in sp.set_listen(&me.listen, now) {
                warn!("bgp", "cannot listen on {addr}: {err}");
            }
        }
        self.apply_policy(&plan, reevaluate, now);
        self.apply_originated(&plan);
        self.apply_peers(&plan, now);
        self.routes.set_context(&plan, &self.snapshot, now);
        self.plan = plan;
    }

    /// Logs each problem of the plan once, when it appears; says when it is fixed.
    fn log_problems(&mut self, plan: &Plan) {
        let current: BTreeSet<Problem> = plan.problems.iter().cloned().collect();
        for p in current.difference(&self.logged_problems) {
            warn!("cluster", "{p}");
        }
        for p in self.logged_problems.difference(&current) {
            info!("cluster", "fixed: {}: {}", p.object, p.field);
        }
        self.logged_problems = current;
    }

    /// The BGP identity: a new speaker (every session restarted) when the router ID,
    /// ASN or graceful restart changed; otherwise the source addresses and the route
    /// reflector cluster ID change in place. Returns whether the RIB's routes must be
    /// re-evaluated (the cluster ID changed).
    fn apply_identity(&mut self, me: &cluster::peers::Identity, plan: &Plan, now: Instant) -> bool {
        let local = self.local_params(me, plan);
        let cluster_id = me.rr_server;
        let rebuild = match &self.speaker {
            None => true,
            Some(sp) => {
                sp.local.router_id != local.router_id
                    || sp.local.local_asn != local.local_asn
                    || sp.local.graceful_restart != local.graceful_restart
            }
        };
        if rebuild {
            if let Some(mut old) = self.speaker.take() {
                info!(
                    "bgp",
                    "router ID, ASN or graceful restart changed: restarting all sessions"
                );
                old.shutdown(true, now);
                old.set_peers(&[], now);
                old.set_listen(&[], now);
            }
            let rib = Rib::new(
                RibConfig {
                    router_id: me.router_id,
                    cluster_id,
                },
                Box::new(self.policy_for(plan)),
            );
            info!(
                "bgp",
                "BGP identity: router-id {} AS {}{}",
                me.router_id,
                me.local_asn,
                cluster_id
                    .map(|c| format!(", route reflector cluster {c}"))
                    .unwrap_or_default()
            );
            self.originated.clear();
            self.policy = None;
            let seed = self.next_speaker_seed();
            let io = (self.session_io)();
            self.speaker = Some(Speaker::with_io(rib, local, seed, io));
            return false;
        }
        let Some(sp) = self.speaker.as_mut() else {
            return false;
        };
        sp.local.best_v4 = local.best_v4;
        sp.local.best_v6 = local.best_v6;
        // Not negotiated (D1): reflection changes in place, no session is reset.
        if sp.rib.config().cluster_id == cluster_id {
            return false;
        }
        info!(
            "bgp",
            "route reflector cluster ID {}: sessions kept, routes re-evaluated",
            cluster_id
                .map(|c| c.to_string())
                .unwrap_or_else(|| "removed".into())
        );
        sp.rib.set_cluster_id(cluster_id);
        true
    }

    /// The speaker's local parameters for identity `me` under `plan`.
    fn local_params(&self, me: &cluster::peers::Identity, plan: &Plan) -> LocalParams {
        LocalParams {
            router_id: me.router_id,
            local_asn: me.local_asn,
            port: self.settings.bgp_port,
            best_v4: me.listen.iter().find_map(|a| match a {
                IpAddr::V4(v) => Some(*v),
                _ => None,
            }),
            best_v6: me.listen.iter().find_map(|a| match a {
                IpAddr::V6(v) => Some(*v),
                _ => None,
            }),
            graceful_restart: plan.graceful_restart,
            accept_zero_holdtime: self.cfg.accept_zero_holdtime,
            prefix_limit_restart: self.cfg.prefix_limit_restart,
            max_send_buffer: self.cfg.max_send_buffer as usize,
            gtsm: self.cfg.node_ttl_security,
        }
    }

    /// The RIB's import and export policy (`force`: re-evaluate every path even if it
    /// did not change), and since when routes carry GRACEFUL_SHUTDOWN.
    fn apply_policy(&mut self, plan: &Plan, force: bool, now: Instant) {
        let policy = self.policy_for(plan);
        let Some(sp) = self.speaker.as_mut() else {
            return;
        };
        install_policy(sp, &mut self.policy, &self.refusals, policy, force);
        let active = self
            .policy
            .as_ref()
            .is_some_and(|p| p.model.graceful_shutdown);
        self.graceful_shutdown_since = active.then(|| self.graceful_shutdown_since.unwrap_or(now));
    }

    /// The originated routes (pod CIDRs, service VIPs): those gone are withdrawn, new
    /// or changed ones announced.
    fn apply_originated(&mut self, plan: &Plan) {
        let Some(sp) = self.speaker.as_mut() else {
            return;
        };
        let want: BTreeMap<Prefix, Originated> = plan
            .originated
            .iter()
            .map(|o| (o.prefix, o.clone()))
            .collect();
        for (p, _) in self
            .originated
            .iter()
            .filter(|(p, _)| !want.contains_key(p))
        {
            sp.rib.withdraw_local(p);
            if self.originated.get(p).map(|o| o.kind) == Some(OriginKind::Vip) {
                self.counters.withdraw_vip += 1;
            }
        }
        for (p, o) in &want {
            if self.originated.get(p) != Some(o) {
                let mut attrs = Attrs {
                    origin: Origin::Igp,
                    ..Attrs::default()
                };
                attrs.set_next_hop(p.afi(), o.next_hop, None);
                sp.rib.originate(*p, attrs);
                match o.kind {
                    OriginKind::PodCidr => self.counters.adv_pod_route += 1,
                    OriginKind::Vip => self.counters.adv_vip += 1,
                }
            }
        }
        self.originated = want;
    }

    /// The peers: sessions added, changed in place or removed, and their BFD sessions.
    fn apply_peers(&mut self, plan: &Plan, now: Instant) {
        let Some(sp) = self.speaker.as_mut() else {
            return;
        };
        let before = sp.peers.len();
        let took = Stopwatch::start();
        sp.set_peers(&plan.peers, now);
        self.counters.peers_sync_time.observe(took.elapsed());
        let wants = bfd_link::bfd_wants(&plan.peers, &self.routes.connected());
        self.bfd.set_sessions(&wants, now);
        if sp.peers.len() != before {
            self.counters.peer_changes += 1;
        }
    }

    /// BFD state changes: a failure of a session that was Up ends its BGP session at
    /// once (Cease 6/10, routes withdrawn); anything else (coming Up, the peer's
    /// AdminDown) leaves BGP alone.
    fn on_bfd_changes(&mut self, changes: Vec<(IpAddr, crate::bfd::StateChange)>, now: Instant) {
        for (peer, c) in changes {
            if !c.is_failure() {
                continue;
            }
            if let Some(sp) = self.speaker.as_mut() {
                sp.bfd_down(peer, now);
            }
        }
    }

    fn policy_for(&self, plan: &Plan) -> rib_policy::KubePolicy {
        let node_peers = plan
            .peers
            .iter()
            .filter(|p| p.kind.is_node())
            .map(|p| p.addr)
            .chain(plan.node_addrs.iter().copied())
            .collect();
        let local: HashMap<Prefix, OriginKind> =
            plan.originated.iter().map(|o| (o.prefix, o.kind)).collect();
        let mut model = plan.policy.clone();
        // A stop without graceful restart drains whatever the plan says (RFC 8326).
        model.graceful_shutdown |= self.stop_drain.active();
        rib_policy::KubePolicy {
            model,
            node_peers,
            local,
            refusals: self.refusals.clone(),
        }
    }

    /// Counts one control-socket request.
    fn count_ctl(&self, verb: &'static str) {
        *self
            .counters
            .ctl_requests
            .borrow_mut()
            .entry(verb)
            .or_default() += 1;
    }

    /// A SIGTERM or SIGINT: stop now, or first drain (RFC 8326) when
    /// `--graceful-shutdown-time` asks for it and graceful restart is off. Returns
    /// whether a drain started (the loop runs on until it is over).
    fn on_stop_signal(&mut self, now: Instant) -> bool {
        let established = self.established_peers().count();
        let was_draining = self.stop_drain.active();
        let drained_for = self
            .graceful_shutdown_since
            .map(|t| now.saturating_duration_since(t));
        match self.stop_drain.on_signal(now, established, drained_for) {
            drain::StopVerdict::StopNow => {
                if was_draining {
                    info!(
                        "main",
                        "second stop signal: ending the graceful shutdown now"
                    );
                }
                self.stopping = true;
                false
            }
            drain::StopVerdict::AlreadyDrained => {
                info!(
                    "main",
                    "stopping: routes have carried GRACEFUL_SHUTDOWN for {:.1}s already \
                     (cordoned), no further wait",
                    drained_for.unwrap_or_default().as_secs_f64()
                );
                self.stopping = true;
                false
            }
            drain::StopVerdict::Drain { until } => {
                info!(
                    "main",
                    "stopping: graceful shutdown first, {:.1}s with {established} established \
                     peers (a second SIGTERM or SIGINT stops at once)",
                    until.saturating_duration_since(now).as_secs_f64()
                );
                let policy = self.policy_for(&self.plan);
                if let Some(sp) = self.speaker.as_mut() {
                    install_policy(sp, &mut self.policy, &self.refusals, policy, false);
                    // Out now, not after the usual coalescing delay.
                    sp.flush_rib(now);
                }
                self.graceful_shutdown_since.get_or_insert(now);
                true
            }
        }
    }

    /// After a drain: withdraws every originated route and hands the withdrawals to the
    /// sockets, so the Cease that follows closes sessions that carry nothing.
    fn withdraw_after_drain(&mut self, now: Instant) {
        let Some(took) = self.stop_drain.elapsed(now) else {
            return;
        };
        let Some(sp) = self.speaker.as_mut() else {
            return;
        };
        for p in self.originated.keys() {
            sp.rib.withdraw_local(p);
        }
        // Local routes only: one or two flushes; bounded all the same.
        for _ in 0..16 {
            sp.flush_rib(now);
            if !sp.rib.has_out() {
                break;
            }
        }
        info!(
            "main",
            "graceful shutdown over after {:.1}s: {} routes withdrawn",
            took.as_secs_f64(),
            self.originated.len()
        );
    }
}
