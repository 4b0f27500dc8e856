//! `--help` and `version` text, generated from the flag table so the two never drift.
//!
//! Owns wording only; prints nothing itself (main writes the strings).

use super::flags::{FLAGS, FlagGroup, FlagSpec, Kind};

const SUBCOMMANDS: &str = "\
Usage:
  kube-bgp [run] [FLAGS]                      run the BGP routing agent (kube-router's flags)
  kube-bgp run --check-config [FLAGS]         validate flags, print the effective configuration as JSON, exit
  kube-bgp neighbor [ADDR] [-o json] [--ctl-socket PATH]
                                              BGP sessions, or one session in detail
  kube-bgp global rib [-a ipv4|ipv6] [PREFIX|ADDR] [-o json] [--ctl-socket PATH]
                                              the routing table (all, one prefix, or a lookup)
  kube-bgp status [-o json] [--ctl-socket PATH]
                                              daemon state summary
  kube-bgp explain PREFIX|ADDR [-o json] [--ctl-socket PATH]
                                              why a prefix is (not) imported, best, in the
                                              kernel, advertised to each peer
  kube-bgp neighbor ADDR disable [MESSAGE]    administrative shutdown (Cease 6/2, message
                                              per RFC 9003, at most 128 bytes), kept until
                                              enabled or kube-bgp restarts
  kube-bgp neighbor ADDR enable               start a disabled session again
  kube-bgp neighbor ADDR softreset [in|out]   in: ask for the peer's routes again (ROUTE-
                                              REFRESH) or re-apply import policy; out: send
                                              ours again; both by default
  kube-bgp version                            version and build information
  kube-bgp help                               this text

Booleans: --flag, --flag=true or --flag=false (not --flag false). Lists are comma
separated and accumulate when repeated. Numbers are decimal (ASNs also asdot, e.g.
1.10); durations use Go syntax (90s, 1m30s, 5m, 1h). Invalid flags exit with status 2.
";

fn flag_line(s: &FlagSpec) -> String {
    let mut name = match s.short {
        Some(c) => format!("-{c}, --{}", s.name),
        None => format!("    --{}", s.name),
    };
    name.push_str(s.kind.placeholder());
    let default = match (s.kind, s.default) {
        (Kind::Bool, "false") | (_, "") => String::new(),
        (_, d) => format!(" (default {d})"),
    };
    format!("  {name:<46} {}{default}\n", s.help)
}

/// The full `--help` text.
pub fn daemon_help() -> String {
    let mut out = String::from(
        "kube-bgp: BGP routing agent for Kubernetes nodes, a drop-in for kube-router's routing controller.\n\n",
    );
    out.push_str(SUBCOMMANDS);
    let groups = [
        (FlagGroup::Bgp, "BGP and routing flags (kube-router's):"),
        (FlagGroup::Kubernetes, "Kubernetes flags:"),
        (FlagGroup::Operations, "Operations flags:"),
        (
            FlagGroup::Ignored,
            "Ignored kube-router flags (other controllers; accepted so a kube-router command line\n\
             starts unchanged, checked for syntax, then ignored with one warning each):",
        ),
    ];
    for (group, title) in groups {
        out.push('\n');
        out.push_str(title);
        out.push('\n');
        for s in FLAGS.iter().filter(|s| s.group == group) {
            out.push_str(&flag_line(s));
        }
    }
    out
}

/// `kube-bgp version`: crate version, git commit, target and profile.
pub fn version_text() -> String {
    let commit = option_env!("KUBE_BGP_GIT_COMMIT").unwrap_or("unknown");
    let target = option_env!("KUBE_BGP_TARGET")
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!(
        "kube-bgp {}\ncommit: {commit}\ntarget: {target}\nprofile: {profile}\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_flag_with_defaults() {
        let h = daemon_help();
        for s in FLAGS {
            assert!(h.contains(&format!("--{}", s.name)), "--{} missing", s.name);
        }
        assert!(h.contains("--bgp-holdtime DURATION"));
        assert!(h.contains("(default 1m30s)"));
        assert!(h.contains("(default /run/kube-bgp/ctl.sock)"));
        assert!(h.contains("kube-bgp global rib"));
        assert!(h.contains("Ignored kube-router flags"));
    }

    #[test]
    fn version_names_the_crate_version() {
        let v = version_text();
        assert!(v.starts_with(&format!("kube-bgp {}\n", env!("CARGO_PKG_VERSION"))));
        assert!(v.contains("commit: "));
    }
}
