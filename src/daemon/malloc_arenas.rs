//! The C allocator's heaps, set once at start in builds linked against glibc (the
//! development build; musl's allocator, in the static release build, has no per-thread
//! heaps and needs nothing).
//!
//! glibc's malloc gives each thread that allocates a heap of its own (an "arena", up to
//! eight per core), and free room in one arena is never used by another. kube-bgp's API
//! reader threads decode every List page and watch event in theirs while the objects
//! live on in the event loop's snapshot, so each reader's arena keeps the high-water mark
//! of its decoding, the route writer's keeps its own, and the loop's heap grows beside
//! them. With one arena the loop reuses the room the readers freed: at 5,000 Nodes and
//! 10,000 Services about 1 MB less resident, and each idle arena's pages are saved. The
//! threads seldom allocate at the same time (readers between events, the writer per
//! batch) and glibc's per-thread cache still serves most small allocations without the
//! arena's lock. An operator's own setting (`MALLOC_ARENA_MAX`, or `arena_max` in
//! `GLIBC_TUNABLES`) is left as it is.
//!
//! Owns only that setting; must not change anything else about allocation.

/// Whether an operator chose the arena limit through the environment.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_by_operator(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    var("MALLOC_ARENA_MAX").is_some()
        || var("GLIBC_TUNABLES").is_some_and(|t| t.to_string_lossy().contains("arena_max"))
}

/// Limits glibc's malloc to one arena for all threads, unless the environment sets the
/// limit; call before any other thread starts. Returns false when glibc refused the
/// setting. With another C library this does nothing and returns true.
pub fn use_one_arena() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if set_by_operator(|k| std::env::var_os(k)) {
            return true;
        }
        // SAFETY: mallopt takes two integers and changes only the allocator's settings
        // (1 on success, 0 when refused); no memory of ours is passed.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_accepts_the_limit() {
        assert!(use_one_arena());
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn an_operator_setting_wins() {
        use std::ffi::OsString;
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(*v))
            }
        };
        assert!(!set_by_operator(env(&[])));
        assert!(!set_by_operator(env(&[(
            "GLIBC_TUNABLES",
            "glibc.malloc.tcache_count=0"
        )])));
        assert!(set_by_operator(env(&[("MALLOC_ARENA_MAX", "4")])));
        assert!(set_by_operator(env(&[(
            "GLIBC_TUNABLES",
            "glibc.malloc.arena_max=2"
        )])));
    }
}
