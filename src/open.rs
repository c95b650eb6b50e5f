//! `open`: serves one trace to the Perfetto UI over loopback HTTP.
//!
//! The UI (`https://ui.perfetto.dev`) opens a trace from a URL given in its
//! deep link `https://ui.perfetto.dev/#!/?url=http://127.0.0.1:9001/NAME`: the
//! page `fetch()`es that URL, so the server must answer a cross-origin GET with
//! `Access-Control-Allow-Origin` naming the UI's origin, and give
//! `Content-Length` (the UI's progress bar reads it). This is what Perfetto's
//! own `tools/open_trace_in_ui` script does (a Python `SimpleHTTPRequestHandler`
//! on `127.0.0.1:9001` adding `Access-Control-Allow-Origin` and
//! `Cache-Control: no-cache`, 404 for any other path, stopping after the
//! trace's GET). It uses port 9001 because that is the only local port the
//! UI's Content-Security-Policy lets the page connect to (the one
//! `trace_processor --httpd` uses too), so another `--port` works only with a
//! UI that allows it.
//!
//! The server here is a small HTTP/1.1 server on `std::net` (one thread per
//! connection, `Connection: close` on every response): it binds 127.0.0.1
//! only; serves exactly one path, `/NAME`, compared byte for byte with the
//! request target (no decoding, no file system lookup, so no traversal);
//! answers `GET` and `HEAD`, and the CORS preflight `OPTIONS` (with
//! `Access-Control-Allow-Private-Network: true` when Chrome's Private Network
//! Access asks for it); 404 for every other path, 405 for other methods, 403
//! when the `Host` header is not `127.0.0.1:PORT` or `localhost:PORT` (a page
//! of another site reaching the port through DNS rebinding). It stops after
//! the first GET whose whole body was sent and whose connection the client
//! closed (or after a short grace period), unless `keep_serving`.

use std::io::{self, BufRead, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use crate::error::{Error, Result};

/// The port Perfetto's UI may fetch from (see the module doc).
pub const DEFAULT_PORT: u16 = 9001;
/// The origin allowed to read the trace.
pub const DEFAULT_ORIGIN: &str = "https://ui.perfetto.dev";

/// Longest request head accepted (request line and headers).
const MAX_HEAD: usize = 16 * 1024;
/// A connection that sends no complete request head in this time is closed
/// (browsers open spare connections they may never use).
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// After sending the trace, how long to wait for the client to close.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Origin put in `Access-Control-Allow-Origin` and in the deep link.
    pub origin: String,
    /// Serve until interrupted instead of stopping after the first fetch.
    pub keep_serving: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            port: DEFAULT_PORT,
            origin: DEFAULT_ORIGIN.to_owned(),
            keep_serving: false,
        }
    }
}

/// One answered request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    pub peer: SocketAddr,
    pub method: String,
    pub target: String,
    pub status: u16,
    /// Body bytes sent.
    pub body_bytes: u64,
    /// A GET of the trace whose whole body was sent.
    pub complete_fetch: bool,
}

/// A bound server for one trace; [`TraceServer::serve`] runs it.
pub struct TraceServer {
    listener: TcpListener,
    port: u16,
    name: String,
    body: Arc<[u8]>,
    origin: String,
}

