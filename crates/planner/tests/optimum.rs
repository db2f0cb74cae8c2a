//! Properties of the optimiser on random instances, against oracles written
//! here: every plan keeps every rule (the independent checker), a small
//! instance's plan is as good as the best one found by trying every plan,
//! confirmed workshops are never dropped or moved where they may not go,
//! and the same instance gives the same plan.

use std::collections::{BTreeMap, BTreeSet};

use planner::generate::Rng;
use planner::relax::{Without, nobody_could_join, optimise_served_and_grouping};
use planner::{
    Budget, Candidate, Current, Days, Enquiry, Expert, Instance, Limits, Plan, Score, Slot,
    SupportRule, Team, optimise, score, violations,
};
use proptest::prelude::*;

/// A tiny instance: up to `max_enquiries` enquiries with at most two
/// options each, up to three experts, a few shared and unshared slots over
/// three weeks, some confirmed workshops and fixed engagements.
fn tiny(seed: u64, max_enquiries: usize) -> Instance {
    let mut rng = Rng::new(seed);
    let n_slots = 2 + rng.below(5) as usize;
    let slots: Vec<Slot> = (0..n_slots)
        .map(|_| {
            let first = rng.below(15) as i32;
            let span = Days::new(first, first + rng.below(3) as i32);
            let in_person = rng.chance(50);
            let hold = if in_person {
                Days::new(span.first - 1, span.last + 1)
            } else {
                span
            };
            let shared = rng.chance(60);
            Slot {
                shared,
                support: if shared {
                    SupportRule::BySize
                } else {
                    SupportRule::Never
                },
                span,
                hold,
                month: span.first / 10,
                primary_topic: rng.below(2) as u32,
                leads: Vec::new(),
                supports: Vec::new(),
                incompatible: Vec::new(),
            }
        })
        .collect();
    let n_experts = 1 + rng.below(3) as usize;
    let experts: Vec<Expert> = (0..n_experts)
        .map(|x| {
            let topics: BTreeSet<u32> = (0..2).filter(|_| rng.chance(70)).collect();
            let mut languages: BTreeSet<String> = ["l0".to_owned()].into();
            if rng.chance(70) {
                languages.insert("en".to_owned());
            }
            if rng.chance(50) {
                languages.insert("l1".to_owned());
            }
            Expert {
                id: format!("x{x}"),
                topics,
                languages,
                month_room: BTreeMap::new(),
                monthly_limit: 1 + rng.below(2) as u32,
                fixed_load: rng.below(2) as u32,
            }
        })
        .collect();
    let mut instance = Instance {
        limits: Limits {
            workshops_per_day: 1 + rng.below(2) as u32,
            max_cities: 3,
            max_participants: 30,
            support_over_cities: 1,
            support_over_participants: 20,
            shared_language: "en".to_owned(),
        },
        slots,
        experts,
        ..Instance::default()
    };
    for s in 0..n_slots {
        let primary = instance.slots[s].primary_topic;
        instance.slots[s].leads = (0..n_experts)
            .filter(|x| instance.experts[*x].topics.contains(&primary) && rng.chance(85))
            .collect();
        instance.slots[s].supports = (0..n_experts).filter(|_| rng.chance(85)).collect();
    }
    let n_enquiries = 1 + rng.below(max_enquiries as u64) as usize;
    for e in 0..n_enquiries {
        let mut options: Vec<Candidate> = Vec::new();
        for _ in 0..2 {
            let slot = rng.below(n_slots as u64) as usize;
            if !options.iter().any(|o| o.slot == slot) {
                options.push(Candidate {
                    slot,
                    lateness: rng.below(5) as u32,
                });
            }
        }
        let mut languages: BTreeSet<String> = BTreeSet::new();
        for l in ["l0", "l1"] {
            if rng.chance(60) {
                languages.insert(l.to_owned());
            }
        }
        instance.enquiries.push(Enquiry {
            id: format!("e{e}"),
            city: format!("c{}", rng.below(4)),
            beneficiary: rng.chance(30),
            participants: 5 + rng.below(15) as u32,
            languages,
            topics: vec![rng.below(2) as u32],
            options,
        });
    }
    for s in 0..n_slots {
        let attending: Vec<usize> = (0..n_enquiries)
            .filter(|e| instance.enquiries[*e].options.iter().any(|o| o.slot == s))
            .collect();
        for (i, a) in attending.iter().enumerate() {
            for b in &attending[i + 1..] {
                if rng.chance(15) {
                    instance.slots[s].incompatible.push((*a, *b));
                }
            }
        }
    }
    if rng.chance(40) {
        instance.fixed.day_load.insert(rng.below(15) as i32, 1);
        instance
            .fixed
            .city_days
            .entry("c0".to_owned())
            .or_default()
            .insert(rng.below(15) as i32);
    }
    instance
}

