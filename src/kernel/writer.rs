//! The route writer: a thread that owns one netlink request socket and sends route
//! batches for the daemon thread.
//!
//! The kernel does its route work (inserting into its FIB trie, a few microseconds per
//! route) inside `sendmsg`, in the sender's thread. Sending from here puts that work on
//! another core while the daemon thread keeps reading BGP, preparing the next batch and
//! answering the control socket; a million routes no longer stall the event loop.
//!
//! Owns: the socket and the thread, nothing else. It holds no routing state and makes
//! no decision: requests arrive encoded (`Reconciler::plan`), results (the index and
//! errno of every refused request) go back in the order the jobs came, and the daemon's
//! loop is woken for them. Dropping the `Writer` finishes the job in progress and joins
//! the thread.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::netlink::{BatchOptions, Failure, Netlink, NetlinkError};
use crate::net::timers::Stopwatch;

/// Encoded requests to send (complete netlink messages back to back).
pub struct Job {
    pub requests: Vec<u8>,
    pub opts: BatchOptions,
}

/// What became of a job.
pub struct Done {
    /// The job's buffer, handed back for reuse. Nothing reuses it yet; it is kept so the
    /// buffer still comes back to (and is freed on) the thread that sent the job.
    #[allow(dead_code)]
    pub(crate) requests: Vec<u8>,
    pub result: Result<Vec<Failure>, NetlinkError>,
    /// Time spent in the kernel (sending and reading replies).
    pub(crate) duration: Duration,
    /// How long the writer had nothing to do before this job arrived.
    pub(crate) idle: Duration,
}

/// See the module documentation.
pub struct Writer {
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    thread: Option<JoinHandle<()>>,
    port: Option<u32>,
    outstanding: usize,
}

impl Writer {
    /// Opens the socket (in the calling thread's network namespace) and starts the
    /// thread. `waker` is woken after every finished job.
    pub fn start(waker: Option<Arc<mio::Waker>>) -> Result<Writer, NetlinkError> {
        let mut nl = Netlink::open()?;
        let port = nl.port_id();
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel::<Done>();
        let thread = std::thread::Builder::new()
            .name("route-writer".into())
            .spawn(move || {
                let mut free = Stopwatch::start();
                for mut job in job_rx {
                    let busy = Stopwatch::start();
                    let idle = free.elapsed();
                    let result = nl.send_requests(&mut job.requests, job.opts);
                    let d = Done {
                        requests: job.requests,
                        result,
                        duration: busy.elapsed(),
                        idle,
                    };
                    free = Stopwatch::start();
                    if done_tx.send(d).is_err() {
                        return;
                    }
                    if let Some(w) = &waker {
                        let _ = w.wake();
                    }
                }
            })
            .map_err(|e| NetlinkError::Open(format!("route writer thread: {e}")))?;
        Ok(Writer {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            port,
            outstanding: 0,
        })
    }

    /// The netlink port id of the writer's socket (its change notifications carry it).
    pub(crate) fn port_id(&self) -> Option<u32> {
        self.port
    }

    /// Queues a job. Fails only if the thread is gone (its result is then an error).
    pub fn submit(&mut self, job: Job) -> Result<(), NetlinkError> {
        let sent = self.jobs.as_ref().map(|tx| tx.send(job).is_ok());
        if sent == Some(true) {
            self.outstanding += 1;
            Ok(())
        } else {
            Err(NetlinkError::Open(
                "the route writer thread has stopped".into(),
            ))
        }
    }

    /// The next finished job, if any (never blocks).
    pub(crate) fn try_done(&mut self) -> Option<Done> {
        match self.done.try_recv() {
            Ok(d) => {
                self.outstanding = self.outstanding.saturating_sub(1);
                Some(d)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => self.lost(),
        }
    }

    /// Waits (at most `timeout`) for the next finished job.
    pub fn wait_done(&mut self, timeout: Duration) -> Option<Done> {
        if self.outstanding == 0 {
            return None;
        }
        match self.done.recv_timeout(timeout) {
            Ok(d) => {
                self.outstanding = self.outstanding.saturating_sub(1);
                Some(d)
            }
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => self.lost(),
        }
    }

    /// The thread ended with jobs outstanding (it panicked): report one as failed so
    /// the caller re-reads the kernel instead of waiting forever.
    fn lost(&mut self) -> Option<Done> {
        if self.outstanding == 0 {
            return None;
        }
        self.outstanding -= 1;
        Some(Done {
            requests: Vec::new(),
            result: Err(NetlinkError::Open(
                "the route writer thread stopped during a batch".into(),
            )),
            duration: Duration::ZERO,
            idle: Duration::ZERO,
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
