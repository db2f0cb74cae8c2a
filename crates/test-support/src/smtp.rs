//! [`SmtpServer`]: a real SMTP server per test (Python's aiosmtpd), which
//! keeps every message it accepts and refuses some recipients on purpose.
//!
//! The server is `smtp/recording_handler.py` (beside this crate's
//! `Cargo.toml`) serving with aiosmtpd; it binds a port of its own choosing
//! and reports it, and stores each accepted message as raw RFC 5322 bytes
//! plus a JSON record of its envelope and of the message as Python's `email`
//! package decodes it. Reading messages with a parser other than the one that
//! wrote them (lettre) is the point: a test then checks what a real mail
//! client would see.
//!
//! Policy by recipient local part: `refuse…` gets `550` at RCPT TO, `later…`
//! gets `451`, `slow…` is accepted but stored and answered only 5 s after
//! the message came (a sender's timeout fires first, as when a reply is
//! lost); anything else is accepted.

use crate::paths::unique_dir;
use crate::wait::eventually;
use serde::Deserialize;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::process::{Child, Command};

/// How long the server may take to listen after it was spawned.
const START_DEADLINE: Duration = Duration::from_secs(15);

/// What to run when aiosmtpd is missing, in every message that says so.
const INSTALL_HINT: &str = "install it with `python3 -m pip install aiosmtpd` \
     (or `apt-get install python3-aiosmtpd`); `cargo run -p ileaps -- dev test` does this for you";

/// A private SMTP server on 127.0.0.1, killed when dropped, its messages
/// removed with it.
#[derive(Debug)]
pub struct SmtpServer {
    port: u16,
    /// Where the handler writes messages, and the server's own log.
    dir: PathBuf,
    /// `None` while [`stop`](Self::stop)ped.
    child: Option<Child>,
}

/// One message as the server received it (or as [`parse_message`] read it
/// from a file, with an empty envelope).
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedEmail {
    /// The envelope sender (MAIL FROM); `None` for a parsed file.
    pub mail_from: Option<String>,
    /// The envelope recipients the server accepted (RCPT TO).
    pub rcpt_to: Vec<String>,
    /// The client's `address:port`: messages sent on one connection share
    /// it, so a test can tell whether a connection was reused. `None` for a
    /// parsed file.
    pub peer: Option<String>,
    /// The top-level content type, e.g. `multipart/alternative`.
    pub content_type: String,
    /// The text/plain body, decoded (transfer encoding and charset).
    pub text: Option<String>,
    /// The text/html body, decoded.
    pub html: Option<String>,
    /// Every header in order, values decoded (RFC 2047 words included).
    headers: Vec<(String, String)>,
    /// The message exactly as it was received.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

impl ReceivedEmail {
    /// The first header called `name` (case-insensitive), decoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers_named(name).into_iter().next()
    }

    /// Every header called `name` (case-insensitive), in order.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The decoded Subject.
    pub fn subject(&self) -> Option<&str> {
        self.header("subject")
    }

    /// The Message-ID, angle brackets included.
    pub fn message_id(&self) -> Option<&str> {
        self.header("message-id")
    }
}

