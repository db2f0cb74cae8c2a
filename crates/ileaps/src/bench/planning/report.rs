//! The planning bench's table and JSON file.

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use std::io::IsTerminal;

use super::judge::Figures;
use super::{
    GOAL_LOAD_MAX_OVER_MEAN, GOAL_P99_MS, GOAL_SERVED_OVER_OPTIMUM, PlanningArgs, Results,
};

/// A bar of enquiries played, on a terminal only.
pub fn progress(total: usize) -> ProgressBar {
    let target = if std::io::stdout().is_terminal() {
        ProgressDrawTarget::stdout()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total as u64), target);
    if let Ok(style) = ProgressStyle::with_template(
        "        playing [{bar:40.cyan/blue}] {pos:>5}/{len:5} {elapsed:>4}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn mark(met: bool) -> &'static str {
    if met { "met" } else { "NOT MET" }
}

fn figures_json(f: &Figures) -> Value {
    json!({
        "served": f.served,
        "beneficiariesServed": f.beneficiaries_served,
        "pilotsServed": f.pilots_served,
        "jointWorkshops": f.joint_workshops,
        "enquiriesPerJointWorkshop": round3(f.enquiries_per_joint_workshop()),
        "maxLoad": f.max_load,
        "maxLoadOnlyTheirs": f.max_load_only_theirs,
        "loadMaxOverMean": round3(f.load_max_over_mean),
    })
}

pub fn json_document(args: &PlanningArgs, started_at: &DateTime<Utc>, r: &Results) -> Value {
    let j = &r.judgement;
    let per_enquiry_ms =
        |time: std::time::Duration| round3(time.as_secs_f64() * 1000.0 / j.enquiries.max(1) as f64);
    json!({
        "bench": "planning",
        "startedAt": started_at.to_rfc3339(),
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "scenario": {
            "seed": args.seed,
            "enquiries": args.enquiries,
            "cities": args.cities,
            "beneficiaries": args.beneficiaries,
            "experts": args.experts,
            "horizonDays": args.horizon_days,
            "burst": args.burst,
            "firstWindowDay": r.scenario.first_day.to_string(),
        },
        "accepted": j.enquiries,
        "beneficiaryEnquiries": j.beneficiary_enquiries,
        "pilotEnquiries": j.pilot_enquiries,
        "announced": figures_json(&j.announced),
        "optimum": figures_json(&j.optimum),
        "optimumProven": j.optimum_proven,
        "optimumSearch": {
            "nodes": args.optimum_nodes,
            "levels": args.optimum_levels,
            "laterNodes": args.optimum_later_nodes,
            "presolve": args.optimum_presolve,
        },
        "optimumSeconds": round3(j.optimum_time.as_secs_f64()),
        "optimumModelVariables": j.model_variables,
        "servedOverOptimum": round3(j.served_over_optimum()),
        "moves": {"replanned": r.moves_replanned, "afterUnfilled": r.moves_after_unfilled},
        "cancelled": r.cancelled,
        "unserved": r.unserved,
        "rejected": r.rejected,
        "plannedBy": r.planned_by,
        "planningLatencyMs": {
            "p50": round3(r.latencies.percentile(50.0)),
            "p99": round3(r.latencies.percentile(99.0)),
            "max": round3(r.latencies.percentile(100.0)),
        },
        "cpuMsPerEnquiry": r.cpu.map(|c| json!({
            "ileaps": per_enquiry_ms(c.ileaps),
            "nats": per_enquiry_ms(c.nats),
            "postgres": per_enquiry_ms(c.postgres),
        })),
        "playSeconds": round3(r.play_time.as_secs_f64()),
        "violations": j.violations,
        "sameDayHolds": j.same_day_holds,
        "unreadableEvents": r.unreadable_events,
        "goals": {
            "servedOverOptimum": GOAL_SERVED_OVER_OPTIMUM,
            "loadMaxOverMean": GOAL_LOAD_MAX_OVER_MEAN,
            "planningP99Ms": GOAL_P99_MS,
            "violations": 0,
        },
    })
}

