//! The announced plan judged against the rules and against the best plan
//! for the same enquiries.
//!
//! Both sides go through scheduling's bridge (`domain::candidates`) with
//! every accepted enquiry open and nothing planned: the same calendar rules
//! (windows, lead time, hours, holidays) and the same roster (the scenario's
//! own, not a service's copy). The announced plan is placed in that instance
//! workshop by workshop; then the planner's independent checker
//! (`planner::violations`) looks at the whole, and `planner::optimise` looks
//! for the best plan with a generous budget, starting from the announced one
//! (so the optimum is never below it).

use anyhow::{Result, anyhow};
use chrono::NaiveDate;
use contract::proto::common::v1::{EnquiryKind, Format};
use planner::{Budget, Instance, Plan, SolveOptions, Team};
use scheduling::domain::candidates::{
    Candidates, CurrentWorkshop, Mobility, OpenEnquiry, candidates,
};
use scheduling::domain::{Calendar, Rules};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::observe::Observed;
use super::scenario::Scenario;

/// What a plan achieves, in the figures QUALITY.md asks for.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub served: usize,
    pub beneficiaries_served: usize,
    pub pilots_served: usize,
    pub joint_workshops: usize,
    pub joint_enquiries_served: usize,
    /// Most assignments of one expert ÷ the mean, over the experts who could
    /// serve (who may lead some candidate of some enquiry).
    pub load_max_over_mean: f64,
    pub max_load: usize,
    /// Of the busiest expert's assignments, those nobody else could take
    /// (topic, language, leave; other holds and monthly limits ignored):
    /// a floor under the largest load for this plan's workshops, which no
    /// choice of experts goes below.
    pub max_load_only_theirs: usize,
}

impl Figures {
    pub fn enquiries_per_joint_workshop(&self) -> f64 {
        if self.joint_workshops == 0 {
            0.0
        } else {
            self.joint_enquiries_served as f64 / self.joint_workshops as f64
        }
    }
}

/// The judgement of one run.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub enquiries: usize,
    pub beneficiary_enquiries: usize,
    pub pilot_enquiries: usize,
    pub announced: Figures,
    pub optimum: Figures,
    /// Whether the solver proved the optimum's first level (enquiries
    /// served, beneficiaries first).
    pub optimum_proven: bool,
    pub optimum_time: Duration,
    pub model_variables: usize,
    /// Every rule the announced plan breaks, in words.
    pub violations: Vec<String>,
    /// Experts held twice on one programme day without the holds meeting
    /// (say two consultations at different hours): allowed, but never what
    /// the planner proposes, so a sign that assignment staffed on its own.
    pub same_day_holds: Vec<String>,
}

impl Judgement {
    pub fn served_over_optimum(&self) -> f64 {
        if self.optimum.served == 0 {
            1.0
        } else {
            self.announced.served as f64 / self.optimum.served as f64
        }
    }
}

/// How the best plan is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offline {
    /// Branch-and-bound nodes for the first level (enquiries served).
    pub nodes: u64,
    /// Objective levels solved (1 to 3): the second groups cities, the
    /// third evens out the load.
    pub levels: usize,
    /// Nodes for each level after the first.
    pub later_nodes: u64,
    pub presolve: bool,
}