/// The slots other than `slot` that every one of `enquiries` lists: where
/// a workshop of them could move.
fn common_options(instance: &Instance, enquiries: &[usize], slot: usize) -> Vec<usize> {
    instance.enquiries[enquiries[0]]
        .options
        .iter()
        .map(|o| o.slot)
        .filter(|s| {
            *s != slot
                && enquiries
                    .iter()
                    .all(|e| instance.enquiries[*e].options.iter().any(|o| o.slot == *s))
        })
        .collect()
}

/// Adds a confirmed workshop made from a feasible plan: the enquiries of one
/// of its workshops, staying or moving to another of their common options.
fn with_confirmed(mut instance: Instance, plan: &Plan, seed: u64) -> Instance {
    let mut rng = Rng::new(seed);
    let Some((&slot, team)) = plan
        .workshops
        .iter()
        .nth(rng.below(plan.workshops.len().max(1) as u64) as usize)
    else {
        return instance;
    };
    let enquiries = plan.attendees(slot);
    let common = common_options(&instance, &enquiries, slot);
    instance.current.push(Current {
        id: "w0".to_owned(),
        enquiries,
        slot,
        confirmed: true,
        alternatives: if rng.chance(50) { common } else { Vec::new() },
        may_stay: true,
        team: (Some(team.lead), team.support),
    });
    instance
}

/// The best score over every plan ([`every_plan`]).
fn brute_force(instance: &Instance) -> Option<Score> {
    let mut best: Option<Score> = None;
    every_plan(instance, &mut |plan| {
        let found = score(instance, plan);
        if best.is_none_or(|b| found < b) {
            best = Some(found);
        }
    });
    best
}

/// Calls `visit` with every plan that keeps every rule: every choice of
/// option (or none) per enquiry, then every team for the slots that
/// choice opens.
fn every_plan(instance: &Instance, visit: &mut dyn FnMut(&Plan)) {
    let n = instance.enquiries.len();
    let mut choice = vec![0usize; n];
    loop {
        let served_in: Vec<Option<usize>> = (0..n)
            .map(|e| (choice[e] > 0).then(|| instance.enquiries[e].options[choice[e] - 1].slot))
            .collect();
        let open: Vec<usize> = served_in
            .iter()
            .flatten()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut plan = Plan {
            served_in,
            workshops: BTreeMap::new(),
        };
        teams(instance, &open, &mut plan, visit);
        // Next choice, as a mixed-radix counter.
        let mut e = 0;
        loop {
            if e == n {
                return;
            }
            choice[e] += 1;
            if choice[e] <= instance.enquiries[e].options.len() {
                break;
            }
            choice[e] = 0;
            e += 1;
        }
    }
}

fn teams(instance: &Instance, open: &[usize], plan: &mut Plan, visit: &mut dyn FnMut(&Plan)) {
    let Some((&slot, rest)) = open.split_first() else {
        if violations(instance, plan).is_empty() {
            visit(plan);
        }
        return;
    };
    let s = &instance.slots[slot];
    let supports: Vec<Option<usize>> = std::iter::once(None)
        .chain(s.supports.iter().map(|x| Some(*x)))
        .collect();
    for &lead in &s.leads {
        for &support in &supports {
            plan.workshops.insert(slot, Team { lead, support });
            teams(instance, rest, plan, visit);
        }
    }
    plan.workshops.remove(&slot);
}

