//! Public holiday calendars as operators import them: an iCalendar file
//! (RFC 5545) per country, read into the days it marks ([`parse_calendar`]),
//! and the country code checked against ISO 3166-1 ([`Country::parse`]).
//! No I/O: the store writes what this returns, the planner reads the days.
//!
//! # What a file may hold
//!
//! One `VEVENT` per holiday, as governments and calendar services publish
//! them: `DTSTART;VALUE=DATE` (a date-time is read as its own date),
//! optionally `DTEND` (exclusive for a date, as RFC 5545 says: an all-day
//! event of 1 to 3 January has `DTEND;VALUE=DATE:20270104`) or a `DURATION`
//! of whole days or weeks, and `SUMMARY` as the name. Folded lines, CRLF or
//! LF line ends and escaped text are the parser's business.
//!
//! Refused, each with its line: a line that is not an iCalendar content
//! line, an unterminated or mismatched component, an event without
//! `DTSTART`, a date that does not parse, an end before the start, an event
//! longer than a year, a recurrence (`RRULE`/`RDATE`: a holiday file lists
//! each year's date, and expanding rules here would guess at years the file
//! does not cover), and a file with no events at all.
//!
//! # Parsing
//!
//! The `icalendar` crate parses (docs/holidays.md says why that crate). It
//! works on the unfolded text and, on a syntax error, names the line of the
//! component it was in; this module maps unfolded lines back to the file's
//! and, to name the offending line itself, asks the crate's own property
//! parser about each line of the file in turn.

use chrono::{Datelike, Duration, NaiveDate};
use icalendar::parser::{Component, Property, read_components, unfold};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// An ISO 3166-1 alpha-2 country code, upper case, one that the standard
/// assigns (not merely two letters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country(String);

