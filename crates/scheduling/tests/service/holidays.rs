//! Public holiday calendars through the operators' commands: what an import
//! stores, what a refused file leaves alone, and what the planner avoids.

use crate::helpers::{
    TestService, enquiry, pbjson_types_timestamp, seed_holidays, span, utc, window,
};
use serde_json::{Value, json};

/// `holidays.list` of one country, as (day, name) pairs.
async fn listed(service: &TestService, body: Value) -> Vec<(String, String)> {
    let listed = service
        .admin("holidays.list", &body)
        .await
        .expect("holidays.list answers");
    listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|h| {
            (
                h["day"].as_str().expect("a day").to_owned(),
                h["name"].as_str().expect("a name").to_owned(),
            )
        })
        .collect()
}

async fn import(service: &TestService, country: &str, ics: &str) -> Result<Value, String> {
    service
        .admin(
            "holidays.import",
            &json!({ "country": country, "ics": ics, "source": "test.ics" }),
        )
        .await
}

/// The days a seed file marks, read from it independently of the importer:
/// each event's DTSTART up to (not including) its DTEND.
fn seed_days(country: &str) -> Vec<String> {
    let text = std::fs::read_to_string(seed_holidays(country)).expect("a seed file");
    let mut days = Vec::new();
    for event in text.split("BEGIN:VEVENT").skip(1) {
        let field = |name: &str| {
            event
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| chrono::NaiveDate::parse_from_str(v.trim(), "%Y%m%d").expect("a date"))
        };
        let first = field("DTSTART;VALUE=DATE:").expect("DTSTART");
        let end = field("DTEND;VALUE=DATE:").unwrap_or(first.succ_opt().expect("a day"));
        days.extend(
            first
                .iter_days()
                .take_while(|d| *d < end)
                .map(|d| d.to_string()),
        );
    }
    days.sort();
    days.dedup();
    days
}

#[tokio::test]
async fn a_seed_file_round_trips_every_day_it_marks_is_listed_with_its_name() {
    let service = TestService::spawn().await;
    for country in ["KR", "MN"] {
        let reply = service.import_seed_holidays(country).await;
        assert_eq!(reply["country"], country);
        assert_eq!(reply["years"], json!([2026, 2027, 2028]));
        assert_eq!(reply["source"], format!("{country}.ics"));
        let expected = seed_days(country);
        assert_eq!(reply["days"], json!(expected.len()));
        let days = listed(&service, json!({ "country": country })).await;
        let listed_days: Vec<String> = days.iter().map(|(d, _)| d.clone()).collect();
        assert_eq!(listed_days, expected, "{country}");
    }

    let korea = listed(&service, json!({ "country": "KR" })).await;
    assert!(korea.contains(&("2027-01-01".to_owned(), "New Year's Day".to_owned())));
    // Naadam is one event of six days (DTEND exclusive): each day is listed.
    let mongolia = listed(&service, json!({ "country": "MN", "year": 2027 })).await;
    let naadam: Vec<&str> = mongolia
        .iter()
        .filter(|(_, name)| name.starts_with("National Festival"))
        .map(|(d, _)| d.as_str())
        .collect();
    assert_eq!(
        naadam,
        [
            "2027-07-10",
            "2027-07-11",
            "2027-07-12",
            "2027-07-13",
            "2027-07-14",
            "2027-07-15"
        ]
    );

    let in_2027 = listed(&service, json!({ "country": "kr", "year": 2027 })).await;
    assert!(!in_2027.is_empty() && in_2027.iter().all(|(d, _)| d.starts_with("2027-")));
    assert!(
        listed(&service, json!({ "country": "ID" }))
            .await
            .is_empty()
    );
    service.stop().await;
}

const GOOD_2027: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n\
    BEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20261206T000000Z\r\nDTSTART;VALUE=DATE:20270101\r\nSUMMARY:New Year\r\nEND:VEVENT\r\n\
    END:VCALENDAR\r\n";

