//! The search for the earliest feasible sessions of one workshop layout
//! ([`Shape`]) for a set of cities ([`Search`]).
//!
//! Candidate first days are walked in order, in the calendar the sessions are
//! laid out in (the host's for in-person, the experts' for virtual), across
//! the cities' common window and a day either side (zones differ by hours).
//! For each, sessions are *proposed* from the layout and then *verified*
//! against every rule with the same per-city tests joining uses, so a
//! proposal can only be too cautious, never wrong. Each candidate costs
//! O(days × cities + log n): windows are at most a year, so a search is a few
//! hundred candidates.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::attendee::{Attendee, within_hours};
use super::calendar::{Busy, Calendar};
use super::days::{
    DaySpan, Session, at_local, consecutive_open_days, is_working_day, local_date, span_of,
};
use super::rules::Rules;

/// A stretch of time, start included, end excluded.
type Interval = (DateTime<Utc>, DateTime<Utc>);

/// How a workshop's sessions are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `days` consecutive working days in `zone`, each day the working hours
    /// there.
    InPerson { zone: Tz, days: u32 },
    /// `days` consecutive working days in the experts' zone, one session of
    /// `length` each day at the same clock time there.
    Virtual { days: u32, length: Duration },
}

impl Shape {
    fn days(&self) -> u32 {
        match self {
            Shape::InPerson { days, .. } | Shape::Virtual { days, .. } => (*days).max(1),
        }
    }

    /// The zone whose calendar candidate days are walked in.
    fn zone(&self, rules: &Rules) -> Tz {
        match self {
            Shape::InPerson { zone, .. } => *zone,
            Shape::Virtual { .. } => rules.experts_zone,
        }
    }
}

/// Why candidates were turned down, gathered to tell the city what it could
/// change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Blockers {
    /// Before the lead time (rule 1).
    pub too_soon: bool,
    /// Runs past a window's end (rule 2).
    pub outside_window: bool,
    /// No common working hours (rule 2, virtual).
    pub no_common_hours: bool,
    /// A city's other engagement (rule 4).
    pub engaged: bool,
    /// A day already at the programme's limit (rule 5).
    pub full: bool,
    /// A public holiday of a country concerned (rule 8).
    pub holiday: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocker {
    TooSoon,
    OutsideWindow,
    NoCommonHours,
    Engaged,
    Full,
    Holiday,
    /// Not after the day the search must pass (not a reason to tell anyone).
    NotLater,
}

impl Blockers {
    fn note(&mut self, blocker: Blocker) {
        match blocker {
            Blocker::TooSoon => self.too_soon = true,
            Blocker::OutsideWindow => self.outside_window = true,
            Blocker::NoCommonHours => self.no_common_hours = true,
            Blocker::Engaged => self.engaged = true,
            Blocker::Full => self.full = true,
            Blocker::Holiday => self.holiday = true,
            Blocker::NotLater => {}
        }
    }
}

/// One search: a layout, the cities that must all be able to attend, and what
/// is already planned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Search<'a> {
    pub shape: Shape,
    pub attendees: &'a [Attendee],
    pub calendar: &'a Calendar,
    /// The engagements of every city in `attendees`.
    pub busy: &'a Busy,
    pub rules: &'a Rules,
    /// Only sessions whose span starts strictly after this programme day.
    pub after: Option<NaiveDate>,
    /// In person, the host's country: its public holidays count too (rule
    /// 8). `None` when virtual.
    pub host_country: Option<&'a str>,
}

