//! Loading a kernel module by name, as `modprobe NAME` does, for the overlay's modules
//! that the kernel does not load by itself: `fou` and `fou6` (kube-router runs `modprobe
//! fou fou6` for `--overlay-encap=fou`; nothing requests them automatically, and without
//! them the kernel refuses GUE tunnels), and a tunnel link type whose automatic loading
//! failed (a node without `/sbin/modprobe`).
//!
//! Owns: reading `/lib/modules/<release>/modules.dep` and `modules.builtin`, and the
//! `finit_module` calls (dependencies first, in `modprobe`'s order; compressed modules
//! are decompressed by the kernel). Must not: unload anything, pass module parameters,
//! or load anything but the named module and its dependencies. No external program.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// `MODULE_INIT_COMPRESSED_FILE`: the kernel decompresses the file (Linux 5.17+).
const MODULE_INIT_COMPRESSED_FILE: libc::c_uint = 4;

/// Errors of module loading.
#[derive(Debug)]
pub enum ModuleError {
    /// The module is neither built in nor listed in `modules.dep`.
    NotFound { name: String, dir: PathBuf },
    /// A file could not be read.
    Io { path: PathBuf, error: io::Error },
    /// The kernel refused a module.
    Load { path: PathBuf, error: io::Error },
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleError::NotFound { name, dir } => write!(
                f,
                "kernel module {name} is not built in and not in {}/modules.dep",
                dir.display()
            ),
            ModuleError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            ModuleError::Load { path, error } => {
                write!(f, "loading {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for ModuleError {}

/// What `load` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// The module was loaded before (or is built in): nothing done.
    Already,
    /// These files were loaded (dependencies first).
    Now(Vec<String>),
}

/// Module names treat `-` and `_` alike (`virtio-rng` is `virtio_rng`).
fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// The module name of a `modules.dep` path: `kernel/net/ipv4/fou.ko.xz` -> `fou`.
fn module_of(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split(".ko").next().unwrap_or(file);
    normalize(stem)
}

/// The files to load for `name`, in order (dependencies first, as `modprobe` loads
/// them: `modules.dep` lists a module's dependencies so that the last one must be
/// loaded first), relative to the modules directory. `None` if `name` is not listed.
pub fn load_order(modules_dep: &str, name: &str) -> Option<Vec<String>> {
    let want = normalize(name);
    for line in modules_dep.lines() {
        let Some((module, deps)) = line.split_once(':') else {
            continue;
        };
        if module_of(module.trim()) != want {
            continue;
        }
        let mut order: Vec<String> = deps.split_whitespace().rev().map(String::from).collect();
        order.push(module.trim().to_string());
        return Some(order);
    }
    None
}

/// Whether `modules.builtin` lists `name`.
fn builtin(modules_builtin: &str, name: &str) -> bool {
    let want = normalize(name);
    modules_builtin.lines().any(|l| module_of(l.trim()) == want)
}

/// Whether a module of that name is loaded (`/sys/module/NAME/initstate` exists only
/// for loaded modules, not for built-in ones).
fn is_loaded(name: &str) -> bool {
    Path::new("/sys/module")
        .join(normalize(name))
        .join("initstate")
        .exists()
}

/// The running kernel's modules directory, `/lib/modules/<release>`.
fn modules_dir() -> Result<PathBuf, ModuleError> {
    let p = Path::new("/proc/sys/kernel/osrelease");
    let release = std::fs::read_to_string(p).map_err(|error| ModuleError::Io {
        path: p.to_path_buf(),
        error,
    })?;
    Ok(Path::new("/lib/modules").join(release.trim()))
}

fn read(path: &Path) -> Result<String, ModuleError> {
    std::fs::read_to_string(path).map_err(|error| ModuleError::Io {
        path: path.to_path_buf(),
        error,
    })
}

/// Loads one module file; a module that is already loaded is not an error.
fn finit(path: &Path) -> Result<bool, ModuleError> {
    let file = File::open(path).map_err(|error| ModuleError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let name = path.to_string_lossy();
    let flags = if name.ends_with(".ko") {
        0
    } else {
        MODULE_INIT_COMPRESSED_FILE
    };
    let params = c"";
    // SAFETY: finit_module reads the open file `file` (alive for the call) and the
    // NUL-terminated empty parameter string; it writes no memory of ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_finit_module,
            file.as_raw_fd(),
            params.as_ptr(),
            flags,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EEXIST) {
        return Ok(false);
    }
    Err(ModuleError::Load {
        path: path.to_path_buf(),
        error,
    })
}

/// Loads kernel module `name` and its dependencies unless it is loaded or built in.
pub fn load(name: &str) -> Result<Loaded, ModuleError> {
    if is_loaded(name) {
        return Ok(Loaded::Already);
    }
    let dir = modules_dir()?;
    let dep = read(&dir.join("modules.dep"))?;
    let Some(order) = load_order(&dep, name) else {
        let built_in = read(&dir.join("modules.builtin")).is_ok_and(|b| builtin(&b, name));
        if built_in {
            return Ok(Loaded::Already);
        }
        return Err(ModuleError::NotFound {
            name: name.to_string(),
            dir,
        });
    };
    let mut loaded = Vec::new();
    for rel in order {
        if is_loaded(&module_of(&rel)) {
            continue;
        }
        if finit(&dir.join(&rel))? {
            loaded.push(module_of(&rel));
        }
    }
    Ok(if loaded.is_empty() {
        Loaded::Already
    } else {
        Loaded::Now(loaded)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "\
kernel/net/ipv4/ipip.ko: kernel/net/ipv4/tunnel4.ko kernel/net/ipv4/ip_tunnel.ko
kernel/net/ipv4/fou.ko: kernel/net/ipv4/ip_tunnel.ko kernel/net/ipv6/ip6_udp_tunnel.ko kernel/net/ipv4/udp_tunnel.ko
kernel/net/ipv6/fou6.ko.xz: kernel/net/ipv4/fou.ko kernel/net/ipv6/ip6_tunnel.ko kernel/net/ipv6/tunnel6.ko kernel/net/ipv4/ip_tunnel.ko kernel/net/ipv6/ip6_udp_tunnel.ko kernel/net/ipv4/udp_tunnel.ko
kernel/drivers/char/hw_random/virtio-rng.ko:
garbage line
";

    #[test]
    fn dependencies_load_first_in_modprobe_order() {
        // `modprobe --show-depends fou6` on Debian's 6.1 kernel lists exactly this order.
        let order = load_order(DEP, "fou6").expect("fou6");
        let names: Vec<String> = order.iter().map(|p| module_of(p)).collect();
        assert_eq!(
            names,
            [
                "udp_tunnel",
                "ip6_udp_tunnel",
                "ip_tunnel",
                "tunnel6",
                "ip6_tunnel",
                "fou",
                "fou6"
            ]
        );
        assert_eq!(
            order.last().map(String::as_str),
            Some("kernel/net/ipv6/fou6.ko.xz")
        );
        assert_eq!(
            load_order(DEP, "ipip"),
            Some(vec![
                "kernel/net/ipv4/ip_tunnel.ko".to_string(),
                "kernel/net/ipv4/tunnel4.ko".to_string(),
                "kernel/net/ipv4/ipip.ko".to_string()
            ])
        );
    }

    #[test]
    fn names_dashes_and_unknown_modules() {
        assert_eq!(
            load_order(DEP, "virtio_rng"),
            Some(vec![
                "kernel/drivers/char/hw_random/virtio-rng.ko".to_string()
            ])
        );
        assert_eq!(load_order(DEP, "fo"), None);
        assert_eq!(load_order(DEP, ""), None);
        assert!(builtin("kernel/net/ipv4/udp_tunnel.ko\n", "udp-tunnel"));
        assert!(!builtin("kernel/net/ipv4/udp_tunnel.ko\n", "udp"));
    }
}
