//! Who can be sent: [`ExpertId`] and [`Expert`], the matcher's view of one
//! roster entry. Contact details are not here: an expert's email is personal
//! data and stays with the roster entry ([`crate::roster::RosterEntry`]), so
//! nothing the matcher touches can leak it into a public event.

use chrono::NaiveDate;
use chrono_tz::Tz;
use contract::proto::common::v1::Topic;
use std::collections::BTreeSet;
use std::fmt;

use super::period::Period;

/// An expert's id: 2-64 characters of `a-z`, `0-9` and `-` (e.g. `kim-jiwoo`).
///
/// Public events name experts by this id, and it ends the ranking, so it is
/// kept plain and ordered byte-wise.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExpertId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expert id {0:?} must be 2-64 characters of a-z, 0-9 and '-'")]
pub struct InvalidExpertId(pub String);

impl ExpertId {
    pub const MIN_CHARS: usize = 2;
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, InvalidExpertId> {
        let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&raw.len()) && raw.chars().all(valid_char) {
            Ok(Self(raw.to_owned()))
        } else {
            // Capped, so a hostile id cannot blow up an error message.
            Err(InvalidExpertId(raw.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExpertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ExpertId {
    type Err = InvalidExpertId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for ExpertId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// One expert as the matcher sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expert {
    pub id: ExpertId,
    /// Shown in public events next to the id.
    pub display_name: String,
    pub topics: BTreeSet<Topic>,
    /// BCP 47 tags; matched on their primary subtag, so `en-GB` speaks `en`.
    pub languages: BTreeSet<String>,
    /// The expert's home zone: their unavailable dates are days here, not in UTC.
    pub time_zone: Tz,
    /// Inclusive `(first, last)` days the expert cannot work, in [`Self::time_zone`].
    /// A pair with `last < first` blocks nothing.
    pub unavailable: Vec<(NaiveDate, NaiveDate)>,
    /// Assignments that may start in one calendar month (UTC); 0 means none.
    pub monthly_limit: u32,
}

impl Expert {
    /// The limit when the roster does not say.
    pub const DEFAULT_MONTHLY_LIMIT: u32 = 4;

    /// The unavailable days as instants: from the first day's local midnight
    /// to the local midnight after the last day.
    pub fn unavailable_periods(&self) -> impl Iterator<Item = Period> + '_ {
        self.unavailable
            .iter()
            .filter_map(|&(first, last)| Period::local_days(self.time_zone, first, last))
    }

    /// Whether the expert speaks a language whose primary subtag is in
    /// `primaries` (lower-case primary subtags, see [`primary_subtag`]).
    pub fn speaks_any(&self, primaries: &BTreeSet<String>) -> bool {
        self.languages
            .iter()
            .any(|tag| primaries.contains(&primary_subtag(tag)))
    }
}

/// The primary language subtag of a BCP 47 tag, lower-cased: `zh` of
/// `zh-Hant-TW`. Two people share a language when these are equal; regional
/// variants are mutually understood well enough for a workshop.
pub fn primary_subtag(tag: &str) -> String {
    tag.split('-').next().unwrap_or(tag).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_style_ids_parse() {
        for id in ["kim-jiwoo", "e1", "park-2", &"a".repeat(64)] {
            assert_eq!(ExpertId::parse(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn ids_outside_the_alphabet_or_length_are_refused() {
        for id in [
            "",
            "a",
            "Kim",
            "kim_jiwoo",
            "kim jiwoo",
            "kim.jiwoo",
            "김",
            &"a".repeat(65),
        ] {
            assert!(ExpertId::parse(id).is_err(), "{id:?} accepted");
        }
    }

    #[test]
    fn a_refused_id_is_capped_in_the_message() {
        let err = ExpertId::parse(&"X".repeat(10_000)).unwrap_err();
        assert!(err.to_string().len() < 200);
    }

    #[test]
    fn languages_match_on_their_primary_subtag() {
        let expert = Expert {
            id: ExpertId::parse("e1").unwrap(),
            display_name: "E".into(),
            topics: BTreeSet::new(),
            languages: ["en-GB".to_owned(), "ko".to_owned()].into(),
            time_zone: Tz::Asia__Seoul,
            unavailable: vec![],
            monthly_limit: 4,
        };
        assert!(expert.speaks_any(&["en".to_owned()].into()));
        assert!(expert.speaks_any(&["ko".to_owned(), "id".to_owned()].into()));
        assert!(!expert.speaks_any(&["id".to_owned()].into()));
        assert_eq!(primary_subtag("ZH-Hant-TW"), "zh");
    }
}
