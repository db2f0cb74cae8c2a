//! Whatever a city sends, the message stays safe: the subject is one line of
//! bounded length without control characters, the HTML holds no markup but
//! the template's own, and every placed value is capped.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use proptest::prelude::*;

use super::clean::{FREE_TEXT_MAX, NAME_MAX, REASONS_MAX, SUBJECT_MAX};
use super::render;
use crate::domain::{
    ExpertOnWorkshop, Notice, Reason, Recipient, RecipientRole, Session, WorkshopSummary,
};

/// The only tags the templates write; anything else starting with `<` would
/// have come from data.
const TEMPLATE_TAGS: [&str; 25] = [
    "<!DOCTYPE html>",
    "<html lang=\"",
    "</html>",
    "<head>",
    "</head>",
    "<meta charset=\"utf-8\">",
    "<title>",
    "</title>",
    "<body>",
    "</body>",
    "<p>",
    "</p>",
    "<br>",
    "<table>",
    "</table>",
    "<tr>",
    "</tr>",
    "<th style=\"",
    "</th>",
    "<td>",
    "</td>",
    "<ul>",
    "</ul>",
    "<li>",
    "</li>",
];

const ENTITIES: [&str; 5] = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"];

/// The text between the template's tags, or the first unexpected `<`.
fn text_outside_tags(html: &str) -> Result<String, String> {
    let mut outside = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        outside.push_str(&rest[..open]);
        let tail = &rest[open..];
        if !TEMPLATE_TAGS.iter().any(|tag| tail.starts_with(tag)) {
            return Err(tail.chars().take(40).collect());
        }
        let close = tail.find('>').ok_or("an unclosed tag")?;
        rest = &tail[close + 1..];
    }
    outside.push_str(rest);
    Ok(outside)
}

/// Hostile text: anything at all, markup and header injection attempts, and
/// text far over every limit.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[<>&\"' \r\n\t\u{0}\u{1b}\u{202e}a-z{}]{0,80}",
        "(.|\r|\n){0,20}<script>alert\\('x'\\)</script>(.|\r|\n){0,20}",
        "[a-z{}<>\r\n]{0,20}\r\n(Bcc|Subject): [a-z@.]{1,20}",
        prop::collection::vec(any::<char>(), 600..1200).prop_map(String::from_iter),
    ]
}

fn zone() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        chrono_tz::Asia::Colombo,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::Asia::Makassar,
        chrono_tz::Asia::Seoul,
        chrono_tz::America::St_Johns,
        chrono_tz::UTC,
    ])
}

fn language() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("en".to_owned()),
        Just("id-ID".to_owned()),
        Just("ko".to_owned()),
        hostile(),
    ]
}

fn recipient() -> impl Strategy<Value = Recipient> {
    (hostile(), language(), zone(), hostile(), any::<bool>()).prop_map(
        |(name, language, time_zone, id, is_expert)| Recipient {
            role: if is_expert {
                RecipientRole::Expert {
                    expert_id: id,
                    role: Some(ExpertRole::Lead),
                }
            } else {
                RecipientRole::City { city: id }
            },
            name,
            language,
            time_zone,
        },
    )
}

fn sessions() -> impl Strategy<Value = Vec<Session>> {
    prop::collection::vec((1_700_000_000i64..2_100_000_000, 0i64..86_400), 0..4).prop_map(|spans| {
        spans
            .into_iter()
            .map(|(start, length)| {
                let start = DateTime::<Utc>::from_timestamp(start, 0).unwrap();
                Session {
                    start,
                    end: start + chrono::Duration::seconds(length),
                }
            })
            .collect()
    })
}

fn workshop() -> impl Strategy<Value = WorkshopSummary> {
    (
        hostile(),
        prop::option::of(hostile()),
        sessions(),
        prop::collection::vec(hostile(), 0..5),
        prop::collection::vec(hostile(), 0..3),
    )
        .prop_map(
            |(workshop_id, host_city, sessions, cities, experts)| WorkshopSummary {
                workshop_id,
                version: 3,
                kind: EnquiryKind::JointWorkshop,
                format: Format::Either,
                primary_topic: Topic::Housing,
                host_city,
                sessions,
                cities,
                experts: experts
                    .into_iter()
                    .map(|display_name| ExpertOnWorkshop {
                        display_name,
                        role: ExpertRole::Support,
                    })
                    .collect(),
            },
        )
}

fn reasons() -> impl Strategy<Value = Vec<Reason>> {
    prop::collection::vec(
        (hostile(), hostile(), hostile()).prop_map(|(code, field, message)| Reason {
            code,
            field,
            message,
        }),
        0..(REASONS_MAX + 3),
    )
}