/// Every workshop of `plan` confirmed, each with the other options all its
/// enquiries list as its alternatives: the calendar a new enquiry meets,
/// with the enquiries `plan` left unserved as the new ones.
fn all_confirmed(mut instance: Instance, plan: &Plan) -> Instance {
    for (w, (&slot, team)) in plan.workshops.iter().enumerate() {
        let enquiries = plan.attendees(slot);
        let alternatives = common_options(&instance, &enquiries, slot);
        instance.current.push(Current {
            id: format!("w{w}"),
            enquiries,
            slot,
            confirmed: true,
            alternatives,
            may_stay: true,
            team: (Some(team.lead), team.support),
        });
    }
    instance
}

/// A calendar planned without one of the enquiries, every workshop then
/// confirmed; that enquiry then arrives: `(instance, the calendar as a
/// plan)`.
fn one_arrives_later(seed: u64) -> (Instance, Plan) {
    let full = tiny(seed, 6);
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut earlier = full.clone();
    let later = rng.below(earlier.enquiries.len() as u64) as usize;
    earlier.enquiries[later].options.clear();
    let before = optimise(&earlier, Budget::GENEROUS, None)
        .expect("an empty plan is always feasible")
        .plan;
    (all_confirmed(full, &before), before)
}

#[test]
fn every_plan_the_one_move_bound_calls_optimal_is_the_brute_force_optimum() {
    let (mut settled_instances, mut bounded_instances) = (0, 0);
    for seed in 0..SEEDS_FOR_THE_BOUND {
        let (instance, before) = one_arrives_later(seed);
        let mut pinned = instance.clone();
        for workshop in &mut pinned.current {
            workshop.alternatives.clear();
        }
        let without_moves =
            optimise(&pinned, Budget::GENEROUS, Some(&before)).expect("the calendar is a plan");
        // One pass over every plan: the best score, and the scores of
        // those the bound calls optimal.
        let mut best: Option<Score> = None;
        let mut settled: Vec<Score> = Vec::new();
        let fewest = planner::bound::fewest_workshops(&instance);
        let mut everyone_served = false;
        every_plan(&instance, &mut |plan| {
            let found = score(&instance, plan);
            if best.is_none_or(|b| found < b) {
                best = Some(found);
            }
            if plan.served() == instance.enquiries.len() {
                everyone_served = true;
                assert!(
                    found.workshops >= fewest,
                    "seed {seed}: {plan:?} has fewer than {fewest}"
                );
            }
            if planner::one_move_is_optimal(&instance, &without_moves, plan) {
                settled.push(found);
            }
        });
        let best = best.expect("the calendar is a plan");
        for found in &settled {
            assert_eq!(found.grouping(), best.grouping(), "seed {seed}");
        }
        settled_instances += usize::from(!settled.is_empty());
        bounded_instances += usize::from(everyone_served);
    }
    eprintln!(
        "fewest workshops checked on {bounded_instances}, the bound reached on \
         {settled_instances}, of {SEEDS_FOR_THE_BOUND} instances"
    );
    // Often enough for the checks to mean something.
    assert!(bounded_instances >= 50, "{bounded_instances}");
    assert!(settled_instances >= 2, "{settled_instances}");
}

