//! The [`Instance`] as a 0-1 program ([`Model`]): one variable per
//! (enquiry, slot it may attend), per open slot, per (slot, expert, role),
//! and the rows that keep every rule the caller could not settle alone.
//!
//! # Variables
//!
//! - `attend[e][k]`: enquiry `e` is served in its `k`-th option's slot.
//! - `open[s]`: slot `s` holds a workshop.
//! - `lead[s]`, `support[s]`: one per expert who may take that role there.
//! - `needs_support[s]`: a joint slot's size calls for a SUPPORT expert.
//! - `speaks[s][x][l]`: expert `x`, who does not list the shared language,
//!   runs workshop `s` in language `l` (only for experts with several).
//! - `kept[w]`, `support_kept[w]`: a confirmed workshop that stays keeps its
//!   lead, its support (penalised when not, after moves).
//! - `max_load`: the largest number of assignments of any expert.
//!
//! # Rows (DOMAIN.md)
//!
//! - An enquiry is served at most once, only in an open slot, and an open
//!   slot serves someone.
//! - A shared slot takes at most `max_cities` enquiries and
//!   `max_participants` participants (rule 3); a slot that is not shared
//!   takes one.
//! - Rule 4: a city attends at most one workshop on any programme day; rule
//!   5: at most `workshops_per_day` open slots on any day. Both are interval
//!   constraints over days, so one row per day on which some span starts (or
//!   something fixed stands) covers every day: whatever covers a day also
//!   covers the latest start before it.
//! - Served means staffed: an open slot has exactly one lead, and one
//!   support exactly when its size calls for one ("more than 2 cities or
//!   more than 25 participants", linearised with `needs_support`).
//! - Experts are never double-booked: two slots whose holds (travel days
//!   included) share a day never share an expert, again one row per start
//!   day; and at most their room in each month.
//! - Languages: an expert who does not list the shared language must share
//!   one language with every city of the workshop; a support who does not
//!   cover the primary topic covers a topic of one of its cities.
//! - Cities that cannot meet at one session time never attend one slot.
//! - A confirmed workshop keeps all its enquiries served, together, in its
//!   slot or one of its alternatives; two confirmed workshops never end in
//!   one slot (a merge would cancel one of them under its cities).
//!
//! # Objective, in order
//!
//! 1. Enquiries served, beneficiaries first: each served enquiry counts 1,
//!    a beneficiary's `N + 1`, so no number of others outweighs one of them.
//! 2. Workshops opened (fewest, so cities are grouped where they can be),
//!    then moves of confirmed workshops, then their experts changed. A move
//!    that groups cities is worth taking: see docs/planning.md ("Moves").
//! 3. The largest expert load, then lateness (earliest dates).

use std::collections::{BTreeMap, BTreeSet};

use crate::ilp::{Ilp, Objective, Var};
use crate::instance::{Day, Days, Instance, SupportRule};

/// The program and where each decision lives in it.
#[derive(Debug, Clone)]
pub struct Model {
    pub ilp: Ilp,
    /// Per enquiry, per option.
    pub attend: Vec<Vec<Var>>,
    pub open: Vec<Var>,
    /// Per slot: (expert, variable).
    pub lead: Vec<Vec<(usize, Var)>>,
    pub support: Vec<Vec<(usize, Var)>>,
    /// Per enquiry, per option: its slot.
    pub(crate) slot_of: Vec<Vec<usize>>,
    aux: Aux,
}

/// Variables that follow from the decisions above; recorded so that a plan
/// can be turned back into a full assignment (a solver's starting point).
#[derive(Debug, Clone, Default)]
struct Aux {
    /// Per slot with a support rule: (needs, over cities, over participants).
    needs: Vec<(usize, Var, Var, Var)>,
    speaks: Vec<LanguageChoice>,
    /// (change, stays, kept): change = stays ∧ ¬kept.
    changes: Vec<(Var, Var, Option<Var>)>,
    max_load: Option<Var>,
}

