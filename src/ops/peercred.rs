//! Who is on the other end of a local (unix) socket: the kernel's peer credentials
//! (`SO_PEERCRED`), recorded when the connection was made. Used to log who asked for an
//! admin action on the control socket. Owns this one `unsafe` call; keeps no state.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// The process that connected: its pid, uid and gid at `connect` time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PeerCred {
    pub(crate) pid: i32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl std::fmt::Display for PeerCred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "uid {} pid {}", self.uid, self.pid)
    }
}

/// This process's effective uid.
pub(crate) fn own_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The peer credentials of a connected unix stream socket.
pub(crate) fn peer_cred<S: AsFd>(sock: &S) -> io::Result<PeerCred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` is a live, writable ucred and `len` holds its exact size; the
    // kernel writes at most `len` bytes into it and updates `len`. The descriptor is
    // borrowed for the duration of the call.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(PeerCred {
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socketpair_reports_this_process() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let c = peer_cred(&a).expect("SO_PEERCRED");
        assert_eq!(c.pid, std::process::id() as i32);
        assert_eq!(c.uid, own_uid());
        assert_eq!(c.to_string(), format!("uid {} pid {}", c.uid, c.pid));
    }
}