#[test]
fn leaving_out_the_workshops_nobody_could_join_is_a_relaxation_and_its_lifted_optimum_is_the_optimum()
 {
    let (mut left_out_somewhere, mut lifted) = (0, 0);
    for seed in 0..SEEDS_FOR_THE_BOUND {
        let (instance, before) = one_arrives_later(seed);
        let left_out = nobody_could_join(&instance);
        let Some(without) = Without::new(&instance, &left_out) else {
            continue;
        };
        left_out_somewhere += usize::from(!left_out.is_empty());
        // The enquiries left out with them, and how many are beneficiaries'.
        let leaving = left_out
            .iter()
            .flat_map(|&w| &instance.current[w].enquiries)
            .fold((0, 0), |(all, beneficiaries), &e| {
                (
                    all + 1,
                    beneficiaries + usize::from(instance.enquiries[e].beneficiary),
                )
            });
        // Every plan of the whole, without them, is a plan of the smaller
        // instance that scores as well on served and grouping, they aside.
        let mut best: Option<Score> = None;
        every_plan(&instance, &mut |plan| {
            let found = score(&instance, plan);
            if best.is_none_or(|b| found < b) {
                best = Some(found);
            }
            let small = without
                .restrict(plan)
                .unwrap_or_else(|| panic!("seed {seed}: {plan:?} joins a workshop left out"));
            assert_eq!(
                violations(&without.instance, &small),
                Vec::<String>::new(),
                "seed {seed}: {plan:?} without {left_out:?}"
            );
            let relaxed = score(&without.instance, &small);
            assert_eq!(
                relaxed.workshops + left_out.len(),
                found.workshops,
                "seed {seed}"
            );
            assert_eq!(relaxed.served.0 + leaving.0, found.served.0, "seed {seed}");
            assert_eq!(
                relaxed.beneficiaries_served.0 + leaving.1,
                found.beneficiaries_served.0,
                "seed {seed}"
            );
            assert!(
                relaxed.moves <= found.moves && relaxed.experts_changed <= found.experts_changed
            );
        });
        let best = best.expect("the calendar is a plan");
        let mut pinned = instance.clone();
        for workshop in &mut pinned.current {
            workshop.alternatives.clear();
        }
        let without_moves =
            optimise(&pinned, Budget::GENEROUS, Some(&before)).expect("the calendar is a plan");
        if let Some(outcome) =
            optimise_served_and_grouping(&instance, Budget::GENEROUS, &without_moves.plan)
                .expect("the smaller instance has a plan")
        {
            assert_eq!(violations(&instance, &outcome.plan), Vec::<String>::new());
            assert_eq!(
                score(&instance, &outcome.plan).grouping(),
                best.grouping(),
                "seed {seed}: without {left_out:?}"
            );
            lifted += 1;
        }
    }
    eprintln!(
        "workshops left out in {left_out_somewhere}, the lifted optimum taken in {lifted}, \
         of {SEEDS_FOR_THE_BOUND} instances"
    );
    // Often enough for the checks to mean something.
    assert!(left_out_somewhere >= 50, "{left_out_somewhere}");
    assert!(lifted >= 20, "{lifted}");
}