/// An expert who does not list the shared language, on one slot: the role
/// variable and, per language they speak, whether the workshop runs in it.
#[derive(Debug, Clone)]
struct LanguageChoice {
    slot: usize,
    role: Var,
    choices: Vec<(String, Var)>,
}

/// The objective levels' weights, as documented in the module.
pub const LEVELS: usize = 3;

impl Model {
    pub fn build(instance: &Instance) -> Self {
        Builder::new(instance).build()
    }
}

impl Model {
    /// Sets the auxiliary variables that follow from the plan's decisions
    /// (already in `values`).
    pub(crate) fn complete(
        &self,
        instance: &Instance,
        plan: &crate::plan::Plan,
        values: &mut [i64],
    ) {
        let limits = &instance.limits;
        for &(s, needs, over_c, over_p) in &self.aux.needs {
            let attendees = plan.attendees(s);
            let cities = attendees.len() as u64;
            let participants: u64 = attendees
                .iter()
                .map(|e| u64::from(instance.enquiries[*e].participants))
                .sum();
            let many = cities > u64::from(limits.support_over_cities);
            let large = participants > u64::from(limits.support_over_participants);
            values[over_c.index()] = i64::from(many);
            values[over_p.index()] = i64::from(large);
            values[needs.index()] = i64::from(many || large);
        }
        for LanguageChoice {
            slot,
            role,
            choices,
        } in &self.aux.speaks
        {
            if values[role.index()] == 0 {
                continue;
            }
            let attendees = plan.attendees(*slot);
            if let Some((_, choice)) = choices.iter().find(|(language, _)| {
                attendees
                    .iter()
                    .all(|e| instance.enquiries[*e].languages.contains(language))
            }) {
                values[choice.index()] = 1;
            }
        }
        for &(change, stays, kept) in &self.aux.changes {
            let kept = kept.is_some_and(|v| values[v.index()] == 1);
            values[change.index()] = i64::from(values[stays.index()] == 1 && !kept);
        }
        if let Some(max_load) = self.aux.max_load {
            let mut load: BTreeMap<usize, i64> = instance
                .experts
                .iter()
                .enumerate()
                .map(|(x, e)| (x, i64::from(e.fixed_load)))
                .collect();
            for team in plan.workshops.values() {
                *load.entry(team.lead).or_default() += 1;
                if let Some(support) = team.support {
                    *load.entry(support).or_default() += 1;
                }
            }
            values[max_load.index()] = load.values().copied().max().unwrap_or(0);
        }
    }
}

struct Builder<'a> {
    instance: &'a Instance,
    ilp: Ilp,
    attend: Vec<Vec<Var>>,
    open: Vec<Var>,
    lead: Vec<Vec<(usize, Var)>>,
    support: Vec<Vec<(usize, Var)>>,
    /// Per slot: (enquiry, variable) of everyone who may attend it.
    attendees: Vec<Vec<(usize, Var)>>,
    aux: Aux,
}

impl<'a> Builder<'a> {
    fn new(instance: &'a Instance) -> Self {
        Self {
            instance,
            ilp: Ilp::default(),
            attend: Vec::new(),
            open: Vec::new(),
            lead: Vec::new(),
            support: Vec::new(),
            attendees: vec![Vec::new(); instance.slots.len()],
            aux: Aux::default(),
        }
    }

    fn build(mut self) -> Model {
        self.variables();
        self.serving();
        self.capacity_and_staffing();
        self.cities_and_days();
        self.experts();
        self.compatibility();
        let (kept, support_kept) = self.current_workshops();
        self.objectives(&kept, &support_kept);
        Model {
            ilp: self.ilp,
            attend: self.attend,
            open: self.open,
            lead: self.lead,
            support: self.support,
            slot_of: self
                .instance
                .enquiries
                .iter()
                .map(|e| e.options.iter().map(|o| o.slot).collect())
                .collect(),
            aux: self.aux,
        }
    }

