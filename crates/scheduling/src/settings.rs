//! The planning rules an operator may change, read from `ILEAPS_*`
//! variables at start ([`rules_from_env`]). DOMAIN.md calls each of them a
//! default; unset, [`Rules::default`] holds. Every unusable value is
//! reported at once and the service does not start, rather than planning
//! with a figure nobody chose.
//!
//! | variable | default | rule |
//! | --- | --- | --- |
//! | `ILEAPS_LEAD_TIME_DAYS` | 14 (0–365) | nothing starts sooner after the enquiry was received |
//! | `ILEAPS_WORKSHOPS_PER_DAY` | 3 (1–50) | workshops or missions running on one day |
//! | `ILEAPS_JOINT_MAX_PARTICIPANTS` | 40 (1–10 000) | participants a joint workshop takes in |
//! | `ILEAPS_JOINT_MAX_CITIES` | 5 (1–50) | cities a joint workshop takes in |
//! | `ILEAPS_SUPPORT_OVER_CITIES` | 2 (1–50) | more cities than this need a SUPPORT expert (assignment reads it too) |
//! | `ILEAPS_SUPPORT_OVER_PARTICIPANTS` | 25 (1–10 000) | more participants than this need one (assignment reads it too) |
//! | `ILEAPS_UNFILLED_RETRIES` | 3 (0–20) | later dates tried after `assignment.unfilled` |
//! | `ILEAPS_FREEZE_HORIZON_DAYS` | 28 (0–365) | re-planning never changes what starts sooner |
//! | `ILEAPS_MAX_MOVES` | 2 (0–10) | moves of a planned workshop in its life |
//! | `ILEAPS_REPLAN_WORKSHOPS` | 12 (0–100) | planned workshops re-planned with each new enquiry |
//! | `ILEAPS_REPLAN_ALTERNATIVES` | 0 (0–1000) | dates offered per re-planned workshop, nearest first, besides those where the new enquiry could join it; 0 is all |
//! | `ILEAPS_PLANNER_NODES` | `5000,1000,500` | the solver's budget per objective level, in branch-and-bound nodes |

use chrono::Duration;
use service_kit::{Reader, SettingsError};

use crate::domain::Rules;

/// The rules from the process environment.
pub fn rules_from_env() -> Result<Rules, SettingsError> {
    rules_from_lookup(|name| std::env::var(name).ok())
}

/// The rules through `lookup` (a variable name to its value), the defaults
/// for anything unset.
pub fn rules_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Rules, SettingsError> {
    let defaults = Rules::default();
    let mut env = Reader::new(&lookup);
    let days = |env: &mut Reader<'_, _>, variable, default: Duration, most| {
        Duration::days(env.integer(variable, default.num_days(), 0..=most))
    };
    let rules = Rules {
        lead_time: days(&mut env, "ILEAPS_LEAD_TIME_DAYS", defaults.lead_time, 365),
        max_workshops_per_day: env.integer(
            "ILEAPS_WORKSHOPS_PER_DAY",
            defaults.max_workshops_per_day,
            1..=50,
        ),
        max_participants: env.integer(
            "ILEAPS_JOINT_MAX_PARTICIPANTS",
            defaults.max_participants,
            1..=10_000,
        ),
        max_cities: env.integer("ILEAPS_JOINT_MAX_CITIES", defaults.max_cities, 1..=50),
        support_over_cities: env.integer(SUPPORT_OVER_CITIES, defaults.support_over_cities, 1..=50),
        support_over_participants: env.integer(
            SUPPORT_OVER_PARTICIPANTS,
            defaults.support_over_participants,
            1..=10_000,
        ),
        max_reschedules: env.integer("ILEAPS_UNFILLED_RETRIES", defaults.max_reschedules, 0..=20),
        freeze_horizon: days(
            &mut env,
            "ILEAPS_FREEZE_HORIZON_DAYS",
            defaults.freeze_horizon,
            365,
        ),
        max_moves: env.integer("ILEAPS_MAX_MOVES", defaults.max_moves, 0..=10),
        replan_workshops: env.integer(
            "ILEAPS_REPLAN_WORKSHOPS",
            defaults.replan_workshops,
            0..=100,
        ),
        replan_alternatives: env.integer(
            "ILEAPS_REPLAN_ALTERNATIVES",
            defaults.replan_alternatives,
            0..=1_000,
        ),
        plan_batch: env.integer("ILEAPS_PLAN_BATCH", defaults.plan_batch, 1..=100),
        solver_nodes: env.parse(
            "ILEAPS_PLANNER_NODES",
            defaults.solver_nodes,
            "three whole numbers from 1 to 10000000, separated by commas (one per objective level)",
            parse_nodes,
        ),
        ..defaults
    };
    env.finish()?;
    Ok(rules)
}

