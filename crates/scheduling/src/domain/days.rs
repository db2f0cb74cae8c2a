//! Days and sessions: the programme's calendar ([`programme_day`]), spans of
//! whole programme days ([`DaySpan`]), working days, and [`Session`]s.
//!
//! Two calendars meet here. A city's window and working days are read in its
//! own local time. Rules 4 and 5 (overlap and the per-day limit) need one
//! calendar every workshop and every service agrees on: the programme's,
//! which is Seoul's, where the programme is run and the experts work. For the
//! programme's cities (UTC+5 to UTC+9) a session during working hours has the
//! same date in both.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// The zone of the programme's calendar: the day a session belongs to for
/// rules 4 and 5. Fixed, not configurable, so that every service and every
/// stored span counts days the same way.
pub const PROGRAMME_ZONE: Tz = chrono_tz::Asia::Seoul;

/// The programme day an instant falls on: its date in Seoul
/// ([`PROGRAMME_ZONE`]).
pub fn programme_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&PROGRAMME_ZONE).date_naive()
}

/// Monday to Friday. Public holidays are a calendar's, per country
/// ([`super::Calendar::is_holiday`]): the planner's searches and checks add
/// them (rule 8).
pub fn is_working_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The first working day strictly after `day`.
pub fn next_working_day(day: NaiveDate) -> Option<NaiveDate> {
    let mut next = day.succ_opt()?;
    while !is_working_day(next) {
        next = next.succ_opt()?;
    }
    Some(next)
}

/// `count` consecutive days on which `open` holds, starting on `first`
/// (itself open), skipping the others: with `open` a working day that is no
/// public holiday, a Friday holiday makes Thursday, Monday consecutive, as a
/// weekend does. Gives up after a year of closed days.
pub(crate) fn consecutive_open_days(
    first: NaiveDate,
    count: u32,
    open: impl Fn(NaiveDate) -> bool,
) -> Option<Vec<NaiveDate>> {
    if !open(first) {
        return None;
    }
    let mut days = vec![first];
    for _ in 1..count.max(1) {
        let mut next = days.last()?.succ_opt()?;
        let mut skipped = 0;
        while !open(next) {
            next = next.succ_opt()?;
            skipped += 1;
            if skipped > 366 {
                return None;
            }
        }
        days.push(next);
    }
    Some(days)
}

/// The instant `day` at `time` in `zone`: the earlier one when the clock
/// goes back, none when that time does not exist on that day (a DST gap).
pub(crate) fn at_local(zone: Tz, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&day.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The date of an instant in `zone`.
pub(crate) fn local_date(zone: Tz, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&zone).date_naive()
}

/// Whole days, `first` to `last` inclusive. An inverted span
/// (`first > last`) covers no day and overlaps nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DaySpan {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl DaySpan {
    pub fn new(first: NaiveDate, last: NaiveDate) -> Self {
        Self { first, last }
    }

    /// A span of one day.
    pub fn day(day: NaiveDate) -> Self {
        Self::new(day, day)
    }

    pub fn is_empty(&self) -> bool {
        self.first > self.last
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        (self.first..=self.last).contains(&day)
    }

    /// Whether the two spans share at least one day.
    pub fn overlaps(&self, other: &DaySpan) -> bool {
        !self.is_empty()
            && !other.is_empty()
            && self.first <= other.last
            && other.first <= self.last
    }

    /// Every day of the span in order, weekends included.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let last = self.last;
        self.first.iter_days().take_while(move |d| *d <= last)
    }

    /// The smallest span covering both.
    pub fn union(&self, other: &DaySpan) -> DaySpan {
        if self.is_empty() {
            return *other;
        }
        if other.is_empty() {
            return *self;
        }
        DaySpan::new(self.first.min(other.first), self.last.max(other.last))
    }
}

/// One session of a workshop or mission, in UTC; `end` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Session {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Session {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self { start, end }
    }

    /// The last instant inside the session (`end` is not), so that a session
    /// ending at midnight does not claim the next day.
    pub fn last_instant(&self) -> DateTime<Utc> {
        if self.end > self.start {
            self.end - Duration::seconds(1)
        } else {
            self.start
        }
    }

    /// The programme days the session touches: normally one.
    pub fn programme_days(&self) -> DaySpan {
        DaySpan::new(
            programme_day(self.start),
            programme_day(self.last_instant()),
        )
    }
}

/// The programme days from the first session's start to the last session's
/// end, inclusive: what a workshop occupies for rules 4 and 5, days between
/// sessions (a weekend inside a Friday-to-Monday workshop) included. `None`
/// without sessions.
pub fn span_of(sessions: &[Session]) -> Option<DaySpan> {
    sessions
        .iter()
        .map(Session::programme_days)
        .reduce(|a, b| a.union(&b))
}