    fn variables(&mut self) {
        let instance = self.instance;
        self.open = instance.slots.iter().map(|_| self.ilp.binary()).collect();
        for (e, enquiry) in instance.enquiries.iter().enumerate() {
            let busy = instance.fixed.city_days.get(&enquiry.city);
            let vars = enquiry
                .options
                .iter()
                .map(|option| {
                    let slot = &instance.slots[option.slot];
                    // An option on a day the city is engaged outside the
                    // model can never be taken.
                    let blocked =
                        busy.is_some_and(|days| slot.span.iter().any(|d| days.contains(&d)));
                    let var = self.ilp.integer(if blocked { 0 } else { 1 });
                    self.attendees[option.slot].push((e, var));
                    var
                })
                .collect();
            self.attend.push(vars);
        }
        for (s, slot) in instance.slots.iter().enumerate() {
            // A slot nobody lists is never open: no staffing variables (the
            // caller's slots are often listed by enquiries it then pins
            // elsewhere, as a planned workshop's are).
            let leads = if self.attendees[s].is_empty() {
                Vec::new()
            } else {
                slot.leads.iter().map(|&x| (x, self.ilp.binary())).collect()
            };
            // Support variables only where a support can be needed and only
            // for experts covering a topic someone there could bring.
            let listing: Vec<usize> = self.attendees[s].iter().map(|(e, _)| *e).collect();
            let supports = instance
                .support_candidates(s, &listing)
                .into_iter()
                .map(|x| (x, self.ilp.binary()))
                .collect();
            self.lead.push(leads);
            self.support.push(supports);
        }
    }

    /// Served at most once; only in an open slot; an open slot serves someone.
    fn serving(&mut self) {
        for vars in &self.attend {
            self.ilp.at_most(vars.iter().map(|v| (*v, 1)).collect(), 1);
        }
        for (s, open) in self.open.iter().enumerate() {
            for (_, attend) in &self.attendees[s] {
                self.ilp.at_most(vec![(*attend, 1), (*open, -1)], 0);
            }
            let mut row: Vec<(Var, i64)> = self.attendees[s].iter().map(|(_, v)| (*v, 1)).collect();
            row.push((*open, -1));
            self.ilp.at_least(row, 0);
        }
    }

    /// Rule 3's capacity, and the lead and support every open slot needs.
    fn capacity_and_staffing(&mut self) {
        let instance = self.instance;
        let limits = &instance.limits;
        for (s, slot) in instance.slots.iter().enumerate() {
            let open = self.open[s];
            let cities: Vec<(Var, i64)> = self.attendees[s].iter().map(|(_, v)| (*v, 1)).collect();
            let participants: Vec<(Var, i64)> = self.attendees[s]
                .iter()
                .map(|(e, v)| (*v, i64::from(instance.enquiries[*e].participants)))
                .collect();
            // Capacity is written against `open` (Σ ≤ capacity × open), which
            // with `attend ≤ open` keeps the relaxation tight: a fractional
            // workshop cannot take whole cities.
            let with_open = |terms: &[(Var, i64)], capacity: i64| {
                let mut row = terms.to_vec();
                row.push((open, -capacity));
                row
            };
            if slot.shared {
                self.ilp
                    .at_most(with_open(&cities, i64::from(limits.max_cities)), 0);
                self.ilp.at_most(
                    with_open(&participants, i64::from(limits.max_participants)),
                    0,
                );
            } else {
                self.ilp.at_most(with_open(&cities, 1), 0);
            }

            let mut leads: Vec<(Var, i64)> = self.lead[s].iter().map(|(_, v)| (*v, 1)).collect();
            leads.push((open, -1));
            self.ilp.equal(leads, 0);

            if slot.support == SupportRule::Never {
                continue;
            }
            let needs = self.ilp.binary();
            // needs ≤ open; and needs = 1 whenever cities or participants
            // exceed what a lead alone takes: (M × needs) ≥ size − threshold.
            self.ilp.at_most(vec![(needs, 1), (open, -1)], 0);
            let total_participants: i64 = participants.iter().map(|(_, p)| p).sum();
            let over_participants = i64::from(limits.support_over_participants);
            let big_p = (total_participants - over_participants).max(1);
            let mut row = participants.clone();
            row.push((needs, -big_p));
            self.ilp.at_most(row, over_participants);
            let over_cities = i64::from(limits.support_over_cities);
            let big_c = (i64::try_from(cities.len()).unwrap_or(i64::MAX) - over_cities).max(1);
            let mut row = cities.clone();
            row.push((needs, -big_c));
            self.ilp.at_most(row, over_cities);
            // ...and needs = 0 when neither is exceeded: needs ≤ the excess
            // of cities (0 or 1 suffices: needs is binary) plus that of
            // participants, each read as "over the threshold".
            let over_c = self.ilp.binary();
            let over_p = self.ilp.binary();
            // over_c = 1 only if cities ≥ threshold + 1.
            let mut row = cities.clone();
            row.push((over_c, -(over_cities + 1)));
            self.ilp.at_least(row, 0);
            let mut row = participants.clone();
            row.push((over_p, -(over_participants + 1)));
            self.ilp.at_least(row, 0);
            self.ilp
                .at_most(vec![(needs, 1), (over_c, -1), (over_p, -1)], 0);
            self.aux.needs.push((s, needs, over_c, over_p));

            let mut supports: Vec<(Var, i64)> =
                self.support[s].iter().map(|(_, v)| (*v, 1)).collect();
            supports.push((needs, -1));
            self.ilp.equal(supports, 0);
        }
    }

