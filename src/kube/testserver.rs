//! Test-only scripted HTTP/1.1 server on 127.0.0.1 for the kube client's unit tests:
//! a handler maps each request to a canned reply, which may be a chunked body sent in
//! given pieces (to split events anywhere) or cut off without the final chunk.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) path: String,
    pub(crate) query: BTreeMap<String, String>,
    pub(crate) auth: Option<String>,
}

pub(crate) enum Reply {
    Full {
        code: u16,
        body: String,
    },
    /// Status 200, chunked; each piece is one HTTP chunk, sent after its delay. With
    /// `abort`, the connection is closed without the terminating chunk.
    Chunked {
        pieces: Vec<(Duration, Vec<u8>)>,
        abort: bool,
    },
}

impl Reply {
    pub(crate) fn json(code: u16, body: impl Into<String>) -> Reply {
        Reply::Full {
            code,
            body: body.into(),
        }
    }

    pub(crate) fn stream(pieces: &[&str]) -> Reply {
        Reply::Chunked {
            pieces: pieces
                .iter()
                .map(|p| (Duration::from_millis(5), p.as_bytes().to_vec()))
                .collect(),
            abort: false,
        }
    }
}

type Handler = dyn Fn(&Req) -> Reply + Send + Sync;

pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) requests: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    pub(crate) fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> TestServer {
        TestServer::start_on("127.0.0.1:0".parse().expect("addr"), handler)
    }

    /// As `start`, on a given address (to restart a server on the same port).
    pub(crate) fn start_on(
        addr: SocketAddr,
        handler: impl Fn(&Req) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind(addr).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (reqs, st) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (h, r) = (handler.clone(), reqs.clone());
                std::thread::spawn(move || serve(conn, &*h, &r));
            }
        });
        TestServer {
            addr,
            requests,
            stop,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn requests(&self) -> Vec<Req> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(conn: TcpStream, handler: &Handler, reqs: &Mutex<Vec<Req>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut rd = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut w = conn;
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut auth = None;
        loop {
            let mut h = String::new();
            if rd.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("authorization") {
                    auth = Some(v.trim().to_string());
                }
            }
        }
        let (path, q) = target.split_once('?').unwrap_or((&target, ""));
        let query = q
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (unescape(k), unescape(v))
            })
            .collect();
        let req = Req {
            path: path.to_string(),
            query,
            auth,
        };
        if let Ok(mut r) = reqs.lock() {
            r.push(req.clone());
        }
        match handler(&req) {
            Reply::Full { code, body } => {
                let head = format!(
                    "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if w.write_all(head.as_bytes()).is_err() || w.write_all(body.as_bytes()).is_err() {
                    return;
                }
            }
            Reply::Chunked { pieces, abort } => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                if w.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let _ = w.flush();
                for (delay, p) in pieces {
                    std::thread::sleep(delay);
                    let mut chunk = format!("{:x}\r\n", p.len()).into_bytes();
                    chunk.extend_from_slice(&p);
                    chunk.extend_from_slice(b"\r\n");
                    if w.write_all(&chunk).is_err() || w.flush().is_err() {
                        return;
                    }
                }
                if abort {
                    let _ = w.shutdown(std::net::Shutdown::Both);
                    return;
                }
                if w.write_all(b"0\r\n\r\n").is_err() {
                    return;
                }
            }
        }
        let _ = w.flush();
    }
}
