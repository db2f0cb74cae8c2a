//! A smaller instance whose optimum bounds the whole one's: the confirmed
//! workshops that nobody could join, left out.
//!
//! A confirmed workshop is served in every plan, in a slot of its own (two
//! confirmed workshops never merge), with its own enquiries only when no
//! other enquiry could join it. Leaving such workshops out, with their
//! enquiries, only frees what they held (days, cities' engagements,
//! experts): every plan of the whole instance, with them taken away, is a
//! plan of the smaller one, served and grouped as well, with no more moves
//! or experts changed. So no plan of the whole beats the smaller one's
//! optimum, with those workshops added back where they are; and when that
//! plan keeps every rule of the whole instance, it is the whole one's
//! optimum on the levels solved, found in a model without them.
//!
//! Re-planning uses it when a cheaper step has not settled a new enquiry:
//! the workshops it might join stay in the model, those it could only
//! compete with are left out, and the answer is taken only when it fits
//! back around them (docs/planning.md, session 10).

use std::collections::BTreeSet;

use crate::bound::join_slots_with_room;
use crate::{
    Budget, Instance, Outcome, Plan, SolveError, SolveOptions, Team, optimise_with, score,
    violations,
};

/// The confirmed workshops (indices into `instance.current`) that no
/// enquiry outside a confirmed workshop could join anywhere
/// ([`join_slots_with_room`] has none). Each has a lead, so it can be put back as
/// it is. Every one of these is, in every plan, a workshop of its own
/// enquiries alone.
pub fn nobody_could_join(instance: &Instance) -> BTreeSet<usize> {
    let in_confirmed: BTreeSet<usize> = instance
        .current
        .iter()
        .filter(|c| c.confirmed)
        .flat_map(|c| c.enquiries.iter().copied())
        .collect();
    let joiners: Vec<usize> = (0..instance.enquiries.len())
        .filter(|e| !in_confirmed.contains(e))
        .collect();
    (0..instance.current.len())
        .filter(|&w| {
            let workshop = &instance.current[w];
            workshop.confirmed
                && workshop.team.0.is_some()
                && !workshop.enquiries.is_empty()
                && joiners
                    .iter()
                    .all(|&e| join_slots_with_room(instance, workshop, e).is_empty())
        })
        .collect()
}

/// `instance` without the planned workshops `left_out` and their
/// enquiries, and the way back.
#[derive(Debug, Clone)]
pub struct Without {
    pub instance: Instance,
    /// Per enquiry of the whole instance: its index in the smaller one.
    enquiry: Vec<Option<usize>>,
    left_out: Vec<usize>,
}

impl Without {
    /// `None` when leaving them out would change what the rest must keep:
    /// a workshop left in keeps an expert only where no confirmed workshop
    /// holding them on the same days is left in too
    /// ([`Instance::keeps`]), and leaving that one out would add a rule.
    pub fn new(whole: &Instance, left_out: &BTreeSet<usize>) -> Option<Self> {
        let leaving: BTreeSet<usize> = left_out
            .iter()
            .flat_map(|&w| whole.current[w].enquiries.iter().copied())
            .collect();
        let mut enquiry = vec![None; whole.enquiries.len()];
        let mut enquiries = Vec::new();
        for (e, found) in whole.enquiries.iter().enumerate() {
            if !leaving.contains(&e) {
                enquiry[e] = Some(enquiries.len());
                enquiries.push(found.clone());
            }
        }
        let renumber = |e: &usize| enquiry[*e];
        let slots = whole
            .slots
            .iter()
            .map(|slot| {
                let mut slot = slot.clone();
                slot.incompatible = slot
                    .incompatible
                    .iter()
                    .filter_map(|(a, b)| Some((renumber(a)?, renumber(b)?)))
                    .collect();
                slot
            })
            .collect();
        let mut current = Vec::new();
        for (w, workshop) in whole.current.iter().enumerate() {
            if left_out.contains(&w) {
                continue;
            }
            let mut kept = workshop.clone();
            kept.enquiries = workshop.enquiries.iter().filter_map(renumber).collect();
            current.push(kept);
        }
        let smaller = Instance {
            limits: whole.limits.clone(),
            enquiries,
            slots,
            experts: whole.experts.clone(),
            current,
            fixed: whole.fixed.clone(),
        };
        // The same experts kept by the same workshops, or it is not a
        // relaxation.
        let kept_in_whole = (0..whole.current.len()).filter(|w| !left_out.contains(w));
        for (small, w) in kept_in_whole.enumerate() {
            let (lead, support) = whole.current[w].team;
            for x in lead.into_iter().chain(support) {
                if whole.keeps(w, x) != smaller.keeps(small, x) {
                    return None;
                }
            }
        }
        Some(Self {
            instance: smaller,
            enquiry,
            left_out: left_out.iter().copied().collect(),
        })
    }