impl TraceServer {
    /// Binds `127.0.0.1:opts.port` to serve `body` as `/name`. `name` should
    /// come from [`served_name`] (URL-safe). A port in use is an error that
    /// names it and `--port`.
    pub fn bind(name: &str, body: Vec<u8>, opts: &ServeOptions) -> Result<TraceServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port)).map_err(|e| {
            let why = match e.kind() {
                io::ErrorKind::AddrInUse => format!(
                    "port {} on 127.0.0.1 is in use (another `open`, or `trace_processor --httpd`?); \
                     stop it, or pick another port with --port",
                    opts.port
                ),
                _ => format!("cannot listen on 127.0.0.1:{}: {e} (try another --port)", opts.port),
            };
            Error::Serve(why)
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Serve(format!("cannot read the listening address: {e}")))?
            .port();
        Ok(TraceServer {
            listener,
            port,
            name: name.to_owned(),
            body: body.into(),
            origin: opts.origin.trim_end_matches('/').to_owned(),
        })
    }

    /// The port listened on (the chosen one when bound with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/NAME`.
    pub fn trace_url(&self) -> String {
        format!("http://127.0.0.1:{}/{}", self.port, self.name)
    }

    /// The UI's deep link that opens the trace: `ORIGIN/#!/?url=TRACE_URL`.
    pub fn ui_link(&self) -> String {
        format!("{}/#!/?url={}", self.origin, self.trace_url())
    }

    /// Serves until a client fetched the whole trace (or forever with
    /// `keep_serving`), calling `log` for every answered request. Returns the
    /// completed fetch. Errors only when accepting connections fails.
    pub fn serve(self, keep_serving: bool, mut log: impl FnMut(&Served)) -> Result<Served> {
        let (tx, rx) = mpsc::channel::<Served>();
        let stop = Arc::new(AtomicBool::new(false));
        let site = Arc::new(Site {
            path: format!("/{}", self.name),
            name: self.name.clone(),
            body: self.body.clone(),
            origin: self.origin.clone(),
            port: self.port,
        });
        let listener = self.listener;
        let acceptor = {
            let stop = stop.clone();
            thread::spawn(move || -> io::Result<()> {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                    let stream = match conn {
                        Ok(s) => s,
                        // A connection reset before it was accepted.
                        Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                        Err(e) => return Err(e),
                    };
                    let (site, tx) = (site.clone(), tx.clone());
                    thread::spawn(move || {
                        if let Some(served) = handle(stream, &site) {
                            let _ = tx.send(served);
                        }
                    });
                }
                Ok(())
            })
        };
        loop {
            let Ok(served) = rx.recv() else {
                // The acceptor ended (and dropped its sender): an error.
                let err = match acceptor.join() {
                    Ok(Err(e)) => e.to_string(),
                    _ => "the listener stopped".to_owned(),
                };
                return Err(Error::Serve(format!(
                    "127.0.0.1:{}: accepting connections failed: {err}",
                    self.port
                )));
            };
            log(&served);
            if served.complete_fetch && !keep_serving {
                stop.store(true, Ordering::SeqCst);
                // Wake the acceptor so it sees `stop` and ends.
                let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
                let _ = acceptor.join();
                return Ok(served);
            }
        }
    }
}

/// What every connection handler needs.
struct Site {
    path: String,
    name: String,
    body: Arc<[u8]>,
    origin: String,
    port: u16,
}

/// A parsed request head.
struct Request {
    method: String,
    target: String,
    http10: bool,
    host: Option<String>,
    request_private_network: bool,
    request_headers: Option<String>,
    has_body: bool,
}

/// Reads a request head: `Ok(None)` when the client sent nothing.
fn read_head(stream: &mut TcpStream) -> io::Result<Option<Result<Request, (u16, &'static str)>>> {
    let mut head = Vec::with_capacity(1024);
    let mut reader = io::BufReader::new(stream.take(MAX_HEAD as u64 + 1));
    loop {
        let before = head.len();
        let n = reader.read_until(b'\n', &mut head)?;
        if n == 0 {
            // EOF: nothing at all, or a head cut short.
            return Ok((!head.is_empty()).then_some(Err((400, "incomplete request"))));
        }
        if head.len() > MAX_HEAD {
            return Ok(Some(Err((431, "request head too large"))));
        }
        let line = &head[before..];
        if before > 0 && (line == b"\r\n" || line == b"\n") {
            break;
        }
        if before == 0 && (line == b"\r\n" || line == b"\n") {
            // Tolerated: an empty line before the request line.
            head.clear();
        }
    }
    Ok(Some(parse_head(&head)))
}

fn parse_head(head: &[u8]) -> Result<Request, (u16, &'static str)> {
    let text = std::str::from_utf8(head).map_err(|_| (400, "request head is not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err((400, "malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err((505, "only HTTP/1.x is served"));
    }
    let mut req = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        http10: version == "HTTP/1.0",
        host: None,
        request_private_network: false,
        request_headers: None,
        has_body: false,
    };
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':').ok_or((400, "malformed header"))?;
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "host" => req.host = Some(v.to_owned()),
            "access-control-request-private-network" => {
                req.request_private_network = v.eq_ignore_ascii_case("true")
            }
            "access-control-request-headers" => req.request_headers = Some(v.to_owned()),
            "content-length" => req.has_body |= v != "0",
            "transfer-encoding" => req.has_body = true,
            _ => {}
        }
    }
    Ok(req)
}