impl Country {
    /// `code` in either case; refused unless ISO 3166-1 assigns it.
    pub fn parse(code: &str) -> Result<Self, Problem> {
        let upper = code.trim().to_ascii_uppercase();
        if rust_iso3166::from_alpha2(&upper).is_some() {
            Ok(Self(upper))
        } else {
            Err(Problem::general(format!(
                "country {code:?} is not an ISO 3166-1 alpha-2 code"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One thing wrong with an import, with the file's line (1-based) when it
/// is about one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    fn at(line: usize, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            message: message.into(),
        }
    }

    fn general(message: impl Into<String>) -> Self {
        Self {
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The problems of a refused file, in line order, one a line when shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct Problems(pub Vec<Problem>);

/// What a file marks: each day once (two events on one day give one day,
/// named by both), and the years it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayCalendar {
    /// Day → name, in date order.
    pub days: BTreeMap<NaiveDate, String>,
}

impl HolidayCalendar {
    /// The calendar years with at least one holiday: what an import replaces.
    pub fn years(&self) -> BTreeSet<i32> {
        self.days.keys().map(Datelike::year).collect()
    }
}

/// The longest event taken as a holiday: anything longer is a mistake in the
/// file (a wrong year in `DTEND`), not a holiday.
const MAX_EVENT_DAYS: i64 = 366;

/// Reads an iCalendar file into the days it marks, or every problem found.
pub fn parse_calendar(text: &str) -> Result<HolidayCalendar, Problems> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(Problems(vec![Problem::at(1, "the file is empty")]));
    }
    let lines = LineMap::of(text);
    let unfolded = unfold(text);
    let roots = match read_components(&unfolded) {
        Ok(roots) => roots,
        Err(crate_message) => {
            return Err(Problems(vec![locate_syntax_error(
                &unfolded,
                &lines,
                &crate_message,
            )]));
        }
    };
    let Some(root) = calendar_root(&roots) else {
        return Err(Problems(vec![Problem::at(
            1,
            "not an iCalendar file: it does not begin with BEGIN:VCALENDAR",
        )]));
    };

    let event_lines = EventLines::of(&unfolded);
    let mut problems = Vec::new();
    let mut days: BTreeMap<NaiveDate, String> = BTreeMap::new();
    let events = events(root);
    for (index, event) in events.iter().enumerate() {
        let Some(span) = event_lines.get(index) else {
            problems.push(Problem::general(
                "an event could not be matched to its lines",
            ));
            continue;
        };
        let place = |name: &str| lines.original(span.line_of(&unfolded, name));
        match read_event(event) {
            Ok((first, last, name)) => {
                for day in first.iter_days().take_while(|d| *d <= last) {
                    days.entry(day)
                        .and_modify(|existing| {
                            if !existing.split("; ").any(|n| n == name) {
                                existing.push_str("; ");
                                existing.push_str(&name);
                            }
                        })
                        .or_insert_with(|| name.clone());
                }
            }
            Err(EventProblem { property, message }) => {
                let line = property.map_or(lines.original(span.begin), &place);
                problems.push(Problem::at(line, message));
            }
        }
    }
    if events.is_empty() {
        problems.push(Problem::at(
            1,
            "the file has no events (VEVENT): no holidays",
        ));
    }
    if problems.is_empty() {
        Ok(HolidayCalendar { days })
    } else {
        problems.sort_by_key(|p| p.line);
        Err(Problems(problems))
    }
}

/// The file's one root component, when it is a `VCALENDAR`.
fn calendar_root<'a>(roots: &'a [Component<'a>]) -> Option<&'a Component<'a>> {
    match roots {
        [root] if root.name.as_str().eq_ignore_ascii_case("VCALENDAR") => Some(root),
        _ => None,
    }
}

/// The calendar's events in file order (nested ones too, in pre-order, as
/// [`EventLines`] counts their `BEGIN:VEVENT` lines).
fn events<'a>(root: &'a Component<'a>) -> Vec<&'a Component<'a>> {
    fn walk<'a>(components: &'a [Component<'a>], out: &mut Vec<&'a Component<'a>>) {
        for component in components {
            if component.name.as_str().eq_ignore_ascii_case("VEVENT") {
                out.push(component);
            }
            walk(&component.components, out);
        }
    }
    let mut out = Vec::new();
    walk(&root.components, &mut out);
    out
}

struct EventProblem {
    /// The property the problem is about; `None` for the event as a whole.
    property: Option<&'static str>,
    message: String,
}

impl EventProblem {
    fn on(property: &'static str, message: impl Into<String>) -> Self {
        Self {
            property: Some(property),
            message: message.into(),
        }
    }
}

/// An event's first and last day (inclusive) and its name.
fn read_event(event: &Component<'_>) -> Result<(NaiveDate, NaiveDate, String), EventProblem> {
    for recurring in ["RRULE", "RDATE"] {
        if event.find_prop(recurring).is_some() {
            return Err(EventProblem::on(
                recurring,
                format!(
                    "{recurring}: recurring events are not taken; list each year's holiday as its own event"
                ),
            ));
        }
    }
    let name = event
        .find_prop("SUMMARY")
        .map(|p| p.val.as_str().trim().to_owned())
        .unwrap_or_default();
    let Some(start) = event.find_prop("DTSTART") else {
        return Err(EventProblem {
            property: None,
            message: format!("the event {} has no DTSTART: no date", quoted(&name)),
        });
    };
    let (first, _) = date_of(start).ok_or_else(|| {
        EventProblem::on(
            "DTSTART",
            format!(
                "DTSTART {:?} is not a date (YYYYMMDD) or date-time",
                start.val.as_str()
            ),
        )
    })?;
    let last = if let Some(end) = event.find_prop("DTEND") {
        let (end_day, end_is_date) = date_of(end).ok_or_else(|| {
            EventProblem::on(
                "DTEND",
                format!(
                    "DTEND {:?} is not a date (YYYYMMDD) or date-time",
                    end.val.as_str()
                ),
            )
        })?;
        if end_day < first || (end_is_date && end_day == first) {
            return Err(EventProblem::on(
                "DTEND",
                format!("DTEND {end_day} is not after DTSTART {first}"),
            ));
        }
        // A date end is exclusive (RFC 5545 3.6.1); a date-time end is the
        // day it falls on.
        if end_is_date {
            end_day.pred_opt().unwrap_or(end_day)
        } else {
            end_day
        }
    } else if let Some(duration) = event.find_prop("DURATION") {
        let days = whole_days(duration.val.as_str()).ok_or_else(|| {
            EventProblem::on(
                "DURATION",
                format!(
                    "DURATION {:?}: only whole days or weeks (P2D, P1W) are taken",
                    duration.val.as_str()
                ),
            )
        })?;
        first + Duration::days(days - 1)
    } else {
        // RFC 5545: an all-day event without an end lasts one day; a
        // date-time one, an instant on that day.
        first
    };
    if (last - first).num_days() >= MAX_EVENT_DAYS {
        return Err(EventProblem {
            property: None,
            message: format!(
                "the event {} runs from {first} to {last}: longer than a year, not a holiday",
                quoted(&name)
            ),
        });
    }
    Ok((first, last, name))
}

fn quoted(name: &str) -> String {
    if name.is_empty() {
        "without SUMMARY".to_owned()
    } else {
        format!("{name:?}")
    }
}

/// A date property's day, and whether it was a date (not a date-time).
/// The crate reads the value by its `VALUE` parameter and form.
fn date_of(property: &Property<'_>) -> Option<(NaiveDate, bool)> {
    let owned: icalendar::Property = property.clone().into();
    let value = icalendar::DatePerhapsTime::from_property(&owned)?;
    let is_date = matches!(value, icalendar::DatePerhapsTime::Date(_));
    Some((NaiveDate::from(value), is_date))
}

/// `P<n>D` or `P<n>W` (n ≥ 1) as days: the only durations a holiday has.
fn whole_days(value: &str) -> Option<i64> {
    let rest = value.trim().strip_prefix('+').unwrap_or(value.trim());
    let rest = rest.strip_prefix('P')?;
    let (number, unit) = rest.split_at(rest.len().checked_sub(1)?);
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n >= 1 && *n <= MAX_EVENT_DAYS)?;
    match unit {
        "D" => Some(n),
        "W" => Some(n * 7),
        _ => None,
    }
}

/// Which line of the file each line of the unfolded text began on: folding
/// joins a line that starts with a space or tab to the one before it, as
/// `icalendar::parser::unfold` does.
struct LineMap {
    /// Index: unfolded line - 1; value: the file's line.
    starts: Vec<usize>,
}

impl LineMap {
    fn of(text: &str) -> Self {
        let mut starts = Vec::new();
        for (index, line) in text.split('\n').enumerate() {
            if index == 0 || !(line.starts_with(' ') || line.starts_with('\t')) {
                starts.push(index + 1);
            }
        }
        Self { starts }
    }

