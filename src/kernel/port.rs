//! The seam between the kernel route sync and the kernel it talks to: everything the
//! `Reconciler` and the daemon's `KernelRoutes` do with the host's routing tables goes
//! through one [`KernelPort`], so the same code runs over the host's netlink sockets
//! ([`NetlinkPort`]) or over a simulated kernel in tests (`kernel::sim`).
//!
//! Owns: the real port's three parts (the request socket used on the daemon thread, the
//! route writer thread, the change subscription) and how they are opened and filtered.
//! Must not: decide anything about routes, copy a batch, or hold routing state. Batches
//! stay encoded `Vec<u8>` from `Reconciler::plan` to the kernel; the port only carries
//! them. The overlay's links (tunnels, their table-77 routes, the rules, FoU ports and
//! the modules they need) go through the port's [`LinkPort`] (`link_port`): its own
//! sockets on the host ([`HostLinks`]), the same simulated kernel in tests.

use std::os::unix::io::{AsRawFd, RawFd};
use std::sync::Arc;

use super::modules::{self, Loaded, ModuleError};
use super::netlink::{
    BatchOptions, DumpSource, Failure, MsgWriter, Netlink, NetlinkError, NetlinkRequests, NlMsg,
};
use super::watch::{Changes, Watch};
use super::writer::{Done, Job, Writer};

/// The kernel as the route sync sees it. Dumps (`DumpSource`) and `send` run on the
/// daemon thread and block until the kernel answered; `submit`/`try_done` hand batches
/// to a writer and take the results back in submission order; `changes` reads other
/// programs' route, address and link changes.
pub(crate) trait KernelPort: DumpSource {
    /// Sends encoded requests (complete messages back to back; sequence numbers and
    /// ACK flags are the port's to write) and returns the ones the kernel refused.
    fn send(
        &mut self,
        requests: &mut [u8],
        opts: BatchOptions,
    ) -> Result<Vec<Failure>, NetlinkError>;
    /// Whether batches can be handed to a writer (`submit`); without one the caller
    /// sends them itself (`send`).
    fn has_writer(&self) -> bool;
    /// Hands a batch to the writer. Fails only if the writer is gone.
    fn submit(&mut self, job: Job) -> Result<(), NetlinkError>;
    /// The outcome of the oldest batch the writer finished, if any (never blocks).
    fn try_done(&mut self) -> Option<Done>;
    /// Other programs' changes read since the last call (at most `max_reads` reads);
    /// empty without a subscription. Our own requests' notifications are not reported.
    fn changes(&mut self, max_reads: usize) -> Result<Changes, NetlinkError>;
    /// The subscription's socket, for the event loop to poll (none: nothing to poll).
    fn watch_fd(&self) -> Option<RawFd>;
    /// Drops notifications sent by these netlink ports (sockets of ours outside the
    /// port, such as the overlay's) as well as the port's own.
    fn ignore_senders(&mut self, others: &[u32]) -> Result<(), NetlinkError>;
    /// The netlink port id of the request socket.
    fn port_id(&self) -> Option<u32>;
    /// Finished batches wait that no waker announced (a simulated kernel's): the loop
    /// should collect them now. The real writer wakes the loop instead.
    fn results_waiting(&self) -> bool;
    /// Changes wait that no polled socket announces (a simulated kernel's): the route
    /// sync reads them itself on its next turn.
    fn changes_waiting(&self) -> bool;
    /// What the overlay makes its tunnels, rules and FoU ports through, on the same
    /// kernel.
    fn link_port(&self) -> Box<dyn LinkPort>;
}

/// The overlay's way to the kernel: a NETLINK_ROUTE socket for links, rules and table
/// 77, a NETLINK_GENERIC socket for FoU ports, and module loading (`modprobe`).
pub(crate) trait LinkPort {
    /// A request socket for links, rules and table-77 routes.
    fn open_links(&mut self) -> Result<Box<dyn NetlinkRequests>, NetlinkError>;
    /// A generic-netlink request socket (the `fou` family).
    fn open_generic(&mut self) -> Result<Box<dyn NetlinkRequests>, NetlinkError>;
    /// Loads a kernel module and its dependencies (`modules::load`).
    fn load_module(&mut self, name: &str) -> Result<Loaded, ModuleError>;
}