#[tokio::test]
async fn a_bad_file_is_refused_with_its_line_and_the_previous_import_stays_whole() {
    let service = TestService::spawn().await;
    service.import_seed_holidays("ID").await;
    let before = listed(&service, json!({ "country": "ID" })).await;
    assert!(before.len() > 40, "three years of Indonesian holidays");

    // A broken line on line 9, after an event that is fine: nothing of the
    // file is taken, and 2027's holidays from the seed file are still there.
    let broken = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n\
        BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20270105\r\nSUMMARY:Fine\r\nEND:VEVENT\r\n\
        this line is broken\r\nEND:VCALENDAR\r\n";
    let refused = import(&service, "ID", broken).await.expect_err("refused");
    assert!(
        refused.contains("line 9: not an iCalendar content line"),
        "{refused}"
    );

    // An event without a date, on the event's line.
    let no_date = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n\
        BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20270105\r\nSUMMARY:Fine\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:2\r\nSUMMARY:When?\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let refused = import(&service, "ID", no_date).await.expect_err("refused");
    assert!(
        refused.contains("line 9: the event \"When?\" has no DTSTART"),
        "{refused}"
    );

    // An unknown country, whatever the file.
    let refused = import(&service, "XX", GOOD_2027)
        .await
        .expect_err("refused");
    assert!(
        refused.contains("\"XX\" is not an ISO 3166-1 alpha-2 code"),
        "{refused}"
    );
    assert!(
        listed(&service, json!({}))
            .await
            .iter()
            .all(|(d, _)| before.iter().any(|(b, _)| b == d))
    );

    assert_eq!(
        listed(&service, json!({ "country": "ID" })).await,
        before,
        "nothing half-imported"
    );
    service.stop().await;
}

#[tokio::test]
async fn an_import_replaces_the_years_its_file_covers_and_no_others() {
    let service = TestService::spawn().await;
    service.import_seed_holidays("ID").await;
    let before = listed(&service, json!({ "country": "ID" })).await;

    let reply = import(&service, "ID", GOOD_2027).await.expect("imported");
    assert_eq!(reply["years"], json!([2027]));
    assert_eq!(reply["days"], 1);

    let after = listed(&service, json!({ "country": "ID" })).await;
    let expected: Vec<_> = before
        .iter()
        .filter(|(d, _)| !d.starts_with("2027-"))
        .cloned()
        .chain([("2027-01-01".to_owned(), "New Year".to_owned())])
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(after, expected);
    service.stop().await;
}

#[tokio::test]
async fn an_enquiry_whose_window_opens_on_new_years_day_is_not_planned_on_a_holiday() {
    let mut service = TestService::spawn().await;
    service.import_seed_holidays("KR").await;
    service.import_seed_holidays("ID").await;

    // Received early enough that the lead time leaves 1 January 2027 (a
    // Friday, New Year's Day in Korea and Indonesia) as the first candidate:
    // without holidays the workshop would be Friday 1 and Monday 4 January.
    let mut makassar = enquiry("makassar", "Asia/Makassar");
    makassar.received_at = Some(pbjson_types_timestamp(utc("2026-12-01T00:00:00Z")));
    window(&mut makassar, "2027-01-01", "2027-01-31");
    service.receive(&makassar).await;

    let scheduled = service.next().await.scheduled();
    let seoul: chrono_tz::Tz = "Asia/Seoul".parse().expect("a zone");
    let days: Vec<String> = scheduled
        .sessions
        .iter()
        .map(|s| span(s).0.with_timezone(&seoul).date_naive().to_string())
        .collect();
    // Tuesday 5 January is Isra' and Mi'raj in Indonesia (the seed file's
    // estimate): skipped like a weekend day, so Monday and Wednesday.
    assert_eq!(days, ["2027-01-04", "2027-01-06"]);
    for country in ["KR", "ID"] {
        let holidays = listed(&service, json!({ "country": country, "year": 2027 })).await;
        assert!(
            holidays.iter().any(|(d, _)| d == "2027-01-01"),
            "{country}: New Year"
        );
        for d in &days {
            assert!(
                !holidays.iter().any(|(h, _)| h == d),
                "{d} is a holiday in {country}"
            );
        }
    }
    service.stop().await;
}