/// Instances [`every_plan_the_one_move_bound_calls_optimal_is_the_brute_force_optimum`]
/// tries: each is enumerated whole, so few.
const SEEDS_FOR_THE_BOUND: u64 = 300;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_plan_keeps_every_rule_and_equals_the_brute_force_optimum(seed in any::<u64>()) {
        let instance = tiny(seed, 8);
        let outcome = optimise(&instance, Budget::GENEROUS, None).expect("an empty plan is always feasible");
        prop_assert_eq!(violations(&instance, &outcome.plan), Vec::<String>::new());
        prop_assert!(outcome.proven);
        prop_assert_eq!(Some(outcome.score), brute_force(&instance));
    }

    #[test]
    fn confirmed_workshops_stay_whole_and_move_only_where_allowed(seed in any::<u64>()) {
        let first = tiny(seed, 6);
        let plan = optimise(&first, Budget::GENEROUS, None).expect("feasible").plan;
        let instance = with_confirmed(first, &plan, seed);
        let outcome = optimise(&instance, Budget::GENEROUS, Some(&plan)).expect("the current plan is feasible");
        prop_assert_eq!(violations(&instance, &outcome.plan), Vec::<String>::new());
        prop_assert_eq!(Some(outcome.score), brute_force(&instance));
        for workshop in &instance.current {
            let slots: BTreeSet<Option<usize>> =
                workshop.enquiries.iter().map(|e| outcome.plan.served_in[*e]).collect();
            prop_assert_eq!(slots.len(), 1);
            let slot = slots.into_iter().next().flatten();
            prop_assert!(slot == Some(workshop.slot) || slot.is_some_and(|s| workshop.alternatives.contains(&s)));
        }
    }

    #[test]
    fn a_workshop_that_may_not_stay_moves_to_an_alternative_or_there_is_no_plan(seed in any::<u64>()) {
        let first = tiny(seed, 6);
        let plan = optimise(&first, Budget::GENEROUS, None).expect("feasible").plan;
        let mut instance = with_confirmed(first, &plan, seed);
        let Some(workshop) = instance.current.first_mut() else {
            return Ok(());
        };
        workshop.may_stay = false;
        let workshop = workshop.clone();
        match (optimise(&instance, Budget::GENEROUS, None), brute_force(&instance)) {
            (Ok(outcome), Some(best)) => {
                prop_assert_eq!(violations(&instance, &outcome.plan), Vec::<String>::new());
                prop_assert_eq!(outcome.score, best);
                let slot = outcome.plan.served_in[workshop.enquiries[0]];
                prop_assert!(slot.is_some_and(|s| workshop.alternatives.contains(&s)));
            }
            (Err(planner::SolveError::Infeasible(_)), None) => {}
            (solved, best) => prop_assert!(false, "solver {solved:?}, brute force {best:?}"),
        }
    }

    #[test]
    fn evening_the_load_keeps_every_rule_and_the_optimum(seed in any::<u64>()) {
        let first = tiny(seed, 6);
        let plan = optimise(&first, Budget::GENEROUS, None).expect("feasible").plan;
        let instance = with_confirmed(first, &plan, seed);
        let outcome = optimise(&instance, Budget::GENEROUS, Some(&plan)).expect("the current plan is feasible");
        let (even, _) = planner::even_the_load(&instance, &outcome.plan);
        prop_assert_eq!(violations(&instance, &even), Vec::<String>::new());
        prop_assert_eq!(planner::score(&instance, &even), outcome.score);
        prop_assert_eq!(&even.served_in, &outcome.plan.served_in);
        let squares = |plan: &Plan| -> u64 {
            planner::loads(&instance, plan).iter().map(|&l| u64::from(l) * u64::from(l)).sum()
        };
        prop_assert!(squares(&even) <= squares(&outcome.plan));
    }

    #[test]
    fn the_same_instance_gives_the_same_plan(seed in any::<u64>()) {
        let instance = tiny(seed, 8);
        let a = optimise(&instance, Budget::uniform(50), None).expect("feasible");
        let b = optimise(&instance, Budget::uniform(50), None).expect("feasible");
        prop_assert_eq!(a, b);
    }
}

#[test]
fn a_generated_contested_instance_is_planned_without_breaking_a_rule() {
    let instance = planner::generate::instance(planner::generate::Shape {
        enquiries: 40,
        ..planner::generate::Shape::contested(7)
    });
    let outcome = optimise(&instance, Budget::uniform(200), None).expect("feasible");
    assert_eq!(violations(&instance, &outcome.plan), Vec::<String>::new());
    assert!(outcome.plan.served() > 0);
}

/// A confirmed workshop led by A; a new consultation on the same day only A
/// may lead. Handing the workshop to B would serve both, but assignment
/// keeps an expert in the role they hold (its rule 6): the plan keeps A,
/// and the new enquiry goes unserved rather than being promised an expert
/// who will not be free.
#[test]
fn a_confirmed_workshop_keeps_its_lead_wherever_they_may_stay() {
    let expert = |id: &str| Expert {
        id: id.to_owned(),
        topics: [0, 1].into(),
        languages: ["en".to_owned()].into(),
        month_room: BTreeMap::new(),
        monthly_limit: 4,
        fixed_load: 0,
    };
    let slot = |shared, leads: Vec<usize>| Slot {
        shared,
        support: SupportRule::Never,
        span: Days::new(10, 10),
        hold: Days::new(10, 10),
        month: 0,
        primary_topic: 0,
        leads,
        supports: Vec::new(),
        incompatible: Vec::new(),
    };
    let enquiry = |id: &str, city: &str, slot: usize| Enquiry {
        id: id.to_owned(),
        city: city.to_owned(),
        beneficiary: false,
        participants: 5,
        languages: BTreeSet::new(),
        topics: vec![0],
        options: vec![Candidate { slot, lateness: 0 }],
    };
    let instance = Instance {
        limits: Limits::default(),
        enquiries: vec![enquiry("planned", "a", 0), enquiry("new", "b", 1)],
        slots: vec![slot(false, vec![0, 1]), slot(false, vec![0])],
        experts: vec![expert("expert-a"), expert("expert-b")],
        current: vec![Current {
            id: "w".to_owned(),
            enquiries: vec![0],
            slot: 0,
            confirmed: true,
            alternatives: Vec::new(),
            may_stay: true,
            team: (Some(0), None),
        }],
        fixed: Default::default(),
    };
    let outcome = optimise(&instance, Budget::GENEROUS, None).unwrap();
    assert_eq!(violations(&instance, &outcome.plan), Vec::<String>::new());
    assert_eq!(outcome.plan.workshops.get(&0).map(|t| t.lead), Some(0));
    assert_eq!(outcome.plan.served_in, vec![Some(0), None]);

    // The checker says the same of the plan that hands the workshop to B.
    let handed_over = Plan {
        served_in: vec![Some(0), Some(1)],
        workshops: [
            (
                0,
                Team {
                    lead: 1,
                    support: None,
                },
            ),
            (
                1,
                Team {
                    lead: 0,
                    support: None,
                },
            ),
        ]
        .into(),
    };
    assert!(
        violations(&instance, &handed_over)
            .iter()
            .any(|v| v.contains("changed its lead")),
        "{:?}",
        violations(&instance, &handed_over)
    );
}

