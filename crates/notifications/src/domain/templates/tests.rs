//! Each notice in each language: what the message says, and that the HTML
//! part says the same.

use chrono::NaiveDate;
use chrono_tz::{Asia, Tz};
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};

use super::{RenderedEmail, advice_for, language_for, render};
use crate::domain::{
    ExpertOnWorkshop, Notice, Reason, Recipient, RecipientRole, Session, WorkshopSummary,
};

fn city(name: &str, language: &str, time_zone: Tz) -> Recipient {
    Recipient {
        role: RecipientRole::City {
            city: "colombo".into(),
        },
        name: name.into(),
        language: language.into(),
        time_zone,
    }
}

fn colombo() -> Recipient {
    city("Ms Nimali Perera", "en", Asia::Colombo)
}

fn makassar() -> Recipient {
    city("Ibu Andi Rahmawati", "id-ID", Asia::Makassar)
}

fn expert(role: Option<ExpertRole>, language: &str) -> Recipient {
    Recipient {
        role: RecipientRole::Expert {
            expert_id: "exp-kim".into(),
            role,
        },
        name: "Kim Ji-won".into(),
        language: language.into(),
        time_zone: Asia::Seoul,
    }
}

fn session(start: &str, end: &str) -> Session {
    Session {
        start: start.parse().unwrap(),
        end: end.parse().unwrap(),
    }
}

/// Two sessions of 03:30-09:00 UTC: 09:00-14:30 in Colombo, 11:30-17:00 in
/// Makassar, 12:30-18:00 in Seoul.
fn workshop() -> WorkshopSummary {
    WorkshopSummary {
        workshop_id: "ws_0193c0de".into(),
        version: 2,
        kind: EnquiryKind::JointWorkshop,
        format: Format::InPerson,
        primary_topic: Topic::SocialInnovation,
        host_city: Some("makassar".into()),
        sessions: vec![
            session("2027-02-03T03:30:00Z", "2027-02-03T09:00:00Z"),
            session("2027-02-04T03:30:00Z", "2027-02-04T09:00:00Z"),
        ],
        cities: vec!["makassar".into(), "colombo".into()],
        experts: vec![
            ExpertOnWorkshop {
                display_name: "Kim Ji-won".into(),
                role: ExpertRole::Lead,
            },
            ExpertOnWorkshop {
                display_name: "Lee Su-bin".into(),
                role: ExpertRole::Support,
            },
        ],
    }
}

fn received(priority: bool) -> Notice {
    Notice::Received {
        reference: "CMB-2027-003".into(),
        enquiry_id: "enq_01".into(),
        kind: EnquiryKind::JointWorkshop,
        topics: vec![Topic::SocialInnovation, Topic::LocalGovernance],
        window_start: NaiveDate::from_ymd_opt(2027, 2, 1).unwrap(),
        window_end: NaiveDate::from_ymd_opt(2027, 3, 31).unwrap(),
        priority,
    }
}

fn reason(code: &str, field: &str, message: &str) -> Reason {
    Reason {
        code: code.into(),
        field: field.into(),
        message: message.into(),
    }
}

fn unschedulable(code: &str) -> Notice {
    Notice::Unschedulable {
        reference: "MKS-2027-014".into(),
        enquiry_id: "enq_02".into(),
        reason_code: code.into(),
    }
}

fn confirmed(reference: Option<&str>) -> Notice {
    Notice::Confirmed {
        workshop: workshop(),
        reference: reference.map(Into::into),
    }
}

fn every_notice() -> Vec<Notice> {
    vec![
        received(true),
        Notice::Rejected {
            reference: Some("MKS-1".into()),
            reasons: vec![reason("INVALID_FIELD", "contact.email", "not an email")],
        },
        Notice::Withdrawn {
            reference: "MKS-1".into(),
            enquiry_id: "enq_01".into(),
        },
        confirmed(Some("MKS-1")),
        Notice::Rescheduled {
            workshop: workshop(),
            reason: "The host city asked for later dates".into(),
            reference: Some("MKS-1".into()),
        },
        Notice::Cancelled {
            workshop: workshop(),
            reason: "The host city withdrew".into(),
            reference: None,
        },
        unschedulable("NO_SLOT_IN_WINDOW"),
        Notice::Reminder {
            workshop: workshop(),
            days_before: 7,
            reference: Some("MKS-1".into()),
        },
    ]
}