    /// A plan of the whole instance as one of the smaller: the workshops
    /// left out taken away, wherever the plan put them. `None` when an
    /// enquiry left in is served in one of their slots (the plan does not
    /// fit this relaxation).
    pub fn restrict(&self, plan: &Plan) -> Option<Plan> {
        let taken: BTreeSet<usize> = plan
            .served_in
            .iter()
            .zip(&self.enquiry)
            .filter(|(_, small)| small.is_none())
            .filter_map(|(slot, _)| *slot)
            .collect();
        let mut served_in = vec![None; self.instance.enquiries.len()];
        for (e, slot) in plan.served_in.iter().enumerate() {
            if let Some(small) = self.enquiry[e] {
                if slot.is_some_and(|s| taken.contains(&s)) {
                    return None;
                }
                served_in[small] = *slot;
            }
        }
        let workshops = plan
            .workshops
            .iter()
            .filter(|(s, _)| !taken.contains(s))
            .map(|(s, team)| (*s, *team))
            .collect();
        Some(Plan {
            served_in,
            workshops,
        })
    }

    /// What a plan of the smaller instance scoring `small` scores in the
    /// whole one with the workshops left out put back where they are:
    /// their enquiries served, one workshop each, no move, no expert
    /// changed.
    fn with_them_back(
        &self,
        whole: &Instance,
        small: &crate::Score,
    ) -> (usize, usize, usize, usize, usize) {
        let enquiries: Vec<usize> = self
            .left_out
            .iter()
            .flat_map(|&w| whole.current[w].enquiries.iter().copied())
            .collect();
        let beneficiaries = enquiries
            .iter()
            .filter(|&&e| whole.enquiries[e].beneficiary)
            .count();
        (
            small.beneficiaries_served.0 + beneficiaries,
            small.served.0 + enquiries.len(),
            small.workshops + self.left_out.len(),
            small.moves,
            small.experts_changed,
        )
    }

    /// [`Self::lift`] without its check: the plan's own workshops only,
    /// in the whole instance's numbering (to see what they collide with).
    fn lift_loosely(&self, whole: &Instance, plan: &Plan) -> Plan {
        let mut served_in = vec![None; whole.enquiries.len()];
        for (e, small) in self.enquiry.iter().enumerate() {
            if let Some(small) = small {
                served_in[e] = plan.served_in[*small];
            }
        }
        Plan {
            served_in,
            workshops: plan.workshops.clone(),
        }
    }

    /// A plan of the smaller instance as one of the whole: every workshop
    /// left out where it is, with its team. `None` when the plan already
    /// opens one of their slots.
    pub fn lift(&self, whole: &Instance, plan: &Plan) -> Option<Plan> {
        let Plan {
            mut served_in,
            mut workshops,
        } = self.lift_loosely(whole, plan);
        for &w in &self.left_out {
            let workshop = &whole.current[w];
            let lead = workshop.team.0?;
            if workshops
                .insert(
                    workshop.slot,
                    Team {
                        lead,
                        support: workshop.team.1,
                    },
                )
                .is_some()
            {
                return None;
            }
            for &e in &workshop.enquiries {
                served_in[e] = Some(workshop.slot);
            }
        }
        Some(Plan {
            served_in,
            workshops,
        })
    }
}