/// The same for a SUPPORT: a confirmed joint workshop of three cities is
/// supported by B; a new consultation on the same day only B may lead.
/// Giving the support to C would serve it, but assignment keeps a support
/// who still qualifies before it reads any proposal, so B stays.
#[test]
fn a_confirmed_workshop_keeps_its_support_wherever_it_still_needs_one() {
    let expert = |id: &str| Expert {
        id: id.to_owned(),
        topics: [0].into(),
        languages: ["en".to_owned()].into(),
        month_room: BTreeMap::new(),
        monthly_limit: 4,
        fixed_load: 0,
    };
    let slot = |shared, support, leads: Vec<usize>, supports: Vec<usize>| Slot {
        shared,
        support,
        span: Days::new(10, 10),
        hold: Days::new(10, 10),
        month: 0,
        primary_topic: 0,
        leads,
        supports,
        incompatible: Vec::new(),
    };
    let enquiry = |id: &str, city: &str, slot: usize| Enquiry {
        id: id.to_owned(),
        city: city.to_owned(),
        beneficiary: false,
        participants: 5,
        languages: BTreeSet::new(),
        topics: vec![0],
        options: vec![Candidate { slot, lateness: 0 }],
    };
    let instance = Instance {
        limits: Limits::default(),
        enquiries: vec![
            enquiry("planned-a", "a", 0),
            enquiry("planned-b", "b", 0),
            enquiry("planned-c", "c", 0),
            enquiry("new", "d", 1),
        ],
        slots: vec![
            slot(true, SupportRule::BySize, vec![0], vec![1, 2]),
            slot(false, SupportRule::Never, vec![1], Vec::new()),
        ],
        experts: vec![expert("expert-a"), expert("expert-b"), expert("expert-c")],
        current: vec![Current {
            id: "w".to_owned(),
            enquiries: vec![0, 1, 2],
            slot: 0,
            confirmed: true,
            alternatives: Vec::new(),
            may_stay: true,
            team: (Some(0), Some(1)),
        }],
        fixed: Default::default(),
    };
    let outcome = optimise(&instance, Budget::GENEROUS, None).unwrap();
    assert_eq!(violations(&instance, &outcome.plan), Vec::<String>::new());
    assert_eq!(
        outcome.plan.workshops.get(&0),
        Some(&Team {
            lead: 0,
            support: Some(1)
        })
    );
    assert_eq!(outcome.plan.served_in[3], None);

    let handed_over = Plan {
        served_in: vec![Some(0), Some(0), Some(0), Some(1)],
        workshops: [
            (
                0,
                Team {
                    lead: 0,
                    support: Some(2),
                },
            ),
            (
                1,
                Team {
                    lead: 1,
                    support: None,
                },
            ),
        ]
        .into(),
    };
    let found = violations(&instance, &handed_over);
    assert!(
        found.iter().any(|v| v.contains("changed its support")),
        "{found:?}"
    );
}