/// Fails showing the whole text when `expected` is not in it.
fn assert_has(email: &RenderedEmail, expected: &str) {
    assert!(
        email.text.contains(expected),
        "missing {expected:?} in:\n{}",
        email.text
    );
}

// Languages.

#[test]
fn the_language_follows_the_primary_subtag_and_falls_back_to_english() {
    assert_eq!(render(&received(false), &makassar()).language, "id");
    assert_eq!(
        render(&received(false), &expert(None, "ko-KR")).language,
        "ko"
    );
    assert_eq!(
        render(&received(false), &city("A", "si-LK", Asia::Colombo)).language,
        "en"
    );
    assert_eq!(render(&received(false), &colombo()).language, "en");
    assert_eq!(language_for("id-ID"), "id");
}

#[test]
fn every_notice_renders_in_every_language_without_leftover_placeholders() {
    for language in ["en", "id", "ko"] {
        for notice in every_notice() {
            let email = render(&notice, &city("Contact", language, Asia::Makassar));
            assert_eq!(email.language, language);
            for part in [&email.subject, &email.text, &email.html] {
                assert!(!part.contains('{') && !part.contains('}'), "{part}");
            }
            assert!(email.text.starts_with(match language {
                "id" => "Yth. Contact,",
                "ko" => "Contact 님께",
                _ => "Dear Contact,",
            }));
            assert!(email.html.contains(&format!("<html lang=\"{language}\">")));
        }
    }
}

#[test]
fn a_recipient_without_a_name_is_greeted_without_one() {
    let email = render(&received(false), &city(" \r\n", "en", Asia::Colombo));
    assert!(email.text.starts_with("Hello,\n"));
}

// Received.

#[test]
fn received_names_the_enquiry_and_its_window() {
    let email = render(&received(false), &colombo());
    assert_eq!(email.subject, "Enquiry CMB-2027-003 received");
    assert_has(&email, "Dear Ms Nimali Perera,");
    assert_has(&email, "we have received your enquiry CMB-2027-003");
    assert_has(&email, "Your reference: CMB-2027-003");
    assert_has(&email, "Enquiry: enq_01");
    assert_has(&email, "Kind: Joint workshop");
    assert_has(&email, "Topics: Social innovation, Local governance");
    assert_has(&email, "Preferred window: 2027-02-01 to 2027-03-31");
    assert!(!email.text.contains("priority"));
    assert!(
        email
            .text
            .ends_with("Kind regards,\nThe i-LEAPS programme team\n")
    );
}

#[test]
fn received_says_when_the_enquiry_has_priority() {
    let email = render(&received(true), &colombo());
    assert_has(&email, "planned with priority");
}

#[test]
fn received_in_indonesian() {
    let email = render(&received(true), &makassar());
    assert_eq!(email.subject, "Permohonan CMB-2027-003 telah diterima");
    assert_has(&email, "Yth. Ibu Andi Rahmawati,");
    assert_has(
        &email,
        "Topik: Inovasi sosial, Tata kelola pemerintahan daerah",
    );
    assert_has(
        &email,
        "Rentang waktu yang diinginkan: 2027-02-01 sampai 2027-03-31",
    );
    assert_has(&email, "dengan prioritas");
    assert_has(&email, "Tim program i-LEAPS");
}

#[test]
fn received_in_korean() {
    let email = render(&received(false), &expert(None, "ko"));
    assert_eq!(email.subject, "신청 CMB-2027-003 접수 완료");
    assert_has(&email, "Kim Ji-won 님께");
    assert_has(&email, "주제: 사회 혁신, 지방 거버넌스");
    assert_has(&email, "희망 기간: 2027-02-01 ~ 2027-03-31");
}

// Rejected.

