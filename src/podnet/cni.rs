//! The CNI configuration file (`--enable-cni`): its bridge plugin's IPAM ranges are the
//! node's pod CIDRs and its MTU the node interface's; kube-router's default
//! configuration when the file does not exist.
//!
//! Owns: which file (the flag, `$KUBE_ROUTER_CNI_CONF_FILE`, the default), the JSON
//! change (pure: text in, new text or "unchanged" or a problem out), and writing the
//! file atomically (a temporary file in the same directory, renamed over it, mode
//! kept). Everything in an existing file that is not the bridge plugin's IPAM ranges,
//! legacy `subnet` or `mtu` is kept as it was; keys come out in alphabetical order, as
//! kube-router writes them. A file that is not valid JSON, or has no bridge plugin, is
//! never touched.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::prefix::Prefix;

/// kube-router's environment variable naming the file.
pub(crate) const ENV_CONF_FILE: &str = "KUBE_ROUTER_CNI_CONF_FILE";
pub(crate) const DEFAULT_CONFLIST: &str = "/etc/cni/net.d/10-kuberouter.conflist";
/// kube-router's own default when the variable is unset.
pub(crate) const DEFAULT_CONF: &str = "/etc/cni/net.d/10-kuberouter.conf";

/// What the bridge plugin's configuration must say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CniWant {
    /// One IPAM range set per local pod CIDR, in this order.
    pub(crate) ranges: Vec<Prefix>,
    /// `mtu`, when `--auto-mtu` found the node interface's.
    pub(crate) mtu: Option<u32>,
}

/// Why an existing file is left alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CniProblem {
    NotJson(String),
    NotAnObject,
    /// A `.conflist` without a non-empty `plugins` list.
    NoPlugins,
    NoBridgePlugin,
    /// The bridge plugin's `ipam` is missing or not an object.
    NoIpam,
    /// `ipam.ranges` is not a list of lists.
    BadRanges,
}

impl fmt::Display for CniProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CniProblem::NotJson(e) => write!(f, "not valid JSON ({e})"),
            CniProblem::NotAnObject => f.write_str("not a JSON object"),
            CniProblem::NoPlugins => f.write_str("a .conflist without a \"plugins\" list"),
            CniProblem::NoBridgePlugin => {
                f.write_str("no plugin of \"type\": \"bridge\" (the pod network needs one)")
            }
            CniProblem::NoIpam => f.write_str("the bridge plugin has no \"ipam\" object"),
            CniProblem::BadRanges => f.write_str("\"ipam.ranges\" is not a list of lists"),
        }
    }
}

/// The file to manage: `--cni-conf-path`, else `$KUBE_ROUTER_CNI_CONF_FILE`, else the
/// `.conflist` default — or kube-router's own `.conf` default when only that exists.
pub(crate) fn conf_path(
    flag: Option<&Path>,
    env: Option<std::ffi::OsString>,
    exists: impl Fn(&Path) -> bool,
) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(e) = env.filter(|e| !e.is_empty()) {
        return PathBuf::from(e);
    }
    let list = Path::new(DEFAULT_CONFLIST);
    let conf = Path::new(DEFAULT_CONF);
    if !exists(list) && exists(conf) {
        return conf.to_path_buf();
    }
    list.to_path_buf()
}

/// Whether the file is a list of plugins (kube-router: by the `.conflist` suffix).
pub(crate) fn is_list(path: &Path) -> bool {
    path.to_string_lossy()
        .to_ascii_lowercase()
        .ends_with(".conflist")
}

/// The bridge plugin object of a configuration (the first of `"type": "bridge"`).
fn bridge_plugin(root: &mut Value, list: bool) -> Result<&mut Map<String, Value>, CniProblem> {
    let obj = root.as_object_mut().ok_or(CniProblem::NotAnObject)?;
    if list {
        let plugins = obj
            .get_mut("plugins")
            .and_then(Value::as_array_mut)
            .filter(|p| !p.is_empty())
            .ok_or(CniProblem::NoPlugins)?;
        plugins
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .find(|p| p.get("type").and_then(Value::as_str) == Some("bridge"))
            .ok_or(CniProblem::NoBridgePlugin)
    } else if obj.get("type").and_then(Value::as_str) == Some("bridge") {
        Ok(obj)
    } else {
        Err(CniProblem::NoBridgePlugin)
    }
}