pub fn print_table(args: &PlanningArgs, r: &Results) {
    let j = &r.judgement;
    let (a, o) = (&j.announced, &j.optimum);
    let ratio = j.served_over_optimum();
    let p99 = r.latencies.percentile(99.0);
    let proven = if j.optimum_proven {
        "proven"
    } else {
        "best found, not proven"
    };
    println!("\n== the plan, against the best plan for the same enquiries ==\n");
    if args.burst > 1 {
        println!(
            "enquiries arrived in bursts of {}, each planned together (up to ILEAPS_PLAN_BATCH)\n",
            args.burst
        );
    }
    println!("{:<34} {:>14} {:>14}   goal", "", "ileaps", "best");
    let row = |name: &str, ours: String, best: String, goal: String| {
        println!("{name:<34} {ours:>14} {best:>14}   {goal}");
    };
    row(
        "enquiries served",
        format!("{} / {}", a.served, j.enquiries),
        format!("{} ({proven})", o.served),
        String::new(),
    );
    row(
        "served ÷ optimum",
        format!("{ratio:.3}"),
        String::new(),
        format!(
            "≥ {GOAL_SERVED_OVER_OPTIMUM}  {}",
            mark(ratio >= GOAL_SERVED_OVER_OPTIMUM)
        ),
    );
    row(
        "beneficiary enquiries served",
        format!("{} / {}", a.beneficiaries_served, j.beneficiary_enquiries),
        o.beneficiaries_served.to_string(),
        String::new(),
    );
    row(
        "pilot missions served",
        format!("{} / {}", a.pilots_served, j.pilot_enquiries),
        o.pilots_served.to_string(),
        String::new(),
    );
    // The optimum's grouping and load mean something only when the levels
    // that decide them were solved (`--optimum-levels`).
    let solved = |level: u8, figure: String| {
        if args.optimum_levels >= level {
            figure
        } else {
            "—".to_owned()
        }
    };
    row(
        "enquiries per joint workshop",
        format!("{:.2}", a.enquiries_per_joint_workshop()),
        solved(2, format!("{:.2}", o.enquiries_per_joint_workshop())),
        String::new(),
    );
    row(
        "expert load max ÷ mean",
        format!(
            "{:.2} (max {}, {} only theirs)",
            a.load_max_over_mean, a.max_load, a.max_load_only_theirs
        ),
        solved(3, format!("{:.2}", o.load_max_over_mean)),
        format!(
            "≤ {GOAL_LOAD_MAX_OVER_MEAN}  {}",
            mark(a.load_max_over_mean <= GOAL_LOAD_MAX_OVER_MEAN)
        ),
    );
    row(
        "rule violations (checker)",
        j.violations.len().to_string(),
        String::new(),
        format!("0  {}", mark(j.violations.is_empty())),
    );
    println!();
    println!(
        "moves of planned workshops: {} by re-planning (to group cities or serve more), {} after nobody could staff a date; workshops cancelled: {}",
        r.moves_replanned, r.moves_after_unfilled, r.cancelled
    );
    let unserved: Vec<String> = r
        .unserved
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    println!(
        "unserved, by reason: {}",
        if unserved.is_empty() {
            "none".to_owned()
        } else {
            unserved.join(", ")
        }
    );
    println!(
        "planning latency (enquiry.received → scheduling's answer, on the stream): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms   goal p99 < {GOAL_P99_MS} ms  {}",
        r.latencies.percentile(50.0),
        p99,
        r.latencies.percentile(100.0),
        mark(p99 < GOAL_P99_MS)
    );
    let by = &r.planned_by;
    println!(
        "planned by the optimiser: {}; first-fit with no roster yet: {}; first-fit after the optimiser failed: {}   goal 0  {}",
        by.optimiser,
        by.first_fit_no_roster,
        by.first_fit_after_failure,
        mark(by.first_fit_after_failure == 0)
    );
    for failure in by.latest_failures.iter().take(5) {
        println!(
            "  the optimiser failed on {}: {}",
            failure.enquiry_id, failure.why
        );
    }
    if let Some(cpu) = r.cpu {
        let per = |t: std::time::Duration| t.as_secs_f64() * 1000.0 / j.enquiries.max(1) as f64;
        println!(
            "CPU per enquiry: ileaps (three services and the bench) {:.1} ms, nats-server {:.1} ms, postgres {:.1} ms; played in {:.1} s",
            per(cpu.ileaps),
            per(cpu.nats),
            per(cpu.postgres),
            r.play_time.as_secs_f64()
        );
    }
    println!(
        "offline optimum: {} variables, {:.1} s",
        j.model_variables,
        j.optimum_time.as_secs_f64()
    );
    for violation in j.violations.iter().take(20) {
        println!("  violation: {violation}");
    }
    if !j.same_day_holds.is_empty() {
        println!(
            "experts held twice on one day at different hours (allowed; the planner never proposes it): {}",
            j.same_day_holds.len()
        );
    }
    for event in r.unreadable_events.iter().take(5) {
        println!("  unreadable event: {event}");
    }
}