#[test]
fn rejected_lists_every_reason_with_code_field_and_message() {
    let notice = Notice::Rejected {
        reference: Some("CMB-2027-003".into()),
        reasons: vec![
            reason("INVALID_FIELD", "contact.email", "is not an email address"),
            reason(
                "WINDOW_IN_PAST",
                "preferredWindow.start",
                "2020-01-01 is before today",
            ),
            reason("MALFORMED", "", "expected a JSON object"),
            reason("SOMETHING_NEW", "topics", "a new rule"),
        ],
    };
    let email = render(&notice, &colombo());
    assert_eq!(email.subject, "Enquiry CMB-2027-003 not accepted");
    assert_has(&email, "We could not accept your enquiry CMB-2027-003");
    assert_has(
        &email,
        "- A field is not valid (INVALID_FIELD), field contact.email: is not an email address",
    );
    assert_has(
        &email,
        "- The preferred window starts in the past (WINDOW_IN_PAST), field \
         preferredWindow.start: 2020-01-01 is before today",
    );
    assert_has(
        &email,
        "- The message could not be read (MALFORMED): expected a JSON object",
    );
    assert_has(
        &email,
        "- Another reason (SOMETHING_NEW), field topics: a new rule",
    );
    assert_has(&email, "Please correct the enquiry and send it again.");
}

#[test]
fn rejected_without_a_reference_says_so() {
    let notice = Notice::Rejected {
        reference: None,
        reasons: vec![reason("MALFORMED", "", "not JSON")],
    };
    let email = render(&notice, &colombo());
    assert_eq!(email.subject, "Enquiry not accepted");
    assert_has(&email, "an enquiry from your city");
}

#[test]
fn rejected_lists_at_most_twenty_reasons() {
    let reasons = (0..25)
        .map(|i| reason("INVALID_FIELD", &format!("f{i}"), "bad"))
        .collect();
    let notice = Notice::Rejected {
        reference: Some("X".into()),
        reasons,
    };
    let email = render(&notice, &colombo());
    assert_has(&email, "field f19: bad");
    assert!(!email.text.contains("field f20"));
    assert_has(&email, "… and 5 more");
}

#[test]
fn rejected_in_indonesian() {
    let notice = Notice::Rejected {
        reference: Some("MKS-2027-014".into()),
        reasons: vec![reason("REFERENCE_CONFLICT", "reference", "already used")],
    };
    let email = render(&notice, &makassar());
    assert_eq!(
        email.subject,
        "Permohonan MKS-2027-014 tidak dapat diterima"
    );
    assert_has(
        &email,
        "Referensi ini sudah dipakai untuk permohonan lain (REFERENCE_CONFLICT), isian \
         reference: already used",
    );
}

// Withdrawn.

#[test]
fn withdrawn_confirms_the_withdrawal() {
    let notice = Notice::Withdrawn {
        reference: "CMB-2027-003".into(),
        enquiry_id: "enq_01".into(),
    };
    let email = render(&notice, &colombo());
    assert_eq!(email.subject, "Enquiry CMB-2027-003 withdrawn");
    assert_has(&email, "your enquiry CMB-2027-003 has been withdrawn");
    let indonesian = render(&notice, &makassar());
    assert_eq!(indonesian.subject, "Permohonan CMB-2027-003 telah ditarik");
}

// Confirmed.

#[test]
fn confirmed_gives_everything_a_city_needs() {
    let email = render(&confirmed(Some("CMB-2027-003")), &colombo());
    assert_eq!(
        email.subject,
        "Confirmed: Joint workshop – Social innovation, from 2027-02-03 (CMB-2027-003)"
    );
    assert_has(&email, "Your workshop is confirmed.");
    assert_has(&email, "Your reference: CMB-2027-003");
    assert_has(&email, "Workshop: ws_0193c0de (version 2)");
    assert_has(&email, "Kind: Joint workshop");
    assert_has(&email, "Primary topic: Social innovation");
    assert_has(&email, "Format: In person");
    assert_has(&email, "Place: Makassar");
    assert_has(&email, "Participating cities: Makassar, Colombo");
    assert_has(
        &email,
        "Experts:\n- Kim Ji-won (lead expert)\n- Lee Su-bin (supporting expert)",
    );
    assert_has(&email, "Times are given in your time zone and in UTC.");
}

