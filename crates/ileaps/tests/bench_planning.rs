//! `ileaps bench planning` from outside: the binary on a small scenario,
//! with a real nats-server (the bench's private one) and a real Postgres
//! (the test server), and its JSON read back.

use serde_json::Value;
use std::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn the_planning_bench_plays_a_scenario_and_judges_the_plan_against_the_optimum() {
    // The bench makes its own database next to this one, on the same server.
    let db = test_support::test_db().await;
    let json = std::env::temp_dir().join(format!("ileaps-bench-planning-{}.json", db.name));
    // Yesterday's instance, as a run made yesterday would have drawn it.
    let yesterday = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let output = Command::new(env!("CARGO_BIN_EXE_ileaps"))
        .args([
            "bench",
            "planning",
            "--seed",
            "3",
            "--enquiries",
            "10",
            "--cities",
            "4",
            "--beneficiaries",
            "1",
            "--experts",
            "4",
            "--horizon-days",
            "60",
            "--optimum-nodes",
            "20000",
            "--today",
            &yesterday.to_string(),
            "--json",
        ])
        .arg(&json)
        .env("ILEAPS_DATABASE_URL", &db.url)
        .env_remove("ILEAPS_NATS_URL")
        .output()
        .expect("the ileaps binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the bench failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON file is written"))
            .expect("the JSON file parses");
    let _ = std::fs::remove_file(&json);

    assert_eq!(results["accepted"], 10, "{results:#}");
    assert_eq!(results["rejected"], 0);
    assert_eq!(results["violations"].as_array().map(Vec::len), Some(0));
    let served = results["announced"]["served"].as_u64().unwrap();
    let unserved: u64 = results["unserved"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(
        served + unserved,
        10,
        "every enquiry served or told why not: {results:#}"
    );
    assert!(
        !results["unserved"]
            .as_object()
            .unwrap()
            .contains_key("NOT_SETTLED")
    );
    let best = results["optimum"]["served"].as_u64().unwrap();
    assert!(served <= best, "the optimum starts from the announced plan");
    assert_eq!(results["optimumProven"], true);
    let ratio = results["servedOverOptimum"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&ratio));
    assert!(results["planningLatencyMs"]["p50"].as_f64().unwrap() > 0.0);
    assert!(stdout.contains("served ÷ optimum"), "{stdout}");
    let first_window = yesterday + chrono::Days::new(35);
    assert!(
        stdout.contains(&format!("windows from {first_window}")),
        "{stdout}"
    );
}

#[test]
fn a_day_too_long_ago_for_the_scenario_is_refused_with_the_reason() {
    let long_ago = chrono::Utc::now().date_naive() - chrono::Days::new(30);
    let output = Command::new(env!("CARGO_BIN_EXE_ileaps"))
        .args(["bench", "planning", "--today", &long_ago.to_string()])
        .output()
        .expect("the ileaps binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("--today must be from") && stderr.contains("lead time"),
        "{stderr}"
    );
}
