//! kube-bgp entry point: parse the command line, dispatch the subcommand, map the
//! outcome to an exit status (0 ok, 1 runtime failure, 2 invalid command line).
//! Holds no logic of its own beyond that dispatch.

use std::ffi::OsString;
use std::io::Write;

use kube_bgp::config::cli::{self, Command};
use kube_bgp::config::{self, DaemonAction, help};

/// Prints a command-line error as exactly one line and returns status 2.
fn usage_error(e: &dyn std::fmt::Display) -> i32 {
    let msg: String = e
        .to_string()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    eprintln!("kube-bgp: error: {msg}");
    2
}

fn print(text: &str) -> i32 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

fn daemon(args: Vec<OsString>) -> i32 {
    // Before any other thread starts (glibc only): one malloc heap for every thread.
    let one_arena = kube_bgp::daemon::malloc_arenas::use_one_arena();
    // Before the passwords file is read: no core dump or other user's ptrace may ever
    // see a key or the API token.
    let not_dumpable = kube_bgp::daemon::hardening::forbid_core_dumps();
    let (config, check_only) = match config::parse_daemon_args(args) {
        Err(e) => return usage_error(&e),
        Ok(DaemonAction::Help) => return print(&help::daemon_help()),
        Ok(DaemonAction::Version) => return print(&help::version_text()),
        Ok(DaemonAction::Run { config, check_only }) => (config, check_only),
    };
    kube_bgp::log::set_level(config.log_level);
    if !one_arena {
        kube_bgp::warn!(
            "main",
            "glibc refused mallopt(M_ARENA_MAX, 1): one heap per thread"
        );
    }
    if let Err(e) = not_dumpable {
        kube_bgp::warn!("main", "cannot disable core dumps (PR_SET_DUMPABLE): {e}");
    }
    for w in &config.warnings {
        kube_bgp::warn!("config", "{w}");
    }
    if check_only {
        let json = serde_json::to_string_pretty(&config.to_json()).unwrap_or_default();
        return print(&format!("{json}\n"));
    }
    if config.cleanup_config {
        // kube-router's cleanup mode: undo the node setup and exit, no API server needed.
        return match kube_bgp::podnet::cleanup::run(&config) {
            Ok(()) => 0,
            Err(e) => {
                kube_bgp::error!("cleanup", "{e}");
                1
            }
        };
    }
    if !config.run_router {
        // kube-router exits 0 when none of its controllers is enabled; kube-bgp only has
        // the routing controller, so --run-router=false alone means there is nothing to do.
        kube_bgp::info!(
            "main",
            "--run-router=false: kube-bgp runs only the routing controller, nothing to do; exiting"
        );
        return 0;
    }
    match kube_bgp::daemon::run(*config) {
        Ok(()) => 0,
        Err(e) => {
            kube_bgp::error!("main", "{e}");
            1
        }
    }
}

/// Runs a management subcommand against the daemon's control socket.
fn ctl(req: cli::CtlRequest, opts: cli::CtlOptions) -> i32 {
    use kube_bgp::ops::ctl::Request;
    let request = match req {
        cli::CtlRequest::Neighbor(addr) => Request::Neighbor {
            addr: addr.map(|a| a.to_string()),
        },
        cli::CtlRequest::GlobalRib { afi, filter } => Request::Rib {
            family: Some(
                match afi {
                    kube_bgp::prefix::Afi::Ipv4 => "ipv4",
                    kube_bgp::prefix::Afi::Ipv6 => "ipv6",
                }
                .to_string(),
            ),
            prefix: filter.map(|f| match f {
                cli::RibFilter::Exact(p) => p.to_string(),
                cli::RibFilter::Lookup(ip) => ip.to_string(),
            }),
        },
        cli::CtlRequest::Status => Request::Status,
        cli::CtlRequest::Explain(f) => Request::Explain {
            prefix: match f {
                cli::RibFilter::Exact(p) => p.to_string(),
                cli::RibFilter::Lookup(ip) => ip.to_string(),
            },
        },
        cli::CtlRequest::NeighborAdmin(addr, verb) => {
            use kube_bgp::ops::ctl::AdminAction;
            Request::NeighborAdmin {
                addr: addr.to_string(),
                action: match verb {
                    cli::AdminVerb::Disable(message) => AdminAction::Disable { message },
                    cli::AdminVerb::Enable => AdminAction::Enable,
                    cli::AdminVerb::SoftReset { inbound, outbound } => {
                        AdminAction::Softreset { inbound, outbound }
                    }
                },
            }
        }
    };
    if matches!(request, Request::Rib { .. }) {
        return rib(&opts, &request);
    }
    let data = match kube_bgp::ops::ctl::call(&opts.socket, &request) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("kube-bgp: {e}");
            return 1;
        }
    };
    match kube_bgp::ops::ctl::render(&request, &data, opts.json) {
        Ok(text) => print(&text),
        Err(e) => {
            eprintln!("kube-bgp: {e}");
            1
        }
    }
}

/// `global rib`: rows are printed as they arrive (a table, or a JSON array), so a
/// million routes cost one row of memory.
fn rib(opts: &cli::CtlOptions, request: &kube_bgp::ops::ctl::Request) -> i32 {
    use kube_bgp::ops::ctl::{self, RibRow};
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut first = true;
    let write_err = |e: std::io::Error| format!("writing the table: {e}");
    let res = if opts.json {
        // A JSON array, one row per line, as the daemon wrote it.
        ctl::call_lines(&opts.socket, request, &mut |line: &[u8]| {
            let sep: &[u8] = if std::mem::take(&mut first) {
                b"[\n  "
            } else {
                b",\n  "
            };
            out.write_all(sep)
                .and_then(|()| out.write_all(line))
                .map_err(write_err)
        })
        .and_then(|n| {
            let tail = if n == 0 { "[]\n" } else { "\n]\n" };
            out.write_all(tail.as_bytes()).map_err(write_err)
        })
    } else {
        ctl::call_rows(&opts.socket, request, &mut |r: RibRow| {
            if std::mem::take(&mut first) {
                out.write_all(ctl::rib_header().as_bytes())
                    .map_err(write_err)?;
            }
            out.write_all(ctl::rib_line(&r).as_bytes())
                .map_err(write_err)
        })
        .and_then(|n| {
            if n == 0 {
                out.write_all(ctl::rib_header().as_bytes())
                    .map_err(write_err)?;
            }
            Ok(())
        })
    };
    match res.and_then(|()| out.flush().map_err(write_err)) {
        Ok(()) => 0,
        Err(e) => {
            drop(out);
            eprintln!("kube-bgp: {e}");
            1
        }
    }
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let status = match cli::parse_command(args) {
        Err(e) => usage_error(&e),
        Ok(Command::Daemon(args)) => daemon(args),
        Ok(Command::Version) => print(&help::version_text()),
        Ok(Command::Help) => print(&help::daemon_help()),
        Ok(Command::Ctl(req, opts)) => ctl(req, opts),
    };
    std::process::exit(status);
}
