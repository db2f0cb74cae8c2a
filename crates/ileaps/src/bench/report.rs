//! What a person sees (progress bars, the table) and what a script compares
//! (the JSON file).
//!
//! Progress bars are drawn on stdout only when stdout is a terminal; when it
//! is not (CI, `| tee`), each phase prints one plain line instead.

use super::{BenchArgs, Results, TARGET_RATIO, ceilings};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use sqlx::Connection;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The bars of one run.
#[derive(Debug, Clone)]
pub struct Progress {
    multi: MultiProgress,
    visible: bool,
}

impl Progress {
    pub fn new() -> Self {
        let visible = std::io::stdout().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            visible,
        }
    }

    /// A line above the bars (or just a line, without them).
    pub fn line(&self, text: String) {
        if self.visible {
            let _ = self.multi.println(text);
        } else {
            println!("{text}");
        }
    }

    /// A bar that fills over `duration`, for the ceilings.
    pub fn timed(&self, name: &str, duration: Duration) -> TimedBar {
        let bar = self
            .multi
            .add(ProgressBar::new(duration.as_millis() as u64));
        bar.set_style(style("{prefix:>16} [{bar:40.cyan/blue}] {msg}"));
        bar.set_prefix(name.to_owned());
        TimedBar { bar }
    }

    /// The intake hop's two bars: messages published, outcomes seen.
    pub fn hop_bars(&self, total: u64) -> (ProgressBar, ProgressBar) {
        let template = "{prefix:>16} [{bar:40.cyan/blue}] {pos:>7}/{len:7} {elapsed:>4}";
        let published = self.multi.add(ProgressBar::new(total));
        published.set_style(style(template));
        published.set_prefix("published");
        let outcomes = self.multi.add(ProgressBar::new(total));
        outcomes.set_style(style(template));
        outcomes.set_prefix("outcomes");
        if !self.visible {
            println!("  publishing {total} enquiries and waiting for their outcomes…");
        }
        (published, outcomes)
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// A bar measuring time, with a count as its message.
#[derive(Debug)]
pub struct TimedBar {
    bar: ProgressBar,
}

impl TimedBar {
    pub fn tick_to(&self, elapsed: Duration, count: u64, unit: &str) {
        self.bar.set_position(elapsed.as_millis() as u64);
        self.bar.set_message(format!("{count} {unit}"));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Where the figures were taken.
#[derive(Debug, Clone)]
pub struct Environment {
    pub nats_version: String,
    pub nats_store: String,
    pub postgres_version: String,
    pub synchronous_commit: String,
    pub fsync: String,
    pub database: String,
    pub cores: usize,
}

impl Environment {
    pub async fn read(
        client: &async_nats::Client,
        database_url: &str,
        database: &str,
        nats: &local_infra::NatsServer,
    ) -> Result<Self> {
        let mut conn = sqlx::PgConnection::connect(database_url)
            .await
            .context("connecting to the bench database")?;
        let mut show = async |setting: &str| -> Result<String> {
            Ok(sqlx::query_scalar::<_, String>(&format!("SHOW {setting}"))
                .fetch_one(&mut conn)
                .await?)
        };
        let postgres_version = show("server_version").await?;
        let synchronous_commit = show("synchronous_commit").await?;
        let fsync = show("fsync").await?;
        conn.close().await.ok();
        Ok(Self {
            nats_version: client.server_info().version,
            nats_store: shown(nats.store_dir()).display().to_string(),
            postgres_version,
            synchronous_commit,
            fsync,
            database: database.to_owned(),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
        })
    }
}

/// A path without `..` in it, for people to read.
pub fn shown(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Counters of `pg_stat_database` for the bench database.
#[derive(Debug, Clone, Copy, Default)]
pub struct DbActivity {
    pub commits: i64,
    pub rollbacks: i64,
    pub rows_inserted: i64,
    pub rows_updated: i64,
    pub rows_deleted: i64,
}

impl DbActivity {
    pub async fn read(database_url: &str) -> Result<Self> {
        let mut conn = sqlx::PgConnection::connect(database_url).await?;
        let (commits, rollbacks, rows_inserted, rows_updated, rows_deleted): (
            i64,
            i64,
            i64,
            i64,
            i64,
        ) = sqlx::query_as(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted \
                 FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_one(&mut conn)
        .await
        .context("reading pg_stat_database")?;
        conn.close().await.ok();
        Ok(Self {
            commits,
            rollbacks,
            rows_inserted,
            rows_updated,
            rows_deleted,
        })
    }

    pub fn since(self, before: &Self) -> Self {
        Self {
            commits: self.commits - before.commits,
            rollbacks: self.rollbacks - before.rollbacks,
            rows_inserted: self.rows_inserted - before.rows_inserted,
            rows_updated: self.rows_updated - before.rows_updated,
            rows_deleted: self.rows_deleted - before.rows_deleted,
        }
    }
}

/// CPU seconds per 1,000 enquiries (QUALITY.md's unit).
fn per_1000_enquiries(time: Duration, enquiries: usize) -> f64 {
    if enquiries == 0 {
        return 0.0;
    }
    time.as_secs_f64() * 1000.0 / enquiries as f64
}

fn build() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// `target/ileaps-bench/<time>.json` of the workspace (or of the working
/// directory outside a checkout).
pub fn default_json_path(started_at: &DateTime<Utc>) -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let target = if workspace.is_dir() {
        workspace
    } else {
        PathBuf::from("target")
    };
    target
        .join("ileaps-bench")
        .join(format!("{}.json", started_at.format("%Y%m%dT%H%M%SZ")))
}

pub fn json_document(args: &BenchArgs, started_at: &DateTime<Utc>, results: &Results) -> Value {
    let c = &results.ceilings;
    let hop = &results.hop;
    let env = &results.environment;
    json!({
        "benchmark": "ileaps bench (intake hop)",
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": started_at.to_rfc3339(),
        "build": build(),
        "environment": {
            "cores": env.cores,
            "nats_server": env.nats_version,
            "nats_store": env.nats_store,
            "postgres": env.postgres_version,
            "synchronous_commit": env.synchronous_commit,
            "fsync": env.fsync,
            "database": env.database,
        },
        "flags": {
            "enquiries": args.enquiries,
            "cities": args.cities,
            "invalid_ratio": args.invalid_ratio,
            "ceiling_secs": args.ceiling_secs,
            "keep": args.keep,
        },
        "ceilings": {
            "pg_commit_tps": round(c.pg_commit_tps),
            "pg_commits": c.pg_commits,
            "pg_secs": round3(c.pg_secs),
            "js_publish_rate": round(c.js_publish_rate),
            "js_messages": c.js_messages,
            "js_secs": round3(c.js_secs),
            "js_payload_bytes": ceilings::PAYLOAD_BYTES,
            "js_outstanding_acks": ceilings::OUTSTANDING_ACKS,
        },
        "intake_hop": {
            "enquiries": hop.enquiries,
            "cities": hop.cities,
            "valid": hop.valid,
            "invalid": hop.invalid,
            "received": hop.received,
            "rejected": hop.rejected,
            "missing": hop.missing,
            "duplicates": hop.duplicates,
            "wrong": hop.wrong,
            "foreign": hop.foreign,
            "dead_letters": hop.dead_letters,
            "wall_secs": round3(hop.wall_secs),
            "enquiries_per_s": round(hop.enquiries_per_s()),
            "accepted_per_s": round(hop.accepted_per_s()),
            "publish_secs": round3(hop.publish_secs),
            "publish_per_s": round(hop.publish_per_s()),
            "ratio_to_pg_commit_tps": round3(results.ratio()),
            "target_ratio": TARGET_RATIO,
            "meets_target": results.ratio() >= TARGET_RATIO,
            "latency_ms": {
                "p50": round3(hop.latency_ms.p50),
                "p95": round3(hop.latency_ms.p95),
                "p99": round3(hop.latency_ms.p99),
                "max": round3(hop.latency_ms.max),
                "from": "the enquiry's ce-time, set just before it is published",
                "to": "the JetStream timestamp of its outcome on ILEAPS_EVENTS",
                "load": "saturation: every enquiry offered at once",
            },
        },
        "postgres_during_hop": {
            "commits": results.db.commits,
            "rollbacks": results.db.rollbacks,
            "rows_inserted": results.db.rows_inserted,
            "rows_updated": results.db.rows_updated,
            "rows_deleted": results.db.rows_deleted,
            "enquiries_per_commit": round3(per_commit(hop.enquiries, results.db.commits)),
        },
        "cpu_seconds_per_1000_enquiries": results.cpu.map(|cpu| {
            let per_1000 = |time: Duration| round3(per_1000_enquiries(time, hop.enquiries));
            json!({
                "ileaps": per_1000(cpu.ileaps),
                "nats_server": per_1000(cpu.nats),
                "postgres": per_1000(cpu.postgres),
                "total": per_1000(cpu.total()),
                "what": "user + system CPU from /proc, hop start to last outcome; ileaps holds intake and the load generator; postgres is every postgres process on the machine",
            })
        }),
        "correct": hop.problems().is_empty(),
        "problems": hop.problems(),
    })
}

fn per_commit(enquiries: usize, commits: i64) -> f64 {
    if commits > 0 {
        enquiries as f64 / commits as f64
    } else {
        0.0
    }
}

fn round(value: f64) -> f64 {
    value.round()
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

pub fn write_json(path: &Path, document: &Value) -> Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(document)?;
    std::fs::write(path, text + "\n").with_context(|| format!("could not write {}", path.display()))
}

/// `12345.6` as `12,346`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn count(value: usize) -> String {
    thousands(value as f64)
}

pub fn print_table(args: &BenchArgs, results: &Results) {
    let c = &results.ceilings;
    let hop = &results.hop;
    let env = &results.environment;
    let ratio = results.ratio();
    let verdict = if ratio >= TARGET_RATIO {
        "PASS"
    } else {
        "BELOW"
    };
    let lat = hop.latency_ms;
    println!(
        "\n== ileaps bench: intake hop ==  ({} build, {} cores, nats-server {}, PostgreSQL {})\n",
        build(),
        env.cores,
        env.nats_version,
        env.postgres_version
    );
    println!("ceilings");
    println!(
        "  {:<26}{:>10} commits/s   1 connection, one-row INSERT per transaction ({} in {:.1} s)",
        "pg_commit_tps",
        thousands(c.pg_commit_tps),
        thousands(c.pg_commits as f64),
        c.pg_secs
    );
    println!(
        "  {:<26}{:>10} msgs/s      async, {} B, Nats-Msg-Id, {} acks outstanding ({} in {:.1} s)",
        "js_publish_rate",
        thousands(c.js_publish_rate),
        ceilings::PAYLOAD_BYTES,
        ceilings::OUTSTANDING_ACKS,
        thousands(c.js_messages as f64),
        c.js_secs
    );
    println!(
        "\nintake hop: {} enquiries from {} cities ({} invalid, --invalid-ratio {})",
        count(hop.enquiries),
        hop.cities,
        count(hop.invalid),
        args.invalid_ratio
    );
    println!(
        "  {:<26}{:>10} /s          every outcome, first publish → last outcome ({:.2} s)",
        "enquiries/s",
        thousands(hop.enquiries_per_s()),
        hop.wall_secs
    );
    println!(
        "  {:<26}{:>10} /s          enquiry.received only",
        "accepted enquiries/s",
        thousands(hop.accepted_per_s())
    );
    println!(
        "  {:<26}{:>10.2}             target ≥ {TARGET_RATIO:.1}: {verdict}",
        "ratio to pg_commit_tps", ratio
    );
    println!(
        "  {:<26}{:>10} msgs/s      first publish → last ack ({:.2} s)",
        "publish rate",
        thousands(hop.publish_per_s()),
        hop.publish_secs
    );
    println!(
        "  {:<26}{:>10} ms       p95 {} ms, p99 {} ms, max {} ms",
        "latency p50",
        thousands(lat.p50),
        thousands(lat.p95),
        thousands(lat.p99),
        thousands(lat.max)
    );
    println!(
        "  {:<26}(each enquiry's ce-time → its outcome stored on ILEAPS_EVENTS, all offered at once)",
        ""
    );
    println!(
        "  {:<26}{} received, {} rejected; {} missing, {} duplicate, {} wrong, {} dead letters",
        "outcomes",
        count(hop.received),
        count(hop.rejected),
        hop.missing,
        hop.duplicates,
        hop.wrong,
        hop.dead_letters
    );
    println!(
        "  {:<26}{} commits ({:.1} enquiries per commit), {} rows inserted, {} updated, {} deleted",
        "Postgres during the hop",
        thousands(results.db.commits as f64),
        per_commit(hop.enquiries, results.db.commits),
        thousands(results.db.rows_inserted as f64),
        thousands(results.db.rows_updated as f64),
        thousands(results.db.rows_deleted as f64)
    );
    if let Some(cpu) = results.cpu {
        let per_1000 = |time: Duration| per_1000_enquiries(time, hop.enquiries);
        println!(
            "  {:<26}{:>10.3} s          ileaps {:.3} (intake and the load generator), nats-server {:.3}, postgres {:.3}",
            "CPU per 1,000 enquiries",
            per_1000(cpu.total()),
            per_1000(cpu.ileaps),
            per_1000(cpu.nats),
            per_1000(cpu.postgres)
        );
    }
    if cfg!(debug_assertions) {
        println!("\n(debug build: these figures mean nothing; use --release)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }
}
