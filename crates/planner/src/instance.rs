//! The planning problem as the optimiser sees it ([`Instance`]): enquiries,
//! the candidate workshops each may attend ([`Slot`]s, with the calendar
//! already worked out by the caller), the experts, and what is already
//! planned.
//!
//! Nothing here knows about time zones, working hours or holidays: the caller
//! (scheduling's calendar rules) turns those into candidates. A slot is one
//! possible workshop or mission: its dates and format are fixed, and an
//! enquiry lists a slot among its [`Candidate`]s only when every rule that
//! concerns that city alone holds there (lead time, window, working days and
//! hours, holidays). What depends on several enquiries or experts at once is
//! the optimiser's: grouping, the programme's daily capacity, a city's
//! engagements never overlapping, experts never double-booked, monthly
//! limits, languages, support experts.

use std::collections::{BTreeMap, BTreeSet};

/// A programme day (a date in Seoul) as a day number; only differences and
/// equality matter.
pub type Day = i32;

/// A calendar month as `year * 12 + (month - 1)`: the month an assignment
/// counts against an expert's limit.
pub type Month = i32;

/// A topic, as the caller numbers them.
pub type Topic = u32;

/// Whole days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Days {
    pub first: Day,
    pub last: Day,
}

impl Days {
    pub fn new(first: Day, last: Day) -> Self {
        Self { first, last }
    }

    pub fn iter(&self) -> impl Iterator<Item = Day> + use<> {
        self.first..=self.last
    }

    pub fn overlaps(&self, other: &Days) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

/// The programme's figures the optimiser enforces (DOMAIN.md's defaults are
/// the caller's to pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Rule 5: workshops or missions on one programme day.
    pub workshops_per_day: u32,
    /// Rule 3: cities in one joint workshop...
    pub max_cities: u32,
    /// ...and participants.
    pub max_participants: u32,
    /// A joint workshop with more cities than this needs a SUPPORT expert...
    pub support_over_cities: u32,
    /// ...or with more participants than this.
    pub support_over_participants: u32,
    /// The language every city is assumed to speak ("en"); an expert still
    /// has to list it to use it.
    pub shared_language: String,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            workshops_per_day: 3,
            max_cities: 5,
            max_participants: 40,
            support_over_cities: 2,
            support_over_participants: 25,
            shared_language: "en".to_owned(),
        }
    }
}

/// One open enquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enquiry {
    pub id: String,
    pub city: String,
    /// Beneficiary cities' enquiries are served first (objective level 1).
    pub beneficiary: bool,
    pub participants: u32,
    /// Primary language subtags the city listed (the shared one need not be).
    pub languages: BTreeSet<String>,
    /// The first is the primary topic.
    pub topics: Vec<Topic>,
    /// The slots it may attend, with what each costs in lateness.
    pub options: Vec<Candidate>,
}

/// A slot an enquiry may attend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub slot: usize,
    /// Days after the enquiry's earliest possible start: the last objective
    /// level prefers earlier dates.
    pub lateness: u32,
}

/// When a workshop in a slot needs a SUPPORT expert besides its LEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportRule {
    /// Consultations and missions: a lead only.
    Never,
    /// A joint workshop: when it has more cities or participants than
    /// [`Limits`] allows with a lead alone.
    BySize,
}

/// One candidate workshop or mission: fixed dates, format and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Several enquiries may attend (a joint workshop); otherwise at most one.
    pub shared: bool,
    pub support: SupportRule,
    /// Programme days it occupies, first session to last, days between
    /// included (rules 4 and 5).
    pub span: Days,
    /// Programme days an expert assigned to it is held, travel days
    /// included: two slots whose holds share a day never share an expert.
    pub hold: Days,
    /// The month its assignments count against.
    pub month: Month,
    pub primary_topic: Topic,
    /// Experts who may lead it: they cover the primary topic and are free
    /// then, as far as anything outside the model is concerned (leave,
    /// holds the model does not decide).
    pub leads: Vec<usize>,
    /// Experts who may support it: free then; the model checks that they
    /// cover a topic of the workshop.
    pub supports: Vec<usize>,
    /// Pairs of enquiries (indices) that cannot attend it together: no
    /// session time suits both (virtual, zones too far apart).
    pub incompatible: Vec<(usize, usize)>,
}