    /// Rule 4 per city and rule 5 for the programme, one row per day on
    /// which something starts or stands fixed.
    fn cities_and_days(&mut self) {
        let instance = self.instance;
        // Rule 5.
        let spans: Vec<(Days, Var)> = instance
            .slots
            .iter()
            .zip(&self.open)
            .map(|(slot, open)| (slot.span, *open))
            .collect();
        let per_day = i64::from(instance.limits.workshops_per_day);
        let fixed = &instance.fixed.day_load;
        for (day, terms) in interval_rows(&spans, fixed.keys().copied()) {
            let room = per_day - i64::from(fixed.get(&day).copied().unwrap_or(0));
            self.ilp.at_most(terms, room.max(0));
        }
        // Rule 4.
        let mut by_city: BTreeMap<&str, Vec<(Days, Var)>> = BTreeMap::new();
        for (e, enquiry) in instance.enquiries.iter().enumerate() {
            for (option, var) in enquiry.options.iter().zip(&self.attend[e]) {
                by_city
                    .entry(enquiry.city.as_str())
                    .or_default()
                    .push((instance.slots[option.slot].span, *var));
            }
        }
        for intervals in by_city.values() {
            for (_, terms) in interval_rows(intervals, std::iter::empty()) {
                if terms.len() > 1 {
                    self.ilp.at_most(terms, 1);
                }
            }
        }
    }

