//! What is already planned around a request ([`Calendar`]), and the two
//! questions the planner asks it for every candidate date: is one of the
//! cities already engaged then (rule 4, `Busy`), and is any of those days
//! already full (rule 5)? Both answer in O(log n).

use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};

use super::days::DaySpan;
use super::rules::Rules;
use super::workshop::PlannedWorkshop;

/// What the store loaded around the request's window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    /// Every active workshop with a session in the window: the candidates for
    /// joining. Their spans also count as engagements of the cities in them,
    /// so the store need not repeat those in `busy`.
    pub workshops: Vec<PlannedWorkshop>,
    /// Each city's engagements (spans of programme days, inclusive), at least
    /// for the cities concerned.
    pub busy: BTreeMap<String, Vec<DaySpan>>,
    /// How many active workshops and missions occupy each programme day, every
    /// day of their spans counted (weekends inside a span too): see
    /// [`Calendar::record`] for the exact rule.
    pub day_load: BTreeMap<NaiveDate, u32>,
    /// Public holidays by country (ISO 3166-1 alpha-2), at least of the
    /// countries concerned (each attending city's, the host's, the experts')
    /// over the days read: no session falls on one (rule 8). A country with
    /// no entry has no holidays known.
    pub holidays: BTreeMap<String, BTreeSet<NaiveDate>>,
}

impl Calendar {
    /// The number of workshops and missions on a programme day.
    pub fn load_on(&self, day: NaiveDate) -> u32 {
        self.day_load.get(&day).copied().unwrap_or(0)
    }

    /// Whether `day` is a public holiday of `country` (never of the empty
    /// country: an enquiry whose country is unknown).
    pub fn is_holiday(&self, country: &str, day: NaiveDate) -> bool {
        !country.is_empty()
            && self
                .holidays
                .get(country)
                .is_some_and(|days| days.contains(&day))
    }

    /// Whether `day` is a public holiday of any of `countries`.
    pub fn is_holiday_of_any<'a>(
        &self,
        countries: impl IntoIterator<Item = &'a str>,
        day: NaiveDate,
    ) -> bool {
        countries.into_iter().any(|c| self.is_holiday(c, day))
    }

    /// Whether every day of `span` has room for one more (rule 5).
    pub fn has_room(&self, span: &DaySpan, rules: &Rules) -> bool {
        span.days()
            .all(|day| self.load_on(day) < rules.max_workshops_per_day)
    }

    /// Adds a workshop as the store would: one more on every day of its span
    /// (weekends inside it included). Counting load this way is the caller's
    /// side of rule 5; the store keeps `day_load` by the same rule.
    pub fn record(&mut self, workshop: PlannedWorkshop) {
        if let Some(span) = workshop.span() {
            for day in span.days() {
                *self.day_load.entry(day).or_insert(0) += 1;
            }
        }
        self.workshops.push(workshop);
    }
}

/// The engagements of a set of cities, ready for overlap queries: spans
/// sorted by first day, with the latest last day seen so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Busy {
    spans: Vec<DaySpan>,
    latest_last: Vec<NaiveDate>,
}

impl Busy {
    /// The engagements of `cities`: their `busy` entries and every workshop
    /// in the calendar that one of them attends.
    pub(crate) fn of<'a>(calendar: &Calendar, cities: impl IntoIterator<Item = &'a str>) -> Self {
        let cities: BTreeSet<&str> = cities.into_iter().collect();
        let mut spans: Vec<DaySpan> = cities
            .iter()
            .filter_map(|city| calendar.busy.get(*city))
            .flatten()
            .copied()
            .collect();
        spans.extend(
            calendar
                .workshops
                .iter()
                .filter(|w| w.attendees.iter().any(|a| cities.contains(a.city.as_str())))
                .filter_map(PlannedWorkshop::span),
        );
        spans.retain(|s| !s.is_empty());
        spans.sort_unstable();
        let latest_last = spans
            .iter()
            .scan(NaiveDate::MIN, |latest, span| {
                *latest = (*latest).max(span.last);
                Some(*latest)
            })
            .collect();
        Self { spans, latest_last }
    }

    /// Whether `span` shares a day with any engagement: among the spans that
    /// start by `span.last`, does any end on or after `span.first`?
    pub(crate) fn overlaps(&self, span: &DaySpan) -> bool {
        if span.is_empty() {
            return false;
        }
        let starting_by = self.spans.partition_point(|s| s.first <= span.last);
        starting_by > 0 && self.latest_last[starting_by - 1] >= span.first
    }
}
