//! A tiny request/response server on the daemon's mio loop: accept, read one request
//! (bounded), answer it, close. Used for the control socket (unix) and for the metrics
//! and health endpoints (TCP). Never blocks; a slow or silent client costs one buffer
//! until it is closed by the idle limit.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};

/// Largest request accepted.
const MAX_REQUEST: usize = 64 * 1024;
/// Connections idle longer than this are closed.
const IDLE_LIMIT: Duration = Duration::from_secs(10);
/// Connections per server at once; more are refused until some close.
const MAX_CONNS: usize = 64;

/// A listener that hands out non-blocking streams.
pub trait Accept {
    type Stream: Read + Write + mio::event::Source;
    fn accept_one(&self) -> io::Result<Self::Stream>;
}

impl Accept for mio::net::TcpListener {
    type Stream = mio::net::TcpStream;
    fn accept_one(&self) -> io::Result<Self::Stream> {
        self.accept().map(|(s, _)| s)
    }
}

impl Accept for mio::net::UnixListener {
    type Stream = mio::net::UnixStream;
    fn accept_one(&self) -> io::Result<Self::Stream> {
        self.accept().map(|(s, _)| s)
    }
}

struct Conn<S> {
    stream: S,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    answered: bool,
    since: Instant,
}

/// One listening socket and its connections. Tokens `base .. base + 2*MAX_CONNS` belong
/// to it (the listener is `base`).
pub struct Server<L: Accept> {
    listener: L,
    base: usize,
    conns: HashMap<usize, Conn<L::Stream>>,
    next: usize,
    complete: fn(&[u8]) -> bool,
}

impl<L: Accept + mio::event::Source> Server<L> {
    /// `complete` tells when the bytes read so far form a whole request.
    pub fn new(
        mut listener: L,
        base: usize,
        registry: &Registry,
        complete: fn(&[u8]) -> bool,
    ) -> io::Result<Server<L>> {
        registry.register(&mut listener, Token(base), Interest::READABLE)?;
        Ok(Server {
            listener,
            base,
            conns: HashMap::new(),
            next: 1,
            complete,
        })
    }

    /// Number of tokens this server may use, starting at `base`.
    pub const TOKENS: usize = 2 * MAX_CONNS + 1;

    pub fn owns(&self, token: Token) -> bool {
        token.0 >= self.base && token.0 < self.base + Self::TOKENS
    }

    /// Handles readiness of one of our tokens; `handler` turns a complete request into
    /// the response bytes.
    pub fn ready(
        &mut self,
        registry: &Registry,
        token: Token,
        handler: &mut dyn FnMut(&[u8]) -> Vec<u8>,
    ) {
        if token.0 == self.base {
            // A request usually arrives with the connection: answer it in this turn of
            // the loop rather than the next (a busy loop's turn can be long).
            for t in self.accept_all(registry) {
                self.ready(registry, Token(t), handler);
            }
            return;
        }
        let Some(conn) = self.conns.get_mut(&token.0) else {
            return;
        };
        let done = Self::drive(conn, self.complete, handler).unwrap_or(true);
        if done {
            if let Some(mut c) = self.conns.remove(&token.0) {
                let _ = registry.deregister(&mut c.stream);
            }
        } else if conn.answered {
            let _ = registry.reregister(&mut conn.stream, token, Interest::WRITABLE);
        }
    }

    /// Accepts every waiting connection; returns their tokens.
    fn accept_all(&mut self, registry: &Registry) -> Vec<usize> {
        let mut new = Vec::new();
        loop {
            match self.listener.accept_one() {
                Ok(mut stream) => {
                    if self.conns.len() >= MAX_CONNS {
                        continue; // dropped: closes the connection
                    }
                    let slot = self.free_slot();
                    if registry
                        .register(&mut stream, Token(self.base + slot), Interest::READABLE)
                        .is_ok()
                    {
                        new.push(self.base + slot);
                        self.conns.insert(
                            self.base + slot,
                            Conn {
                                stream,
                                input: Vec::new(),
                                output: Vec::new(),
                                written: 0,
                                answered: false,
                                since: Instant::now(),
                            },
                        );
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return new,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return new,
            }
        }
    }

    fn free_slot(&mut self) -> usize {
        loop {
            let slot = self.next;
            self.next = if self.next + 1 >= Self::TOKENS {
                1
            } else {
                self.next + 1
            };
            if !self.conns.contains_key(&(self.base + slot)) {
                return slot;
            }
        }
    }

    /// Reads, answers, writes. Ok(true) when the connection is finished.
    fn drive(
        conn: &mut Conn<L::Stream>,
        complete: fn(&[u8]) -> bool,
        handler: &mut dyn FnMut(&[u8]) -> Vec<u8>,
    ) -> io::Result<bool> {
        if !conn.answered {
            let mut buf = [0u8; 4096];
            loop {
                match conn.stream.read(&mut buf) {
                    Ok(0) => return Ok(true),
                    Ok(n) => {
                        conn.input.extend_from_slice(&buf[..n]);
                        if conn.input.len() > MAX_REQUEST {
                            return Ok(true);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            if !complete(&conn.input) {
                return Ok(false);
            }
            conn.output = handler(&conn.input);
            conn.answered = true;
        }
        while conn.written < conn.output.len() {
            match conn.stream.write(&conn.output[conn.written..]) {
                Ok(0) => return Ok(true),
                Ok(n) => conn.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Closes connections idle for too long. Call from the loop now and then.
    pub fn expire(&mut self, registry: &Registry, now: Instant) {
        let old: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| now.duration_since(c.since) > IDLE_LIMIT)
            .map(|(k, _)| *k)
            .collect();
        for k in old {
            if let Some(mut c) = self.conns.remove(&k) {
                let _ = registry.deregister(&mut c.stream);
            }
        }
    }
}