fn notice() -> impl Strategy<Value = Notice> {
    let reference = || prop::option::of(hostile());
    prop_oneof![
        (hostile(), hostile(), any::<bool>()).prop_map(|(reference, enquiry_id, priority)| {
            Notice::Received {
                reference,
                enquiry_id,
                kind: EnquiryKind::PilotProject,
                topics: vec![Topic::Transport, Topic::Unspecified],
                window_start: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
                window_end: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
                priority,
            }
        }),
        (reference(), reasons())
            .prop_map(|(reference, reasons)| Notice::Rejected { reference, reasons }),
        (hostile(), hostile()).prop_map(|(reference, enquiry_id)| Notice::Withdrawn {
            reference,
            enquiry_id
        }),
        (workshop(), reference()).prop_map(|(workshop, reference)| Notice::Confirmed {
            workshop,
            reference
        }),
        (workshop(), hostile(), reference()).prop_map(|(workshop, reason, reference)| {
            Notice::Rescheduled {
                workshop,
                reason,
                reference,
            }
        }),
        (workshop(), hostile(), reference()).prop_map(|(workshop, reason, reference)| {
            Notice::Cancelled {
                workshop,
                reason,
                reference,
            }
        }),
        (hostile(), hostile(), hostile()).prop_map(|(reference, enquiry_id, reason_code)| {
            Notice::Unschedulable {
                reference,
                enquiry_id,
                reason_code,
            }
        }),
        (workshop(), 0u32..10, reference()).prop_map(|(workshop, days_before, reference)| {
            Notice::Reminder {
                workshop,
                days_before,
                reference,
            }
        }),
    ]
}

/// The longest line any message may have: a rejection reason (code, field,
/// message and the words around them) is the longest single-line place.
const LINE_MAX: usize = 2 * 64 + FREE_TEXT_MAX + 200;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_subject_is_one_bounded_line_without_control_characters(
        notice in notice(),
        recipient in recipient(),
    ) {
        let email = render(&notice, &recipient);
        prop_assert!(!email.subject.chars().any(char::is_control), "{:?}", email.subject);
        let breaks_lines = email.subject.contains(['\u{2028}', '\u{2029}']);
        prop_assert!(!breaks_lines);
        prop_assert!(email.subject.chars().count() <= SUBJECT_MAX);
        prop_assert!(!email.subject.is_empty());
    }

    #[test]
    fn the_html_holds_only_the_templates_markup_and_escaped_text(
        notice in notice(),
        recipient in recipient(),
    ) {
        let email = render(&notice, &recipient);
        prop_assert!(!email.html.contains("<script"));
        let outside = text_outside_tags(&email.html);
        prop_assert!(outside.is_ok(), "unexpected markup: {:?}", outside);
        let outside = outside.unwrap();
        prop_assert!(!outside.contains(['<', '>', '"', '\'']));
        for (at, _) in outside.match_indices('&') {
            prop_assert!(ENTITIES.iter().any(|e| outside[at..].starts_with(e)));
        }
    }

    #[test]
    fn every_line_and_the_whole_message_are_bounded(
        notice in notice(),
        recipient in recipient(),
    ) {
        let email = render(&notice, &recipient);
        for line in email.text.lines() {
            prop_assert!(line.chars().count() <= LINE_MAX, "{} chars", line.chars().count());
            prop_assert!(!line.chars().any(|c| c.is_control() && c != '\t'));
        }
        let greeting = email.text.lines().next().unwrap_or_default();
        prop_assert!(greeting.chars().count() <= NAME_MAX + 20);
        prop_assert!(email.text.chars().count() <= (REASONS_MAX + 30) * LINE_MAX);
    }

    #[test]
    fn a_name_with_markup_never_reaches_the_html_raw(
        before in "[a-z ]{0,10}",
        after in "[a-z ]{0,10}",
        language in language(),
    ) {
        let name = format!("{before}<script>{after}");
        let recipient = Recipient {
            role: RecipientRole::City { city: "makassar".into() },
            name,
            language,
            time_zone: chrono_tz::Asia::Makassar,
        };
        let notice = Notice::Withdrawn { reference: "<img src=x>".into(), enquiry_id: "e".into() };
        let email = render(&notice, &recipient);
        prop_assert!(!email.html.contains("<script>"));
        prop_assert!(!email.html.contains("<img"));
        prop_assert!(email.html.contains("&lt;script&gt;"));
    }
}
