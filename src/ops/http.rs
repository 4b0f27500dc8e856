//! The HTTP side of operations: `/metrics` (Prometheus text) and `/healthz`, answered
//! on the event loop through `super::serve::Server`. Only GET (and HEAD) of a path;
//! everything else is 404/405. HTTP/1.0-style: one request per connection.

/// Whether the bytes hold a whole request head.
pub fn request_complete(buf: &[u8]) -> bool {
    buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n")
}

/// Method and path of a request head (query string removed).
pub fn parse_request(buf: &[u8]) -> Option<(String, String)> {
    let head = std::str::from_utf8(buf).ok()?;
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?;
    let path = target.split('?').next().unwrap_or(target).to_string();
    Some((method, path))
}

/// A full response with Content-Length and Connection: close.
pub(crate) fn response(status: u16, content_type: &str, body: &str, head_only: bool) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Error",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// Prometheus text exposition helpers.
pub(crate) mod prom {
    use std::fmt::Write;
    use std::time::Duration;

    /// Prometheus' default histogram buckets (seconds), as kube-router's histograms use.
    pub(crate) const DEFAULT_BUCKETS: [f64; 11] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];

    /// A cumulative histogram of durations.
    #[derive(Clone, Debug, Default)]
    pub(crate) struct Histogram {
        counts: [u64; 11],
        count: u64,
        sum: f64,
    }

    impl Histogram {
        pub(crate) fn observe(&mut self, d: Duration) {
            let v = d.as_secs_f64();
            for (i, b) in DEFAULT_BUCKETS.iter().enumerate() {
                if v <= *b {
                    self.counts[i] += 1;
                }
            }
            self.count += 1;
            self.sum += v;
        }

        /// Writes `_bucket`, `_sum` and `_count` lines (with HELP/TYPE).
        pub(crate) fn write(&self, out: &mut String, name: &str, help: &str) {
            header(out, name, "histogram", help);
            for (i, b) in DEFAULT_BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", self.counts[i]);
            }
            let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count);
            let _ = writeln!(out, "{name}_sum {}", self.sum);
            let _ = writeln!(out, "{name}_count {}", self.count);
        }
    }

    /// Escapes a label value.
    pub(crate) fn esc(v: &str) -> String {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    }

    /// Writes `# HELP` and `# TYPE` lines.
    pub(crate) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    }

    /// Writes one sample with labels.
    pub(crate) fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
        out.push_str(name);
        if !labels.is_empty() {
            out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{k}=\"{}\"", esc(v));
            }
            out.push('}');
        }
        let _ = writeln!(out, " {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_answers() {
        assert!(!request_complete(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"));
        assert!(request_complete(
            b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        ));
        let (m, p) = parse_request(b"GET /healthz?x=1 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!((m.as_str(), p.as_str()), ("GET", "/healthz"));
        let r = String::from_utf8(response(200, "text/plain", "OK\n", false)).unwrap();
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("\r\n\r\nOK\n"));
        let mut s = String::new();
        prom::sample(&mut s, "m", &[("a", "x\"y")], 1.0);
        assert_eq!(s, "m{a=\"x\\\"y\"} 1\n");
        let mut h = prom::Histogram::default();
        h.observe(std::time::Duration::from_millis(20));
        h.observe(std::time::Duration::from_secs(3));
        let mut s = String::new();
        h.write(&mut s, "t", "help");
        assert!(s.contains("t_bucket{le=\"0.01\"} 0\n"), "{s}");
        assert!(s.contains("t_bucket{le=\"0.025\"} 1\n"), "{s}");
        assert!(
            s.contains("t_bucket{le=\"+Inf\"} 2\nt_sum 3.02\nt_count 2\n"),
            "{s}"
        );
    }
}