    /// Experts: never double-booked, monthly room, languages, support topics.
    fn experts(&mut self) {
        let instance = self.instance;
        let limits = &instance.limits;
        let mut holds: BTreeMap<usize, Vec<(Days, Var)>> = BTreeMap::new();
        let mut months: BTreeMap<(usize, i32), Vec<(Var, i64)>> = BTreeMap::new();
        for (s, slot) in instance.slots.iter().enumerate() {
            for (x, var) in self.lead[s].iter().chain(&self.support[s]) {
                holds.entry(*x).or_default().push((slot.hold, *var));
                months.entry((*x, slot.month)).or_default().push((*var, 1));
            }
        }
        for intervals in holds.values() {
            for (_, terms) in interval_rows(intervals, std::iter::empty()) {
                if terms.len() > 1 {
                    self.ilp.at_most(terms, 1);
                }
            }
        }
        for ((x, month), terms) in months {
            let room = i64::from(instance.experts[x].room_in(month));
            if i64::try_from(terms.len()).unwrap_or(i64::MAX) > room {
                self.ilp.at_most(terms, room);
            }
        }

        for (s, slot) in instance.slots.iter().enumerate() {
            let roles: Vec<(usize, Var)> = self.lead[s]
                .iter()
                .chain(&self.support[s])
                .copied()
                .collect();
            for (x, role) in roles {
                let expert = &instance.experts[x];
                if expert.languages.contains(&limits.shared_language) {
                    continue;
                }
                // One language every city of the workshop speaks.
                let spoken: Vec<&String> = expert.languages.iter().collect();
                let choices: Vec<Var> = spoken.iter().map(|_| self.ilp.binary()).collect();
                let mut row: Vec<(Var, i64)> = choices.iter().map(|v| (*v, 1)).collect();
                row.push((role, -1));
                self.ilp.at_least(row, 0);
                self.aux.speaks.push(LanguageChoice {
                    slot: s,
                    role,
                    choices: spoken
                        .iter()
                        .map(|l| (*l).clone())
                        .zip(choices.iter().copied())
                        .collect(),
                });
                for (language, choice) in spoken.iter().zip(&choices) {
                    for (e, attend) in &self.attendees[s] {
                        if !instance.enquiries[*e].languages.contains(*language) {
                            self.ilp.at_most(vec![(*choice, 1), (*attend, 1)], 1);
                        }
                    }
                }
            }
            for (x, role) in self.support[s].clone() {
                let expert = &instance.experts[x];
                if expert.topics.contains(&slot.primary_topic) {
                    continue;
                }
                // A support who does not cover the primary topic covers a
                // topic of one of the workshop's cities.
                let mut row: Vec<(Var, i64)> = self.attendees[s]
                    .iter()
                    .filter(|(e, _)| {
                        instance.enquiries[*e]
                            .topics
                            .iter()
                            .any(|t| expert.topics.contains(t))
                    })
                    .map(|(_, v)| (*v, 1))
                    .collect();
                row.push((role, -1));
                self.ilp.at_least(row, 0);
            }
        }
    }

    /// Cities that cannot share a session time never share a slot.
    fn compatibility(&mut self) {
        for (s, slot) in self.instance.slots.iter().enumerate() {
            for &(a, b) in &slot.incompatible {
                let var_of = |e: usize| {
                    self.attendees[s]
                        .iter()
                        .find(|(who, _)| *who == e)
                        .map(|(_, v)| *v)
                };
                if let (Some(va), Some(vb)) = (var_of(a), var_of(b)) {
                    self.ilp.at_most(vec![(va, 1), (vb, 1)], 1);
                }
            }
        }
    }