impl SmtpServer {
    /// Starts a server on a port the kernel picks and waits until it
    /// accepts connections. Panics, saying what to install, when python3 or
    /// aiosmtpd is missing: a test that needs an SMTP server never quietly
    /// skips.
    pub async fn start() -> SmtpServer {
        require_aiosmtpd();
        let dir = unique_dir("smtp");
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|error| panic!("could not create {}: {error}", dir.display()));
        let mut server = SmtpServer {
            port: 0,
            dir,
            child: None,
        };
        // Port 0: the server binds a free port itself and reports it. A port
        // found free here and handed over could be taken by another test in
        // between, and a client would then reach that test's server.
        if let Err(failure) = server.spawn_and_wait(0).await {
            panic!("could not start the test SMTP server: {failure}");
        }
        server
    }

    /// `smtp://127.0.0.1:<port>`: plain SMTP, no TLS, no authentication.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedEmail> {
        let mut records: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap_or_else(|error| panic!("could not list {}: {error}", self.dir.display()))
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        records.sort();
        records.iter().map(|path| read_record(path)).collect()
    }

    /// Waits until at least `count` messages arrived and returns them all;
    /// panics when `deadline` passes first.
    pub async fn wait_for(&self, count: usize, deadline: Duration) -> Vec<ReceivedEmail> {
        let what = format!("{count} message(s) at the SMTP server");
        eventually(&what, deadline, || async {
            let messages = self.messages();
            (messages.len() >= count).then_some(messages)
        })
        .await
    }

    /// Waits for the first message that satisfies `predicate`; panics,
    /// naming `what`, when `deadline` passes first.
    pub async fn wait_for_match(
        &self,
        what: &str,
        deadline: Duration,
        predicate: impl Fn(&ReceivedEmail) -> bool,
    ) -> ReceivedEmail {
        eventually(what, deadline, || async {
            self.messages()
                .into_iter()
                .find(|message| predicate(message))
        })
        .await
    }

    /// Kills the server (an SMTP outage); messages received so far stay
    /// readable. [`restart`](Self::restart) brings it back on the same port.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already gone is fine: the point is that it no longer listens.
            let _ = child.kill().await;
        }
    }

    /// Starts the server again on the same port, after [`stop`](Self::stop).
    pub async fn restart(&mut self) {
        self.stop().await;
        if let Err(failure) = self.spawn_and_wait(self.port).await {
            panic!("could not restart the test SMTP server: {failure}");
        }
    }

    /// Spawns the server on `port` (0: any free one), waits until it
    /// reports the port it bound and accepts there, and keeps that port.
    async fn spawn_and_wait(&mut self, port: u16) -> Result<(), String> {
        let log_path = self.dir.join("server.log");
        let port_path = self.dir.join("port");
        // A report left by an earlier run (before a restart) is not this one's.
        let _ = std::fs::remove_file(&port_path);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap_or_else(|error| panic!("could not open {}: {error}", log_path.display()));
        let log_err = log.try_clone().expect("clone the log file handle");
        let child = Command::new("python3")
            .arg(handler_dir().join("recording_handler.py"))
            .arg("serve")
            .arg(&self.dir)
            .arg(port.to_string())
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("could not run python3 ({error}); {INSTALL_HINT}"));
        self.child = Some(child);
        self.wait_until_listening(&port_path)
            .await
            .map_err(|failure| {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                format!("{failure}; its log:\n{log}")
            })
    }

    /// Polls until the server has reported its port and that port accepts;
    /// fails early if the process exits, and at the deadline.
    async fn wait_until_listening(&mut self, port_path: &Path) -> Result<(), String> {
        let until = tokio::time::Instant::now() + START_DEADLINE;
        loop {
            let reported = std::fs::read_to_string(port_path)
                .ok()
                .and_then(|text| text.trim().parse::<u16>().ok());
            if let Some(port) = reported {
                let address = SocketAddr::from(([127, 0, 0, 1], port));
                if tokio::net::TcpStream::connect(address).await.is_ok() {
                    self.port = port;
                    return Ok(());
                }
            }
            let child = self.child.as_mut().expect("the server was just spawned");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(format!("the server exited ({status}) before listening"));
            }
            if tokio::time::Instant::now() >= until {
                self.stop().await;
                return Err(format!(
                    "the server did not listen within {START_DEADLINE:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // kill_on_drop would too; doing it first means the process is
            // signalled before its folder goes.
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads a message the way the server's handler does (Python's `email`
/// package), e.g. an `.eml` file a mail folder transport wrote. The envelope
/// is empty.
pub fn parse_message(raw: &[u8]) -> ReceivedEmail {
    require_aiosmtpd();
    let mut child = std::process::Command::new("python3")
        .arg(handler_dir().join("recording_handler.py"))
        .arg("parse")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("could not run python3: {error}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(raw)
        .expect("write the message to the parser");
    let output = child.wait_with_output().expect("run the message parser");
    assert!(
        output.status.success(),
        "the message parser failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut message: ReceivedEmail =
        serde_json::from_slice(&output.stdout).expect("the parser prints a message record");
    message.raw = raw.to_vec();
    message
}

/// The folder holding `recording_handler.py`.
fn handler_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("smtp")
}

/// Reads one `<name>.json` record and its `<name>.eml` raw message.
fn read_record(json_path: &Path) -> ReceivedEmail {
    let json = std::fs::read(json_path)
        .unwrap_or_else(|error| panic!("could not read {}: {error}", json_path.display()));
    let mut message: ReceivedEmail = serde_json::from_slice(&json)
        .unwrap_or_else(|error| panic!("{} is not a message record: {error}", json_path.display()));
    let raw_path = json_path.with_extension("eml");
    message.raw = std::fs::read(&raw_path)
        .unwrap_or_else(|error| panic!("could not read {}: {error}", raw_path.display()));
    message
}

/// Panics with [`INSTALL_HINT`] unless `python3 -c "import aiosmtpd"` works.
/// Checked once per test process.
fn require_aiosmtpd() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECK.get_or_init(|| {
        let output = std::process::Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .output()
            .map_err(|error| format!("python3 could not be run ({error})"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "python3 cannot import aiosmtpd ({})",
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    });
    if let Err(reason) = result {
        panic!("this test needs a real SMTP server, and {reason}: {INSTALL_HINT}");
    }
}