    /// The file's line of unfolded line `n` (1-based).
    fn original(&self, n: usize) -> usize {
        n.checked_sub(1)
            .and_then(|i| self.starts.get(i))
            .copied()
            .unwrap_or(n)
    }
}

/// The unfolded lines of each `BEGIN:VEVENT` … `END:VEVENT`, in file order.
struct EventLines {
    spans: Vec<LineSpan>,
}

#[derive(Clone, Copy)]
struct LineSpan {
    /// Unfolded line numbers, 1-based, of `BEGIN:VEVENT` and `END:VEVENT`.
    begin: usize,
    end: usize,
}

impl LineSpan {
    /// The first line in the event whose property name is `name` (the
    /// event's first line when there is none).
    fn line_of(&self, unfolded: &str, name: &str) -> usize {
        unfolded
            .lines()
            .enumerate()
            .skip(self.begin)
            .take(self.end.saturating_sub(self.begin))
            .find(|(_, line)| property_name(line).eq_ignore_ascii_case(name))
            .map_or(self.begin, |(i, _)| i + 1)
    }
}

/// The name part of a content line: up to the first `;` or `:`.
fn property_name(line: &str) -> &str {
    line.split([';', ':']).next().unwrap_or("").trim()
}

impl EventLines {
    fn of(unfolded: &str) -> Self {
        let mut spans = Vec::new();
        let mut open: Option<usize> = None;
        for (index, line) in unfolded.lines().enumerate() {
            let line = line.trim_end();
            if line.eq_ignore_ascii_case("BEGIN:VEVENT") {
                open = Some(index + 1);
            } else if line.eq_ignore_ascii_case("END:VEVENT")
                && let Some(begin) = open.take()
            {
                spans.push(LineSpan {
                    begin,
                    end: index + 1,
                });
            }
        }
        Self { spans }
    }

