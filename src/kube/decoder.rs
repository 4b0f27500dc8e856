//! Streaming decoders for API response bodies: a watch body (concatenated JSON
//! events) and a List body (paged `items`), both read straight from the body reader.
//!
//! Owns framing only: a watch event may arrive split across any number of reads and
//! several may arrive in one; a partial value simply waits (blocks) for more bytes.
//! Lists are never buffered whole (ureq's `read_to_vec` stops at 10 MB). Sizes are
//! capped: one watch event at `MAX_EVENT_BYTES`, one list page at `MAX_PAGE_BYTES`;
//! nesting is capped by serde_json's recursion limit (128). Must not do HTTP or decide
//! what an event means (that is `watch.rs`).

use std::cell::Cell;
use std::fmt;
use std::io::{BufReader, Read};
use std::rc::Rc;

use serde_json::Value;

use super::objects::{
    EndpointSlice, Item, KubeObject, List, ListMeta, Node, ResourceKind, Service,
};

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiDecodeError {
    /// Reading the body failed (connection reset, timeout, TLS alert, ...).
    Io(String),
    /// The body ended in the middle of a JSON value.
    Truncated,
    /// The bytes are not JSON (or not the expected shape); the stream cannot resync.
    Syntax(String),
    /// One value was larger than the cap (bytes).
    TooLarge(u64),
}

/// Largest watch event read (the API server stores objects of at most ~1.5 MB).
pub(crate) const MAX_EVENT_BYTES: u64 = 16 * 1024 * 1024;
/// Largest List page read (a page of `limit` objects).
pub(crate) const MAX_PAGE_BYTES: u64 = 512 * 1024 * 1024;

impl fmt::Display for ApiDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiDecodeError::Io(e) => write!(f, "read failed: {e}"),
            ApiDecodeError::Truncated => write!(f, "body ended inside a JSON value"),
            ApiDecodeError::Syntax(e) => write!(f, "invalid JSON: {e}"),
            ApiDecodeError::TooLarge(max) => write!(f, "a value larger than {max} bytes"),
        }
    }
}

impl std::error::Error for ApiDecodeError {}

/// Reads at most `max` bytes since the counter was last reset; past that, fails (and
/// sets `tripped`, so the error is reported as `TooLarge`).
struct Capped<R> {
    inner: R,
    used: Rc<Cell<u64>>,
    max: u64,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.max.saturating_sub(self.used.get());
        if left == 0 {
            self.tripped.set(true);
            return Err(std::io::Error::other("size cap reached"));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.used.set(self.used.get() + n as u64);
        Ok(n)
    }
}

fn classify_capped(e: serde_json::Error, tripped: &Cell<bool>, max: u64) -> ApiDecodeError {
    if tripped.get() {
        ApiDecodeError::TooLarge(max)
    } else {
        classify(e)
    }
}

fn classify(e: serde_json::Error) -> ApiDecodeError {
    if e.is_io() {
        ApiDecodeError::Io(e.to_string())
    } else if e.is_eof() {
        ApiDecodeError::Truncated
    } else {
        ApiDecodeError::Syntax(e.to_string())
    }
}

/// One decoded watch frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A well-formed event: `type_` and the raw object.
    Event { type_: String, object: Value },
    /// A JSON value that is not a `{"type":…,"object":…}` event; skipped by callers.
    NotAnEvent(String),
}

/// Iterates over the events of a watch body. `None` means the body ended cleanly
/// between events (the server's `timeoutSeconds` end, or a closed stream).
pub struct WatchDecoder<R: Read> {
    inner: serde_json::StreamDeserializer<
        'static,
        serde_json::de::IoRead<BufReader<Capped<R>>>,
        Value,
    >,
    failed: bool,
    /// Bytes read since the last event (with up to one buffer of read-ahead).
    used: Rc<Cell<u64>>,
    tripped: Rc<Cell<bool>>,
    max: u64,
}

