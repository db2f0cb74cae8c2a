//! `shutdown_on_signals` in a child process (this test binary re-run with the
//! ignored test selected), because the second signal ends the process.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHILD_TEST: &str = "child_process_waits_for_signals";
const CHILD_VAR: &str = "SERVICE_KIT_SIGNAL_CHILD";
const DEADLINE: Duration = Duration::from_secs(30);

/// Lines the child prints, read on a thread so waiting has a deadline.
fn lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if send.send(line).is_err() {
                return;
            }
        }
    });
    receive
}

fn wait_for_line(lines: &mpsc::Receiver<String>, wanted: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            // libtest may print "test name ... " on the same line first.
            Ok(line) if line.trim_end().ends_with(wanted) => return,
            Ok(_) => {}
            Err(error) => panic!("child never printed {wanted:?}: {error}"),
        }
    }
}

fn send(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn spawn_child() -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            CHILD_TEST,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines(child.stdout.take().unwrap());
    (child, lines)
}

fn exit_code_within(child: &mut Child, deadline: Duration) -> Option<i32> {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("child still running after {deadline:?}");
}

#[test]
fn the_first_sigterm_cancels_the_token_and_the_second_exits_with_130() {
    let (mut child, lines) = spawn_child();
    wait_for_line(&lines, "armed");

    send(&child, "TERM");
    wait_for_line(&lines, "cancelled");

    send(&child, "TERM");
    assert_eq!(exit_code_within(&mut child, DEADLINE), Some(130));
}

#[test]
fn sigint_cancels_the_token_too() {
    let (mut child, lines) = spawn_child();
    wait_for_line(&lines, "armed");

    send(&child, "INT");
    wait_for_line(&lines, "cancelled");

    send(&child, "INT");
    assert_eq!(exit_code_within(&mut child, DEADLINE), Some(130));
}

/// The child: arms the signal handling, reports each stage on stdout, and
/// then keeps "working" so that only the second signal can end it.
#[test]
#[ignore = "run as a child process by the signal tests"]
fn child_process_waits_for_signals() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let token = service_kit::shutdown_on_signals();
        println!("armed");
        token.cancelled().await;
        println!("cancelled");
        // A shutdown that never finishes: the second signal must end it.
        std::future::pending::<()>().await;
    });
}
