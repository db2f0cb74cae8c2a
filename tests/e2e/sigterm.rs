//! SIGTERM to the real `ileaps-intake` binary, as an orchestrator sends it:
//! the process drains, exits 0, and nothing it held is lost or repeated.

use crate::helpers::{TestApp, submission};
use contract::event_types::ENQUIRY_SUBMIT;
use contract::{CityCode, subjects};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use test_support::{StreamReader, city_headers, workspace_root};
use tokio::process::{Child, Command};

const ENQUIRIES: usize = 300;

#[tokio::test]
async fn sigterm_to_the_intake_binary_mid_load_exits_zero_and_loses_nothing() {
    let binary = intake_binary().await;
    // The seed cities are registered by the in-process app, which then stops:
    // from here on only the binary serves intake.
    let (nats, db, js) = TestApp::spawn().await.stop_keeping_infra().await;

    let mut inbound = Vec::with_capacity(ENQUIRIES);
    for n in 0..ENQUIRIES {
        let city = ["makassar", "colombo", "hulhumale", "chandigarh"][n % 4];
        let headers = city_headers(city, ENQUIRY_SUBMIT);
        inbound.push(headers.get("ce-id").unwrap().as_str().to_owned());
        js.publish_with_headers(
            subjects::inbound_enquiry(&CityCode::parse(city).expect("a seed city")),
            headers,
            submission(city, &format!("TERM-{n}")).to_string().into(),
        )
        .await
        .expect("publish")
        .await
        .expect("JetStream ack");
    }

    let mut outcomes =
        StreamReader::new(&js, subjects::STREAM_EVENTS, "ileaps.events.enquiry.>").await;
    let first = spawn_intake(&binary, &nats.url(), &db.url);
    // Terminate as soon as the first outcome is out: the rest are in flight.
    outcomes.next(Duration::from_secs(60)).await;
    let status = terminate(first).await;
    assert!(status.success(), "ileaps-intake exited with {status}");

    // A second process takes over where the first stopped.
    let second = spawn_intake(&binary, &nats.url(), &db.url);
    let mut reader =
        StreamReader::new(&js, subjects::STREAM_EVENTS, "ileaps.events.enquiry.>").await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    while seen.len() < ENQUIRIES {
        count(&mut seen, &reader.next(Duration::from_secs(60)).await);
    }
    for message in reader.collect_for(Duration::from_secs(1)).await {
        count(&mut seen, &message);
    }
    for id in &inbound {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "enquiry {id}: {:?} outcomes",
            seen.get(id)
        );
    }
    let status = terminate(second).await;
    assert!(
        status.success(),
        "the second ileaps-intake exited with {status}"
    );
}

fn count(seen: &mut HashMap<String, usize>, message: &async_nats::jetstream::Message) {
    let body: Value = serde_json::from_slice(&message.payload).expect("a JSON outcome");
    let inbound_id = body["inboundId"].as_str().expect("an inboundId").to_owned();
    *seen.entry(inbound_id).or_default() += 1;
}

fn spawn_intake(binary: &PathBuf, nats_url: &str, database_url: &str) -> Child {
    Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ILEAPS_NATS_URL", nats_url)
        .env("ILEAPS_DATABASE_URL", database_url)
        .env("ILEAPS_HTTP_ADDR", "127.0.0.1:0")
        .env("ILEAPS_SHUTDOWN_TIMEOUT_SECS", "20")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ileaps-intake starts")
}

/// Sends SIGTERM (with `kill`, as the workspace forbids `unsafe`) and waits
/// for the exit, which the shutdown timeout bounds.
async fn terminate(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().expect("the process is running").to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(sent.success(), "SIGTERM could not be sent to {pid}");
    tokio::time::timeout(Duration::from_secs(45), child.wait())
        .await
        .expect("ileaps-intake exits within its shutdown bound after SIGTERM")
        .expect("the exit status")
}

/// The binary as deployed. Cargo builds a dependency's library but not its
/// binaries for this test, so ask cargo for it (a no-op when it is fresh) and
/// take the path from its report.
pub(crate) async fn intake_binary() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "-p",
            "intake",
            "--bin",
            "ileaps-intake",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .await
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo could not build ileaps-intake"
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|message| {
            let executable = message["executable"].as_str()?;
            (message["target"]["name"] == "ileaps-intake").then(|| PathBuf::from(executable))
        })
        .expect("cargo reports the ileaps-intake executable")
}
