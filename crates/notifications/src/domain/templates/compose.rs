//! What each [`Notice`] says: its subject and body blocks, built from the
//! language's [`Words`] and the notice's data. Every value that came from
//! outside goes through [`one_line`] here, before it is placed anywhere.

use chrono::NaiveDate;
use chrono_tz::Tz;
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::{EnquiryKind, Topic};

use super::clean::{
    CODE_MAX, FREE_TEXT_MAX, NAME_MAX, REASONS_MAX, REFERENCE_MAX, SUBJECT_MAX, city_name, fill,
    one_line,
};
use super::letter::{Block, Letter};
use super::time::{local_date, local_span, utc_span};
use super::words::Words;
use crate::domain::{Notice, Reason, Recipient, RecipientRole, WorkshopSummary};

/// The whole letter for `notice`, written for `recipient` in `words`.
pub fn letter(notice: &Notice, recipient: &Recipient, words: &'static Words) -> Letter {
    let writer = Writer { words, recipient };
    let (subject, blocks) = writer.body(notice);
    Letter {
        subject: one_line(&subject, SUBJECT_MAX),
        greeting: writer.greeting(),
        blocks,
        closing: words.closing,
    }
}

/// A subject line and the body blocks under the greeting.
type Body = (String, Vec<Block>);

struct Writer<'a> {
    words: &'static Words,
    recipient: &'a Recipient,
}

