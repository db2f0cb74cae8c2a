//! An independent check of a [`Plan`] against the [`Instance`]'s rules, and
//! its [`Score`]: written from the rules, not from the model's rows, so that
//! a mistake in the model shows up here instead of being repeated.

use std::collections::{BTreeMap, BTreeSet};

use crate::instance::{Instance, SupportRule};
use crate::plan::Plan;

/// The plan's value on each objective level, in order of importance; a
/// smaller score is a better plan (counts to maximise are negated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Score {
    pub beneficiaries_served: std::cmp::Reverse<usize>,
    pub served: std::cmp::Reverse<usize>,
    pub workshops: usize,
    pub moves: usize,
    pub experts_changed: usize,
    pub max_load: u32,
    pub lateness: u64,
}

impl Score {
    /// The objective's first two levels: enquiries served (beneficiaries
    /// first), then workshops, moves and experts changed.
    pub fn grouping(&self) -> (usize, usize, usize, usize, usize) {
        (
            self.beneficiaries_served.0,
            self.served.0,
            self.workshops,
            self.moves,
            self.experts_changed,
        )
    }
}

/// Whether expert `x` can run a workshop for `attendees` (enquiry
/// indices): they list the shared language, or one every city listed.
pub fn understood(instance: &Instance, x: usize, attendees: &[usize]) -> bool {
    let languages = &instance.experts[x].languages;
    languages.contains(&instance.limits.shared_language)
        || languages.iter().any(|l| {
            attendees
                .iter()
                .all(|e| instance.enquiries[*e].languages.contains(l))
        })
}

/// Whether expert `x` covers a topic of the workshop in `slot` for
/// `attendees`, as a SUPPORT must: its primary topic or one of its cities'.
pub fn covers(instance: &Instance, x: usize, slot: usize, attendees: &[usize]) -> bool {
    let topics = &instance.experts[x].topics;
    topics.contains(&instance.slots[slot].primary_topic)
        || attendees.iter().any(|e| {
            instance.enquiries[*e]
                .topics
                .iter()
                .any(|t| topics.contains(t))
        })
}

/// Each expert's load under `plan`: their assignments outside the model
/// ([`crate::Expert::fixed_load`]) and in it, as leads and supports.
pub fn loads(instance: &Instance, plan: &Plan) -> Vec<u32> {
    let mut load: Vec<u32> = instance.experts.iter().map(|x| x.fixed_load).collect();
    for team in plan.workshops.values() {
        load[team.lead] += 1;
        if let Some(x) = team.support {
            load[x] += 1;
        }
    }
    load
}