/// The `Date` header value (IMF-fixdate) for now.
fn http_date() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// The status line and headers every response carries, plus `extra`.
fn response_head(site: &Site, status: u16, extra: &[(&str, String)]) -> Vec<u8> {
    let mut h = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    let common = [
        ("Date", http_date()),
        (
            "Server",
            format!("breakdown-trace/{}", env!("CARGO_PKG_VERSION")),
        ),
        ("Access-Control-Allow-Origin", site.origin.clone()),
        ("Cache-Control", "no-cache".to_owned()),
        ("X-Content-Type-Options", "nosniff".to_owned()),
        ("Connection", "close".to_owned()),
    ];
    for (k, v) in common.iter().chain(extra) {
        h.push_str(k);
        h.push_str(": ");
        h.push_str(v);
        h.push_str("\r\n");
    }
    h.push_str("\r\n");
    h.into_bytes()
}

fn error_response(site: &Site, status: u16, message: &str, head_only: bool) -> (Vec<u8>, Vec<u8>) {
    let body = format!("{status} {}: {message}\n", reason(status)).into_bytes();
    let mut extra = vec![
        ("Content-Type", "text/plain; charset=utf-8".to_owned()),
        ("Content-Length", body.len().to_string()),
    ];
    if status == 405 {
        extra.push(("Allow", "GET, HEAD, OPTIONS".to_owned()));
    }
    let head = response_head(site, status, &extra);
    (head, if head_only { Vec::new() } else { body })
}

/// Answers one connection (one request: every response closes it).
fn handle(mut stream: TcpStream, site: &Site) -> Option<Served> {
    let peer = stream.peer_addr().ok()?;
    let _ = stream.set_read_timeout(Some(HEAD_TIMEOUT));
    let parsed = match read_head(&mut stream) {
        Ok(Some(p)) => p,
        // Nothing sent, a timeout or a reset: not a request.
        Ok(None) | Err(_) => return None,
    };
    let req = match parsed {
        Ok(r) => r,
        Err((status, msg)) => {
            let (head, body) = error_response(site, status, msg, false);
            let _ = stream
                .write_all(&head)
                .and_then(|()| stream.write_all(&body));
            return Some(Served {
                peer,
                method: String::new(),
                target: String::new(),
                status,
                body_bytes: 0,
                complete_fetch: false,
            });
        }
    };
    let head_only = req.method == "HEAD";
    let mut served = Served {
        peer,
        method: req.method.clone(),
        target: req.target.clone(),
        status: 200,
        body_bytes: 0,
        complete_fetch: false,
    };
    let host_ok = match &req.host {
        Some(h) => {
            let h = h.to_ascii_lowercase();
            h == format!("127.0.0.1:{}", site.port)
                || h == format!("localhost:{}", site.port)
                || (site.port == 80 && (h == "127.0.0.1" || h == "localhost"))
        }
        None => req.http10,
    };
    // The path without a query string, compared byte for byte.
    let path = req.target.split('?').next().unwrap_or_default();
    let (head, body): (Vec<u8>, &[u8]) = if !host_ok {
        served.status = 403;
        let (h, b) = error_response(
            site,
            403,
            "the Host header must be 127.0.0.1:PORT or localhost:PORT",
            head_only,
        );
        return finish(stream, served, h, &b, false);
    } else if req.has_body {
        served.status = 400;
        let (h, b) = error_response(site, 400, "requests with a body are not served", head_only);
        return finish(stream, served, h, &b, false);
    } else if path != site.path {
        let status = if matches!(req.method.as_str(), "GET" | "HEAD" | "OPTIONS") {
            404
        } else {
            405
        };
        served.status = status;
        let msg = format!("only /{} is served here", site.name);
        let (h, b) = error_response(site, status, &msg, head_only);
        return finish(stream, served, h, &b, false);
    } else {
        match req.method.as_str() {
            "GET" | "HEAD" => {
                let h = response_head(
                    site,
                    200,
                    &[
                        ("Content-Type", "application/octet-stream".to_owned()),
                        ("Content-Length", site.body.len().to_string()),
                        ("Accept-Ranges", "none".to_owned()),
                    ],
                );
                (h, if head_only { &[] } else { &site.body[..] })
            }
            "OPTIONS" => {
                served.status = 204;
                let mut extra = vec![
                    (
                        "Access-Control-Allow-Methods",
                        "GET, HEAD, OPTIONS".to_owned(),
                    ),
                    ("Access-Control-Max-Age", "600".to_owned()),
                    ("Content-Length", "0".to_owned()),
                ];
                if let Some(h) = &req.request_headers {
                    extra.push(("Access-Control-Allow-Headers", h.clone()));
                }
                if req.request_private_network {
                    extra.push(("Access-Control-Allow-Private-Network", "true".to_owned()));
                }
                (response_head(site, 204, &extra), &[][..])
            }
            _ => {
                served.status = 405;
                let (h, b) = error_response(site, 405, "use GET, HEAD or OPTIONS", head_only);
                return finish(stream, served, h, &b, false);
            }
        }
    };
    let fetch = req.method == "GET";
    finish(stream, served, head, body, fetch)
}

