//! What a workshop version asks of the roster ([`Need`]), the tunable
//! [`Rules`], and what follows from a need alone: the [`Period`] it holds an
//! expert for, the month it counts against, and the roles it needs.

use chrono::{DateTime, Datelike, Duration, Utc};
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use std::collections::BTreeSet;

use super::period::Period;

/// One version of a workshop or mission, as scheduling described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub workshop_id: String,
    /// Carried through to the events; the matcher itself only compares
    /// the new need with what the workshop already has.
    pub version: u32,
    pub kind: EnquiryKind,
    /// `IN_PERSON` or `VIRTUAL`; anything else is treated as in person
    /// (the cautious reading: it holds the travel days).
    pub format: Format,
    /// The first is the primary topic.
    pub topics: Vec<Topic>,
    /// The participating cities' languages; English is accepted whether
    /// listed or not (see [`Rules::always_shared_language`]).
    pub languages: BTreeSet<String>,
    /// The participating cities' codes.
    pub cities: Vec<String>,
    /// Participants over all cities.
    pub participants: u32,
    /// In UTC, each `(start, end)`. Scheduling always sends at least one.
    pub sessions: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Need {
    pub fn primary_topic(&self) -> Option<Topic> {
        self.topics.first().copied()
    }

    fn first_start(&self) -> Option<DateTime<Utc>> {
        self.sessions.iter().map(|&(start, _)| start).min()
    }

    fn distinct_cities(&self) -> usize {
        self.cities.iter().collect::<BTreeSet<_>>().len()
    }
}

/// The programme's defaults for assignment, each changeable by configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// A language every workshop accepts; it still has to be one the expert speaks.
    pub always_shared_language: String,
    /// A joint workshop with more cities than this needs a SUPPORT expert.
    pub support_over_cities: u32,
    /// A joint workshop with more participants than this needs a SUPPORT expert.
    pub support_over_participants: u32,
    /// Held before and after anything in person, for the journey.
    pub travel: Duration,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            always_shared_language: "en".to_owned(),
            support_over_cities: 2,
            support_over_participants: 25,
            travel: Duration::days(1),
        }
    }
}

impl Rules {
    /// From the first session's start to the last session's end, widened by
    /// [`Self::travel`] on both sides unless the need is `VIRTUAL`.
    ///
    /// A need without sessions (scheduling never sends one) gets the empty
    /// period at the Unix epoch, which overlaps nothing.
    pub fn period_of(&self, need: &Need) -> Period {
        let Some(start) = need.first_start() else {
            return Period::new(DateTime::UNIX_EPOCH, DateTime::UNIX_EPOCH)
                .expect("an empty period is valid");
        };
        let end = need
            .sessions
            .iter()
            .map(|&(_, end)| end)
            .max()
            .unwrap_or(start)
            .max(start);
        let held = Period::new(start, end).expect("end is at least start by construction");
        if need.format == Format::Virtual {
            held
        } else {
            held.widened(self.travel)
        }
    }

    /// `LEAD`, then `SUPPORT` when the need is a joint workshop with more
    /// than [`Self::support_over_cities`] distinct cities or more than
    /// [`Self::support_over_participants`] participants. Consultations and
    /// missions serve one city and never get a support expert (DOMAIN.md
    /// asks it of joint workshops only).
    pub fn roles_needed(&self, need: &Need) -> Vec<ExpertRole> {
        let large = u32::try_from(need.distinct_cities()).unwrap_or(u32::MAX)
            > self.support_over_cities
            || need.participants > self.support_over_participants;
        if need.kind == EnquiryKind::JointWorkshop && large {
            vec![ExpertRole::Lead, ExpertRole::Support]
        } else {
            vec![ExpertRole::Lead]
        }
    }

    pub(crate) fn needs_support(&self, need: &Need) -> bool {
        self.roles_needed(need).contains(&ExpertRole::Support)
    }
}

/// [`Rules::period_of`] with the default rules.
pub fn period_of(need: &Need) -> Period {
    Rules::default().period_of(need)
}

/// [`Rules::roles_needed`] with the default rules.
pub fn roles_needed(need: &Need) -> Vec<ExpertRole> {
    Rules::default().roles_needed(need)
}

/// The calendar month (UTC) of the first session, as `(year, month 1-12)`:
/// the month an assignment counts against an expert's limit, whole, even
/// when the workshop runs into the next month. A need without sessions
/// counts in January 1970.
pub fn month_of(need: &Need) -> (i32, u32) {
    let first = need.first_start().unwrap_or(DateTime::UNIX_EPOCH);
    (first.year(), first.month())
}