impl Search<'_> {
    /// The earliest feasible sessions, or `None` (with the reasons noted).
    pub(crate) fn earliest(&self, blockers: &mut Blockers) -> Option<Vec<Session>> {
        let mut found = None;
        self.walk(blockers, &mut |sessions| {
            found = Some(sessions);
            false
        });
        found
    }

    /// Every feasible layout, earliest first: the optimiser's candidates
    /// (with a calendar that holds only the holidays, rules 4 and 5 are left
    /// to the model).
    pub(crate) fn all(&self) -> Vec<Vec<Session>> {
        let mut found = Vec::new();
        self.walk(&mut Blockers::default(), &mut |sessions| {
            found.push(sessions);
            true
        });
        found
    }

    /// The sessions on exactly these `days` (in the layout's zone), if every
    /// rule holds for every attendee there: for a group the optimiser put
    /// together in one slot (a virtual session's clock time depends on who
    /// attends).
    pub(crate) fn layout_on(&self, days: &[NaiveDate]) -> Option<Vec<Session>> {
        let earliest = self.earliest_start()?;
        let sessions = self.propose(days, earliest).ok()?;
        self.verify(&sessions).ok()?;
        Some(sessions)
    }

    /// Walks the candidate first days in order, handing each feasible
    /// layout to `found` while it answers `true` (go on).
    fn walk(&self, blockers: &mut Blockers, found: &mut dyn FnMut(Vec<Session>) -> bool) {
        let Some(earliest) = self.earliest_start() else {
            return;
        };
        let zone = self.shape.zone(self.rules);
        let (Some(window_start), Some(window_end)) = (
            self.attendees.iter().map(|a| a.window.start).max(),
            self.attendees.iter().map(|a| a.window.end).min(),
        ) else {
            return;
        };
        let mut first = window_start.max(local_date(zone, earliest));
        if let Some(after) = self.after {
            first = first.max(after);
        }
        // A day either side: the walking zone's date and a city's may differ.
        let (Some(from), Some(to)) = (first.pred_opt(), window_end.succ_opt()) else {
            return;
        };
        if from > to {
            blockers.note(if local_date(zone, earliest) > window_end {
                Blocker::TooSoon
            } else {
                Blocker::OutsideWindow
            });
            return;
        }
        // Days are laid out on working days that are no public holiday of a
        // country concerned, read in the layout's zone (a cautious reading:
        // `verify` then checks each city's own date).
        let countries = self.holiday_countries();
        let open = |d: NaiveDate| {
            is_working_day(d)
                && !self
                    .calendar
                    .is_holiday_of_any(countries.iter().copied(), d)
        };
        for day in DaySpan::new(from, to).days().filter(|d| is_working_day(*d)) {
            if !open(day) {
                if (first..=window_end).contains(&day) {
                    blockers.note(Blocker::Holiday);
                }
                continue;
            }
            let Some(days) = consecutive_open_days(day, self.shape.days(), open) else {
                continue;
            };
            match self
                .propose(&days, earliest)
                .and_then(|sessions| self.verify(&sessions).map(|()| sessions))
            {
                Ok(sessions) => {
                    if !found(sessions) {
                        return;
                    }
                }
                Err(blocker) => {
                    blockers.note(blocker);
                    // A run stretched past a holiday counts it as in the way.
                    if let (Some(a), Some(b)) = (days.first(), days.last())
                        && DaySpan::new(*a, *b)
                            .days()
                            .any(|d| is_working_day(d) && !open(d))
                    {
                        blockers.note(Blocker::Holiday);
                    }
                }
            }
        }
    }

    /// The countries whose holidays every session avoids: the experts', the
    /// host's (in person) and each attending city's (unknown ones left out).
    fn holiday_countries(&self) -> Vec<&str> {
        let mut countries: Vec<&str> = [self.rules.experts_country.as_str()]
            .into_iter()
            .chain(self.host_country)
            .chain(self.attendees.iter().map(|a| a.country.as_str()))
            .filter(|c| !c.is_empty())
            .collect();
        countries.sort_unstable();
        countries.dedup();
        countries
    }

    /// Whether a session falls on a public holiday (rule 8): in person, the
    /// host's date is no holiday of the host's country, the experts' or any
    /// attending city's (each city's own date too); virtual, the experts'
    /// date is none of theirs and each city's date none of its country's.
    fn on_holiday(&self, sessions: &[Session]) -> bool {
        let (calendar, rules) = (self.calendar, self.rules);
        sessions.iter().any(|s| {
            let (zone, host_zone) = match self.shape {
                Shape::InPerson { zone, .. } => (zone, Some(zone)),
                Shape::Virtual { .. } => (rules.experts_zone, None),
            };
            let dates = [
                local_date(zone, s.start),
                local_date(zone, s.last_instant()),
            ];
            dates.iter().any(|d| {
                calendar.is_holiday(&rules.experts_country, *d)
                    || self
                        .host_country
                        .is_some_and(|c| calendar.is_holiday(c, *d))
            }) || self
                .attendees
                .iter()
                .any(|a| a.holiday_during(s, host_zone, calendar).is_some())
        })
    }

    /// The latest of the cities' earliest starts.
    fn earliest_start(&self) -> Option<DateTime<Utc>> {
        self.attendees
            .iter()
            .map(|a| a.earliest_start(self.rules))
            .try_fold(DateTime::<Utc>::MIN_UTC, |latest, e| Some(latest.max(e?)))
    }

    fn propose(
        &self,
        days: &[NaiveDate],
        earliest: DateTime<Utc>,
    ) -> Result<Vec<Session>, Blocker> {
        match self.shape {
            Shape::InPerson { zone, .. } => {
                let (open, close) = self.rules.working_hours;
                days.iter()
                    .map(
                        |day| match (at_local(zone, *day, open), at_local(zone, *day, close)) {
                            (Some(start), Some(end)) => Ok(Session::new(start, end)),
                            _ => Err(Blocker::NoCommonHours),
                        },
                    )
                    .collect()
            }
            Shape::Virtual { length, .. } => self.propose_virtual(days, length, earliest),
        }
    }

    /// The earliest clock time in the experts' zone, on the slot step, at
    /// which a session of `length` fits every city's working hours and the
    /// experts' on every one of `days`, and (on the first) the lead time.
    fn propose_virtual(
        &self,
        days: &[NaiveDate],
        length: Duration,
        earliest: DateTime<Utc>,
    ) -> Result<Vec<Session>, Blocker> {
        let zone = self.rules.experts_zone;
        let mut clock: Vec<(i64, i64)> = vec![(i64::MIN, i64::MAX)];
        for day in days {
            let hours = self.common_hours(*day)?;
            let on_clock: Vec<(i64, i64)> = hours
                .iter()
                .map(|(from, to)| {
                    (
                        ceil_seconds(*from - midnight(zone, *day)),
                        (*to - midnight(zone, *day)).num_seconds(),
                    )
                })
                .collect();
            clock = intersect(&clock, &on_clock);
            if clock.is_empty() {
                return Err(Blocker::NoCommonHours);
            }
        }
        let first_day = *days.first().ok_or(Blocker::NoCommonHours)?;
        let not_before = ceil_seconds(earliest - midnight(zone, first_day));
        let step = self.rules.slot_step.num_seconds().max(1);
        let length_seconds = length.num_seconds();
        let start = clock
            .iter()
            .find_map(|(from, to)| {
                let start = round_up((*from).max(not_before), step);
                (start.saturating_add(length_seconds) <= *to).then_some(start)
            })
            .ok_or(Blocker::TooSoon)?;
        let time = u32::try_from(start)
            .ok()
            .and_then(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, 0))
            .ok_or(Blocker::NoCommonHours)?;
        days.iter()
            .map(|day| {
                let start = at_local(zone, *day, time).ok_or(Blocker::NoCommonHours)?;
                Ok(Session::new(start, start + length))
            })
            .collect()
    }

    /// The instants of `day` (a day in the experts' zone) inside the
    /// experts' hours and every city's working hours, on that city's working
    /// days inside its window; sorted, disjoint.
    fn common_hours(&self, day: NaiveDate) -> Result<Vec<Interval>, Blocker> {
        let (open, close) = self.rules.experts_hours;
        let zone = self.rules.experts_zone;
        let (Some(from), Some(to)) = (at_local(zone, day, open), at_local(zone, day, close)) else {
            return Err(Blocker::NoCommonHours);
        };
        let mut common = vec![(from, to)];
        for attendee in self.attendees {
            let (open, close) = self.rules.working_hours;
            let tz = attendee.time_zone;
            let mut outside_window = false;
            let own: Vec<_> = DaySpan::new(local_date(tz, from), local_date(tz, to))
                .days()
                .filter(|d| is_working_day(*d))
                .filter(|d| {
                    let inside = attendee.window.contains(*d);
                    outside_window |= !inside;
                    inside
                })
                .filter_map(|d| Some((at_local(tz, d, open)?, at_local(tz, d, close)?)))
                .collect();
            common = intersect(&common, &own);
            if common.is_empty() {
                return Err(if outside_window {
                    Blocker::OutsideWindow
                } else {
                    Blocker::NoCommonHours
                });
            }
        }
        Ok(common)
    }

    /// Every rule, checked on the sessions as they would be stored.
    fn verify(&self, sessions: &[Session]) -> Result<(), Blocker> {
        let rules = self.rules;
        let first = sessions.first().ok_or(Blocker::NoCommonHours)?;
        if !self
            .attendees
            .iter()
            .all(|a| a.lead_time_holds(first, rules))
        {
            return Err(Blocker::TooSoon);
        }
        if !self
            .attendees
            .iter()
            .all(|a| sessions.iter().all(|s| a.window_holds(s)))
        {
            return Err(Blocker::OutsideWindow);
        }
        let hours_hold = match self.shape {
            Shape::InPerson { zone, .. } => sessions
                .iter()
                .all(|s| within_hours(zone, rules.working_hours, s)),
            Shape::Virtual { .. } => sessions.iter().all(|s| {
                within_hours(rules.experts_zone, rules.experts_hours, s)
                    && self
                        .attendees
                        .iter()
                        .all(|a| a.working_hours_hold(s, rules))
            }),
        };
        if !hours_hold {
            return Err(Blocker::NoCommonHours);
        }
        if self.on_holiday(sessions) {
            return Err(Blocker::Holiday);
        }
        let span = span_of(sessions).ok_or(Blocker::NoCommonHours)?;
        if self.after.is_some_and(|after| span.first <= after) {
            return Err(Blocker::NotLater);
        }
        if self.busy.overlaps(&span) {
            return Err(Blocker::Engaged);
        }
        if !self.calendar.has_room(&span, rules) {
            return Err(Blocker::Full);
        }
        Ok(())
    }
}