#[test]
fn colombo_sees_its_half_hour_offset_and_the_right_wall_time() {
    let email = render(&confirmed(None), &colombo());
    assert_has(
        &email,
        "- Session 1: 2027-02-03 09:00–14:30 Asia/Colombo (UTC+05:30) = 2027-02-03 03:30–09:00 UTC",
    );
    assert_has(
        &email,
        "- Session 2: 2027-02-04 09:00–14:30 Asia/Colombo (UTC+05:30) = 2027-02-04 03:30–09:00 UTC",
    );
}

#[test]
fn kathmandu_sees_its_three_quarter_hour_offset() {
    let email = render(&confirmed(None), &city("Ram", "ne", Asia::Kathmandu));
    assert_eq!(email.language, "en");
    assert_has(&email, "2027-02-03 09:15–14:45 Asia/Kathmandu (UTC+05:45)");
}

#[test]
fn makassar_reads_the_confirmation_in_indonesian_in_its_own_time() {
    let email = render(&confirmed(Some("MKS-2027-014")), &makassar());
    assert_eq!(
        email.subject,
        "Dikonfirmasi: Lokakarya bersama – Inovasi sosial, mulai 2027-02-03 (MKS-2027-014)"
    );
    assert_has(
        &email,
        "- Sesi 1: 2027-02-03 11:30–17:00 Asia/Makassar (UTC+08:00) = 2027-02-03 03:30–09:00 UTC",
    );
    assert_has(&email, "Tempat: Makassar");
    assert_has(&email, "Format: Tatap muka");
    assert_has(&email, "Kim Ji-won (pakar utama)");
    assert_has(&email, "Lokakarya: ws_0193c0de (versi 2)");
}

#[test]
fn a_virtual_workshop_says_virtual_instead_of_a_host_city() {
    let mut workshop = workshop();
    workshop.host_city = None;
    workshop.format = Format::Virtual;
    let notice = Notice::Confirmed {
        workshop,
        reference: None,
    };
    let email = render(&notice, &colombo());
    assert_has(&email, "Place: Virtual (online)");
    assert_has(&email, "Format: Virtual (online)");
    assert!(
        !email.subject.contains('('),
        "no reference: {}",
        email.subject
    );
}

#[test]
fn an_expert_is_told_their_role_in_korean() {
    let email = render(&confirmed(None), &expert(Some(ExpertRole::Lead), "ko"));
    assert_eq!(email.language, "ko");
    assert_eq!(
        email.subject,
        "확정: 사회 혁신 공동 워크숍, 2027-02-03 시작"
    );
    assert_has(&email, "Kim Ji-won 님께");
    assert_has(&email, "귀하는 이 워크숍의 주 전문가입니다.");
    assert_has(
        &email,
        "세션 1: 2027-02-03 12:30–18:00 Asia/Seoul (UTC+09:00) = 2027-02-03 03:30–09:00 UTC",
    );
    assert_has(&email, "Lee Su-bin (보조 전문가)");
    assert_has(&email, "i-LEAPS 프로그램 팀 드림");
}

#[test]
fn an_expert_is_told_their_role_when_it_is_known() {
    let lead = render(&confirmed(None), &expert(Some(ExpertRole::Lead), "en"));
    assert_has(&lead, "You are the lead expert of this workshop.");
    let support = render(&confirmed(None), &expert(Some(ExpertRole::Support), "en"));
    assert_has(&support, "You are a supporting expert of this workshop.");
    for unknown in [None, Some(ExpertRole::Unspecified)] {
        let email = render(&confirmed(None), &expert(unknown, "en"));
        assert!(!email.text.contains("You are"), "{}", email.text);
    }
    let indonesian = render(&confirmed(None), &expert(Some(ExpertRole::Support), "id"));
    assert_has(
        &indonesian,
        "Anda adalah pakar pendamping untuk lokakarya ini.",
    );
}

#[test]
fn the_subject_date_is_the_recipients_local_day() {
    let mut workshop = workshop();
    workshop.sessions = vec![session("2027-02-02T23:30:00Z", "2027-02-03T05:00:00Z")];
    let notice = Notice::Confirmed {
        workshop,
        reference: None,
    };
    let seoul = render(&notice, &expert(None, "en"));
    assert!(
        seoul.subject.ends_with("from 2027-02-03"),
        "{}",
        seoul.subject
    );
    assert_has(
        &seoul,
        "2027-02-03 08:30–14:00 Asia/Seoul (UTC+09:00) = 2027-02-02 23:30 – 2027-02-03 05:00 UTC",
    );
}