/// Judges what `observed` announced for `scenario`'s enquiries.
pub fn judge(
    scenario: &Scenario,
    observed: &Observed,
    holidays: BTreeMap<String, BTreeSet<NaiveDate>>,
    rules: &Rules,
    offline: &Offline,
) -> Result<Judgement> {
    let open = observed
        .received
        .iter()
        .map(|r| {
            scheduling::handlers::request_of(&r.event)
                .map(|request| OpenEnquiry {
                    request,
                    beneficiary: r.event.priority,
                })
                .map_err(|e| anyhow!("{e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let calendar = Calendar {
        holidays,
        ..Calendar::default()
    };
    let bridge = candidates(&open, &scenario.profiles(), &[], &calendar, rules);
    let (announced_plan, mut violations) = place(&bridge, observed);
    // The planner counts an expert's holds in whole programme days, more
    // cautiously than the rule (assignment compares instants): two
    // consultations on one day at different times are no double booking.
    // Its day-based findings are reported apart; the rule is checked on
    // the announced instants.
    let (same_day_holds, others): (Vec<String>, Vec<String>) =
        planner::violations(&bridge.instance, &announced_plan)
            .into_iter()
            .partition(|v| v.contains("is double-booked"));
    violations.extend(others);
    violations.extend(double_bookings(observed));

    // Levels after the first only shape the optimum's grouping and load,
    // which are reported but not what the ratio compares: a small budget.
    let budget = Budget {
        nodes: [offline.nodes, offline.later_nodes, offline.later_nodes],
    };
    let started = Instant::now();
    let hint = violations.is_empty().then_some(&announced_plan);
    let outcome = planner::optimise_with(
        &bridge.instance,
        budget,
        hint,
        SolveOptions {
            presolve: offline.presolve,
            levels: offline.levels,
            ..SolveOptions::default()
        },
    )
    .map_err(|e| anyhow!("the offline optimum could not be computed: {e}"))?;
    let optimum_time = started.elapsed();
    let kinds: Vec<EnquiryKind> = open.iter().map(|o| o.request.kind).collect();
    Ok(Judgement {
        enquiries: open.len(),
        beneficiary_enquiries: open.iter().filter(|o| o.beneficiary).count(),
        pilot_enquiries: kinds
            .iter()
            .filter(|k| **k == EnquiryKind::PilotProject)
            .count(),
        announced: figures(&bridge.instance, &announced_plan, &kinds),
        optimum: figures(&bridge.instance, &outcome.plan, &kinds),
        optimum_proven: outcome.proven_levels.first().copied().unwrap_or(false),
        optimum_time,
        model_variables: outcome.variables,
        violations,
        same_day_holds,
    })
}

/// The announced plan in the bridge's instance: each workshop staffed at
/// its current version in the slot of its dates, with its team. What cannot
/// be placed is a violation: dates that break a city's rules, two workshops
/// in one slot, a team member the roster does not know.
fn place(bridge: &Candidates, observed: &Observed) -> (Plan, Vec<String>) {
    let index: BTreeMap<&str, usize> = observed
        .received
        .iter()
        .enumerate()
        .map(|(i, r)| (r.event.enquiry_id.as_str(), i))
        .collect();
    let expert =
        |id: Option<&str>| id.and_then(|id| bridge.experts.iter().position(|x| x.id == id));
    let mut plan = Plan {
        served_in: vec![None; bridge.instance.enquiries.len()],
        workshops: BTreeMap::new(),
    };
    let mut violations = Vec::new();
    for (id, workshop) in observed.workshops.iter().filter(|(_, w)| w.is_served()) {
        let enquiries: Vec<usize> = workshop
            .enquiries
            .iter()
            .filter_map(|e| index.get(e.as_str()).copied())
            .collect();
        if enquiries.len() != workshop.enquiries.len() {
            violations.push(format!(
                "workshop {id} serves an enquiry intake never accepted"
            ));
            continue;
        }
        let Ok(time_zone) = workshop.scheduled.time_zone.parse::<chrono_tz::Tz>() else {
            violations.push(format!("workshop {id} has no valid time zone"));
            continue;
        };
        let current = CurrentWorkshop {
            id: id.clone(),
            enquiries: enquiries.clone(),
            format: Format::try_from(workshop.scheduled.format).unwrap_or(Format::Unspecified),
            time_zone,
            sessions: workshop.sessions.clone(),
            mobility: Mobility::Stays,
            lead: None,
            support: None,
        };
        let slot = match bridge.slot_of(&current) {
            Ok(slot) => slot,
            Err(_) => {
                violations.push(format!(
                    "workshop {id}: its dates or format are not a candidate of every city it serves \
                     (window, lead time, working hours, a holiday)"
                ));
                continue;
            }
        };
        let (lead, support) = workshop.team();
        let Some(lead) = expert(lead) else {
            violations.push(format!("workshop {id} has no lead the roster knows"));
            continue;
        };
        let team = Team {
            lead,
            support: expert(support),
        };
        if plan.workshops.insert(slot, team).is_some() {
            violations.push(format!(
                "workshop {id} shares its slot (format, first day, topic) with another workshop"
            ));
            continue;
        }
        for e in enquiries {
            if plan.served_in[e].replace(slot).is_some() {
                violations.push(format!(
                    "enquiry {} is served by two workshops",
                    observed.received[e].event.enquiry_id
                ));
            }
        }
    }
    (plan, violations)
}

/// How long before the first session and after the last an in-person
/// workshop holds its experts (assignment's travel days).
const TRAVEL: chrono::Duration = chrono::Duration::hours(24);

/// Experts whom two served workshops hold at overlapping instants, as
/// assignment holds them: first session to last, widened by [`TRAVEL`] in
/// person.
fn double_bookings(observed: &Observed) -> Vec<String> {
    /// From, until, and the workshop's id.
    type Hold<'a> = (
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        &'a str,
    );
    let mut holds: BTreeMap<&str, Vec<Hold<'_>>> = BTreeMap::new();
    for (id, workshop) in observed.workshops.iter().filter(|(_, w)| w.is_served()) {
        let (Some(first), Some(last)) = (
            workshop.sessions.iter().map(|s| s.start).min(),
            workshop.sessions.iter().map(|s| s.end).max(),
        ) else {
            continue;
        };
        let virtual_format = workshop.scheduled.format == Format::Virtual as i32;
        let (start, end) = if virtual_format {
            (first, last)
        } else {
            (first - TRAVEL, last + TRAVEL)
        };
        let (lead, support) = workshop.team();
        for expert in lead.into_iter().chain(support) {
            holds
                .entry(expert)
                .or_default()
                .push((start, end, id.as_str()));
        }
    }
    let mut found = Vec::new();
    for (expert, mut held) in holds {
        held.sort();
        for (i, (_, end, a)) in held.iter().enumerate() {
            for (start, _, b) in &held[i + 1..] {
                if start < end {
                    found.push(format!(
                        "{expert} is held by workshops {a} and {b} at the same time"
                    ));
                }
            }
        }
    }
    found
}

fn figures(instance: &Instance, plan: &Plan, kinds: &[EnquiryKind]) -> Figures {
    let served: Vec<usize> = (0..plan.served_in.len())
        .filter(|e| plan.served_in[*e].is_some())
        .collect();
    let joint_workshops = plan
        .workshops
        .keys()
        .filter(|s| instance.slots[**s].shared)
        .count();
    let mut load: BTreeMap<usize, usize> = BTreeMap::new();
    for team in plan.workshops.values() {
        *load.entry(team.lead).or_default() += 1;
        if let Some(support) = team.support {
            *load.entry(support).or_default() += 1;
        }
    }
    let could_serve: BTreeSet<usize> = instance
        .enquiries
        .iter()
        .flat_map(|e| e.options.iter())
        .flat_map(|o| instance.slots[o.slot].leads.iter().copied())
        .collect();
    let max_load = load.values().copied().max().unwrap_or(0);
    let max_load_only_theirs = load
        .iter()
        .filter(|(_, n)| **n == max_load)
        .map(|(x, _)| only_theirs(instance, plan, *x))
        .max()
        .unwrap_or(0);
    let total: usize = could_serve
        .iter()
        .map(|x| load.get(x).copied().unwrap_or(0))
        .sum();
    let mean = total as f64 / could_serve.len().max(1) as f64;
    Figures {
        served: served.len(),
        beneficiaries_served: served
            .iter()
            .filter(|e| instance.enquiries[**e].beneficiary)
            .count(),
        pilots_served: served
            .iter()
            .filter(|e| kinds[**e] == EnquiryKind::PilotProject)
            .count(),
        joint_workshops,
        joint_enquiries_served: served
            .iter()
            .filter(|e| kinds[**e] == EnquiryKind::JointWorkshop)
            .count(),
        load_max_over_mean: if mean > 0.0 {
            max_load as f64 / mean
        } else {
            0.0
        },
        max_load,
        max_load_only_theirs,
    }
}

/// How many of `expert`'s assignments in `plan` no other expert could
/// take: for a lead, nobody else covers the primary topic, is off leave
/// then and shares a language with every city; for a support, nobody else
/// (but the lead) covers a topic of the workshop and the languages.
fn only_theirs(instance: &Instance, plan: &Plan, expert: usize) -> usize {
    plan.workshops
        .iter()
        .filter(|&(&s, team)| {
            let slot = &instance.slots[s];
            let attendees = plan.attendees(s);
            let understood = |x: usize| planner::check::understood(instance, x, &attendees);
            if team.lead == expert {
                !slot.leads.iter().any(|&x| x != expert && understood(x))
            } else if team.support == Some(expert) {
                !slot.supports.iter().any(|&x| {
                    x != expert
                        && x != team.lead
                        && planner::check::covers(instance, x, s, &attendees)
                        && understood(x)
                })
            } else {
                false
            }
        })
        .count()
}

#[cfg(test)]
mod tests {
    //! The judge on plans written by hand: a good one passes, and each kind
    //! of broken one is caught (so a bench reporting 0 violations means
    //! something).

    use super::*;
    use crate::bench::planning::scenario::{Expert, Shape};
    use chrono::{TimeZone, Utc};
    use contract::proto::common::v1::Topic;
    use serde_json::json;

    fn scenario() -> Scenario {
        Scenario {
            shape: Shape {
                seed: 0,
                enquiries: 2,
                cities: 2,
                beneficiaries: 1,
                experts: 1,
                horizon_days: 60,
            },
            first_day: NaiveDate::from_ymd_opt(2027, 2, 1).unwrap(),
            cities: Vec::new(),
            experts: vec![Expert {
                id: "expert-a".to_owned(),
                topics: vec![Topic::SocialInnovation],
                languages: vec!["ko".to_owned(), "en".to_owned()],
                monthly_limit: 4,
                leave: None,
            }],
            enquiries: Vec::new(),
        }
    }

    fn at() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
    }

    /// Two consultations, windows 1–12 February 2027.
    fn received(observed: &mut Observed) {
        for (id, city, zone, country, beneficiary) in [
            ("e1", "colombo", "Asia/Colombo", "LK", true),
            ("e2", "makassar", "Asia/Makassar", "ID", false),
        ] {
            let body = json!({
                "enquiryId": id, "city": city, "reference": id, "kind": "CONSULTATIVE_SUPPORT",
                "topics": ["SOCIAL_INNOVATION"],
                "preferredWindow": {"start": "2027-02-01", "end": "2027-02-12"},
                "languages": ["en"], "format": "VIRTUAL", "timeZone": zone,
                "beneficiary": beneficiary, "priority": beneficiary,
                "receivedAt": "2026-12-01T00:00:00Z", "inboundId": format!("in-{id}"), "country": country,
            });
            observed.apply(
                "ileaps.enquiry.received.v1",
                body.to_string().as_bytes(),
                at(),
            );
        }
    }

    /// A two-hour consultation of `enquiry` on `day` from `utc_hour`, led
    /// by expert-a.
    fn consultation_at(
        observed: &mut Observed,
        workshop: &str,
        enquiry: &str,
        day: &str,
        utc_hour: u32,
    ) {
        let start = format!("{day}T{utc_hour:02}:00:00Z");
        let end = format!("{day}T{:02}:00:00Z", utc_hour + 2);
        let scheduled = json!({
            "workshopId": workshop, "version": 1, "kind": "CONSULTATIVE_SUPPORT",
            "primaryTopic": "SOCIAL_INNOVATION", "topics": ["SOCIAL_INNOVATION"], "format": "VIRTUAL",
            "timeZone": "Asia/Seoul", "sessions": [{"start": start, "end": end}],
            "cities": [{"city": "somewhere", "enquiryId": enquiry}], "languages": ["en"],
        });
        observed.apply(
            "ileaps.workshop.scheduled.v1",
            scheduled.to_string().as_bytes(),
            at(),
        );
        let made = json!({
            "workshopId": workshop, "workshopVersion": 1,
            "experts": [{"expertId": "expert-a", "displayName": "A", "role": "LEAD"}],
        });
        observed.apply(
            "ileaps.assignment.made.v1",
            made.to_string().as_bytes(),
            at(),
        );
    }

    /// [`consultation_at`] 10:00–12:00 in Seoul.
    fn consultation(observed: &mut Observed, workshop: &str, enquiry: &str, day: &str) {
        consultation_at(observed, workshop, enquiry, day, 1);
    }

    fn judged(observed: &Observed) -> Judgement {
        assert!(observed.unreadable.is_empty(), "{:?}", observed.unreadable);
        judge(
            &scenario(),
            observed,
            BTreeMap::new(),
            &Rules::default(),
            &Offline {
                nodes: 10_000,
                levels: 3,
                later_nodes: 1_000,
                presolve: false,
            },
        )
        .unwrap()
    }

    #[test]
    fn a_plan_that_keeps_every_rule_passes_and_the_optimum_serves_at_least_as_many() {
        let mut observed = Observed::default();
        received(&mut observed);
        consultation(&mut observed, "w1", "e1", "2027-02-02");
        let judgement = judged(&observed);
        assert_eq!(judgement.violations, Vec::<String>::new());
        assert_eq!(judgement.announced.served, 1);
        assert_eq!(judgement.announced.beneficiaries_served, 1);
        assert_eq!(judgement.optimum.served, 2, "both fit on different days");
        assert!(judgement.optimum_proven);
        assert!((judgement.served_over_optimum() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn an_expert_booked_twice_on_one_day_is_a_violation() {
        let mut observed = Observed::default();
        received(&mut observed);
        consultation(&mut observed, "w1", "e1", "2027-02-02");
        consultation(&mut observed, "w2", "e2", "2027-02-02");
        let judgement = judged(&observed);
        assert!(
            judgement
                .violations
                .iter()
                .any(|v| v.contains("expert-a is held by workshops w1 and w2")),
            "{:?}",
            judgement.violations
        );
    }

    #[test]
    fn two_consultations_of_one_expert_at_different_hours_of_a_day_are_allowed_but_noted() {
        let mut observed = Observed::default();
        received(&mut observed);
        consultation(&mut observed, "w1", "e1", "2027-02-02");
        // 13:00–15:00 in Seoul, after w1's 10:00–12:00.
        consultation_at(&mut observed, "w2", "e2", "2027-02-02", 4);
        let judgement = judged(&observed);
        assert_eq!(judgement.violations, Vec::<String>::new());
        assert_eq!(judgement.same_day_holds.len(), 1, "{judgement:?}");
        assert_eq!(judgement.announced.served, 2);
    }

    #[test]
    fn dates_outside_a_window_are_a_violation() {
        let mut observed = Observed::default();
        received(&mut observed);
        consultation(&mut observed, "w1", "e1", "2027-03-02");
        let judgement = judged(&observed);
        assert!(
            judgement
                .violations
                .iter()
                .any(|v| v.contains("not a candidate")),
            "{:?}",
            judgement.violations
        );
        assert_eq!(judgement.announced.served, 0);
    }

    #[test]
    fn a_workshop_staffed_only_at_an_earlier_version_is_not_served() {
        let mut observed = Observed::default();
        received(&mut observed);
        consultation(&mut observed, "w1", "e1", "2027-02-02");
        let moved = json!({
            "workshopId": "w1", "version": 2, "reason": "moved",
            "sessions": [{"start": "2027-02-03T01:00:00Z", "end": "2027-02-03T03:00:00Z"}],
        });
        observed.apply(
            "ileaps.workshop.rescheduled.v1",
            moved.to_string().as_bytes(),
            at(),
        );
        assert!(!observed.is_settled("e1"));
        assert_eq!(judged(&observed).announced.served, 0);
    }
}