    /// Confirmed workshops keep their enquiries served, together; returns,
    /// per confirmed workshop, its "stays" variable and its team-change
    /// penalties.
    fn current_workshops(&mut self) -> (Vec<(Var, Vec<Var>)>, Vec<Var>) {
        let instance = self.instance;
        let mut stays_and_changes = Vec::new();
        let mut all_changes = Vec::new();
        for (w, workshop) in instance.current.iter().enumerate() {
            if !workshop.confirmed {
                continue;
            }
            let allowed: BTreeSet<usize> = std::iter::once(workshop.slot)
                .filter(|_| workshop.may_stay)
                .chain(workshop.alternatives.iter().copied())
                .collect();
            let var_at = |e: usize, s: usize| {
                instance.enquiries[e]
                    .options
                    .iter()
                    .position(|o| o.slot == s)
                    .map(|k| self.attend[e][k])
            };
            let Some(&first) = workshop.enquiries.first() else {
                continue;
            };
            for &e in &workshop.enquiries {
                let row: Vec<(Var, i64)> = allowed
                    .iter()
                    .filter_map(|&s| var_at(e, s))
                    .map(|v| (v, 1))
                    .collect();
                // Served, in one of its allowed slots.
                self.ilp.equal(row, 1);
                // Together with the first: the same slot.
                if e != first {
                    for &s in &allowed {
                        match (var_at(first, s), var_at(e, s)) {
                            (Some(a), Some(b)) => self.ilp.equal(vec![(a, 1), (b, -1)], 0),
                            (Some(v), None) | (None, Some(v)) => self.ilp.equal(vec![(v, 1)], 0),
                            (None, None) => {}
                        }
                    }
                }
            }
            // Its lead leads it wherever they may (assignment's rule 6: an
            // expert kept in a role keeps it, whoever is proposed). Freeing
            // them for another workshop would be a plan assignment refuses.
            if let Some(kept) = workshop.team.0.filter(|&x| instance.keeps(w, x)) {
                for &s in &allowed {
                    let there = var_at(first, s);
                    let leads = self.lead[s].iter().find(|(x, _)| *x == kept);
                    if let (Some(there), Some((_, leads))) = (there, leads) {
                        self.ilp.at_least(vec![(*leads, 1), (there, -1)], 0);
                    }
                }
            }
            // So does its support, wherever the workshop still needs one
            // (assignment keeps a support who still qualifies before it
            // reads any proposal): support ≥ there + needs − 1.
            if let Some(kept) = workshop.team.1.filter(|&x| instance.keeps(w, x)) {
                for &s in &allowed {
                    let there = var_at(first, s);
                    let supports = self.support[s].iter().find(|(x, _)| *x == kept);
                    let needs = self.aux.needs.iter().find(|n| n.0 == s).map(|n| n.1);
                    if let (Some(there), Some((_, supports)), Some(needs)) =
                        (there, supports, needs)
                    {
                        self.ilp
                            .at_least(vec![(*supports, 1), (there, -1), (needs, -1)], -1);
                    }
                }
            }
            // One that may not stay has nothing to stay with: it moves, and
            // no team of its slot is kept.
            let Some(stays) = var_at(first, workshop.slot).filter(|_| workshop.may_stay) else {
                continue;
            };
            let (lead, support) = workshop.team;
            let mut changes = Vec::new();
            for (expert, role) in [(lead, &self.lead), (support, &self.support)] {
                let Some(expert) = expert else { continue };
                // change ≥ stays − kept: it stays, without this expert.
                let kept = role[workshop.slot]
                    .iter()
                    .find(|(x, _)| *x == expert)
                    .map(|(_, v)| *v);
                changes.push((stays, kept));
            }
            let changes: Vec<Var> = changes
                .into_iter()
                .map(|(stays, kept)| {
                    let change = self.ilp.binary();
                    let mut row = vec![(change, 1), (stays, -1)];
                    row.extend(kept.map(|v| (v, 1)));
                    self.ilp.at_least(row, 0);
                    self.aux.changes.push((change, stays, kept));
                    change
                })
                .collect();
            all_changes.extend(changes.iter().copied());
            stays_and_changes.push((stays, changes));
        }
        self.never_merged();
        (stays_and_changes, all_changes)
    }

    /// At most one confirmed workshop in any slot: each is present there
    /// exactly when its first enquiry is.
    fn never_merged(&mut self) {
        let instance = self.instance;
        let mut by_slot: BTreeMap<usize, Vec<(Var, i64)>> = BTreeMap::new();
        for workshop in instance.current.iter().filter(|w| w.confirmed) {
            let Some(&first) = workshop.enquiries.first() else {
                continue;
            };
            for (option, var) in instance.enquiries[first]
                .options
                .iter()
                .zip(&self.attend[first])
            {
                by_slot.entry(option.slot).or_default().push((*var, 1));
            }
        }
        for row in by_slot.into_values().filter(|row| row.len() > 1) {
            self.ilp.at_most(row, 1);
        }
    }