// Rescheduled and cancelled.

#[test]
fn rescheduled_gives_the_reason_and_the_new_sessions() {
    let mut workshop = workshop();
    workshop.sessions = vec![session("2027-03-10T03:30:00Z", "2027-03-10T09:00:00Z")];
    let notice = Notice::Rescheduled {
        workshop,
        reason: "No lead expert was free on the first dates".into(),
        reference: Some("CMB-2027-003".into()),
    };
    let email = render(&notice, &colombo());
    assert_eq!(
        email.subject,
        "New dates: Joint workshop – Social innovation, from 2027-03-10 (CMB-2027-003)"
    );
    assert_has(&email, "Your workshop has new dates.");
    assert_has(&email, "Reason: No lead expert was free on the first dates");
    assert_has(
        &email,
        "Session 1: 2027-03-10 09:00–14:30 Asia/Colombo (UTC+05:30)",
    );
    assert!(!email.text.contains("Session 2"));
    let indonesian = render(&notice, &makassar());
    assert!(indonesian.subject.starts_with("Jadwal baru: "));
    assert_has(
        &indonesian,
        "Alasan: No lead expert was free on the first dates",
    );
}

#[test]
fn cancelled_gives_the_reason() {
    let notice = Notice::Cancelled {
        workshop: workshop(),
        reason: "The host city withdrew its enquiry".into(),
        reference: Some("MKS-2027-014".into()),
    };
    let email = render(&notice, &colombo());
    assert_eq!(
        email.subject,
        "Cancelled: Joint workshop – Social innovation (MKS-2027-014)"
    );
    assert_has(&email, "the workshop below will not take place");
    assert_has(&email, "Reason: The host city withdrew its enquiry");
    let indonesian = render(&notice, &makassar());
    assert_has(&indonesian, "tidak akan dilaksanakan");
    let korean = render(&notice, &expert(Some(ExpertRole::Lead), "ko"));
    assert!(korean.subject.starts_with("취소: "));
}

// Unschedulable.

#[test]
fn no_slot_in_the_window_suggests_a_wider_window_or_another_format() {
    let email = render(&unschedulable("NO_SLOT_IN_WINDOW"), &colombo());
    assert_eq!(
        email.subject,
        "No workshop could be planned for enquiry MKS-2027-014"
    );
    assert_has(
        &email,
        "Reason: No date in your preferred window meets the programme's rules",
    );
    assert_has(
        &email,
        "What you could change: You could send a new enquiry with a wider or later window",
    );
    assert_has(&email, "another format");
    assert!(email.html.contains("programme&#39;s rules"));
}

#[test]
fn no_expert_suggests_other_topics_or_a_wider_window() {
    let email = render(&unschedulable("NO_EXPERT_AFTER_RETRIES"), &colombo());
    assert_has(&email, "No expert for your topics was free");
    assert_has(&email, "other or additional topics");
    assert_has(&email, "a wider window");
}

#[test]
fn an_unknown_reason_gets_generic_advice_and_its_code() {
    let email = render(&unschedulable("PLANET_ALIGNMENT"), &colombo());
    assert_has(
        &email,
        "The planner found no way to hold it (code PLANET_ALIGNMENT).",
    );
    assert_has(
        &email,
        "What you could change: You could send a new enquiry with a wider window, another format or other topics",
    );
}

#[test]
fn unschedulable_in_indonesian() {
    let email = render(&unschedulable("NO_SLOT_IN_WINDOW"), &makassar());
    assert_eq!(
        email.subject,
        "Lokakarya tidak dapat direncanakan untuk permohonan MKS-2027-014"
    );
    assert_has(
        &email,
        "Yang dapat Anda ubah: Anda dapat mengirim permohonan baru",
    );
    assert_has(&email, "format lain");
}

