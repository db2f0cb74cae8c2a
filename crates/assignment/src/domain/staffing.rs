//! The matcher's inputs from the store ([`Commitment`], [`Current`]) and its
//! answer ([`Staffing`], [`Outcome`], [`UnfilledCode`]).

use contract::proto::assignment::v1::ExpertRole;
use std::collections::BTreeSet;
use std::fmt;

use super::expert::ExpertId;
use super::need::{Need, Rules, month_of};
use super::period::Period;

/// Another workshop's hold on an expert (from the store), excluding the
/// workshop being staffed. What [`staff`](super::staff) checks overlaps and
/// monthly limits against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitment {
    pub expert_id: ExpertId,
    pub workshop_id: String,
    /// As [`Rules::period_of`] gave it when the assignment was made (travel
    /// days included); the store keeps it as the `tstzrange` its exclusion
    /// constraint compares.
    pub period: Period,
    /// As [`month_of`] gave it: the month it counts against.
    pub month: (i32, u32),
}

impl Commitment {
    /// The hold an assignment of `expert_id` to `need` makes: what the
    /// store should record for every kept or added expert.
    pub fn for_need(need: &Need, expert_id: ExpertId, rules: &Rules) -> Self {
        Self {
            expert_id,
            workshop_id: need.workshop_id.clone(),
            period: rules.period_of(need),
            month: month_of(need),
        }
    }
}

/// An expert the workshop already has, in a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub expert_id: ExpertId,
    pub role: ExpertRole,
}

/// What to do with the workshop's experts.
///
/// Every expert of `current` lands in exactly one of `keep` (same role),
/// `add` (a new role: a support promoted to lead) or `release`; `add` may
/// also name experts new to the workshop. No expert appears twice across
/// `keep` and `add`, and `release` shares no expert with either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staffing {
    /// Current assignments that still fit, in `current`'s order.
    pub keep: Vec<Current>,
    /// New assignments, LEAD first. Always empty when unfilled: a workshop
    /// gets new holds only when it can be staffed whole.
    pub add: Vec<(ExpertId, ExpertRole)>,
    /// Experts to take off the workshop, in `current`'s order.
    pub release: Vec<ExpertId>,
    pub outcome: Outcome,
}

impl Staffing {
    /// Settles every current expert into keep, add or release.
    pub(super) fn settle(
        current: &[Current],
        keep: Vec<Current>,
        add: Vec<(ExpertId, ExpertRole)>,
        outcome: Outcome,
    ) -> Self {
        let staying: BTreeSet<&ExpertId> = keep
            .iter()
            .map(|c| &c.expert_id)
            .chain(add.iter().map(|(id, _)| id))
            .collect();
        let mut released = BTreeSet::new();
        let release = current
            .iter()
            .map(|c| &c.expert_id)
            .filter(|id| !staying.contains(id) && released.insert(*id))
            .cloned()
            .collect();
        Self {
            keep,
            add,
            release,
            outcome,
        }
    }

    pub fn is_staffed(&self) -> bool {
        self.outcome == Outcome::Staffed
    }

    /// The workshop's experts after this staffing: kept, then added.
    pub fn assigned(&self) -> Vec<(ExpertId, ExpertRole)> {
        self.keep
            .iter()
            .map(|c| (c.expert_id.clone(), c.role))
            .chain(self.add.iter().cloned())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every role the need calls for is held.
    Staffed,
    /// Some role cannot be held; `detail` is a sentence for operators and cities.
    Unfilled { code: UnfilledCode, detail: String },
}

/// Why a workshop could not be staffed: `assignment.unfilled`'s `reasonCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnfilledCode {
    /// Nobody on the roster covers the primary topic.
    NoExpertForTopic,
    /// Some cover it, but none speaks a language of the workshop.
    NoSharedLanguage,
    /// Those left are all booked elsewhere or unavailable at that time.
    AllExpertsBusy,
    /// Those left are all at their monthly limit.
    MonthlyLimitReached,
    /// A lead is possible but a needed support expert is not.
    NoSupportExpert,
}

impl UnfilledCode {
    pub const ALL: [Self; 5] = [
        Self::NoExpertForTopic,
        Self::NoSharedLanguage,
        Self::AllExpertsBusy,
        Self::MonthlyLimitReached,
        Self::NoSupportExpert,
    ];

    /// The contract's stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoExpertForTopic => "NO_EXPERT_FOR_TOPIC",
            Self::NoSharedLanguage => "NO_SHARED_LANGUAGE",
            Self::AllExpertsBusy => "ALL_EXPERTS_BUSY",
            Self::MonthlyLimitReached => "MONTHLY_LIMIT_REACHED",
            Self::NoSupportExpert => "NO_SUPPORT_EXPERT",
        }
    }
}

impl fmt::Display for UnfilledCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
