//! The planning rules are settings: the binary refuses to start with one it
//! cannot use, and says which and what it expected.

use std::process::Command;
use std::time::Duration;
use test_support::{TestNats, test_db};

#[tokio::test]
async fn the_binary_refuses_to_start_with_an_unusable_planning_rule_and_names_it() {
    let nats = TestNats::start().await;
    let db = test_db().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ileaps-scheduling"))
        .env("ILEAPS_NATS_URL", nats.url())
        .env("ILEAPS_DATABASE_URL", &db.url)
        .env("ILEAPS_HTTP_ADDR", "127.0.0.1:0")
        .env("ILEAPS_CONNECT_TIMEOUT_SECS", "5")
        .env("ILEAPS_LOG_FORMAT", "compact")
        .env("ILEAPS_WORKSHOPS_PER_DAY", "0")
        .env("ILEAPS_FREEZE_HORIZON_DAYS", "four weeks")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            panic!("ileaps-scheduling kept running with ILEAPS_WORKSHOPS_PER_DAY=0");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!status.success(), "{said}");
    assert!(
        said.contains("ILEAPS_WORKSHOPS_PER_DAY") && said.contains("from 1 to 50"),
        "{said}"
    );
    assert!(said.contains("ILEAPS_FREEZE_HORIZON_DAYS"), "{said}");
}
