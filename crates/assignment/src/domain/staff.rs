//! [`staff`]: one workshop version in, what to keep, add and release out.
//! Owns rule 6 (re-checking a workshop's current experts) and the order in
//! which roles are filled; [`super::eligibility`] decides each role.

use contract::proto::assignment::v1::ExpertRole;
use std::collections::{BTreeMap, BTreeSet};

use super::eligibility::Board;
use super::expert::{Expert, ExpertId};
use super::need::{Need, Rules};
use super::staffing::{Commitment, Current, Outcome, Staffing};

/// Staffs `need`: keeps the current experts that still fit, fills the
/// vacant roles by the ranking, releases the rest.
///
/// `commitments` are the other workshops' holds (any of this workshop's are
/// ignored); `worked_with` maps experts to the cities they have worked with.
/// Pure and deterministic: the order of `experts` and `commitments` does not
/// matter, only `current`'s order does (it decides which of two current
/// leads is kept, and the order of `keep` and `release`).
pub fn staff(
    need: &Need,
    current: &[Current],
    experts: &[Expert],
    commitments: &[Commitment],
    worked_with: &BTreeMap<ExpertId, BTreeSet<String>>,
    rules: &Rules,
) -> Staffing {
    let board = Board::new(need, experts, commitments, worked_with, rules);
    let support_needed = rules.needs_support(need);
    let (lead, mut support, still_fitting) = still_fitting(&board, current, support_needed);
    let unfilled =
        |outcome: Outcome| Staffing::settle(current, still_fitting.clone(), Vec::new(), outcome);

    let mut add = Vec::new();
    let mut promoted = None;
    let lead_id = if let Some(kept) = lead {
        kept.expert_id.clone()
    } else {
        let chosen = match board.best(ExpertRole::Lead, support.map(|s| &s.expert_id)) {
            Ok(expert) => expert.id.clone(),
            // The only one who can lead is the current support: promote
            // them and look for another support.
            Err(_) if support.is_some_and(|s| board.qualifies(&s.expert_id, ExpertRole::Lead)) => {
                let id = support.take().map(|s| s.expert_id.clone());
                promoted.clone_from(&id);
                id.expect("checked just above")
            }
            Err(blocker) => return unfilled(board.unfilled(ExpertRole::Lead, blocker)),
        };
        add.push((chosen.clone(), ExpertRole::Lead));
        chosen
    };

    if support_needed && support.is_none() {
        match board.best(ExpertRole::Support, Some(&lead_id)) {
            Ok(expert) => add.push((expert.id.clone(), ExpertRole::Support)),
            Err(blocker) => return unfilled(board.unfilled(ExpertRole::Support, blocker)),
        }
    }

    let keep = still_fitting
        .iter()
        .filter(|c| Some(&c.expert_id) != promoted.as_ref())
        .cloned()
        .collect();
    Staffing::settle(current, keep, add, Outcome::Staffed)
}

/// Current experts that still fit their role, first per role; an expert's
/// later entries are ignored (one expert, one role). Returns the kept lead,
/// the kept support, and both in `current`'s order.
fn still_fitting<'c>(
    board: &Board<'_>,
    current: &'c [Current],
    support_needed: bool,
) -> (Option<&'c Current>, Option<&'c Current>, Vec<Current>) {
    let mut seen = BTreeSet::new();
    let (mut lead, mut support): (Option<&Current>, Option<&Current>) = (None, None);
    let mut fitting = Vec::new();
    for entry in current {
        if !seen.insert(&entry.expert_id) {
            continue;
        }
        let slot = match entry.role {
            ExpertRole::Lead => &mut lead,
            ExpertRole::Support if support_needed => &mut support,
            _ => continue,
        };
        if slot.is_none() && board.qualifies(&entry.expert_id, entry.role) {
            *slot = Some(entry);
            fitting.push(entry.clone());
        }
    }
    (lead, support, fitting)
}

/// [`staff`] with the team scheduling proposed for this version
/// (`proposedTeam`), judged as the module docs say ("Proposals"): each
/// proposed expert who qualifies for a vacant role by these same rules
/// takes it, the matcher fills what the proposal leaves open, and when
/// that cannot make a whole team, or nothing of the proposal qualifies,
/// the answer is [`staff`]'s own.
pub fn staff_proposed(
    need: &Need,
    current: &[Current],
    proposal: &[(ExpertId, ExpertRole)],
    experts: &[Expert],
    commitments: &[Commitment],
    worked_with: &BTreeMap<ExpertId, BTreeSet<String>>,
    rules: &Rules,
) -> Staffing {
    let matcher = || staff(need, current, experts, commitments, worked_with, rules);
    let board = Board::new(need, experts, commitments, worked_with, rules);
    let support_needed = rules.needs_support(need);
    let (kept_lead, kept_support, keep) = still_fitting(&board, current, support_needed);
    let kept_lead = kept_lead.map(|c| &c.expert_id);
    let kept_support = kept_support.map(|c| &c.expert_id);

    // The first entry per role and per expert, for a role this version
    // needs and nobody kept holds, by someone who qualifies for it and is
    // not kept in the other role.
    let mut named = BTreeSet::new();
    let (mut lead, mut support): (Option<&ExpertId>, Option<&ExpertId>) = (None, None);
    for (id, role) in proposal {
        if !named.insert(id) {
            continue;
        }
        let (slot, vacant, other) = match role {
            ExpertRole::Lead => (&mut lead, kept_lead.is_none(), kept_support),
            ExpertRole::Support if support_needed => {
                (&mut support, kept_support.is_none(), kept_lead)
            }
            _ => continue,
        };
        if slot.is_none() && vacant && other != Some(id) && board.qualifies(id, *role) {
            *slot = Some(id);
        }
    }
    if lead.is_none() && support.is_none() {
        return matcher();
    }

    let mut add = Vec::new();
    let lead_id = match (kept_lead, lead) {
        (Some(kept), _) => kept.clone(),
        (None, Some(proposed)) => {
            add.push((proposed.clone(), ExpertRole::Lead));
            proposed.clone()
        }
        (None, None) => match board.best(ExpertRole::Lead, kept_support.or(support)) {
            Ok(expert) => {
                add.push((expert.id.clone(), ExpertRole::Lead));
                expert.id.clone()
            }
            Err(_) => return matcher(),
        },
    };
    if support_needed && kept_support.is_none() {
        match support.filter(|id| **id != lead_id) {
            Some(proposed) => add.push((proposed.clone(), ExpertRole::Support)),
            None => match board.best(ExpertRole::Support, Some(&lead_id)) {
                Ok(expert) => add.push((expert.id.clone(), ExpertRole::Support)),
                Err(_) => return matcher(),
            },
        }
    }
    Staffing::settle(current, keep, add, Outcome::Staffed)
}
