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

    // Current experts that still fit their role, first per role; an
    // expert's later entries are ignored (one expert, one role).
    let mut seen = BTreeSet::new();
    let (mut lead, mut support): (Option<&Current>, Option<&Current>) = (None, None);
    let mut still_fitting = Vec::new();
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
            still_fitting.push(entry.clone());
        }
    }
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
