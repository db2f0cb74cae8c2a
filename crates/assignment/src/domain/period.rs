//! [`Period`]: the stretch of time an assignment holds an expert, half-open
//! `[start, end)` like the `tstzrange '[)'` the database's exclusion
//! constraint compares, so the matcher and the database agree on what
//! "overlap" means (back-to-back periods do not overlap; empty ones overlap
//! nothing).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt;

/// `[start, end)`, with `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a period cannot end ({end}) before it starts ({start})")]
pub struct InvalidPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Period {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, InvalidPeriod> {
        if end < start {
            Err(InvalidPeriod { start, end })
        } else {
            Ok(Self { start, end })
        }
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whether some instant lies in both (Postgres `&&` on `'[)'` ranges):
    /// an empty period overlaps nothing.
    pub fn overlaps(&self, other: &Self) -> bool {
        !self.is_empty() && !other.is_empty() && self.start < other.end && other.start < self.end
    }

    /// The same period with `by` added on both sides (saturating at the ends
    /// of time). A negative `by` counts as zero, so the result is never inverted.
    #[must_use]
    pub fn widened(&self, by: Duration) -> Self {
        let by = by.max(Duration::zero());
        Self {
            start: self
                .start
                .checked_sub_signed(by)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            end: self
                .end
                .checked_add_signed(by)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// The whole local days `first..=last` in `zone`, as instants: from the
    /// first day's start to the start of the day after the last. `None` when
    /// `last < first`.
    pub fn local_days(zone: Tz, first: NaiveDate, last: NaiveDate) -> Option<Self> {
        if last < first {
            return None;
        }
        let end = match last.succ_opt() {
            Some(next) => start_of_day(zone, next),
            None => DateTime::<Utc>::MAX_UTC,
        };
        Self::new(start_of_day(zone, first), end).ok()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to {}",
            self.start.format("%Y-%m-%d %H:%M UTC"),
            self.end.format("%Y-%m-%d %H:%M UTC")
        )
    }
}

/// When `day` begins in `zone`. Where a daylight-saving jump skips local
/// midnight the day begins at its first local time that exists; where
/// midnight happens twice, at the first.
fn start_of_day(zone: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    // Gaps are at most a few hours; probe forward in quarter hours.
    (0..=24 * 4)
        .find_map(|quarter| {
            zone.from_local_datetime(&(midnight + Duration::minutes(15 * quarter)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn period(a: &str, b: &str) -> Period {
        Period::new(at(a), at(b)).unwrap()
    }

    #[test]
    fn periods_are_half_open_so_back_to_back_ones_do_not_overlap() {
        let morning = period("2027-02-01T00:00:00Z", "2027-02-01T12:00:00Z");
        let afternoon = period("2027-02-01T12:00:00Z", "2027-02-01T18:00:00Z");
        let noon_hour = period("2027-02-01T11:00:00Z", "2027-02-01T13:00:00Z");
        assert!(!morning.overlaps(&afternoon));
        assert!(!afternoon.overlaps(&morning));
        assert!(noon_hour.overlaps(&morning) && noon_hour.overlaps(&afternoon));
    }

    #[test]
    fn an_empty_period_overlaps_nothing_not_even_itself() {
        let empty = period("2027-02-01T12:00:00Z", "2027-02-01T12:00:00Z");
        let day = period("2027-02-01T00:00:00Z", "2027-02-02T00:00:00Z");
        assert!(empty.is_empty());
        assert!(!empty.overlaps(&day) && !day.overlaps(&empty) && !empty.overlaps(&empty));
    }

    #[test]
    fn an_inverted_period_is_refused() {
        assert!(Period::new(at("2027-02-02T00:00:00Z"), at("2027-02-01T00:00:00Z")).is_err());
    }

    #[test]
    fn local_days_run_from_local_midnight_to_the_midnight_after() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let seoul = Period::local_days(Tz::Asia__Seoul, d("2027-02-01"), d("2027-02-02")).unwrap();
        assert_eq!(seoul.start(), at("2027-01-31T15:00:00Z"));
        assert_eq!(seoul.end(), at("2027-02-02T15:00:00Z"));
        assert!(Period::local_days(Tz::Asia__Seoul, d("2027-02-02"), d("2027-02-01")).is_none());
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_by_daylight_saving_starts_when_it_can() {
        // Santiago skipped 2022-09-11 00:00-01:00 local time.
        let d = "2022-09-11".parse::<NaiveDate>().unwrap();
        let day = Period::local_days(Tz::America__Santiago, d, d).unwrap();
        assert_eq!(day.start(), at("2022-09-11T04:00:00Z"));
    }

    #[test]
    fn widening_adds_on_both_sides_and_never_inverts() {
        let p = period("2027-02-01T09:00:00Z", "2027-02-01T17:00:00Z");
        let wide = p.widened(Duration::days(1));
        assert_eq!(wide.start(), at("2027-01-31T09:00:00Z"));
        assert_eq!(wide.end(), at("2027-02-02T17:00:00Z"));
        assert_eq!(p.widened(Duration::hours(-100)), p);
    }
}
