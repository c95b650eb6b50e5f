//! `open` and `convert --open`: the real binary serving on a free port, fetched
//! with curl (a real HTTP client, independent of our server code).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{decode_bytes, fixture, run, Val};

const UI: &str = "https://ui.perfetto.dev";

/// A running `breakdown-trace open ...` and what it printed.
struct Server {
    child: Child,
    /// The deep link printed on stdout.
    link: String,
    /// `http://127.0.0.1:PORT/NAME`.
    url: String,
    port: u16,
    stderr: std::thread::JoinHandle<String>,
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("breakdown-trace")
}

/// Starts the binary with `args` (which should include `--port 0`) and
/// waits for its link: the server is listening once it is printed.
fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start breakdown-trace");
    let mut err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut link = String::new();
    out.read_line(&mut link).unwrap();
    let link = link.trim_end().to_owned();
    if link.is_empty() {
        let _ = child.wait();
        panic!("no link printed; stderr: {}", stderr.join().unwrap());
    }
    let url = link
        .split_once("/#!/?url=")
        .unwrap_or_else(|| panic!("not a Perfetto UI deep link: {link}"))
        .1
        .to_owned();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not a loopback URL: {url}"));
    Server {
        child,
        link,
        url,
        port,
        stderr,
    }
}

impl Server {
    /// Checks the link's origin (`start` accepts any).
    fn with_origin(self, origin: &str) -> Server {
        assert!(
            self.link
                .starts_with(&format!("{origin}/#!/?url=http://127.0.0.1:")),
            "{}",
            self.link
        );
        self
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits for the process to end by itself (a guard, not a timed
    /// assertion: 60 s is far beyond anything it needs); returns its status
    /// and stderr.
    fn wait_exit(mut self) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self.stderr.join().unwrap());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "still serving after the fetch; stderr: {}",
                    self.stderr.join().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn still_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.join().unwrap()
    }
}