/// Every rule `plan` breaks, in words; empty when it keeps them all.
pub fn violations(instance: &Instance, plan: &Plan) -> Vec<String> {
    let mut found = Vec::new();
    let limits = &instance.limits;
    if plan.served_in.len() != instance.enquiries.len() {
        found.push("the plan does not cover every enquiry".to_owned());
        return found;
    }
    for (e, slot) in plan.served_in.iter().enumerate() {
        let Some(slot) = slot else { continue };
        if !instance.enquiries[e]
            .options
            .iter()
            .any(|o| o.slot == *slot)
        {
            found.push(format!(
                "enquiry {e} is in slot {slot}, not one of its options"
            ));
        }
        if !plan.workshops.contains_key(slot) {
            found.push(format!("enquiry {e} is in slot {slot}, which is not open"));
        }
    }
    for (&s, team) in &plan.workshops {
        let slot = &instance.slots[s];
        let attendees = plan.attendees(s);
        if attendees.is_empty() {
            found.push(format!("slot {s} is open for nobody"));
        }
        let participants: u32 = attendees
            .iter()
            .map(|e| instance.enquiries[*e].participants)
            .sum();
        if !slot.shared && attendees.len() > 1 {
            found.push(format!(
                "slot {s} is not shared but has {} enquiries",
                attendees.len()
            ));
        }
        if slot.shared
            && (attendees.len() as u32 > limits.max_cities
                || participants > limits.max_participants)
        {
            found.push(format!("slot {s} is over capacity"));
        }
        for &(a, b) in &slot.incompatible {
            if attendees.contains(&a) && attendees.contains(&b) {
                found.push(format!(
                    "slot {s} has enquiries {a} and {b}, who have no session time in common"
                ));
            }
        }
        // Staffing.
        let lead = &instance.experts[team.lead];
        if !slot.leads.contains(&team.lead) || !lead.topics.contains(&slot.primary_topic) {
            found.push(format!("slot {s}: {} may not lead it", lead.id));
        }
        let needs_support = slot.support == SupportRule::BySize
            && (attendees.len() as u32 > limits.support_over_cities
                || participants > limits.support_over_participants);
        match (needs_support, team.support) {
            (true, None) => found.push(format!("slot {s} needs a support expert and has none")),
            (false, Some(_)) => {
                found.push(format!("slot {s} has a support expert it does not need"))
            }
            (true, Some(x)) => {
                let expert = &instance.experts[x];
                if x == team.lead
                    || !slot.supports.contains(&x)
                    || !covers(instance, x, s, &attendees)
                {
                    found.push(format!("slot {s}: {} may not support it", expert.id));
                }
            }
            (false, None) => {}
        }
        for x in std::iter::once(team.lead).chain(team.support) {
            if !understood(instance, x, &attendees) {
                found.push(format!(
                    "slot {s}: {} shares no language with every city",
                    instance.experts[x].id
                ));
            }
        }
    }
    // Rule 4: a city's engagements never share a day.
    let mut city_days: BTreeMap<&str, BTreeMap<i32, usize>> = BTreeMap::new();
    for (e, slot) in plan.served_in.iter().enumerate() {
        let Some(slot) = slot else { continue };
        let city = instance.enquiries[e].city.as_str();
        for day in instance.slots[*slot].span.iter() {
            let busy = instance
                .fixed
                .city_days
                .get(city)
                .is_some_and(|d| d.contains(&day));
            let count = city_days.entry(city).or_default().entry(day).or_default();
            *count += 1;
            if *count > 1 || busy {
                found.push(format!("city {city} has two engagements on day {day}"));
            }
        }
    }
    // Rule 5.
    let mut load: BTreeMap<i32, u32> = instance.fixed.day_load.clone();
    for s in plan.workshops.keys() {
        for day in instance.slots[*s].span.iter() {
            *load.entry(day).or_default() += 1;
        }
    }
    for (day, n) in load {
        if n > limits.workshops_per_day
            && plan
                .workshops
                .keys()
                .any(|s| instance.slots[*s].span.iter().any(|d| d == day))
        {
            found.push(format!("day {day} has {n} workshops"));
        }
    }
    // Experts: never two holds sharing a day; months within room.
    let mut holds: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (&s, team) in &plan.workshops {
        holds.entry(team.lead).or_default().push(s);
        if let Some(x) = team.support {
            holds.entry(x).or_default().push(s);
        }
    }
    for (x, slots) in &holds {
        let expert = &instance.experts[*x];
        for (i, a) in slots.iter().enumerate() {
            for b in &slots[i + 1..] {
                if instance.slots[*a].hold.overlaps(&instance.slots[*b].hold) {
                    found.push(format!("{} is double-booked: slots {a} and {b}", expert.id));
                }
            }
        }
        let mut months: BTreeMap<i32, u32> = BTreeMap::new();
        for s in slots {
            *months.entry(instance.slots[*s].month).or_default() += 1;
        }
        for (month, n) in months {
            if n > expert.room_in(month) {
                found.push(format!(
                    "{} has {n} assignments in month {month}",
                    expert.id
                ));
            }
        }
    }
    // Confirmed workshops: all served, together, in an allowed slot, and
    // never two in one slot.
    let mut confirmed_in: BTreeMap<usize, &str> = BTreeMap::new();
    for (w, workshop) in instance.current.iter().enumerate() {
        if !workshop.confirmed {
            continue;
        }
        if let Some(Some(slot)) = workshop.enquiries.first().map(|e| plan.served_in[*e])
            && let Some(other) = confirmed_in.insert(slot, &workshop.id)
        {
            found.push(format!(
                "confirmed workshops {other} and {} were merged into slot {slot}",
                workshop.id
            ));
        }
        let slots: BTreeSet<Option<usize>> = workshop
            .enquiries
            .iter()
            .map(|e| plan.served_in[*e])
            .collect();
        if let (Some(kept), Some(Some(slot))) = (
            workshop.team.0.filter(|&x| instance.keeps(w, x)),
            workshop.enquiries.first().map(|e| plan.served_in[*e]),
        ) && instance.slots[slot].leads.contains(&kept)
            && plan
                .workshops
                .get(&slot)
                .is_some_and(|team| team.lead != kept)
        {
            found.push(format!(
                "confirmed workshop {} changed its lead, who could have stayed",
                workshop.id
            ));
        }
        if let (Some(kept), Some(Some(slot))) = (
            workshop.team.1.filter(|&x| instance.keeps(w, x)),
            workshop.enquiries.first().map(|e| plan.served_in[*e]),
        ) && instance
            .support_candidates(slot, &instance.listing(slot))
            .contains(&kept)
            && plan
                .workshops
                .get(&slot)
                .is_some_and(|team| team.support.is_some_and(|x| x != kept))
        {
            found.push(format!(
                "confirmed workshop {} changed its support, who could have stayed",
                workshop.id
            ));
        }
        let allowed = |s: &usize| {
            (*s == workshop.slot && workshop.may_stay) || workshop.alternatives.contains(s)
        };
        if slots.len() != 1 || !slots.iter().all(|s| s.as_ref().is_some_and(allowed)) {
            found.push(format!(
                "confirmed workshop {} was split, dropped or moved where it may not go",
                workshop.id
            ));
        }
    }
    found
}

/// The plan's [`Score`].
pub fn score(instance: &Instance, plan: &Plan) -> Score {
    let served: Vec<usize> = (0..instance.enquiries.len())
        .filter(|e| plan.served_in.get(*e).copied().flatten().is_some())
        .collect();
    let beneficiaries = served
        .iter()
        .filter(|e| instance.enquiries[**e].beneficiary)
        .count();
    let mut moves = 0;
    let mut experts_changed = 0;
    for workshop in instance.current.iter().filter(|w| w.confirmed) {
        let Some(&first) = workshop.enquiries.first() else {
            continue;
        };
        if plan.served_in[first] != Some(workshop.slot) {
            moves += 1;
            continue;
        }
        let team = plan.workshops.get(&workshop.slot);
        if let Some(lead) = workshop.team.0
            && team.is_none_or(|t| t.lead != lead)
        {
            experts_changed += 1;
        }
        if let Some(support) = workshop.team.1
            && team.is_none_or(|t| t.support != Some(support))
        {
            experts_changed += 1;
        }
    }
    let load = loads(instance, plan);
    let lateness = served
        .iter()
        .map(|e| {
            let slot = plan.served_in[*e];
            instance.enquiries[*e]
                .options
                .iter()
                .find(|o| Some(o.slot) == slot)
                .map_or(0, |o| u64::from(o.lateness))
        })
        .sum();
    Score {
        beneficiaries_served: std::cmp::Reverse(beneficiaries),
        served: std::cmp::Reverse(served.len()),
        moves,
        experts_changed,
        workshops: plan.workshops.len(),
        max_load: load.into_iter().max().unwrap_or(0),
        lateness,
    }
}