/// The subnet of one IPAM range object, if it parses.
fn range_subnet(r: &Value) -> Option<Prefix> {
    r.get("subnet")?.as_str()?.parse().ok()
}

/// Changes an existing configuration so its bridge plugin says `want`. `Ok(None)`: it
/// already does; `Ok(Some(text))`: the new file content.
pub(crate) fn update(text: &str, list: bool, want: &CniWant) -> Result<Option<String>, CniProblem> {
    let old: Value = serde_json::from_str(text).map_err(|e| CniProblem::NotJson(e.to_string()))?;
    let mut new = old.clone();
    let bridge = bridge_plugin(&mut new, list)?;
    let ipam = bridge
        .get_mut("ipam")
        .and_then(Value::as_object_mut)
        .ok_or(CniProblem::NoIpam)?;
    // Existing range objects, to keep their other fields (rangeStart, gateway, …).
    let mut existing: Vec<Value> = Vec::new();
    match ipam.get("ranges") {
        None | Some(Value::Null) => {}
        Some(Value::Array(sets)) => {
            for set in sets {
                let Value::Array(rs) = set else {
                    return Err(CniProblem::BadRanges);
                };
                existing.extend(rs.iter().cloned());
            }
        }
        Some(_) => return Err(CniProblem::BadRanges),
    }
    // The legacy single `subnet` becomes ranges, as kube-router (and host-local) do.
    ipam.remove("subnet");
    let ranges: Vec<Value> = want
        .ranges
        .iter()
        .map(|p| {
            let kept = existing
                .iter()
                .find(|r| range_subnet(r) == Some(*p))
                .cloned();
            let mut r = kept.unwrap_or_else(|| json!({}));
            if let Some(o) = r.as_object_mut() {
                o.insert("subnet".into(), Value::String(p.to_string()));
            }
            Value::Array(vec![r])
        })
        .collect();
    ipam.insert("ranges".into(), Value::Array(ranges));
    if let Some(m) = want.mtu {
        bridge.insert("mtu".into(), json!(m));
    }
    if new == old {
        return Ok(None);
    }
    Ok(Some(render(&new)))
}

fn render(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// kube-router's default configuration (its DaemonSet manifests' ConfigMap: bridge
/// `kube-bridge`, default gateway, hairpin mode, host-local IPAM; portmap chained in a
/// list) with `want` filled in.
pub(crate) fn default_conf(list: bool, want: &CniWant) -> String {
    let mut bridge = json!({
        "name": "kubernetes",
        "type": "bridge",
        "bridge": "kube-bridge",
        "isDefaultGateway": true,
        "hairpinMode": true,
        "ipam": { "type": "host-local" },
    });
    let root = if list {
        json!({
            "cniVersion": "0.3.0",
            "name": "mynet",
            "plugins": [
                bridge.take(),
                { "type": "portmap", "capabilities": { "snat": true, "portMappings": true } },
            ],
        })
    } else {
        if let Some(o) = bridge.as_object_mut() {
            o.insert("cniVersion".into(), json!("0.3.0"));
            o.insert("name".into(), json!("mynet"));
        }
        bridge
    };
    let text = render(&root);
    // Fill in ranges and MTU through the same path as for an existing file.
    match update(&text, list, want) {
        Ok(Some(t)) => t,
        _ => text,
    }
}

/// A CNI configuration file larger than this is refused unread (real ones are a few
/// hundred bytes; the file may be written by anyone with access to the directory).
const MAX_CONF_BYTES: u64 = 1 << 20;

/// The file's content and permission bits, `None` if it does not exist.
pub(crate) fn read(path: &Path) -> std::io::Result<Option<(String, u32)>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking open: a FIFO put in place of the file must not stall the loop.
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    let mut bytes = Vec::new();
    file.take(MAX_CONF_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONF_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_CONF_BYTES} bytes: not a CNI configuration"),
        ));
    }
    Ok(Some((String::from_utf8_lossy(&bytes).into_owned(), mode)))
}

