//! Who may take a role on one need, who is preferred, and, when nobody may,
//! which rule stopped the last of them. Owns rules 1-5 and 7 for a single
//! role; [`super::staff`] combines roles and the workshop's current experts.

use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::{Format, Topic};
use std::collections::{BTreeMap, BTreeSet};

use super::expert::{Expert, ExpertId, primary_subtag};
use super::need::{Need, Rules, month_of};
use super::period::Period;
use super::staffing::{Commitment, Outcome, UnfilledCode};

/// One need's view of the roster and the store: every check is a lookup.
pub(super) struct Board<'a> {
    need: &'a Need,
    period: Period,
    month: (i32, u32),
    /// Primary subtags the workshop accepts: its cities' and English.
    languages: BTreeSet<String>,
    /// By id; the first of any duplicates wins, so the input's order never
    /// decides who is chosen.
    experts: BTreeMap<&'a ExpertId, &'a Expert>,
    loads: BTreeMap<&'a ExpertId, Load>,
    worked_with: &'a BTreeMap<ExpertId, BTreeSet<String>>,
}

/// An expert's other holds.
#[derive(Default)]
struct Load {
    periods: Vec<Period>,
    /// Holds counting against the need's month.
    in_month: u32,
}

/// The rule that removed the last candidate, with how many were left
/// before it (for the detail sentence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Blocker {
    Topic,
    Language { covering: usize },
    Busy { speaking: usize },
    Limit { free: usize },
}

impl<'a> Board<'a> {
    pub(super) fn new(
        need: &'a Need,
        experts: &'a [Expert],
        commitments: &'a [Commitment],
        worked_with: &'a BTreeMap<ExpertId, BTreeSet<String>>,
        rules: &Rules,
    ) -> Self {
        let month = month_of(need);
        let mut by_id = BTreeMap::new();
        for expert in experts {
            by_id.entry(&expert.id).or_insert(expert);
        }
        let mut loads: BTreeMap<&ExpertId, Load> = BTreeMap::new();
        // The workshop's own holds are its current staffing, not commitments;
        // skipping them here keeps a stale row from blocking its own expert.
        for c in commitments
            .iter()
            .filter(|c| c.workshop_id != need.workshop_id)
        {
            let load = loads.entry(&c.expert_id).or_default();
            load.periods.push(c.period);
            if c.month == month {
                load.in_month += 1;
            }
        }
        let languages = need
            .languages
            .iter()
            .chain(std::iter::once(&rules.always_shared_language))
            .map(|tag| primary_subtag(tag))
            .collect();
        Self {
            need,
            period: rules.period_of(need),
            month,
            languages,
            experts: by_id,
            loads,
            worked_with,
        }
    }

    /// Whether `id` is on the roster and may hold `role` on this need.
    pub(super) fn qualifies(&self, id: &ExpertId, role: ExpertRole) -> bool {
        self.experts
            .get(id)
            .is_some_and(|e| self.covers(e, role) && self.fits(e))
    }

