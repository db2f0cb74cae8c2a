//! Evening the experts' load where the objective cannot tell plans apart.
//!
//! The objective's last level minimises the *largest* load (DOMAIN.md: the
//! most even load, after served, workshops and moves). Below the largest,
//! every qualified expert is the same to the solver, so a re-plan, which
//! sees a few workshops and the rest of the programme as fixed load, may
//! give a new workshop to an expert one below the largest while another
//! has half as much: over a programme of re-plans one expert ends with
//! twice the mean. Putting the busy-ness of each expert into the objective
//! itself made the solver's last level slower (docs/planning.md, session
//! 7); this pass costs no search. It takes the solver's plan and swaps
//! one expert at a time for a less busy one who may take the same role,
//! keeping every rule (the independent checker decides) and the plan's
//! score on every objective level, so the answer is as good for the
//! objective and more even.

use crate::check::{loads, score, violations};
use crate::instance::Instance;
use crate::plan::Plan;

/// `plan`, with experts swapped for less busy ones while that keeps every
/// rule and the score, and how many swaps that took.
///
/// A swap moves one assignment from an expert with load `a` (outside the
/// model included: [`crate::Expert::fixed_load`]) to one with load `b`
/// only when `b + 1 < a`, so the sum of squared loads falls with each:
/// the pass ends, and never makes the largest load larger. Among those
/// who could take a role, the least busy is tried first (then the lowest
/// index), so the same plan always gives the same answer.
pub fn even_the_load(instance: &Instance, plan: &Plan) -> (Plan, usize) {
    let mut plan = plan.clone();
    let mut load = loads(instance, &plan);
    let best = score(instance, &plan);
    let mut swaps = 0;
    loop {
        let mut swapped = false;
        let slots: Vec<usize> = plan.workshops.keys().copied().collect();
        for s in slots {
            for role in [Role::Lead, Role::Support] {
                let team = plan.workshops[&s];
                let Some(busy) = role.of(&team) else {
                    continue;
                };
                let slot = &instance.slots[s];
                let mut others: Vec<usize> = match role {
                    Role::Lead => slot.leads.clone(),
                    Role::Support => slot.supports.clone(),
                }
                .into_iter()
                .filter(|&x| x != team.lead && Some(x) != team.support)
                .filter(|&x| load[x] + 1 < load[busy])
                .collect();
                others.sort_by_key(|&x| (load[x], x));
                for other in others {
                    let mut trial = plan.clone();
                    if let Some(t) = trial.workshops.get_mut(&s) {
                        role.set(t, other);
                    }
                    if score(instance, &trial) <= best && violations(instance, &trial).is_empty() {
                        plan = trial;
                        load[busy] -= 1;
                        load[other] += 1;
                        swaps += 1;
                        swapped = true;
                        break;
                    }
                }
            }
        }
        if !swapped {
            return (plan, swaps);
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Role {
    Lead,
    Support,
}

impl Role {
    fn of(self, team: &crate::plan::Team) -> Option<usize> {
        match self {
            Self::Lead => Some(team.lead),
            Self::Support => team.support,
        }
    }

    fn set(self, team: &mut crate::plan::Team, expert: usize) {
        match self {
            Self::Lead => team.lead = expert,
            Self::Support => team.support = Some(expert),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::{Candidate, Days, Enquiry, Expert, Limits, Slot, SupportRule};
    use crate::plan::Team;
    use std::collections::{BTreeMap, BTreeSet};

    /// Two one-day slots, on days 0 and `second_day`, either of three
    /// experts may lead (Kim has 5 assignments outside the model, Lee 2,
    /// Park none); one consultation in each.
    fn instance(second_day: i32) -> Instance {
        let slot = |day: i32| Slot {
            shared: false,
            support: SupportRule::Never,
            span: Days::new(day, day),
            hold: Days::new(day, day),
            month: 0,
            primary_topic: 0,
            leads: vec![0, 1, 2],
            supports: vec![0, 1, 2],
            incompatible: Vec::new(),
        };
        let expert = |id: &str, fixed_load| Expert {
            id: id.to_owned(),
            topics: [0].into(),
            languages: ["en".to_owned()].into(),
            month_room: BTreeMap::new(),
            monthly_limit: 4,
            fixed_load,
        };
        let enquiry = |city: &str, slot| Enquiry {
            id: city.to_owned(),
            city: city.to_owned(),
            beneficiary: false,
            participants: 10,
            languages: BTreeSet::new(),
            topics: vec![0],
            options: vec![Candidate { slot, lateness: 0 }],
        };
        Instance {
            limits: Limits {
                shared_language: "en".to_owned(),
                ..Limits::default()
            },
            enquiries: vec![enquiry("makassar", 0), enquiry("colombo", 1)],
            slots: vec![slot(0), slot(second_day)],
            experts: vec![expert("kim", 5), expert("lee", 2), expert("park", 0)],
            ..Instance::default()
        }
    }

    fn both_led_by(lead: usize) -> Plan {
        Plan {
            served_in: vec![Some(0), Some(1)],
            workshops: [0, 1]
                .into_iter()
                .map(|s| {
                    (
                        s,
                        Team {
                            lead,
                            support: None,
                        },
                    )
                })
                .collect(),
        }
    }

    fn leads(plan: &Plan) -> Vec<usize> {
        plan.workshops.values().map(|t| t.lead).collect()
    }

    #[test]
    fn the_work_goes_to_the_least_busy_expert_who_may_take_it() {
        let instance = instance(3);
        let busy = both_led_by(0);
        assert!(violations(&instance, &busy).is_empty());
        let (even, swaps) = even_the_load(&instance, &busy);
        // Loads 7 / 2 / 0 become 5 / 2 / 2: Park takes both (1, then 2),
        // as Lee (2) is not less busy than Park with one.
        assert_eq!(leads(&even), [2, 2]);
        assert_eq!(swaps, 2);
        assert!(violations(&instance, &even).is_empty());
        assert!(score(&instance, &even) <= score(&instance, &busy));
    }

    #[test]
    fn a_swap_that_would_break_a_rule_is_not_made() {
        // Both on day 0: nobody may lead both. Kim and Lee do; Park takes
        // Kim's, and can't then take Lee's too, though less busy.
        let instance = instance(0);
        let mut fine = both_led_by(0);
        fine.workshops.insert(
            1,
            Team {
                lead: 1,
                support: None,
            },
        );
        let (even, _) = even_the_load(&instance, &fine);
        assert_eq!(leads(&even), [2, 1]);
        assert!(violations(&instance, &even).is_empty());
    }

    #[test]
    fn an_expert_not_free_for_the_slot_is_never_given_it() {
        let mut instance = instance(3);
        // Park is on leave on day 3, and may not lead in slot 1.
        instance.slots[1].leads = vec![0, 1];
        instance.slots[1].supports = vec![0, 1];
        let (even, _) = even_the_load(&instance, &both_led_by(0));
        assert_eq!(leads(&even), [2, 1]);
    }

    #[test]
    fn a_confirmed_workshop_keeps_its_expert() {
        let mut instance = instance(3);
        instance.current = vec![crate::instance::Current {
            id: "w".to_owned(),
            enquiries: vec![0],
            slot: 0,
            confirmed: true,
            alternatives: Vec::new(),
            may_stay: true,
            team: (Some(0), None),
        }];
        let (even, _) = even_the_load(&instance, &both_led_by(0));
        // Changing Kim on the confirmed workshop would cost the score's
        // experts-changed level: only the new one goes to Park.
        assert_eq!(leads(&even), [0, 2]);
    }
}