/// Writes `text` to `path` atomically with permission bits `mode`: a temporary file in
/// the same directory (named so that no runtime loads it), synced, then renamed over
/// `path`. The directory is created (0755) if missing.
pub(crate) fn write_atomic(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.as_os_str().is_empty() && !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.kube-bgp.tmp"));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        // The creation mode is filtered by the umask: set it exactly.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_refuses_oversized_and_non_regular_files() {
        let dir = std::env::temp_dir().join(format!("kb-cni-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let big = dir.join("big.conflist");
        std::fs::write(&big, vec![b' '; (MAX_CONF_BYTES + 1) as usize]).expect("write");
        let err = read(&big).expect_err("oversized file refused");
        assert!(err.to_string().contains("larger than"), "{err}");
        let ok = dir.join("ok.conflist");
        std::fs::write(&ok, "{}").expect("write");
        assert_eq!(read(&ok).expect("read").map(|(t, _)| t), Some("{}".into()));
        assert!(
            read(&dir.join("missing"))
                .expect("missing is not an error")
                .is_none()
        );
        let err = read(&dir).expect_err("a directory is refused");
        assert!(
            err.to_string().contains("regular") || err.raw_os_error() == Some(libc::EISDIR),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn p(s: &str) -> Prefix {
        s.parse().expect("prefix")
    }

    fn want(r: &[&str], mtu: Option<u32>) -> CniWant {
        CniWant {
            ranges: r.iter().map(|s| p(s)).collect(),
            mtu,
        }
    }

    fn v(s: &str) -> Value {
        serde_json::from_str(s).expect("json")
    }

    /// kube-router's manifest conflist (without ranges) gets one range per pod CIDR
    /// and the MTU; everything else is kept; a second pass changes nothing.
    #[test]
    fn fills_ranges_and_mtu_and_is_idempotent() {
        let text = r#"{"cniVersion":"0.3.0","name":"mynet","plugins":[{"name":"kubernetes",
            "type":"bridge","bridge":"kube-bridge","isDefaultGateway":true,
            "ipam":{"type":"host-local","dataDir":"/x"},"futureField":[1,2]},
            {"type":"portmap","capabilities":{"snat":true,"portMappings":true}}],"extra":{"a":1}}"#;
        let w = want(&["10.244.1.0/24", "fd00:244:1::/64"], Some(1450));
        let out = update(text, true, &w).expect("ok").expect("changed");
        let got = v(&out);
        assert_eq!(
            got["plugins"][0]["ipam"]["ranges"],
            v(r#"[[{"subnet":"10.244.1.0/24"}],[{"subnet":"fd00:244:1::/64"}]]"#)
        );
        assert_eq!(got["plugins"][0]["mtu"], 1450);
        assert_eq!(got["plugins"][0]["ipam"]["dataDir"], "/x");
        assert_eq!(got["plugins"][0]["futureField"], v("[1,2]"));
        assert_eq!(got["plugins"][1], v(text)["plugins"][1]);
        assert_eq!(got["extra"], v(r#"{"a":1}"#));
        assert_eq!(update(&out, true, &w), Ok(None));
    }

    #[test]
    fn legacy_subnet_and_stale_ranges_are_replaced_keeping_range_fields() {
        let text = r#"{"cniVersion":"0.3.0","name":"n","type":"bridge","bridge":"kube-bridge",
            "ipam":{"type":"host-local","subnet":"10.244.9.0/24",
            "ranges":[[{"subnet":"10.244.1.0/24","rangeStart":"10.244.1.10"},{"subnet":"10.9.0.0/16"}]]}}"#;
        let out = update(
            text,
            false,
            &want(&["10.244.1.0/24", "10.244.2.0/24"], None),
        )
        .expect("ok")
        .expect("changed");
        let got = v(&out);
        assert!(got["ipam"].get("subnet").is_none(), "{got}");
        assert_eq!(
            got["ipam"]["ranges"],
            v(
                r#"[[{"subnet":"10.244.1.0/24","rangeStart":"10.244.1.10"}],[{"subnet":"10.244.2.0/24"}]]"#
            )
        );
        assert!(got.get("mtu").is_none(), "no --auto-mtu: mtu untouched");
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let w = want(&["10.244.1.0/24"], None);
        assert!(matches!(update("{", true, &w), Err(CniProblem::NotJson(_))));
        assert_eq!(update("[1]", true, &w), Err(CniProblem::NotAnObject));
        assert_eq!(
            update(r#"{"plugins":[]}"#, true, &w),
            Err(CniProblem::NoPlugins)
        );
        assert_eq!(
            update(r#"{"plugins":[{"type":"flannel"}]}"#, true, &w),
            Err(CniProblem::NoBridgePlugin)
        );
        assert_eq!(
            update(r#"{"type":"ptp","ipam":{}}"#, false, &w),
            Err(CniProblem::NoBridgePlugin)
        );
        assert_eq!(
            update(r#"{"type":"bridge"}"#, false, &w),
            Err(CniProblem::NoIpam)
        );
        assert_eq!(
            update(r#"{"type":"bridge","ipam":{"ranges":"x"}}"#, false, &w),
            Err(CniProblem::BadRanges)
        );
        let e = CniProblem::NoBridgePlugin.to_string();
        assert!(e.contains("bridge"), "{e}");
    }

    #[test]
    fn default_conflist_is_kube_routers_with_ranges() {
        let w = want(&["10.244.1.0/24"], Some(1500));
        let got = v(&default_conf(true, &w));
        assert_eq!(got["cniVersion"], "0.3.0");
        let b = &got["plugins"][0];
        assert_eq!(b["type"], "bridge");
        assert_eq!(b["bridge"], "kube-bridge");
        assert_eq!(b["isDefaultGateway"], true);
        assert_eq!(b["hairpinMode"], true);
        assert_eq!(b["ipam"]["type"], "host-local");
        assert_eq!(b["ipam"]["ranges"], v(r#"[[{"subnet":"10.244.1.0/24"}]]"#));
        assert_eq!(b["mtu"], 1500);
        assert_eq!(got["plugins"][1]["type"], "portmap");
        let single = v(&default_conf(false, &w));
        assert_eq!(single["type"], "bridge");
        assert_eq!(single["name"], "mynet");
        assert!(single.get("plugins").is_none());
    }

    #[test]
    fn path_resolution() {
        let none = |_: &Path| false;
        assert_eq!(
            conf_path(Some(Path::new("/a/b.conf")), Some("/env".into()), none),
            PathBuf::from("/a/b.conf")
        );
        assert_eq!(
            conf_path(None, Some("/env.conflist".into()), none),
            PathBuf::from("/env.conflist")
        );
        assert_eq!(conf_path(None, None, none), PathBuf::from(DEFAULT_CONFLIST));
        let only_conf = |p: &Path| p == Path::new(DEFAULT_CONF);
        assert_eq!(
            conf_path(None, None, only_conf),
            PathBuf::from(DEFAULT_CONF)
        );
        assert!(is_list(Path::new("x.conflist")) && !is_list(Path::new("x.conf")));
    }

    #[test]
    fn atomic_write_keeps_mode_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("kbcni{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("net.d").join("10-kuberouter.conflist");
        write_atomic(&path, "one\n", 0o640).expect("write");
        assert_eq!(read(&path).expect("read"), Some(("one\n".into(), 0o640)));
        write_atomic(&path, "two\n", 0o640).expect("rewrite");
        assert_eq!(
            read(&path).expect("read").map(|r| r.0),
            Some("two\n".into())
        );
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert_eq!(read(&dir.join("missing")).expect("read"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
