//! systemd's notify protocol (sd_notify), written by hand: one datagram per message to
//! the unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` in the abstract
//! namespace). No libsystemd. Without `$NOTIFY_SOCKET` every call does nothing.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// A handle on the service manager's notification socket.
pub(crate) struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET` and `$WATCHDOG_USEC` (honouring `$WATCHDOG_PID`).
    pub(crate) fn from_env() -> Notifier {
        let target = std::env::var("NOTIFY_SOCKET").ok().and_then(|path| {
            let addr = if let Some(name) = path.strip_prefix('@') {
                SocketAddr::from_abstract_name(name.as_bytes()).ok()?
            } else {
                SocketAddr::from_pathname(&path).ok()?
            };
            let sock = UnixDatagram::unbound().ok()?;
            Some((sock, addr))
        });
        let pid_ok = std::env::var("WATCHDOG_PID")
            .ok()
            .map(|p| p.trim() == std::process::id().to_string())
            .unwrap_or(true);
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|us| *us > 0 && pid_ok)
            .map(Duration::from_micros);
        Notifier { target, watchdog }
    }

    /// A handle that tells nobody anything (an agent that does not touch the host).
    pub(crate) fn inert() -> Notifier {
        Notifier {
            target: None,
            watchdog: None,
        }
    }

    /// How often to send WATCHDOG=1 (half the manager's timeout), if it asked.
    pub(crate) fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|d| d / 2)
    }

    fn send(&self, msg: &str) {
        if let Some((sock, addr)) = &self.target {
            // A lost notification is not fatal; the manager's timeouts cover it.
            let _ = sock.send_to_addr(msg.as_bytes(), addr);
        }
    }

    pub(crate) fn ready(&self, status: &str) {
        self.send(&format!(
            "READY=1\nSTATUS={status}\nMAINPID={}",
            std::process::id()
        ));
    }

    pub(crate) fn stopping(&self) {
        self.send("STOPPING=1");
    }

    pub(crate) fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    pub(crate) fn status(&self, status: &str) {
        self.send(&format!("STATUS={status}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_ready_to_the_socket_in_env() {
        let dir = std::env::temp_dir().join(format!("kbnotify{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let server = UnixDatagram::bind(&dir).unwrap();
        let n = Notifier {
            target: Some((
                UnixDatagram::unbound().unwrap(),
                SocketAddr::from_pathname(&dir).unwrap(),
            )),
            watchdog: Some(Duration::from_secs(30)),
        };
        n.ready("up");
        n.watchdog();
        let mut buf = [0u8; 256];
        let k = server.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..k]).unwrap();
        assert!(msg.starts_with("READY=1\nSTATUS=up"), "{msg}");
        let k = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"WATCHDOG=1");
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(15)));
        let _ = std::fs::remove_file(&dir);
    }
}