/// Sends the response, closes our side and waits (briefly) for the client to
/// close its side, so that the client has read everything before the
/// process may exit.
fn finish(
    mut stream: TcpStream,
    mut served: Served,
    head: Vec<u8>,
    body: &[u8],
    fetch: bool,
) -> Option<Served> {
    let sent = stream
        .write_all(&head)
        .and_then(|()| stream.write_all(body))
        .and_then(|()| stream.flush());
    if sent.is_ok() {
        served.body_bytes = body.len() as u64;
        served.complete_fetch = fetch;
    }
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(CLOSE_GRACE));
    let mut sink = [0u8; 4096];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    Some(served)
}

/// A URL-safe name to serve `path` as: its file name with every byte other
/// than ASCII letters, digits, `.`, `_` and `-` replaced by `_`, and
/// `.pftrace` appended when `converted` (`disagg.json` → `disagg.pftrace`).
pub fn served_name(path: &Path, converted: bool) -> String {
    let file = crate::ingest::file_name(path);
    let mut stem = file.as_str();
    if converted {
        for ext in [".gz", ".json", ".jsonl", ".sqlite", ".db"] {
            stem = stem.strip_suffix(ext).unwrap_or(stem);
        }
        stem = stem.strip_suffix(".pt.trace").unwrap_or(stem);
    }
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.chars().all(|c| c == '.') {
        name = "trace".to_owned();
    }
    if converted {
        name.push_str(".pftrace");
    }
    name
}

/// Whether `bytes` (a file's first bytes; `whole` when that is all of it)
/// are a Perfetto protobuf trace: a sequence of `Trace.packet` fields (field
/// 1, wire type 2, tag byte 0x0a), each a varint length and that many bytes.
/// Needs one complete packet; a prefix may end inside a packet, a whole file
/// may not. JSON text fails at once or within a few bytes (`{`, `[` or
/// whitespace and then no chain of 0x0a tags at the declared offsets).
pub fn is_perfetto_trace(bytes: &[u8], whole: bool) -> bool {
    let mut at = 0usize;
    let mut packets = 0u64;
    while at < bytes.len() {
        if bytes[at] != 0x0a {
            return false;
        }
        at += 1;
        let mut len: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = bytes.get(at) else {
                return !whole && packets > 0;
            };
            at += 1;
            len |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return false;
            }
        }
        match at.checked_add(len as usize) {
            Some(end) if end <= bytes.len() => {
                at = end;
                packets += 1;
            }
            _ => return !whole && packets > 0,
        }
    }
    packets > 0
}

/// Reads `path` when it is a Perfetto trace (plain or gzipped, detected by
/// content): its bytes as on disk, to be served unchanged. `Ok(None)` when it
/// is something to convert first (then only its first 64 KiB were read).
pub fn read_trace_file(path: &Path) -> Result<Option<Vec<u8>>> {
    const PREFIX: usize = 1 << 16;
    let rerr = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(rerr)?;
    let mut head = Vec::with_capacity(PREFIX);
    (&mut file)
        .take(PREFIX as u64)
        .read_to_end(&mut head)
        .map_err(rerr)?;
    let short = head.len() < PREFIX;
    let is_trace = if head.starts_with(&[0x1f, 0x8b]) {
        let mut inflated = Vec::with_capacity(PREFIX);
        let whole = flate2::read::MultiGzDecoder::new(&head[..])
            .take(PREFIX as u64)
            .read_to_end(&mut inflated)
            .is_ok()
            && short
            && inflated.len() < PREFIX;
        is_perfetto_trace(&inflated, whole)
    } else {
        is_perfetto_trace(&head, short)
    };
    if !is_trace {
        return Ok(None);
    }
    file.read_to_end(&mut head).map_err(rerr)?;
    Ok(Some(head))
}

