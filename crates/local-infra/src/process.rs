//! Child processes that cannot outlive us.
//!
//! A server child is held as a [`Supervised`]: the `std::process::Child` plus a
//! [`Watchdog`]. Dropping it kills the child *and waits for it*, so the caller
//! can reuse or delete the child's data directory the moment the drop returns.
//! We hold a `std` child rather than a `tokio` one with `kill_on_drop` for two
//! reasons: tokio cannot wait for the exit from a synchronous `Drop`, and a
//! handle may outlive the runtime that spawned it (tests keep a private
//! Postgres in a static, shared by tests that each run their own runtime).
//!
//! `Drop` does not run when this process is killed (`kill -9`, a test
//! harness timeout) nor for values in statics, so each child also gets a
//! watchdog: a tiny `sh` that blocks reading a pipe whose only writer is us.
//! When we die, for whatever reason, the kernel closes the pipe, the watchdog
//! reads end-of-file, signals the server, and removes its data directory if it
//! was disposable. On an orderly stop we kill the watchdog first, so it never
//! acts on a pid that may since have been reused.
//!
//! Signals other than SIGKILL are sent with the shell's `kill` built-in: the
//! workspace forbids `unsafe`, and the standard library only sends SIGKILL.

use crate::InfraError;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

/// Waits for end-of-file on stdin, then signals `$2` with `$1` and, when `$3`
/// is not empty, removes that directory once the process is gone. "Gone"
/// includes a zombie: once we are dead nobody may reap our children (a
/// container's PID 1 often does not), so the wait is also bounded (10 s).
/// Ignores the terminal's Ctrl-C and hang-up.
const WATCHDOG_SCRIPT: &str = r#"trap '' INT HUP
while read -r _; do :; done
kill -s "$1" "$2" 2>/dev/null
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  read -r _ _ state _ < "/proc/$1/stat" || return 1
  [ "$state" != Z ]
}
if [ -n "$3" ]; then
  i=0
  while alive "$2" && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  rm -rf -- "$3"
fi"#;

/// A `sh` that acts when this process dies; see the module docs.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
}

impl Watchdog {
    /// `None` (with a warning) if no watchdog can be had: the server still
    /// runs and `Drop` still stops it; only a hard crash would leave it behind.
    pub(crate) fn spawn(signal: &str, pid: u32, remove_dir: Option<&Path>) -> Option<Self> {
        let spawned = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("ileaps-watchdog")
            .arg(signal)
            .arg(pid.to_string())
            .arg(remove_dir.map(Path::as_os_str).unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        match spawned {
            Ok(child) => Some(Self { child }),
            Err(error) => {
                tracing::warn!(%error, pid, "could not start a watchdog; the server will not be stopped if this process is killed");
                None
            }
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // SIGKILL, so it never reaches its clean-up; then reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server child with its watchdog; dropping it kills and reaps the child.
#[derive(Debug)]
pub(crate) struct Supervised {
    child: Child,
    watchdog: Option<Watchdog>,
}

impl Supervised {
    pub(crate) fn new(child: Child, watchdog: Option<Watchdog>) -> Self {
        Self { child, watchdog }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the child has exited (reaping it).
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the watchdog, so that we alone decide the child's fate from now on.
    pub(crate) fn disarm(&mut self) {
        self.watchdog = None;
    }

    /// SIGKILL and wait for the exit.
    pub(crate) fn kill_now(&mut self) {
        self.disarm();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Polls until the child exits or `deadline` passes; true if it exited.
    pub(crate) async fn wait_exit(&mut self, deadline: std::time::Duration) -> bool {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if self.exited().is_some() {
                return true;
            }
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// How often we look again while waiting for a server to start or stop.
pub(crate) const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

/// Sends a signal by name (`TERM`, `QUIT`, ...) with the shell's `kill`.
pub(crate) async fn send_signal(pid: u32, signal: &str) -> Result<(), InfraError> {
    let status = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"kill -s "$1" "$2""#)
        .arg("sh")
        .arg(signal)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .status()
        .await
        .map_err(|source| InfraError::io(format!("send SIG{signal} to process {pid}"), source))?;
    if status.success() {
        Ok(())
    } else {
        Err(InfraError::io(
            format!("send SIG{signal} to process {pid}"),
            std::io::Error::other(format!("kill exited with {status}")),
        ))
    }
}

/// True when the effective user is root (read from `/proc`, Linux only;
/// elsewhere we assume an ordinary user, which is what macOS developers are).
pub(crate) fn is_root() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|effective| effective == "0")
}

/// The last lines of a log file, for error messages.
pub(crate) fn log_tail(path: &Path) -> String {
    const MAX_BYTES: u64 = 4096;
    const MAX_LINES: usize = 30;
    let read = || -> std::io::Result<String> {
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(MAX_BYTES)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(MAX_LINES);
            let tail = lines[start..].join("\n");
            if tail.trim().is_empty() {
                "(the log is empty)".to_owned()
            } else {
                tail
            }
        }
        Err(error) => format!("(could not read the log: {error})"),
    }
}

/// A port that was free a moment ago: bind port 0 on loopback, read the
/// port, release it. Another process may take it before the server binds it,
/// so callers retry on "address in use".
pub(crate) fn free_port() -> Result<u16, InfraError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|source| InfraError::io("find a free port on 127.0.0.1", source))
}

/// Opens (creating, appending) a log file for a child's stdout and stderr.
pub(crate) fn open_log(path: &Path) -> Result<(Stdio, Stdio), InfraError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| {
            InfraError::io(format!("open the log file {}", path.display()), source)
        })?;
    let clone = file.try_clone().map_err(|source| {
        InfraError::io(format!("open the log file {}", path.display()), source)
    })?;
    Ok((Stdio::from(file), Stdio::from(clone)))
}

pub(crate) fn create_dir(path: &Path) -> Result<(), InfraError> {
    std::fs::create_dir_all(path).map_err(|source| {
        InfraError::io(format!("create the directory {}", path.display()), source)
    })
}

pub(crate) fn absolute(path: &Path) -> Result<PathBuf, InfraError> {
    std::path::absolute(path)
        .map_err(|source| InfraError::io(format!("make {} absolute", path.display()), source))
}