    fn get(&self, index: usize) -> Option<LineSpan> {
        self.spans.get(index).copied()
    }
}

/// The line a syntax error is on. The crate's parser names the component
/// it was in; the offending line is the first one its property parser
/// refuses (a component's own `BEGIN`/`END` lines are not properties), or,
/// when every line is a property, the first `BEGIN`/`END` that does not
/// match.
fn locate_syntax_error(unfolded: &str, lines: &LineMap, crate_message: &str) -> Problem {
    let mut stack: Vec<(String, usize)> = Vec::new();
    for (index, raw) in unfolded.lines().enumerate() {
        let n = index + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let upper = line.to_ascii_uppercase();
        if let Some(name) = upper.strip_prefix("BEGIN:") {
            stack.push((name.trim().to_owned(), n));
            continue;
        }
        if let Some(name) = upper.strip_prefix("END:") {
            match stack.pop() {
                Some((open, _)) if open == name.trim() => continue,
                Some((open, at)) => {
                    return Problem::at(
                        lines.original(n),
                        format!(
                            "END:{} where END:{open} was expected (BEGIN:{open} on line {})",
                            name.trim(),
                            lines.original(at)
                        ),
                    );
                }
                None => {
                    return Problem::at(
                        lines.original(n),
                        format!("END:{} without a BEGIN", name.trim()),
                    );
                }
            }
        }
        if Property::try_from(line).is_err() || !line.contains(':') {
            return Problem::at(
                lines.original(n),
                format!(
                    "not an iCalendar content line (NAME:value): {:?}",
                    shorten(line)
                ),
            );
        }
    }
    if let Some((open, at)) = stack.pop() {
        return Problem::at(
            lines.original(at),
            format!("BEGIN:{open} is never closed (no END:{open})"),
        );
    }
    // Nothing found line by line: give the crate's own words, first line.
    Problem::at(
        1,
        format!(
            "not a valid iCalendar file: {}",
            crate_message.lines().take(2).collect::<Vec<_>>().join(" ")
        ),
    )
}

fn shorten(line: &str) -> String {
    if line.chars().count() > 60 {
        let mut short: String = line.chars().take(60).collect();
        short.push('…');
        short
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    /// A calendar of `events` (each its content lines), CRLF-ended.
    fn calendar(events: &[&[&str]]) -> String {
        let mut lines = vec!["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//test//EN"];
        for event in events {
            lines.push("BEGIN:VEVENT");
            lines.extend_from_slice(event);
            lines.push("END:VEVENT");
        }
        lines.push("END:VCALENDAR");
        lines.iter().map(|l| format!("{l}\r\n")).collect()
    }

    fn problems(text: &str) -> Vec<String> {
        parse_calendar(text)
            .expect_err("refused")
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn an_all_day_event_is_its_day_and_a_date_range_each_day_before_its_exclusive_end() {
        let text = calendar(&[
            &["UID:1", "DTSTART;VALUE=DATE:20270101", "SUMMARY:New Year"],
            &[
                "UID:2",
                "DTSTART;VALUE=DATE:20270308",
                "DTEND;VALUE=DATE:20270311",
                "SUMMARY:Eid al-Fitr",
            ],
        ]);
        let parsed = parse_calendar(&text).expect("parsed");
        let days: Vec<_> = parsed.days.keys().copied().collect();
        assert_eq!(
            days,
            vec![
                day("2027-01-01"),
                day("2027-03-08"),
                day("2027-03-09"),
                day("2027-03-10")
            ]
        );
        assert_eq!(parsed.days[&day("2027-03-09")], "Eid al-Fitr");
        assert_eq!(parsed.years(), BTreeSet::from([2027]));
    }

    #[test]
    fn folded_lines_lf_ends_escapes_durations_and_shared_days_are_read() {
        let text = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:1\n\
                    DTSTART;VALUE=DATE:20281231\nDURATION:P2D\nSUMMARY:A long name that is\n  folded\\, and escaped\nEND:VEVENT\n\
                    BEGIN:VEVENT\nUID:2\nDTSTART;VALUE=DATE:20290101\nSUMMARY:Other\nEND:VEVENT\nEND:VCALENDAR\n";
        let parsed = parse_calendar(text).expect("parsed");
        assert_eq!(
            parsed.days[&day("2028-12-31")],
            "A long name that is folded, and escaped"
        );
        assert_eq!(
            parsed.days[&day("2029-01-01")],
            "A long name that is folded, and escaped; Other"
        );
        assert_eq!(parsed.years(), BTreeSet::from([2028, 2029]));
    }

    #[test]
    fn a_broken_line_is_named_by_its_own_line_number_even_after_folded_lines() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//a long product\r\n  name folded//EN\r\n\
                    BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20270101\r\nthis line is broken\r\n\
                    SUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(
            problems(text),
            vec!["line 8: not an iCalendar content line (NAME:value): \"this line is broken\""]
        );
    }

    #[test]
    fn an_unterminated_event_is_named_where_it_begins_and_a_stray_end_where_it_is() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nEND:VCALENDAR\r\n";
        assert_eq!(
            problems(text),
            vec!["line 5: END:VCALENDAR where END:VEVENT was expected (BEGIN:VEVENT on line 3)"]
        );
        let text =
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\n";
        assert_eq!(
            problems(text),
            vec!["line 3: BEGIN:VEVENT is never closed (no END:VEVENT)"]
        );
    }

    #[test]
    fn every_bad_event_is_reported_with_its_line() {
        let text = calendar(&[
            &["UID:1", "DTSTART;VALUE=DATE:20270101", "SUMMARY:Fine"],
            &["UID:2", "SUMMARY:No date"],
            &["UID:3", "DTSTART;VALUE=DATE:20271301", "SUMMARY:Month 13"],
            &[
                "UID:4",
                "DTSTART;VALUE=DATE:20270105",
                "DTEND;VALUE=DATE:20270105",
                "SUMMARY:Ends as it starts",
            ],
            &[
                "UID:5",
                "DTSTART;VALUE=DATE:20270106",
                "RRULE:FREQ=YEARLY",
                "SUMMARY:Every year",
            ],
        ]);
        assert_eq!(
            problems(&text),
            vec![
                "line 9: the event \"No date\" has no DTSTART: no date",
                "line 15: DTSTART \"20271301\" is not a date (YYYYMMDD) or date-time",
                "line 21: DTEND 2027-01-05 is not after DTSTART 2027-01-05",
                "line 27: RRULE: recurring events are not taken; list each year's holiday as its own event",
            ]
        );
    }

    #[test]
    fn a_file_without_events_or_not_a_calendar_is_refused() {
        assert_eq!(
            problems("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nEND:VCALENDAR\r\n"),
            vec!["line 1: the file has no events (VEVENT): no holidays"]
        );
        assert_eq!(
            problems("not a calendar at all\r\n"),
            vec!["line 1: not an iCalendar content line (NAME:value): \"not a calendar at all\""]
        );
        assert_eq!(problems("\r\n"), vec!["line 1: the file is empty"]);
        assert_eq!(
            problems("BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nEND:VEVENT\r\n"),
            vec!["line 1: not an iCalendar file: it does not begin with BEGIN:VCALENDAR"]
        );
    }

    #[test]
    fn countries_are_iso_3166_codes_not_any_two_letters() {
        assert_eq!(Country::parse("kr").expect("KR").as_str(), "KR");
        assert_eq!(Country::parse("LK").expect("LK").as_str(), "LK");
        for bad in ["XX", "UK", "KOR", "", "K"] {
            assert!(Country::parse(bad).is_err(), "{bad} accepted");
        }
    }
}

#[cfg(test)]
mod seed_files {
    use super::*;

    /// The committed seed files (deploy/seed/holidays) are what demo imports:
    /// each must parse, and cover 1 January 2027 where its country keeps it.
    #[test]
    fn every_seed_file_parses() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/seed/holidays");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("the seed folder") {
            let path = entry.expect("an entry").path();
            if path.extension().is_none_or(|e| e != "ics") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable");
            assert!(
                text.contains("\r\n") && !text.replace("\r\n", "").contains('\n'),
                "{}: CRLF",
                path.display()
            );
            let parsed =
                parse_calendar(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let country = path.file_stem().and_then(|s| s.to_str()).expect("a name");
            Country::parse(country).expect("named by its country");
            assert!(parsed.years().contains(&2026), "{}", path.display());
            seen += 1;
        }
        assert_eq!(seen, 10, "ID MV LK IN VN PH MN BD NP KR");
    }
}
