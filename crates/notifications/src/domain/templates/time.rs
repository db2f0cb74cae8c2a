//! How times read in a message: ISO 8601 dates and 24-hour times, every
//! session both in UTC and in the recipient's zone, with the zone's IANA name
//! and its offset at that moment (so half-hour and three-quarter-hour zones
//! and daylight saving time are visible, not guessed).

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt::Display;

use crate::domain::Session;

/// The session in the recipient's zone:
/// `2027-02-03 09:00–17:00 Asia/Makassar (UTC+08:00)`.
pub fn local_span(session: &Session, zone: Tz) -> String {
    let start = session.start.with_timezone(&zone);
    let end = session.end.with_timezone(&zone);
    let (from, to) = (offset(&start), offset(&end));
    let offsets = if from == to {
        format!("UTC{from}")
    } else {
        // The zone changed its offset during the session (daylight saving).
        format!("UTC{from} → UTC{to}")
    };
    format!("{} {} ({offsets})", span(&start, &end), zone.name())
}

/// The session in UTC: `2027-02-03 01:00–09:00 UTC`.
pub fn utc_span(session: &Session) -> String {
    format!("{} UTC", span(&session.start, &session.end))
}

/// The calendar day `t` falls on in `zone`, as `YYYY-MM-DD`.
pub fn local_date(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format("%Y-%m-%d").to_string()
}

/// `2027-02-03 09:00–17:00`, or with both dates when the span crosses
/// midnight: `2027-02-03 22:00 – 2027-02-04 02:00`.
fn span<Z: TimeZone>(start: &DateTime<Z>, end: &DateTime<Z>) -> String
where
    Z::Offset: Display,
{
    if start.date_naive() == end.date_naive() {
        format!("{}–{}", start.format("%Y-%m-%d %H:%M"), end.format("%H:%M"))
    } else {
        format!(
            "{} – {}",
            start.format("%Y-%m-%d %H:%M"),
            end.format("%Y-%m-%d %H:%M")
        )
    }
}

/// The offset from UTC as `+05:30`.
fn offset(t: &DateTime<Tz>) -> String {
    t.format("%:z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Asia, Europe};

    fn session(start: &str, end: &str) -> Session {
        Session {
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        }
    }

    #[test]
    fn makassar_is_eight_hours_ahead() {
        let s = session("2027-02-03T01:00:00Z", "2027-02-03T09:00:00Z");
        assert_eq!(
            local_span(&s, Asia::Makassar),
            "2027-02-03 09:00–17:00 Asia/Makassar (UTC+08:00)"
        );
        assert_eq!(utc_span(&s), "2027-02-03 01:00–09:00 UTC");
    }

    #[test]
    fn half_and_three_quarter_hour_zones_show_their_minutes() {
        let s = session("2027-02-03T03:30:00Z", "2027-02-03T11:30:00Z");
        assert_eq!(
            local_span(&s, Asia::Colombo),
            "2027-02-03 09:00–17:00 Asia/Colombo (UTC+05:30)"
        );
        assert_eq!(
            local_span(&s, Asia::Kathmandu),
            "2027-02-03 09:15–17:15 Asia/Kathmandu (UTC+05:45)"
        );
        let newfoundland = session("2027-02-03T12:30:00Z", "2027-02-03T13:30:00Z");
        assert_eq!(
            local_span(&newfoundland, America::St_Johns),
            "2027-02-03 09:00–10:00 America/St_Johns (UTC-03:30)"
        );
    }

    #[test]
    fn a_session_across_midnight_shows_both_dates() {
        let s = session("2027-02-03T14:00:00Z", "2027-02-03T17:00:00Z");
        assert_eq!(
            local_span(&s, Asia::Seoul),
            "2027-02-03 23:00 – 2027-02-04 02:00 Asia/Seoul (UTC+09:00)"
        );
        assert_eq!(local_date(s.start, Asia::Seoul), "2027-02-03");
        assert_eq!(local_date(s.end, Asia::Seoul), "2027-02-04");
    }

    #[test]
    fn a_change_of_offset_during_a_session_is_shown() {
        // Europe/Berlin moves from +01:00 to +02:00 at 01:00 UTC on 2027-03-28.
        let s = session("2027-03-28T00:00:00Z", "2027-03-28T02:00:00Z");
        assert_eq!(
            local_span(&s, Europe::Berlin),
            "2027-03-28 01:00–04:00 Europe/Berlin (UTC+01:00 → UTC+02:00)"
        );
    }
}