/// A response as curl saw it.
struct Response {
    status: u16,
    /// Lower-case names.
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// Runs curl with `args` (plus the URL last); `--path-as-is` so `..` is sent
/// as written.
fn curl(args: &[&str], url: &str) -> Response {
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("body");
    let out = Command::new("curl")
        .args(["-sS", "--path-as-is", "-D", "-", "-o"])
        .arg(&body_file)
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs (.ci/run installs it)");
    assert!(
        out.status.success(),
        "curl {args:?} {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = String::from_utf8(out.stdout).unwrap();
    let mut lines = head.lines();
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = std::fs::read(&body_file).unwrap_or_default();
    Response {
        status,
        headers,
        body,
    }
}

/// Sends `request` as it is and reads the whole response (the server closes
/// every connection after its response).
fn raw_request(port: u16, request: &str) -> Vec<u8> {
    use std::io::Write;
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    out
}

/// The trace `convert` writes for `input` (the reference bytes).
fn converted(input: &Path, dir: &Path) -> Vec<u8> {
    let out = dir.join("reference.pftrace");
    let (ok, _, err) = run(&[
        "convert",
        "-q",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    std::fs::read(out).unwrap()
}

fn assert_cors(r: &Response) {
    assert_eq!(
        r.headers
            .get("access-control-allow-origin")
            .map(String::as_str),
        Some(UI)
    );
}

#[test]
fn serves_a_converted_trace_to_the_ui_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("trtllm/disagg-perf_metrics.json");
    let reference = converted(&input, dir.path());
    let mut s = start(&["open", input.to_str().unwrap(), "--port", "0"], &[]).with_origin(UI);
    assert_eq!(
        s.url,
        format!("{}/disagg-perf_metrics.pftrace", s.base()),
        "{}",
        s.link
    );

    // The CORS preflight, with Chrome's Private Network Access request.
    let r = curl(
        &[
            "-X",
            "OPTIONS",
            "-H",
            &format!("Origin: {UI}"),
            "-H",
            "Access-Control-Request-Method: GET",
            "-H",
            "Access-Control-Request-Private-Network: true",
        ],
        &s.url,
    );
    assert_eq!(r.status, 204);
    assert_cors(&r);
    assert!(r.headers["access-control-allow-methods"].contains("GET"));
    assert_eq!(r.headers["access-control-allow-private-network"], "true");

    // HEAD: the length, no body (curl -I would not show extra bytes: read
    // the raw response).
    let r = curl(&["-I"], &s.url);
    assert_eq!(r.status, 200);
    assert_cors(&r);
    assert_eq!(r.headers["content-length"], reference.len().to_string());
    let path = &s.url[s.base().len()..];
    let raw = raw_request(
        s.port,
        &format!("HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", s.port),
    );
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(raw.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert_eq!(raw.len(), end, "HEAD sent a body");
    // A request line that is not HTTP: 400, not a crash.
    let raw = raw_request(s.port, "hello\r\n\r\n");
    assert!(
        raw.starts_with(b"HTTP/1.1 400 "),
        "{}",
        String::from_utf8_lossy(&raw)
    );

    // Nothing else is served: other paths, traversal, other methods, other hosts.
    let name = "disagg-perf_metrics.pftrace";
    for path in [
        "/".to_owned(),
        "/index.html".to_owned(),
        "/other.pftrace".to_owned(),
        format!("/../{name}"),
        format!("/./{name}"),
        format!("//{name}"),
        format!("/{name}/"),
        format!("/{name}/../{name}"),
        format!("/%2e%2e/{name}"),
        "/../../../../etc/passwd".to_owned(),
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_owned(),
        format!("/{}", name.to_uppercase()),
    ] {
        let r = curl(&[], &format!("{}{path}", s.base()));
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.body.starts_with(&reference[..16]), "{path}");
    }
    let r = curl(&["-X", "POST", "-d", "x"], &s.url);
    assert!(r.status == 405 || r.status == 400, "POST: {}", r.status);
    let r = curl(&["-X", "DELETE"], &s.url);
    assert_eq!(r.status, 405);
    assert!(r.headers["allow"].contains("GET"));
    let r = curl(&["-H", "Host: attacker.example:80"], &s.url);
    assert_eq!(r.status, 403);
    assert!(r.body.is_empty() || !r.body.starts_with(&reference[..16]));
    // None of that was the fetch it waits for.
    assert!(s.still_running());

    let r = curl(&["-H", &format!("Origin: {UI}")], &s.url);
    assert_eq!(r.status, 200);
    assert_cors(&r);
    assert_eq!(r.headers["content-type"], "application/octet-stream");
    assert_eq!(r.headers["content-length"], r.body.len().to_string());
    assert_eq!(r.body, reference, "served bytes differ from `convert`'s");
    // Decoded with the upstream schema: the requests and the provenance.
    let d = decode_bytes(&r.body);
    assert!(d.slices.iter().any(|s| s.name == "ctx_queue"));
    let p = d.named("provenance").next().unwrap();
    assert_eq!(
        p.args.get("input_0.name"),
        Some(&Val::Str("disagg-perf_metrics.json".into()))
    );
    assert_eq!(p.args.get("command_line"), None);

    let (status, stderr) = s.wait_exit();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("served   {name} ({} bytes)", reference.len())),
        "{stderr}"
    );
}

#[test]
fn serves_a_pftrace_and_a_gzipped_one_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("my trace.pftrace");
    std::fs::write(
        &trace,
        converted(&fixture("chrome/kineto_small.json"), dir.path()),
    )
    .unwrap();
    let gz = dir.path().join("gz.pftrace.gz");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -c '{}' > '{}'",
            trace.display(),
            gz.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    for (file, name) in [(&trace, "my_trace.pftrace"), (&gz, "gz.pftrace.gz")] {
        let s = start(&["open", file.to_str().unwrap(), "--port", "0"], &[]);
        assert!(s.url.ends_with(&format!("/{name}")), "{}", s.url);
        let r = curl(&[], &s.url);
        assert_eq!(r.status, 200);
        assert_cors(&r);
        assert_eq!(r.body, std::fs::read(file).unwrap(), "{name}");
        let (status, stderr) = s.wait_exit();
        assert!(status.success(), "{stderr}");
        // Served as it is: no conversion summary.
        assert!(!stderr.contains("input    "), "{stderr}");
    }
}

#[test]
fn convert_open_serves_the_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pftrace");
    let s = start(
        &[
            "convert",
            fixture("aiperf/new-schema.jsonl").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--open",
            "--port",
            "0",
        ],
        &[],
    );
    assert!(s.url.ends_with("/out.pftrace"), "{}", s.url);
    let r = curl(&[], &s.url);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, std::fs::read(&out).unwrap());
    let (status, stderr) = s.wait_exit();
    assert!(status.success(), "{stderr}");
}

/// An address of this machine other than loopback, if it has one (a UDP
/// `connect` sends nothing; it only picks the outgoing interface).
fn non_loopback_address() -> Option<IpAddr> {
    let sock = UdpSocket::bind("0.0.0.0:0").ok()?;
    sock.connect("192.0.2.1:9").ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn listens_on_loopback_only() {
    let input = fixture("trtllm/aggregated-perf_metrics.json");
    let s = start(&["open", input.to_str().unwrap(), "--port", "0"], &[]);
    match non_loopback_address() {
        Some(ip) => {
            let e = TcpStream::connect((ip, s.port));
            assert!(e.is_err(), "port {} answers on {ip}", s.port);
        }
        None => eprintln!("SKIP: this machine has no non-loopback address to try"),
    }
    let r = curl(&[], &s.url);
    assert_eq!(r.status, 200);
    let (status, _) = s.wait_exit();
    assert!(status.success());
}

#[test]
fn port_in_use_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let input = fixture("trtllm/aggregated-perf_metrics.json");
    let (ok, out, err) = run(&["open", input.to_str().unwrap(), "--port", &port]);
    assert!(!ok);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains(&format!("port {port}")), "{err}");
    assert!(err.contains("--port"), "{err}");
}