/// Opens `url` in the system browser: `$BROWSER` when set (Python's
/// `webbrowser` convention: `:`-separated commands, `%s` replaced by the
/// URL, else the URL appended), else `open` on macOS, `cmd /C start` on
/// Windows, `xdg-open` elsewhere. Errors name what was tried.
pub fn launch_browser(url: &str) -> Result<()> {
    let mut tried = Vec::new();
    let mut candidates: Vec<Vec<String>> = Vec::new();
    if let Ok(b) = std::env::var("BROWSER") {
        for cmd in b.split(':').filter(|c| !c.trim().is_empty()) {
            let mut words: Vec<String> = cmd.split_whitespace().map(str::to_owned).collect();
            if words.iter().any(|w| w.contains("%s")) {
                for w in &mut words {
                    *w = w.replace("%s", url);
                }
            } else {
                words.push(url.to_owned());
            }
            candidates.push(words);
        }
    }
    let system: Vec<String> = if cfg!(target_os = "macos") {
        vec!["open".into(), url.into()]
    } else if cfg!(windows) {
        vec![
            "cmd".into(),
            "/C".into(),
            "start".into(),
            String::new(),
            url.into(),
        ]
    } else {
        vec!["xdg-open".into(), url.into()]
    };
    candidates.push(system);
    for words in candidates {
        tried.push(words[0].clone());
        match std::process::Command::new(&words[0])
            .args(&words[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
        {
            Ok(mut child) => {
                // Reap it when it ends; it may outlive the serving.
                thread::spawn(move || child.wait());
                return Ok(());
            }
            Err(_) => continue,
        }
    }
    Err(Error::Serve(format!(
        "--browser: no browser could be launched (tried {}; set $BROWSER or install xdg-utils), \
         open the link above yourself",
        tried.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfetto_framing() {
        // Two packets: field 1, lengths 2 and 0.
        let t = [0x0a, 0x02, 0x08, 0x01, 0x0a, 0x00];
        assert!(is_perfetto_trace(&t, true));
        // Cut inside the second packet: a prefix may, a whole file may not.
        let cut = [0x0a, 0x02, 0x08, 0x01, 0x0a, 0x05, 0x01];
        assert!(is_perfetto_trace(&cut, false));
        assert!(!is_perfetto_trace(&cut, true));
        // JSON, also after a newline (0x0a), SQLite, nothing.
        assert!(!is_perfetto_trace(b"{\"traceEvents\": []}", true));
        assert!(!is_perfetto_trace(b"\n[{\"a\": 1}, {\"b\": 2}]\n", true));
        assert!(!is_perfetto_trace(b"\n\n\n", true));
        assert!(!is_perfetto_trace(b"SQLite format 3\0", true));
        assert!(!is_perfetto_trace(b"", true));
        // A varint longer than 64 bits.
        assert!(!is_perfetto_trace(
            &[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            false
        ));
    }

    #[test]
    fn served_names_are_url_safe() {
        let n = |p: &str, c| served_name(Path::new(p), c);
        assert_eq!(n("/a/b/disagg.json", true), "disagg.pftrace");
        assert_eq!(n("rank-0.pt.trace.json.gz", true), "rank-0.pftrace");
        assert_eq!(n("x/my trace?#%.pftrace", false), "my_trace___.pftrace");
        assert_eq!(n("trace.pftrace.gz", false), "trace.pftrace.gz");
        assert_eq!(n("..", false), "trace");
        assert_eq!(n("-", true), "-.pftrace");
        assert_eq!(n("ü.json", true), "_.pftrace");
    }

    #[test]
    fn request_heads() {
        let r = parse_head(b"GET /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nAccess-Control-Request-Private-Network: true\r\n\r\n").ok().unwrap();
        assert_eq!((r.method.as_str(), r.target.as_str()), ("GET", "/x?y=1"));
        assert_eq!(r.host.as_deref(), Some("127.0.0.1:9001"));
        assert!(r.request_private_network && !r.has_body && !r.http10);
        assert_eq!(
            parse_head(b"GET / HTTP/2\r\n\r\n").err(),
            Some((505, "only HTTP/1.x is served"))
        );
        assert_eq!(parse_head(b"GET /\r\n\r\n").err().map(|e| e.0), Some(400));
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nbad\r\n\r\n")
                .err()
                .map(|e| e.0),
            Some(400)
        );
        let r = parse_head(b"POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n")
            .ok()
            .unwrap();
        assert!(r.has_body && r.http10 && r.host.is_none());
    }
}