    fn objectives(&mut self, stays: &[(Var, Vec<Var>)], changes: &[Var]) {
        let instance = self.instance;
        let n = i64::try_from(instance.enquiries.len()).unwrap_or(i64::MAX / 8);

        let mut served: Objective = Vec::new();
        // Everyone who has an option that can be taken, served: when the
        // start plan does that (the usual case, a new enquiry served
        // without a move), this level needs no search.
        let mut all_served = 0;
        for (e, enquiry) in instance.enquiries.iter().enumerate() {
            let weight = if enquiry.beneficiary { n + 1 } else { 1 };
            served.extend(self.attend[e].iter().map(|v| (*v, -weight)));
            if self.attend[e].iter().any(|v| self.ilp.upper[v.index()] > 0) {
                all_served -= weight;
            }
        }

        // Level 2: workshops ≫ moves ≫ experts changed. A move is "not
        // staying" (1 − stays); the constant is dropped. Each weight exceeds
        // the most the levels below it can add up to.
        let change_weight = 1;
        let move_weight = i64::try_from(changes.len()).unwrap_or(0) + 1;
        let workshops_weight = move_weight * (i64::try_from(stays.len()).unwrap_or(0) + 1);
        let mut stability: Objective = self.open.iter().map(|v| (*v, workshops_weight)).collect();
        stability.extend(changes.iter().map(|v| (*v, change_weight)));
        stability.extend(stays.iter().map(|(v, _)| (*v, -move_weight)));

        // Level 3: the largest load ≫ lateness.
        let lateness_total: i64 = instance
            .enquiries
            .iter()
            .map(|e| {
                e.options
                    .iter()
                    .map(|o| i64::from(o.lateness))
                    .max()
                    .unwrap_or(0)
            })
            .sum();
        let slots = i64::try_from(instance.slots.len()).unwrap_or(0);
        let max_load = self.ilp.integer(
            slots
                + instance
                    .experts
                    .iter()
                    .map(|x| i64::from(x.fixed_load))
                    .max()
                    .unwrap_or(0),
        );
        self.aux.max_load = Some(max_load);
        let mut by_expert: BTreeMap<usize, Vec<(Var, i64)>> = BTreeMap::new();
        for (s, _) in instance.slots.iter().enumerate() {
            for (x, var) in self.lead[s].iter().chain(&self.support[s]) {
                by_expert.entry(*x).or_default().push((*var, -1));
            }
        }
        for (x, mut row) in by_expert {
            row.push((max_load, 1));
            self.ilp
                .at_least(row, i64::from(instance.experts[x].fixed_load));
        }
        let mut evenness: Objective = vec![(max_load, lateness_total + 1)];
        for (e, enquiry) in instance.enquiries.iter().enumerate() {
            evenness.extend(
                enquiry
                    .options
                    .iter()
                    .zip(&self.attend[e])
                    .filter(|(o, _)| o.lateness > 0)
                    .map(|(o, v)| (*v, i64::from(o.lateness))),
            );
        }
        self.ilp.objectives = vec![served, stability, evenness];
        self.ilp.bounds = vec![Some(all_served), None, None];
        debug_assert_eq!(self.ilp.objectives.len(), LEVELS);
    }
}

/// For intervals over days, one row per "point" (a day on which some
/// interval starts, or one of `extra`), listing the intervals covering it.
/// Any set of intervals sharing a day all cover the latest start among them,
/// so these rows bound every day.
fn interval_rows(
    intervals: &[(Days, Var)],
    extra: impl Iterator<Item = Day>,
) -> Vec<(Day, Vec<(Var, i64)>)> {
    let mut points: BTreeSet<Day> = intervals.iter().map(|(d, _)| d.first).collect();
    points.extend(extra);
    let mut sorted: Vec<(Days, Var)> = intervals.to_vec();
    sorted.sort_by_key(|(d, v)| (d.first, *v));
    points
        .into_iter()
        .filter_map(|day| {
            let terms: Vec<(Var, i64)> = sorted
                .iter()
                .take_while(|(d, _)| d.first <= day)
                .filter(|(d, _)| d.last >= day)
                .map(|(_, v)| (*v, 1))
                .collect();
            (!terms.is_empty()).then_some((day, terms))
        })
        .collect()
}