/// Several seeds' figures side by side, then the mean and the worst of
/// each against its goal.
pub fn print_summary(runs: &[(u64, anyhow::Result<super::Summary>)]) {
    println!("\n== {} seeds ==\n", runs.len());
    println!(
        "{:>6}  {:>14}  {:>15}  {:>16}  {:>10}",
        "seed", "served (opt.)", "served ÷ opt.", "load max ÷ mean", "p99 ms"
    );
    let mut done = Vec::new();
    for (seed, run) in runs {
        match run {
            Ok(s) => {
                println!(
                    "{seed:>6}  {:>14}  {:>15.3}  {:>16.2}  {:>10.0}",
                    format!("{} ({})", s.served, s.optimum),
                    s.served_over_optimum,
                    s.load_max_over_mean,
                    s.p99_ms
                );
                done.push(*s);
            }
            Err(_) => println!("{seed:>6}  failed (above)"),
        }
    }
    if done.is_empty() {
        return;
    }
    let mean = |f: fn(&super::Summary) -> f64| done.iter().map(f).sum::<f64>() / done.len() as f64;
    let worst_ratio = done
        .iter()
        .map(|s| s.served_over_optimum)
        .fold(f64::INFINITY, f64::min);
    let worst_load = done
        .iter()
        .map(|s| s.load_max_over_mean)
        .fold(0.0, f64::max);
    let worst_p99 = done.iter().map(|s| s.p99_ms).fold(0.0, f64::max);
    let verdict = |met: bool| if met { "met" } else { "NOT MET" };
    println!(
        "\n{:>6}  {:>14}  {:>15.3}  {:>16.2}  {:>10.0}",
        "mean",
        "",
        mean(|s| s.served_over_optimum),
        mean(|s| s.load_max_over_mean),
        mean(|s| s.p99_ms)
    );
    println!(
        "{:>6}  {:>14}  {:>15.3}  {:>16.2}  {:>10.0}",
        "worst", "", worst_ratio, worst_load, worst_p99
    );
    println!(
        "\nin every seed: served ÷ optimum ≥ {} {}; load max ÷ mean ≤ {} {}; p99 < {} ms {}",
        super::GOAL_SERVED_OVER_OPTIMUM,
        verdict(worst_ratio >= super::GOAL_SERVED_OVER_OPTIMUM),
        super::GOAL_LOAD_MAX_OVER_MEAN,
        verdict(worst_load <= super::GOAL_LOAD_MAX_OVER_MEAN),
        super::GOAL_P99_MS,
        verdict(worst_p99 < super::GOAL_P99_MS),
    );
}