impl<R: Read> WatchDecoder<R> {
    pub(crate) fn new(body: R) -> WatchDecoder<R> {
        WatchDecoder::with_cap(body, MAX_EVENT_BYTES)
    }

    /// A decoder whose events may be at most about `max` bytes.
    pub fn with_cap(body: R, max: u64) -> WatchDecoder<R> {
        const BUF: usize = 64 * 1024;
        let used = Rc::new(Cell::new(0));
        let tripped = Rc::new(Cell::new(false));
        let capped = Capped {
            inner: body,
            used: used.clone(),
            // The buffer may hold the start of the next event when one ends.
            max: max + BUF as u64,
            tripped: tripped.clone(),
        };
        let reader = BufReader::with_capacity(BUF, capped);
        WatchDecoder {
            inner: serde_json::Deserializer::from_reader(reader).into_iter::<Value>(),
            failed: false,
            used,
            tripped,
            max,
        }
    }
}

impl<R: Read> Iterator for WatchDecoder<R> {
    type Item = Result<Frame, ApiDecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.inner.next()?;
        self.used.set(0);
        match next {
            Ok(v) => Some(Ok(frame(v))),
            Err(e) => {
                self.failed = true;
                Some(Err(classify_capped(e, &self.tripped, self.max)))
            }
        }
    }
}

fn frame(mut v: Value) -> Frame {
    let type_ = match v.get("type").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None => return Frame::NotAnEvent(abbrev(&v)),
    };
    match v.get_mut("object").map(Value::take) {
        Some(object @ Value::Object(_)) => Frame::Event { type_, object },
        _ => Frame::NotAnEvent(abbrev(&v)),
    }
}

