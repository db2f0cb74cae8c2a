//! CPU time spent by the processes of a run, read from `/proc` (Linux): how
//! much work each enquiry costs, which the throughput alone hides on a shared
//! machine (QUALITY.md: "CPU seconds per 1,000 enquiries").
//!
//! - `ileaps`: this process, which holds intake and the load generator;
//! - `nats-server`: the bench's private server;
//! - `postgres`: every process named `postgres*` on the machine, since the
//!   backends, the WAL writer and the checkpointer all work for the run and
//!   the bench's database shares the server with whatever else it holds.
//!
//! Kernel threads (block-device writeback for the WAL and the JetStream
//! store) are not counted.

use std::path::Path;
use std::time::Duration;

/// Cumulative CPU time (user + system) of each group, at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    pub ileaps: Duration,
    pub nats: Duration,
    pub postgres: Duration,
}

impl CpuTimes {
    /// Now; `None` where `/proc` cannot be read (not Linux).
    pub fn read(nats_pid: Option<u32>) -> Option<Self> {
        let proc = Path::new("/proc");
        let ticks = ticks_per_second();
        let of = |pid: &str| -> Option<(String, Duration)> {
            let stat = std::fs::read_to_string(proc.join(pid).join("stat")).ok()?;
            let (name, ticks_used) = parse_stat(&stat)?;
            Some((name, Duration::from_secs_f64(ticks_used as f64 / ticks)))
        };
        let ileaps = of("self")?.1;
        let nats = nats_pid
            .and_then(|pid| of(&pid.to_string()))
            .map_or(Duration::ZERO, |(_, time)| time);
        let mut postgres = Duration::ZERO;
        for entry in std::fs::read_dir(proc).ok()?.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            // A process may exit between listing and reading: skipped.
            if let Some((process, time)) = of(pid)
                && process.starts_with("postgres")
            {
                postgres += time;
            }
        }
        Some(Self {
            ileaps,
            nats,
            postgres,
        })
    }

    /// What was spent between `before` and this reading. A Postgres process
    /// that exited in between takes its time with it, so that group can only
    /// be undercounted, never made negative.
    pub fn since(&self, before: &Self) -> Self {
        Self {
            ileaps: self.ileaps.saturating_sub(before.ileaps),
            nats: self.nats.saturating_sub(before.nats),
            postgres: self.postgres.saturating_sub(before.postgres),
        }
    }

    pub fn total(&self) -> Duration {
        self.ileaps + self.nats + self.postgres
    }
}

/// `(name, utime + stime)` from a `/proc/<pid>/stat` line. The name is in
/// parentheses and may itself hold spaces and parentheses, so the fields
/// are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    // After the name: state (field 3), ..., utime (14), stime (15).
    let mut fields = stat.get(close + 1..)?.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((name, utime + stime))
}

/// The kernel's clock ticks per second for `/proc` times (`USER_HZ`),
/// asked of `getconf` once; 100 is what Linux uses on every common
/// architecture, and the answer when `getconf` is missing.
fn ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|ticks| *ticks > 0.0)
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let stat = "4242 (tokio (rt) worker) S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 8";
        assert_eq!(
            parse_stat(stat),
            Some(("tokio (rt) worker".to_owned(), 290))
        );
        assert_eq!(parse_stat("4242 (x) S 1 2"), None, "too few fields");
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn the_cpu_this_process_spends_is_seen() {
        // Spins until the reading shows 50 ms more, whatever else the machine
        // is doing; a reader stuck at one value never gets there.
        let before = CpuTimes::read(None).expect("/proc is readable on Linux");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut x = 0_u64;
        loop {
            for _ in 0..1_000_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            let spent = CpuTimes::read(None).expect("again").since(&before);
            assert_eq!(spent.nats, Duration::ZERO, "no server was named");
            if spent.ileaps >= Duration::from_millis(50) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "a minute of spinning never showed 50 ms of CPU: {spent:?}"
            );
        }
    }
}