#[test]
fn keep_serving_answers_every_fetch() {
    let input = fixture("trtllm/aggregated-perf_metrics.json");
    let mut s = start(
        &[
            "open",
            input.to_str().unwrap(),
            "--port",
            "0",
            "--keep-serving",
        ],
        &[],
    );
    let first = curl(&[], &s.url);
    let second = curl(&[], &s.url);
    assert_eq!(first.status, 200);
    assert_eq!(second.body, first.body);
    assert!(s.still_running());
    let stderr = s.kill();
    assert_eq!(stderr.matches(" GET ").count(), 2, "{stderr}");
}

#[test]
fn origin_and_quiet() {
    let input = fixture("trtllm/aggregated-perf_metrics.json");
    let s = start(
        &[
            "open",
            input.to_str().unwrap(),
            "--port",
            "0",
            "-q",
            "--origin",
            "https://perfetto.example.test/",
        ],
        &[],
    )
    .with_origin("https://perfetto.example.test");
    let r = curl(&[], &s.url);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://perfetto.example.test"
    );
    let (status, stderr) = s.wait_exit();
    assert!(status.success());
    assert_eq!(stderr, "");
}

#[cfg(unix)]
#[test]
fn browser_opens_the_link_and_its_fetch_ends_the_serving() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    let browser = dir.path().join("browser.sh");
    // A "browser" that fetches what the link points to, as the UI would.
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > '{}'\ncurl -s -o /dev/null -H 'Origin: {UI}' \"${{1#*url=}}\"\n",
            seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let input = fixture("vllm/vllm-detailed.json");
    let s = start(
        &["open", input.to_str().unwrap(), "--port", "0", "--browser"],
        &[("BROWSER", browser.to_str().unwrap())],
    );
    let link = s.link.clone();
    let (status, stderr) = s.wait_exit();
    assert!(status.success(), "{stderr}");
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), link);
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn no_browser_is_a_clear_error() {
    let input = fixture("trtllm/aggregated-perf_metrics.json");
    let (out, err) = common::run_env(
        &["open", input.to_str().unwrap(), "--port", "0", "--browser"],
        &[("PATH", "/nonexistent"), ("BROWSER", "")],
    );
    assert!(!out.status.success());
    assert!(err.contains("--browser"), "{err}");
    assert!(err.contains("xdg-open"), "{err}");
}

/// Serves `page` for every request on a free loopback port (a thread that
/// lives as long as the test process); returns the port.
fn page_server(page: &'static str) -> u16 {
    use std::io::Write;
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let mut head = Vec::new();
            let mut r = BufReader::new(c.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line);
            }
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    port
}

/// What a page at `origin` gets when it `fetch()`es `url` in headless
/// Chromium: `status S length L sum X`, or `error ...`.
fn fetch_in_chromium(page_port: u16, url: &str) -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "this test needs Debian's Chromium: apt-get install chromium (.ci/run does)"
    );
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("http://127.0.0.1:{page_port}/#{url}"))
        .stderr(Stdio::null())
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<pre id=\"out\">").expect("the page rendered") + 14;
    dom[start..start + dom[start..].find("</pre>").unwrap()].to_owned()
}

/// The page: fetches the URL after `#` and prints status, length and the
/// byte sum (mod 2^32) of what it read.
const PAGE: &str = "<html><body><pre id=\"out\">pending</pre><script>\
fetch(location.hash.slice(1)).then(r => r.arrayBuffer().then(b => {\
  let s = 0; for (const x of new Uint8Array(b)) s = (s + x) >>> 0;\
  document.getElementById('out').textContent = 'status ' + r.status + ' length ' + b.byteLength + ' sum ' + s;\
})).catch(e => { document.getElementById('out').textContent = 'error ' + e; });\
</script></body></html>";

#[test]
fn a_browser_page_of_the_allowed_origin_reads_the_trace_and_no_other_can() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("chrome/kineto_small.json");
    let reference = converted(&input, dir.path());
    let sum = reference
        .iter()
        .fold(0u32, |s, &b| s.wrapping_add(u32::from(b)));
    let page_port = page_server(PAGE);
    let origin = format!("http://127.0.0.1:{page_port}");

    // The page's origin is the allowed one: it reads every byte.
    let s = start(
        &[
            "open",
            input.to_str().unwrap(),
            "--port",
            "0",
            "--origin",
            &origin,
        ],
        &[],
    );
    let got = fetch_in_chromium(page_port, &s.url);
    assert_eq!(
        got,
        format!("status 200 length {} sum {sum}", reference.len())
    );
    let (status, stderr) = s.wait_exit();
    assert!(status.success(), "{stderr}");

    // Allowed is ui.perfetto.dev only (the default): the browser refuses the
    // page the response.
    let s = start(&["open", input.to_str().unwrap(), "--port", "0"], &[]);
    let got = fetch_in_chromium(page_port, &s.url);
    assert!(got.starts_with("error TypeError"), "{got}");
    s.kill();
}
