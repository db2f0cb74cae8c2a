//! An enquiry's preferred window of calendar days ([`DateWindow`]) and the
//! strict `YYYY-MM-DD` date syntax of the contract.
//!
//! A window is inclusive at both ends (the proto's `DateWindow`), so its
//! length is the number of days it covers: `end - start + 1`. "At most 365
//! days long" therefore means `end - start <= 364`: 2027-01-01..2027-12-31 is
//! allowed, 2027-01-01..2028-01-01 (366 days) is not, and a leap year's
//! whole calendar year (366 days) is one day too long.

use chrono::NaiveDate;

/// The longest window, in days covered.
pub const MAX_WINDOW_DAYS: i64 = 365;

/// Parses exactly `YYYY-MM-DD` (four-digit year, two-digit month and day) as
/// a real calendar date: `2027-02-30`, `2027-2-1` and `+2027-02-01` are refused.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let b = raw.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return None;
    }
    let year = raw[0..4].parse().ok()?;
    let month = raw[5..7].parse().ok()?;
    let day = raw[8..10].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// A window of whole days, `start` to `end` inclusive, at most
/// [`MAX_WINDOW_DAYS`] long. Whether it starts in the past depends on the day
/// it is read, so that is checked where the message is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateWindow {
    start: NaiveDate,
    end: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidWindow {
    #[error("ends before it starts")]
    EndBeforeStart,
    #[error("covers {days} days; at most {MAX_WINDOW_DAYS} are allowed")]
    TooLong { days: i64 },
}

impl DateWindow {
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Self, InvalidWindow> {
        if end < start {
            return Err(InvalidWindow::EndBeforeStart);
        }
        let days = Self::covered_days(start, end);
        if days > MAX_WINDOW_DAYS {
            return Err(InvalidWindow::TooLong { days });
        }
        Ok(Self { start, end })
    }

    fn covered_days(start: NaiveDate, end: NaiveDate) -> i64 {
        (end - start).num_days() + 1
    }

    pub fn start(&self) -> NaiveDate {
        self.start
    }

    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// How many calendar days the window covers (at least 1).
    pub fn days(&self) -> i64 {
        Self::covered_days(self.start, self.end)
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        (self.start..=self.end).contains(&day)
    }

    pub fn to_proto(&self) -> contract::proto::common::v1::DateWindow {
        contract::proto::common::v1::DateWindow {
            start: self.start.format("%Y-%m-%d").to_string(),
            end: self.end.format("%Y-%m-%d").to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn only_real_dates_in_the_exact_contract_syntax_parse() {
        assert_eq!(
            parse_date("2027-02-28"),
            NaiveDate::from_ymd_opt(2027, 2, 28)
        );
        assert!(parse_date("2028-02-29").is_some());
        for raw in [
            "2027-02-29",
            "2027-02-30",
            "2027-13-01",
            "2027-00-10",
            "2027-2-1",
            "27-02-01",
            "+2027-02-01",
            "2027/02/01",
            "2027-02-01T00:00:00Z",
            "２０２７-02-01",
            "",
        ] {
            assert_eq!(parse_date(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn a_window_of_one_day_is_allowed() {
        let w = DateWindow::new(day("2027-03-01"), day("2027-03-01")).unwrap();
        assert_eq!(w.days(), 1);
        assert!(w.contains(day("2027-03-01")));
    }

    #[test]
    fn a_window_that_ends_before_it_starts_is_refused() {
        assert_eq!(
            DateWindow::new(day("2027-03-02"), day("2027-03-01")),
            Err(InvalidWindow::EndBeforeStart)
        );
    }

    #[test]
    fn a_window_covers_at_most_three_hundred_sixty_five_days_counting_both_ends() {
        let w = DateWindow::new(day("2027-01-01"), day("2027-12-31")).unwrap();
        assert_eq!(w.days(), 365);
        assert_eq!(
            DateWindow::new(day("2027-01-01"), day("2028-01-01")),
            Err(InvalidWindow::TooLong { days: 366 })
        );
        assert_eq!(
            DateWindow::new(day("2028-01-01"), day("2028-12-31")),
            Err(InvalidWindow::TooLong { days: 366 })
        );
    }

    #[test]
    fn a_window_is_written_back_in_the_contract_syntax() {
        let w = DateWindow::new(day("2027-02-01"), day("2027-03-31")).unwrap();
        let proto = w.to_proto();
        assert_eq!(
            (proto.start.as_str(), proto.end.as_str()),
            ("2027-02-01", "2027-03-31")
        );
    }
}