/// One expert on the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expert {
    pub id: String,
    pub topics: BTreeSet<Topic>,
    /// Primary language subtags.
    pub languages: BTreeSet<String>,
    /// Assignments still allowed per month, after holds the model does not
    /// decide; a month absent here has the full `monthly_limit`.
    pub month_room: BTreeMap<Month, u32>,
    pub monthly_limit: u32,
    /// Assignments the expert holds outside the model (frozen, past): they
    /// count towards the load the objective evens out.
    pub fixed_load: u32,
}

impl Expert {
    /// Assignments still allowed in `month`.
    pub fn room_in(&self, month: Month) -> u32 {
        self.month_room
            .get(&month)
            .copied()
            .unwrap_or(self.monthly_limit)
    }
}

/// A workshop planned before this solve whose enquiries are in the model.
///
/// A confirmed one (staffed and announced) keeps every one of its enquiries
/// served, all together in one slot: its current one, or while it may still
/// move, one of `alternatives` (every one inside every attending city's
/// window). Each time it ends elsewhere is a move, which the objective
/// counts right after the enquiries served, so it moves only when that lets
/// more be served. One that is not confirmed carries no promise: its
/// enquiries are planned like new ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub id: String,
    /// Indices into [`Instance::enquiries`].
    pub enquiries: Vec<usize>,
    pub slot: usize,
    pub confirmed: bool,
    /// Slots it may move to; empty once it has moved as often as allowed or
    /// when frozen.
    pub alternatives: Vec<usize>,
    /// Whether it may stay in `slot`. Not when nobody could staff it there
    /// (assignment reported it unfilled): it must move to an alternative or
    /// the instance has no plan.
    pub may_stay: bool,
    /// Its team, kept when it stays: (lead, support), indices into experts.
    pub team: (Option<usize>, Option<usize>),
}

/// Occupation the model does not decide: workshops outside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fixed {
    /// Workshops per programme day.
    pub day_load: BTreeMap<Day, u32>,
    /// Programme days each city is already engaged.
    pub city_days: BTreeMap<String, BTreeSet<Day>>,
}

/// Everything one solve needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Instance {
    pub limits: Limits,
    pub enquiries: Vec<Enquiry>,
    pub slots: Vec<Slot>,
    pub experts: Vec<Expert>,
    pub current: Vec<Current>,
    pub fixed: Fixed,
}

impl Instance {
    /// Whether confirmed workshop `current` (an index into
    /// [`Self::current`]) must keep `expert` where it can: not when another
    /// confirmed workshop keeps the same expert on a day its hold shares.
    /// Assignment holds instants, this model whole days, so two virtual
    /// sessions of one expert at different hours of one day are a team the
    /// model cannot keep both of; keeping either would make the plan as it
    /// stands infeasible.
    pub fn keeps(&self, current: usize, expert: usize) -> bool {
        let this = &self.current[current];
        let hold = self.slots[this.slot].hold;
        !self.current.iter().enumerate().any(|(other, workshop)| {
            other != current
                && workshop.confirmed
                && (workshop.team.0 == Some(expert) || workshop.team.1 == Some(expert))
                && self.slots[workshop.slot].hold.overlaps(&hold)
        })
    }

    /// Enquiries (indices) that list `slot` among their options.
    pub fn listing(&self, slot: usize) -> Vec<usize> {
        (0..self.enquiries.len())
            .filter(|&e| self.enquiries[e].options.iter().any(|o| o.slot == slot))
            .collect()
    }

    /// Experts the model considers as `slot`'s SUPPORT, given the enquiries
    /// that list it: none when no size those enquiries could reach calls
    /// for one; else those free then ([`Slot::supports`]) who cover its
    /// primary topic or a topic one of them brings. Most of the model's
    /// size otherwise; the checker asks the same question of a kept support.
    pub fn support_candidates(&self, slot: usize, listing: &[usize]) -> Vec<usize> {
        let at = &self.slots[slot];
        let most_participants: u64 = listing
            .iter()
            .map(|&e| u64::from(self.enquiries[e].participants))
            .sum();
        let may_need = listing.len() > self.limits.support_over_cities as usize
            || most_participants > u64::from(self.limits.support_over_participants);
        if at.support != SupportRule::BySize || !may_need {
            return Vec::new();
        }
        at.supports
            .iter()
            .copied()
            .filter(|&x| {
                let topics = &self.experts[x].topics;
                topics.contains(&at.primary_topic)
                    || listing
                        .iter()
                        .any(|&e| self.enquiries[e].topics.iter().any(|t| topics.contains(t)))
            })
            .collect()
    }
}