/// Midnight starting `day` in `zone` (its first instant, if midnight itself
/// is skipped by DST): the origin clock times are measured from.
fn midnight(zone: Tz, day: NaiveDate) -> DateTime<Utc> {
    at_local(zone, day, NaiveTime::MIN)
        .or_else(|| at_local(zone, day, NaiveTime::from_hms_opt(1, 0, 0)?))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Whole seconds, rounded up.
fn ceil_seconds(d: Duration) -> i64 {
    let whole = d.num_seconds();
    if d > Duration::seconds(whole) {
        whole.saturating_add(1)
    } else {
        whole
    }
}

/// The first multiple of `step` at or after `seconds`.
fn round_up(seconds: i64, step: i64) -> i64 {
    let rest = seconds.rem_euclid(step);
    if rest == 0 {
        seconds
    } else {
        seconds.saturating_add(step - rest)
    }
}

/// The intersection of two sorted lists of disjoint intervals.
fn intersect<T: Ord + Copy>(a: &[(T, T)], b: &[(T, T)]) -> Vec<(T, T)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let from = a[i].0.max(b[j].0);
        let to = a[i].1.min(b[j].1);
        if from < to {
            out.push((from, to));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_round_up_to_the_step() {
        assert_eq!(round_up(45_000, 900), 45_000);
        assert_eq!(round_up(45_001, 900), 45_900);
        assert_eq!(round_up(-1, 900), 0);
    }

    #[test]
    fn intervals_intersect_pairwise() {
        assert_eq!(
            intersect(&[(0, 10), (20, 30)], &[(5, 25)]),
            vec![(5, 10), (20, 25)]
        );
        assert_eq!(intersect(&[(0, 10)], &[(10, 20)]), vec![]);
    }
}