/// The host's links: sockets of their own, and the host's modules.
pub(crate) struct HostLinks;

impl LinkPort for HostLinks {
    fn open_links(&mut self) -> Result<Box<dyn NetlinkRequests>, NetlinkError> {
        Ok(Box::new(Netlink::open()?))
    }

    fn open_generic(&mut self) -> Result<Box<dyn NetlinkRequests>, NetlinkError> {
        Ok(Box::new(Netlink::open_generic()?))
    }

    fn load_module(&mut self, name: &str) -> Result<Loaded, ModuleError> {
        modules::load(name)
    }
}

/// The host's kernel through netlink: a request socket on the daemon thread, the route
/// writer thread (optional: without it batches are sent on the daemon thread), and the
/// change subscription (optional).
pub(crate) struct NetlinkPort {
    nl: Netlink,
    writer: Option<Writer>,
    watch: Option<Watch>,
}

impl NetlinkPort {
    /// The request socket only (no writer, no subscription): tools and tests that send
    /// their batches themselves.
    pub(crate) fn requests_only() -> Result<NetlinkPort, NetlinkError> {
        Ok(NetlinkPort {
            nl: Netlink::open()?,
            writer: None,
            watch: None,
        })
    }

    /// All three parts, as the daemon runs: `waker` wakes the loop after every batch the
    /// writer finished. Fails only if the request socket cannot be opened; a missing
    /// writer or subscription is logged and done without.
    pub(crate) fn open(waker: Option<Arc<mio::Waker>>) -> Result<NetlinkPort, NetlinkError> {
        let mut port = NetlinkPort::requests_only()?;
        port.writer = match Writer::start(waker) {
            Ok(w) => Some(w),
            Err(e) => {
                crate::warn!(
                    "kernel",
                    "route writer unavailable ({e}); sending route batches from the main thread"
                );
                None
            }
        };
        port.watch = match Watch::open() {
            Ok(w) => Some(w),
            Err(e) => {
                crate::warn!("kernel", "route change notifications unavailable: {e}");
                None
            }
        };
        Ok(port)
    }
}

impl DumpSource for NetlinkPort {
    fn dump(
        &mut self,
        what: &'static str,
        build: &dyn Fn(&mut MsgWriter),
        reset: &mut dyn FnMut(),
        each: &mut dyn FnMut(&NlMsg<'_>),
    ) -> Result<(), NetlinkError> {
        self.nl.dump(what, build, reset, each)
    }
}

impl KernelPort for NetlinkPort {
    fn send(
        &mut self,
        requests: &mut [u8],
        opts: BatchOptions,
    ) -> Result<Vec<Failure>, NetlinkError> {
        self.nl.send_requests(requests, opts)
    }

    fn has_writer(&self) -> bool {
        self.writer.is_some()
    }

    fn submit(&mut self, job: Job) -> Result<(), NetlinkError> {
        match self.writer.as_mut() {
            Some(w) => w.submit(job),
            None => Err(NetlinkError::Open("no route writer thread".into())),
        }
    }

    fn try_done(&mut self) -> Option<Done> {
        self.writer.as_mut().and_then(Writer::try_done)
    }

    fn changes(&mut self, max_reads: usize) -> Result<Changes, NetlinkError> {
        match self.watch.as_mut() {
            Some(w) => w.drain(max_reads),
            None => Ok(Changes::default()),
        }
    }

    fn watch_fd(&self) -> Option<RawFd> {
        self.watch.as_ref().map(Watch::as_raw_fd)
    }

    fn ignore_senders(&mut self, others: &[u32]) -> Result<(), NetlinkError> {
        let Some(w) = self.watch.as_mut() else {
            return Ok(());
        };
        // Our own changes are known from the batch replies: do not read them back.
        let ours: Vec<u32> = self
            .nl
            .port_id()
            .into_iter()
            .chain(self.writer.as_ref().and_then(Writer::port_id))
            .chain(others.iter().copied())
            .collect();
        w.ignore_senders(&ours)
    }

    fn port_id(&self) -> Option<u32> {
        self.nl.port_id()
    }

    fn results_waiting(&self) -> bool {
        false
    }

    fn changes_waiting(&self) -> bool {
        false
    }

    fn link_port(&self) -> Box<dyn LinkPort> {
        Box::new(HostLinks)
    }
}