fn abbrev(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 120 {
        let mut cut = 120;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// A decoded List page: its metadata and items (malformed ones as `Item::Bad`).
#[derive(Debug, Clone)]
pub struct Page {
    pub meta: ListMeta,
    pub items: Vec<Item<KubeObject>>,
}

/// Decodes a List body of `kind` directly from the reader, item by item.
pub fn decode_list<R: Read>(kind: ResourceKind, body: R) -> Result<Page, ApiDecodeError> {
    decode_list_capped(kind, body, MAX_PAGE_BYTES)
}

fn decode_list_capped<R: Read>(
    kind: ResourceKind,
    body: R,
    max: u64,
) -> Result<Page, ApiDecodeError> {
    let tripped = Rc::new(Cell::new(false));
    let capped = Capped {
        inner: body,
        used: Rc::new(Cell::new(0)),
        max,
        tripped: tripped.clone(),
    };
    let r = BufReader::with_capacity(64 * 1024, capped);
    let classify = |e| classify_capped(e, &tripped, max);
    fn conv<T>(l: List<T>, f: fn(T) -> KubeObject) -> Page {
        let items = l
            .items
            .into_iter()
            .map(|i| match i {
                Item::Ok(t) => Item::Ok(f(t)),
                Item::Bad { who, error } => Item::Bad { who, error },
            })
            .collect();
        Page {
            meta: l.metadata,
            items,
        }
    }
    Ok(match kind {
        ResourceKind::Node => conv(
            serde_json::from_reader::<_, List<Node>>(r).map_err(classify)?,
            KubeObject::Node,
        ),
        ResourceKind::Service => conv(
            serde_json::from_reader::<_, List<Service>>(r).map_err(classify)?,
            KubeObject::Service,
        ),
        ResourceKind::EndpointSlice => conv(
            serde_json::from_reader::<_, List<EndpointSlice>>(r).map_err(classify)?,
            KubeObject::EndpointSlice,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the data in reads of the given sizes (cycling), like a chunked body.
    struct Chunky {
        data: Vec<u8>,
        pos: usize,
        sizes: Vec<usize>,
        n: usize,
        fail_at_end: bool,
    }

    impl Read for Chunky {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.pos >= self.data.len() {
                if self.fail_at_end {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "reset",
                    ));
                }
                return Ok(0);
            }
            let want = self.sizes[self.n % self.sizes.len()].max(1);
            self.n += 1;
            let k = want.min(buf.len()).min(self.data.len() - self.pos);
            buf[..k].copy_from_slice(&self.data[self.pos..self.pos + k]);
            self.pos += k;
            Ok(k)
        }
    }

    fn chunky(data: &str, sizes: &[usize]) -> Chunky {
        Chunky {
            data: data.as_bytes().to_vec(),
            pos: 0,
            sizes: sizes.to_vec(),
            n: 0,
            fail_at_end: false,
        }
    }

    const STREAM: &str = concat!(
        r#"{"type":"ADDED","object":{"kind":"Node","metadata":{"name":"n2","resourceVersion":"12350","annotations":{"a":"ü€😀"}}}}"#,
        "\n",
        r#"{"type":"MODIFIED","object":{"metadata":{"name":"n1","resourceVersion":"12351"}}}"#,
        r#"{"type":"BOOKMARK","object":{"kind":"Node","metadata":{"resourceVersion":"12400"}}}"#,
        "\n  \r\n",
        r#"{"type":"DELETED","object":{"metadata":{"name":"n2","resourceVersion":"12401"}}}"#,
        "\n"
    );

    fn types(d: impl Iterator<Item = Result<Frame, ApiDecodeError>>) -> Vec<String> {
        d.map(|f| match f {
            Ok(Frame::Event { type_, object }) => format!(
                "{type_}:{}",
                object["metadata"]["resourceVersion"].as_str().unwrap_or("")
            ),
            Ok(Frame::NotAnEvent(s)) => format!("junk:{s}"),
            Err(e) => format!("err:{e}"),
        })
        .collect()
    }

    #[test]
    fn events_independent_of_chunk_boundaries() {
        let want = vec![
            "ADDED:12350",
            "MODIFIED:12351",
            "BOOKMARK:12400",
            "DELETED:12401",
        ];
        for sizes in [
            vec![1],
            vec![2, 3],
            vec![7],
            vec![1000],
            vec![1, 50, 3, 17],
            vec![STREAM.len()],
        ] {
            let got = types(WatchDecoder::new(chunky(STREAM, &sizes)));
            assert_eq!(got, want, "sizes {sizes:?}");
        }
    }

    #[test]
    fn truncated_and_broken_streams() {
        let cut = &STREAM[..STREAM.len() - 10];
        let got = types(WatchDecoder::new(chunky(cut, &[5])));
        assert_eq!(got.len(), 4);
        assert_eq!(got[3], "err:body ended inside a JSON value");

        let mut c = chunky(&STREAM[..60], &[9]);
        c.fail_at_end = true;
        let got = types(WatchDecoder::new(c));
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("err:read failed"), "{got:?}");

        let got = types(WatchDecoder::new(chunky(
            "{\"type\":\"ADDED\",\"object\":{}} ]oops",
            &[4],
        )));
        assert_eq!(got[0], "ADDED:");
        assert!(got[1].starts_with("err:invalid JSON"), "{got:?}");
        assert_eq!(got.len(), 2);

        assert!(types(WatchDecoder::new(chunky("", &[1]))).is_empty());
    }

    /// An event over the cap ends the stream with `TooLarge` (the watcher then backs
    /// off and relists) instead of growing without bound; events below it pass, across
    /// any number of them (the count restarts at each event).
    #[test]
    fn oversized_events_and_pages_are_refused() {
        let small = r#"{"type":"ADDED","object":{"metadata":{"resourceVersion":"1"}}}"#;
        let many: String = std::iter::repeat_n(small, 5000).collect();
        assert!(many.len() > 200_000);
        let got = types(WatchDecoder::with_cap(chunky(&many, &[4096]), 1024));
        assert_eq!(got.len(), 5000);
        let pad = "x".repeat(300_000);
        let big = format!(
            r#"{small}{{"type":"ADDED","object":{{"metadata":{{"resourceVersion":"2","annotations":{{"p":"{pad}"}}}}}}}}{small}"#
        );
        let got = types(WatchDecoder::with_cap(chunky(&big, &[4096]), 100_000));
        assert_eq!(got.len(), 2, "{:?}", &got[1..]);
        assert_eq!(got[0], "ADDED:1");
        assert_eq!(got[1], "err:a value larger than 100000 bytes");
        assert_eq!(
            WatchDecoder::new(chunky("", &[1])).max,
            MAX_EVENT_BYTES,
            "default cap"
        );
        let body = format!(
            r#"{{"metadata":{{"resourceVersion":"1"}},"items":[{{"metadata":{{"name":"{pad}"}}}}]}}"#
        );
        let e =
            decode_list_capped(ResourceKind::Node, chunky(&body, &[8192]), 100_000).unwrap_err();
        assert_eq!(e, ApiDecodeError::TooLarge(100_000));
        assert!(decode_list_capped(ResourceKind::Node, chunky(&body, &[8192]), 400_000).is_ok());
    }

    /// Deep nesting stops at serde_json's recursion limit: an error, not a stack overflow.
    #[test]
    fn deeply_nested_json_is_an_error() {
        let deep = format!(
            r#"{{"type":"ADDED","object":{{"a":{}1{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let got = types(WatchDecoder::new(chunky(&deep, &[65536])));
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with("err:invalid JSON: recursion limit"),
            "{got:?}"
        );
        let list = format!(
            r#"{{"items":[{{"metadata":{{"labels":{}}}}}]}}"#,
            "[".repeat(100_000)
        );
        let e = decode_list(ResourceKind::Node, chunky(&list, &[65536])).unwrap_err();
        assert!(e.to_string().contains("recursion limit"), "{e}");
    }

    #[test]
    fn non_event_values_are_reported_not_fatal() {
        let got = types(WatchDecoder::new(chunky(
            r#"[1,2] {"type":"ADDED"} {"type":"ADDED","object":{"metadata":{"resourceVersion":"3"}}}"#,
            &[3],
        )));
        assert_eq!(got.len(), 3);
        assert!(got[0].starts_with("junk:[1,2]"));
        assert!(got[1].starts_with("junk:"));
        assert_eq!(got[2], "ADDED:3");
    }

    #[test]
    fn list_decodes_from_reader_and_keeps_bad_items_apart() {
        let body = r#"{"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"55","continue":"tok"},
          "items":[{"metadata":{"name":"a","namespace":"x"},"spec":{"clusterIP":"10.0.0.1"}},
                   {"metadata":{"name":"b","namespace":"x"},"spec":{"clusterIPs":7}}]}"#;
        let p = decode_list(ResourceKind::Service, chunky(body, &[3])).unwrap();
        assert_eq!(p.meta.resource_version, "55");
        assert_eq!(p.meta.continue_, "tok");
        assert!(
            matches!(&p.items[0], Item::Ok(KubeObject::Service(s)) if s.spec.cluster_ip == "10.0.0.1")
        );
        assert!(matches!(&p.items[1], Item::Bad { who, .. } if who == "x/b"));
        let e = decode_list(ResourceKind::Node, chunky(r#"{"items":[{"#, &[2])).unwrap_err();
        assert_eq!(e, ApiDecodeError::Truncated);
    }

    #[test]
    fn large_list_streams_past_ten_megabytes() {
        // ~12 MB of nodes with long annotations: more than ureq's read_to_vec limit.
        let pad = "x".repeat(2000);
        let mut body = String::from(r#"{"metadata":{"resourceVersion":"9"},"items":["#);
        let n = 6000;
        for i in 0..n {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!(
                r#"{{"metadata":{{"name":"node-{i}","annotations":{{"pad":"{pad}"}}}}}}"#
            ));
        }
        body.push_str("]}");
        assert!(body.len() > 10 * 1024 * 1024);
        let p = decode_list(ResourceKind::Node, chunky(&body, &[16 * 1024])).unwrap();
        assert_eq!(p.items.len(), n);
    }
}