impl Writer<'_> {
    fn body(&self, notice: &Notice) -> Body {
        match notice {
            Notice::Received {
                reference,
                enquiry_id,
                kind,
                topics,
                window_start,
                window_end,
                priority,
            } => self.received(
                &Enquiry::new(reference, enquiry_id),
                *kind,
                topics,
                (*window_start, *window_end),
                *priority,
            ),
            Notice::Rejected { reference, reasons } => self.rejected(reference.as_deref(), reasons),
            Notice::Withdrawn {
                reference,
                enquiry_id,
            } => self.withdrawn(&Enquiry::new(reference, enquiry_id)),
            Notice::Unschedulable {
                reference,
                enquiry_id,
                reason_code,
            } => self.unschedulable(&Enquiry::new(reference, enquiry_id), reason_code),
            Notice::Confirmed {
                workshop,
                reference,
            } => self.confirmed(workshop, reference.as_deref()),
            Notice::Rescheduled {
                workshop,
                reason,
                reference,
            } => self.rescheduled(workshop, reason, reference.as_deref()),
            Notice::Cancelled {
                workshop,
                reason,
                reference,
            } => self.cancelled(workshop, reason, reference.as_deref()),
            Notice::Reminder {
                workshop,
                days_before,
                reference,
            } => self.reminder(workshop, *days_before, reference.as_deref()),
        }
    }

    fn greeting(&self) -> String {
        let name = one_line(&self.recipient.name, NAME_MAX);
        if name.is_empty() {
            self.words.greeting_no_name.to_owned()
        } else {
            fill(self.words.greeting, &[("name", &name)])
        }
    }

    fn zone(&self) -> Tz {
        self.recipient.time_zone
    }

    // Enquiries.

    fn received(
        &self,
        enquiry: &Enquiry,
        kind: EnquiryKind,
        topics: &[Topic],
        (start, end): (NaiveDate, NaiveDate),
        priority: bool,
    ) -> Body {
        let w = self.words;
        let topic_names: Vec<&str> = topics.iter().map(|t| w.topic_name(*t)).collect();
        let window = fill(
            w.window_value,
            &[("start", &iso_date(start)), ("end", &iso_date(end))],
        );
        let mut blocks = vec![
            Block::Paragraph(enquiry.fill(w.received_intro)),
            Block::Facts(vec![
                (w.reference, enquiry.reference.clone()),
                (w.enquiry, enquiry.id.clone()),
                (w.kind, w.kind_name(kind).to_owned()),
                (w.topics, topic_names.join(", ")),
                (w.window, window),
            ]),
        ];
        if priority {
            blocks.push(Block::Paragraph(w.received_priority.to_owned()));
        }
        blocks.push(Block::Paragraph(w.received_next.to_owned()));
        (enquiry.fill(w.received_subject), blocks)
    }

    fn rejected(&self, reference: Option<&str>, reasons: &[Reason]) -> Body {
        let w = self.words;
        let reference = reference
            .map(|r| one_line(r, REFERENCE_MAX))
            .filter(|r| !r.is_empty());
        let (subject, intro) = match &reference {
            Some(r) => (
                fill(w.rejected_subject, &[("reference", r)]),
                fill(w.rejected_intro, &[("reference", r)]),
            ),
            None => (
                w.rejected_subject_no_reference.to_owned(),
                w.rejected_intro_no_reference.to_owned(),
            ),
        };
        let mut items: Vec<String> = reasons
            .iter()
            .take(REASONS_MAX)
            .map(|reason| self.rejection_item(reason))
            .collect();
        if reasons.len() > REASONS_MAX {
            let more = (reasons.len() - REASONS_MAX).to_string();
            items.push(fill(w.rejected_more, &[("count", &more)]));
        }
        let blocks = vec![
            Block::Paragraph(intro),
            Block::List {
                title: w.reasons,
                items,
            },
            Block::Paragraph(w.rejected_next.to_owned()),
        ];
        (subject, blocks)
    }

    fn rejection_item(&self, reason: &Reason) -> String {
        let w = self.words;
        let code = one_line(&reason.code, CODE_MAX);
        let field = one_line(&reason.field, CODE_MAX);
        let message = one_line(&reason.message, FREE_TEXT_MAX);
        let words = w.rejection(&code);
        let values = [
            ("words", words),
            ("code", code.as_str()),
            ("field", field.as_str()),
            ("message", message.as_str()),
        ];
        let template = if field.is_empty() {
            w.rejected_item_no_field
        } else {
            w.rejected_item
        };
        fill(template, &values)
    }

    fn withdrawn(&self, enquiry: &Enquiry) -> Body {
        let w = self.words;
        let blocks = vec![
            Block::Paragraph(enquiry.fill(w.withdrawn_body)),
            Block::Facts(enquiry.facts(w)),
        ];
        (enquiry.fill(w.withdrawn_subject), blocks)
    }

    fn unschedulable(&self, enquiry: &Enquiry, reason_code: &str) -> Body {
        let w = self.words;
        let code = one_line(reason_code, CODE_MAX);
        let (reason, advice) = match w.unplannable(&code) {
            Some(known) => (known.reason.to_owned(), known.advice),
            None => (
                fill(w.unplannable_other_reason, &[("code", &code)]),
                w.unplannable_other_advice,
            ),
        };
        let mut facts = enquiry.facts(w);
        facts.push((w.reason, reason));
        facts.push((w.advice, advice.to_owned()));
        let blocks = vec![
            Block::Paragraph(enquiry.fill(w.unschedulable_intro)),
            Block::Facts(facts),
        ];
        (enquiry.fill(w.unschedulable_subject), blocks)
    }

    // Workshops.

    fn confirmed(&self, workshop: &WorkshopSummary, reference: Option<&str>) -> Body {
        let w = self.words;
        let subject = self.workshop_subject(w.confirmed_subject, workshop, reference, &[]);
        let blocks = self.workshop_letter(w.confirmed_intro.to_owned(), None, workshop, reference);
        (subject, blocks)
    }

    fn rescheduled(
        &self,
        workshop: &WorkshopSummary,
        reason: &str,
        reference: Option<&str>,
    ) -> Body {
        let w = self.words;
        let subject = self.workshop_subject(w.rescheduled_subject, workshop, reference, &[]);
        let intro = w.rescheduled_intro.to_owned();
        let blocks = self.workshop_letter(intro, Some(reason), workshop, reference);
        (subject, blocks)
    }

    fn cancelled(&self, workshop: &WorkshopSummary, reason: &str, reference: Option<&str>) -> Body {
        let w = self.words;
        let subject = self.workshop_subject(w.cancelled_subject, workshop, reference, &[]);
        let intro = w.cancelled_intro.to_owned();
        let blocks = self.workshop_letter(intro, Some(reason), workshop, reference);
        (subject, blocks)
    }

    fn reminder(
        &self,
        workshop: &WorkshopSummary,
        days_before: u32,
        reference: Option<&str>,
    ) -> Body {
        let w = self.words;
        let (subject, intro) = match days_before {
            0 => (w.reminder_subject_today, w.reminder_intro_today),
            1 => (w.reminder_subject_tomorrow, w.reminder_intro_tomorrow),
            _ => (w.reminder_subject_days, w.reminder_intro_days),
        };
        let days = days_before.to_string();
        let values = [("days", days.as_str())];
        let subject = self.workshop_subject(subject, workshop, reference, &values);
        let blocks = self.workshop_letter(fill(intro, &values), None, workshop, reference);
        (subject, blocks)
    }

    /// `template` with `{what}` and `{date}` (the first session's day in the
    /// recipient's zone) and the city's reference after it.
    fn workshop_subject(
        &self,
        template: &str,
        workshop: &WorkshopSummary,
        reference: Option<&str>,
        extra: &[(&str, &str)],
    ) -> String {
        let w = self.words;
        let what = fill(
            w.workshop_what,
            &[
                ("kind", w.kind_name(workshop.kind)),
                ("topic", w.topic_name(workshop.primary_topic)),
            ],
        );
        let date = workshop
            .sessions
            .iter()
            .map(|s| s.start)
            .min()
            .map_or_else(|| w.no_dates.to_owned(), |t| local_date(t, self.zone()));
        let mut values = vec![("what", what.as_str()), ("date", date.as_str())];
        values.extend_from_slice(extra);
        let subject = fill(template, &values);
        match reference.map(|r| one_line(r, REFERENCE_MAX)) {
            Some(r) if !r.is_empty() => format!("{subject} ({r})"),
            _ => subject,
        }
    }

    /// The body every workshop message shares: intro, the recipient's role,
    /// the reason (for changes), the facts, sessions and experts.
    fn workshop_letter(
        &self,
        intro: String,
        reason: Option<&str>,
        workshop: &WorkshopSummary,
        reference: Option<&str>,
    ) -> Vec<Block> {
        let w = self.words;
        let mut blocks = vec![Block::Paragraph(intro)];
        if let Some(role) = self.role_sentence() {
            blocks.push(Block::Paragraph(role.to_owned()));
        }
        let mut facts = Vec::new();
        if let Some(reason) = reason {
            facts.push((w.reason, one_line(reason, FREE_TEXT_MAX)));
        }
        facts.extend(self.workshop_facts(workshop, reference));
        blocks.push(Block::Facts(facts));
        blocks.push(Block::List {
            title: w.sessions,
            items: self.session_items(workshop),
        });
        blocks.push(Block::List {
            title: w.experts,
            items: self.expert_items(workshop),
        });
        if !workshop.sessions.is_empty() {
            blocks.push(Block::Paragraph(w.times_note.to_owned()));
        }
        blocks
    }

    /// "You are the lead expert", for an expert whose role is known.
    fn role_sentence(&self) -> Option<&'static str> {
        match &self.recipient.role {
            RecipientRole::Expert {
                role: Some(ExpertRole::Lead),
                ..
            } => Some(self.words.role_lead),
            RecipientRole::Expert {
                role: Some(ExpertRole::Support),
                ..
            } => Some(self.words.role_support),
            _ => None,
        }
    }

    fn workshop_facts(
        &self,
        workshop: &WorkshopSummary,
        reference: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        let w = self.words;
        let mut facts = Vec::new();
        if let Some(reference) = reference {
            facts.push((w.reference, one_line(reference, REFERENCE_MAX)));
        }
        let id = one_line(&workshop.workshop_id, CODE_MAX);
        let version = workshop.version.to_string();
        let place = workshop
            .host_city
            .as_deref()
            .map_or_else(|| w.virtual_place.to_owned(), city_name);
        let cities: Vec<String> = workshop.cities.iter().map(|c| city_name(c)).collect();
        facts.extend([
            (
                w.workshop,
                fill(w.workshop_value, &[("id", &id), ("version", &version)]),
            ),
            (w.kind, w.kind_name(workshop.kind).to_owned()),
            (
                w.primary_topic,
                w.topic_name(workshop.primary_topic).to_owned(),
            ),
            (w.format, w.format_name(workshop.format).to_owned()),
            (w.place, place),
            (w.cities, cities.join(", ")),
        ]);
        facts
    }

    fn session_items(&self, workshop: &WorkshopSummary) -> Vec<String> {
        let w = self.words;
        workshop
            .sessions
            .iter()
            .enumerate()
            .map(|(i, session)| {
                let n = (i + 1).to_string();
                let local = local_span(session, self.zone());
                let utc = utc_span(session);
                fill(
                    w.session_item,
                    &[("n", &n), ("local", &local), ("utc", &utc)],
                )
            })
            .collect()
    }

    fn expert_items(&self, workshop: &WorkshopSummary) -> Vec<String> {
        let w = self.words;
        workshop
            .experts
            .iter()
            .map(|expert| {
                let name = one_line(&expert.display_name, NAME_MAX);
                fill(
                    w.expert_item,
                    &[("name", &name), ("role", w.role_name(expert.role))],
                )
            })
            .collect()
    }
}

/// An enquiry's reference and id, cleaned once.
struct Enquiry {
    reference: String,
    id: String,
}

impl Enquiry {
    fn new(reference: &str, id: &str) -> Self {
        Enquiry {
            reference: one_line(reference, REFERENCE_MAX),
            id: one_line(id, CODE_MAX),
        }
    }

    fn fill(&self, template: &str) -> String {
        fill(template, &[("reference", &self.reference)])
    }

    fn facts(&self, w: &Words) -> Vec<(&'static str, String)> {
        vec![
            (w.reference, self.reference.clone()),
            (w.enquiry, self.id.clone()),
        ]
    }
}

fn iso_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}