#[test]
fn advice_for_the_feed_is_in_english_and_never_empty() {
    assert!(advice_for("NO_SLOT_IN_WINDOW").contains("wider or later window"));
    assert!(advice_for("NO_EXPERT_AFTER_RETRIES").contains("other or additional topics"));
    assert!(advice_for("ANYTHING_ELSE").contains("another format"));
    assert!(advice_for("").contains("wider window"));
}

// Reminders.

#[test]
fn a_reminder_seven_days_before_lists_the_sessions() {
    let notice = Notice::Reminder {
        workshop: workshop(),
        days_before: 7,
        reference: Some("CMB-2027-003".into()),
    };
    let email = render(&notice, &colombo());
    assert_eq!(
        email.subject,
        "Reminder: Joint workshop – Social innovation in 7 days, 2027-02-03 (CMB-2027-003)"
    );
    assert_has(&email, "your workshop begins in 7 days");
    assert_has(
        &email,
        "Session 2: 2027-02-04 09:00–14:30 Asia/Colombo (UTC+05:30)",
    );
}

#[test]
fn a_reminder_one_day_before_says_tomorrow() {
    let notice = Notice::Reminder {
        workshop: workshop(),
        days_before: 1,
        reference: None,
    };
    let email = render(&notice, &expert(Some(ExpertRole::Support), "en"));
    assert_eq!(
        email.subject,
        "Reminder: Joint workshop – Social innovation tomorrow, 2027-02-03"
    );
    assert_has(&email, "your workshop begins tomorrow");
    assert_has(&email, "You are a supporting expert of this workshop.");
    let indonesian = render(&notice, &makassar());
    assert_eq!(
        indonesian.subject,
        "Pengingat: Lokakarya bersama – Inovasi sosial besok, 2027-02-03"
    );
    let korean = render(&notice, &expert(None, "ko"));
    assert_has(&korean, "워크숍이 내일 시작됨을 알려 드립니다.");
}

// The HTML part.

#[test]
fn the_html_part_says_what_the_text_says() {
    for notice in every_notice() {
        let email = render(&notice, &colombo());
        for line in email.text.lines().filter(|l| !l.is_empty()) {
            let content = line.trim_start_matches("- ");
            let expected = super::clean::escape_html(content.rsplit(": ").next().unwrap());
            assert!(
                email.html.contains(&expected),
                "{expected:?} not in\n{}",
                email.html
            );
        }
        assert!(
            email
                .html
                .starts_with("<!DOCTYPE html>\n<html lang=\"en\">")
        );
        assert!(email.html.contains(&format!(
            "<title>{}</title>",
            super::clean::escape_html(&email.subject)
        )));
    }
}

#[test]
fn markup_in_city_text_is_escaped_in_html_and_kept_out_of_the_subject() {
    let notice = Notice::Received {
        reference: "<b>R</b>\r\nBcc: x@example.org".into(),
        enquiry_id: "enq_01".into(),
        kind: EnquiryKind::JointWorkshop,
        topics: vec![Topic::Housing],
        window_start: NaiveDate::from_ymd_opt(2027, 2, 1).unwrap(),
        window_end: NaiveDate::from_ymd_opt(2027, 3, 31).unwrap(),
        priority: false,
    };
    let recipient = city("<script>alert('x')</script> & \"Co\"", "en", Asia::Colombo);
    let email = render(&notice, &recipient);
    assert_eq!(
        email.subject,
        "Enquiry <b>R</b> Bcc: x@example.org received"
    );
    assert!(!email.html.contains("<script>"));
    assert!(!email.html.contains("<b>"));
    assert!(
        email
            .html
            .contains("Dear &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;,")
    );
}

#[test]
fn long_city_text_is_capped_with_an_ellipsis() {
    let notice = Notice::Withdrawn {
        reference: "R".repeat(100),
        enquiry_id: "enq".into(),
    };
    let email = render(&notice, &city(&"N".repeat(300), "en", Asia::Colombo));
    let capped_reference = format!("{}…", "R".repeat(63));
    assert!(
        email.subject.contains(&capped_reference),
        "{}",
        email.subject
    );
    assert!(!email.text.contains(&"R".repeat(64)));
    assert_has(&email, &format!("Dear {}…,", "N".repeat(199)));
}