    /// The preferred expert for `role`, other than `taken`, or the rule
    /// that left nobody.
    pub(super) fn best(
        &self,
        role: ExpertRole,
        taken: Option<&ExpertId>,
    ) -> Result<&'a Expert, Blocker> {
        let mut left: Vec<&'a Expert> = self
            .experts
            .values()
            .copied()
            .filter(|e| Some(&e.id) != taken && self.covers(e, role))
            .collect();
        let mut narrow = |keep: &dyn Fn(&Expert) -> bool, blocker: Blocker| {
            left.retain(|e| keep(e));
            if left.is_empty() {
                Err(blocker)
            } else {
                Ok(left.len())
            }
        };
        let covering = narrow(&|_| true, Blocker::Topic)?;
        let speaking = narrow(&|e| self.speaks(e), Blocker::Language { covering })?;
        let free = narrow(&|e| self.is_free(e), Blocker::Busy { speaking })?;
        narrow(&|e| self.under_limit(e), Blocker::Limit { free })?;
        Ok(left
            .into_iter()
            .min_by_key(|e| self.rank(e, role))
            .expect("narrow leaves at least one"))
    }

    /// Rule 1: the topic a role asks for. A lead covers the primary topic; a
    /// support covers any topic of the need (preferring the others, see
    /// [`Self::rank`]).
    fn covers(&self, expert: &Expert, role: ExpertRole) -> bool {
        match role {
            ExpertRole::Lead => self
                .need
                .primary_topic()
                .is_some_and(|t| expert.topics.contains(&t)),
            ExpertRole::Support => self.need.topics.iter().any(|t| expert.topics.contains(t)),
            ExpertRole::Unspecified => false,
        }
    }

    /// Rules 2-4, which do not depend on the role.
    fn fits(&self, expert: &Expert) -> bool {
        self.speaks(expert) && self.is_free(expert) && self.under_limit(expert)
    }

    /// Rule 2.
    fn speaks(&self, expert: &Expert) -> bool {
        expert.speaks_any(&self.languages)
    }

    /// Rule 3: no other hold and no unavailable day overlaps the period.
    fn is_free(&self, expert: &Expert) -> bool {
        let booked = self
            .loads
            .get(&expert.id)
            .is_some_and(|load| load.periods.iter().any(|p| p.overlaps(&self.period)));
        !booked
            && !expert
                .unavailable_periods()
                .any(|p| p.overlaps(&self.period))
    }

    /// Rule 4.
    fn under_limit(&self, expert: &Expert) -> bool {
        self.in_month(expert) < expert.monthly_limit
    }

    fn in_month(&self, expert: &Expert) -> u32 {
        self.loads.get(&expert.id).map_or(0, |l| l.in_month)
    }

    /// Rule 5, smallest first: (for a support, covering a topic other than
    /// the primary first), continuity, fewest holds that month, id.
    fn rank(&self, expert: &'a Expert, role: ExpertRole) -> (bool, bool, u32, &'a ExpertId) {
        let only_primary = role == ExpertRole::Support
            && !self
                .need
                .topics
                .iter()
                .skip(1)
                .any(|t| expert.topics.contains(t));
        let continuity = self
            .worked_with
            .get(&expert.id)
            .is_some_and(|cities| self.need.cities.iter().any(|c| cities.contains(c)));
        (only_primary, !continuity, self.in_month(expert), &expert.id)
    }

    /// Rule 7: the outcome for a role nobody can hold.
    pub(super) fn unfilled(&self, role: ExpertRole, blocker: Blocker) -> Outcome {
        let (code, detail) = if role == ExpertRole::Lead {
            let code = match blocker {
                Blocker::Topic => UnfilledCode::NoExpertForTopic,
                Blocker::Language { .. } => UnfilledCode::NoSharedLanguage,
                Blocker::Busy { .. } => UnfilledCode::AllExpertsBusy,
                Blocker::Limit { .. } => UnfilledCode::MonthlyLimitReached,
            };
            (code, self.lead_detail(blocker))
        } else {
            (UnfilledCode::NoSupportExpert, self.support_detail(blocker))
        };
        Outcome::Unfilled { code, detail }
    }

    fn lead_detail(&self, blocker: Blocker) -> String {
        let Some(primary) = self.need.primary_topic() else {
            return "The workshop names no topic, so no expert can lead it.".to_owned();
        };
        let topic = primary.as_str_name();
        match blocker {
            Blocker::Topic => {
                format!("No expert on the roster covers {topic}, the workshop's primary topic.")
            }
            Blocker::Language { covering } => format!(
                "{} {topic}, but none speaks {}.",
                count(covering, "expert covers", "experts cover"),
                self.language_list()
            ),
            Blocker::Busy { speaking } => format!(
                "{} covering {topic} and speaking {} {} booked or unavailable at some time from {}.",
                every(speaking, ""),
                self.language_list(),
                is_are(speaking),
                self.period_text()
            ),
            Blocker::Limit { free } => format!(
                "{} covering {topic}, speaking {} and free then {} reached the monthly limit for {}.",
                every(free, ""),
                self.language_list(),
                has_have(free),
                self.month_text()
            ),
        }
    }

    fn support_detail(&self, blocker: Blocker) -> String {
        let topics = topic_list(&self.need.topics);
        let why = format!(
            "A support expert is needed ({} cities, {} participants), but",
            self.need.cities.iter().collect::<BTreeSet<_>>().len(),
            self.need.participants
        );
        match blocker {
            Blocker::Topic => format!("{why} no expert besides the lead covers {topics}."),
            Blocker::Language { covering } => format!(
                "{why} {} {topics} besides the lead, and none speaks {}.",
                count(covering, "expert covers", "experts cover"),
                self.language_list()
            ),
            Blocker::Busy { speaking } => format!(
                "{why} {} covering {topics} and speaking {} {} booked or unavailable at some time from {}.",
                every(speaking, "other ").to_lowercase(),
                self.language_list(),
                is_are(speaking),
                self.period_text()
            ),
            Blocker::Limit { free } => format!(
                "{why} {} covering {topics}, speaking {} and free then {} reached the monthly limit for {}.",
                every(free, "other ").to_lowercase(),
                self.language_list(),
                has_have(free),
                self.month_text()
            ),
        }
    }

    fn language_list(&self) -> String {
        or_list(self.languages.iter().map(String::as_str))
    }

    fn period_text(&self) -> String {
        let travel = if self.need.format == Format::Virtual {
            ""
        } else {
            " (travel days included)"
        };
        format!("{}{travel}", self.period)
    }

    fn month_text(&self) -> String {
        format!("{}-{:02}", self.month.0, self.month.1)
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "The one expert" or "All 3 experts", with `other` before "expert".
fn every(n: usize, other: &str) -> String {
    if n == 1 {
        format!("The one {other}expert")
    } else {
        format!("All {n} {other}experts")
    }
}

fn is_are(n: usize) -> &'static str {
    if n == 1 { "is" } else { "are" }
}

fn has_have(n: usize) -> &'static str {
    if n == 1 { "has" } else { "have" }
}

fn topic_list(topics: &[Topic]) -> String {
    or_list(topics.iter().map(|t| t.as_str_name()))
}

/// `a`, `a or b`, `a, b or c`.
fn or_list<'s>(items: impl Iterator<Item = &'s str>) -> String {
    let items: Vec<&str> = items.collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}