/// Read by scheduling and assignment alike: the optimiser must staff what it
/// plans the way assignment will.
pub const SUPPORT_OVER_CITIES: &str = "ILEAPS_SUPPORT_OVER_CITIES";
/// See [`SUPPORT_OVER_CITIES`].
pub const SUPPORT_OVER_PARTICIPANTS: &str = "ILEAPS_SUPPORT_OVER_PARTICIPANTS";

fn parse_nodes(value: &str) -> Option<[u64; 3]> {
    let numbers: Vec<u64> = value
        .split(',')
        .map(|part| part.trim().parse().ok())
        .collect::<Option<_>>()?;
    let nodes: [u64; 3] = numbers.try_into().ok()?;
    nodes
        .iter()
        .all(|n| (1..=10_000_000).contains(n))
        .then_some(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Rules, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        rules_from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn nothing_set_is_the_programme_defaults() {
        assert_eq!(read(&[]).unwrap(), Rules::default());
    }

    #[test]
    fn each_rule_is_read_from_its_variable() {
        let rules = read(&[
            ("ILEAPS_LEAD_TIME_DAYS", "21"),
            ("ILEAPS_WORKSHOPS_PER_DAY", "4"),
            ("ILEAPS_JOINT_MAX_PARTICIPANTS", "60"),
            ("ILEAPS_JOINT_MAX_CITIES", "6"),
            ("ILEAPS_SUPPORT_OVER_CITIES", "3"),
            ("ILEAPS_SUPPORT_OVER_PARTICIPANTS", "30"),
            ("ILEAPS_UNFILLED_RETRIES", "5"),
            ("ILEAPS_FREEZE_HORIZON_DAYS", "0"),
            ("ILEAPS_MAX_MOVES", "1"),
            ("ILEAPS_REPLAN_WORKSHOPS", "8"),
            ("ILEAPS_REPLAN_ALTERNATIVES", "7"),
            ("ILEAPS_PLAN_BATCH", "1"),
            ("ILEAPS_PLANNER_NODES", "100, 20,3"),
        ])
        .unwrap();
        assert_eq!(
            rules,
            Rules {
                lead_time: Duration::days(21),
                max_workshops_per_day: 4,
                max_participants: 60,
                max_cities: 6,
                support_over_cities: 3,
                support_over_participants: 30,
                max_reschedules: 5,
                freeze_horizon: Duration::zero(),
                max_moves: 1,
                replan_workshops: 8,
                replan_alternatives: 7,
                plan_batch: 1,
                solver_nodes: [100, 20, 3],
                ..Rules::default()
            }
        );
    }

    #[test]
    fn every_unusable_value_is_reported_at_once_with_what_was_expected() {
        let error = read(&[
            ("ILEAPS_LEAD_TIME_DAYS", "-1"),
            ("ILEAPS_WORKSHOPS_PER_DAY", "0"),
            ("ILEAPS_FREEZE_HORIZON_DAYS", "four weeks"),
            ("ILEAPS_PLANNER_NODES", "5000,1000"),
            ("ILEAPS_MAX_MOVES", "2"),
        ])
        .unwrap_err();
        let variables: Vec<_> = error.problems.iter().map(|p| p.variable).collect();
        assert_eq!(
            variables,
            [
                "ILEAPS_LEAD_TIME_DAYS",
                "ILEAPS_WORKSHOPS_PER_DAY",
                "ILEAPS_FREEZE_HORIZON_DAYS",
                "ILEAPS_PLANNER_NODES",
            ]
        );
        let text = error.to_string();
        assert!(
            text.contains("ILEAPS_WORKSHOPS_PER_DAY=\"0\", expected a whole number from 1 to 50"),
            "{text}"
        );
        assert!(text.contains("three whole numbers"), "{text}");
    }
}