/// The optimum of `instance` on the objective's first two levels (served;
/// workshops, moves, experts changed), searched for in smaller instances
/// without the workshops [`nobody_could_join`], from `start` (a plan of
/// the whole instance that keeps every rule).
///
/// Each round solves the smaller instance. Its proven optimum, with the
/// workshops left out put back where they are, is the whole instance's
/// when it keeps every rule and scores exactly that optimum plus them
/// (served, one workshop each, not moved, their teams kept): no plan of
/// the whole does better (see the module). When it does not fit back, the
/// workshops left out that it collides with ([`in_the_way_of`]) are let
/// back in, free to move, for the next round, at most [`ROUNDS`]: the
/// usual case is a workshop moved out of the new enquiry's way, and then
/// one out of that one's. The last level (load, dates) is the caller's:
/// an expert's load counts the workshops left out, so the smaller instance
/// says nothing of it.
///
/// `Ok(None)` when nothing can be left out, the start does not fit, a
/// search is not proven, or no round's answer fits back: the whole
/// instance must be solved.
pub fn optimise_served_and_grouping(
    instance: &Instance,
    budget: Budget,
    start: &Plan,
) -> Result<Option<Outcome>, SolveError> {
    let mut left_out = nobody_could_join(instance);
    // Each round leaves out fewer workshops, so its optimum can only be
    // worse than the round before's, and never worse than the start's:
    // once a round's served equals the start's, every later round's does,
    // and its first level needs no search.
    let mut options = SERVED_AND_GROUPING;
    for _ in 0..ROUNDS {
        if left_out.is_empty() {
            return Ok(None);
        }
        let Some(without) = Without::new(instance, &left_out) else {
            return Ok(None);
        };
        let Some(small_start) = without.restrict(start) else {
            return Ok(None);
        };
        let small = optimise_with(&without.instance, budget, Some(&small_start), options)?;
        if small.proven_levels.len() < 2 || !small.proven_levels.iter().take(2).all(|p| *p) {
            return Ok(None);
        }
        let start_score = score(&without.instance, &small_start);
        if (start_score.beneficiaries_served, start_score.served)
            == (small.score.beneficiaries_served, small.score.served)
        {
            options.from_level = 1;
        }
        // The start already reaches the relaxation's optimum: it is the
        // whole one's, whatever other plan of that score the solver chose.
        let answer = if start_score.grouping() == small.score.grouping() {
            small_start
        } else {
            small.plan.clone()
        };
        if let Some(plan) = without.lift(instance, &answer)
            && violations(instance, &plan).is_empty()
        {
            let lifted = score(instance, &plan);
            if lifted.grouping() == without.with_them_back(instance, &small.score) {
                return Ok(Some(Outcome {
                    score: lifted,
                    plan,
                    proven: small.proven,
                    proven_levels: small.proven_levels,
                    variables: small.variables,
                    rows: small.rows,
                }));
            }
        }
        let colliding = in_the_way_of(
            instance,
            &left_out,
            start,
            &without.lift_loosely(instance, &answer),
        );
        if colliding.is_empty() {
            return Ok(None);
        }
        left_out.retain(|w| !colliding.contains(w));
    }
    Ok(None)
}

/// Rounds [`optimise_served_and_grouping`] tries before leaving the
/// answer to the whole instance: each is a small search, and the whole
/// instance's costs several.
pub const ROUNDS: usize = 4;

/// Levels 1 and 2, without HiGHS's presolve (docs/planning.md says why).
const SERVED_AND_GROUPING: SolveOptions = SolveOptions {
    presolve: false,
    levels: 2,
    from_level: 0,
};

/// The workshops among `left_out` that `plan` (a plan of the whole
/// instance with them where they are) collides with: those whose days or
/// holds meet a workshop `plan` opens or staffs otherwise than `start`
/// does, or that share an expert with one in the same month (the monthly
/// limit). Workshops as `start` has them kept every rule beside them.
fn in_the_way_of(
    instance: &Instance,
    left_out: &BTreeSet<usize>,
    start: &Plan,
    plan: &Plan,
) -> BTreeSet<usize> {
    let changed: Vec<(usize, Team)> = plan
        .workshops
        .iter()
        .filter(|(s, team)| start.workshops.get(s) != Some(team))
        .map(|(s, team)| (*s, *team))
        .collect();
    left_out
        .iter()
        .copied()
        .filter(|&w| {
            let workshop = &instance.current[w];
            let at = &instance.slots[workshop.slot];
            let experts = [workshop.team.0, workshop.team.1];
            changed.iter().any(|(s, team)| {
                let other = &instance.slots[*s];
                let shares_an_expert = experts
                    .iter()
                    .flatten()
                    .any(|x| *x == team.lead || Some(*x) == team.support);
                at.span.overlaps(&other.span)
                    || at.hold.overlaps(&other.hold)
                    || (at.month == other.month && shares_an_expert)
            })
        })
        .collect()
}
