//! Process hardening at start: the daemon holds the API token and TCP-MD5 keys in
//! memory, so it is made non-dumpable (no core file, no ptrace or /proc/PID/mem access
//! by other users) before any secret is read. Owns only that system call.

/// Marks the process non-dumpable (`PR_SET_DUMPABLE` 0): no core dumps, and other
/// non-root users cannot attach to it or read its memory through /proc.
pub fn forbid_core_dumps() -> std::io::Result<()> {
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) takes plain integers and touches no memory of
    // ours; the unused arguments are zero as the man page asks.
    let rc = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
