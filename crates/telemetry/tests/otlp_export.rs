//! Span export over OTLP/HTTP, end to end: a child process (this test binary,
//! re-run with one ignored test selected) initialises telemetry with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a fake collector here, records a
//! span and shuts the guard down. A child because the exporter reads its
//! settings from the environment, which a test must not change in its own
//! process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHILD_TEST: &str = "child_process_exports_one_span";
const MODE_VAR: &str = "TELEMETRY_TEST_CHILD";
const SPAN_NAME: &str = "otlp-test-span";
const SERVICE_NAME: &str = "otlp-test-service";

/// What the fake collector saw: request path and body.
type Request = (String, Vec<u8>);

/// Accepts connections on a free port. With `respond`, answers each OTLP
/// request 200 and reports it; without, holds connections open and never
/// answers, like a collector that hangs.
fn fake_collector(respond: bool) -> (u16, mpsc::Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen, requests) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            if respond {
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, &seen));
            } else {
                held.push(stream);
            }
        }
    });
    (port, requests)
}

fn serve(stream: TcpStream, seen: &mpsc::Sender<Request>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        reader
            .get_mut()
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
            )
            .unwrap();
        let _ = seen.send((path, body));
    }
}

fn spawn_child(collector_port: u16) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            CHILD_TEST,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MODE_VAR, "1")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{collector_port}"),
        )
        .env("OTEL_SERVICE_NAME", SERVICE_NAME)
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_with_deadline(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[test]
fn spans_are_exported_over_otlp_http_when_the_guard_shuts_down() {
    let (port, requests) = fake_collector(true);
    let mut child = spawn_child(port);

    let status = wait_with_deadline(&mut child, Duration::from_secs(60)).expect("child exits");
    assert!(status.success(), "child failed: {status}");

    let (path, body) = requests
        .recv_timeout(Duration::from_secs(5))
        .expect("the collector received spans");
    assert_eq!(path, "/v1/traces");
    assert!(contains(&body, SPAN_NAME), "span name in the export");
    assert!(contains(&body, SERVICE_NAME), "service.name in the export");
}

#[test]
fn shutdown_gives_up_on_a_collector_that_never_answers() {
    let (port, _requests) = fake_collector(false);
    let mut child = spawn_child(port);

    // The exporter's own HTTP timeout is 10 s; the guard stops waiting after
    // about 5 s, so the child must be gone well before this deadline.
    let status = wait_with_deadline(&mut child, Duration::from_secs(30))
        .expect("shutdown is bounded even when the collector hangs");
    assert!(status.success(), "child failed: {status}");
}

/// Run only as the child of the tests above.
#[test]
#[ignore = "run as a child process by the export tests"]
fn child_process_exports_one_span() {
    if std::env::var_os(MODE_VAR).is_none() {
        return;
    }
    let guard = telemetry::init("argument-name").expect("telemetry");
    {
        let span = tracing::info_span!(SPAN_NAME);
        let _entered = span.enter();
        tracing::info!("inside the span");
    }
    guard.shutdown();
}
