//! The fixed text of every message, one [`Words`] per language, and how a
//! recipient's language tag picks one. Placeholders in `{braces}` are filled
//! by [`super::clean::fill`]; each language orders its sentences as its
//! grammar wants.

use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};

mod en;
mod id;
mod ko;

pub use en::EN;
pub use id::ID;
pub use ko::KO;

/// Why no workshop could be planned, and what the city could change.
#[derive(Debug)]
pub struct Unplannable {
    pub code: &'static str,
    /// The reason in words.
    pub reason: &'static str,
    pub advice: &'static str,
}

/// Every fixed piece of text in one language.
#[derive(Debug)]
pub struct Words {
    /// The language's BCP 47 primary subtag.
    pub code: &'static str,

    // Letter frame.
    pub greeting: &'static str,
    pub greeting_no_name: &'static str,
    pub closing: [&'static str; 2],
    pub role_lead: &'static str,
    pub role_support: &'static str,
    pub times_note: &'static str,

    // Labels of facts and lists.
    pub reference: &'static str,
    pub enquiry: &'static str,
    pub workshop: &'static str,
    pub kind: &'static str,
    pub topics: &'static str,
    pub primary_topic: &'static str,
    pub window: &'static str,
    pub format: &'static str,
    pub place: &'static str,
    pub sessions: &'static str,
    pub cities: &'static str,
    pub experts: &'static str,
    pub reason: &'static str,
    pub reasons: &'static str,
    pub advice: &'static str,

    // Values.
    /// `{id}`, `{version}`.
    pub workshop_value: &'static str,
    /// `{start}`, `{end}`.
    pub window_value: &'static str,
    pub virtual_place: &'static str,
    /// `{n}`, `{local}`, `{utc}`.
    pub session_item: &'static str,
    /// `{name}`, `{role}`.
    pub expert_item: &'static str,
    /// What a subject says in place of a date when no session is known.
    pub no_dates: &'static str,
    /// `{kind}`, `{topic}`: a workshop in a subject line.
    pub workshop_what: &'static str,
    /// Indexed by the enums' numbers; the first is the unspecified value.
    pub kind_names: [&'static str; 4],
    pub format_names: [&'static str; 4],
    pub topic_names: [&'static str; 13],
    pub role_names: [&'static str; 3],

    // Received.
    pub received_subject: &'static str,
    pub received_intro: &'static str,
    pub received_priority: &'static str,
    pub received_next: &'static str,

    // Rejected.
    pub rejected_subject: &'static str,
    pub rejected_subject_no_reference: &'static str,
    pub rejected_intro: &'static str,
    pub rejected_intro_no_reference: &'static str,
    /// `{words}`, `{code}`, `{field}`, `{message}`.
    pub rejected_item: &'static str,
    /// `{words}`, `{code}`, `{message}`: a reason about no field in particular.
    pub rejected_item_no_field: &'static str,
    /// `{count}`.
    pub rejected_more: &'static str,
    pub rejected_next: &'static str,
    /// Rejection codes (CONTRACT.md) in words.
    pub rejection_words: &'static [(&'static str, &'static str)],
    pub rejection_other: &'static str,

    // Withdrawn.
    pub withdrawn_subject: &'static str,
    pub withdrawn_body: &'static str,

    // Confirmed, rescheduled, cancelled: `{what}`, `{date}`.
    pub confirmed_subject: &'static str,
    pub confirmed_intro: &'static str,
    pub rescheduled_subject: &'static str,
    pub rescheduled_intro: &'static str,
    pub cancelled_subject: &'static str,
    pub cancelled_intro: &'static str,

    // Unschedulable.
    pub unschedulable_subject: &'static str,
    pub unschedulable_intro: &'static str,
    pub unplannable: &'static [Unplannable],
    /// `{code}`.
    pub unplannable_other_reason: &'static str,
    pub unplannable_other_advice: &'static str,

    // Reminder: `{what}`, `{date}`, `{days}`.
    pub reminder_subject_days: &'static str,
    pub reminder_subject_tomorrow: &'static str,
    pub reminder_subject_today: &'static str,
    pub reminder_intro_days: &'static str,
    pub reminder_intro_tomorrow: &'static str,
    pub reminder_intro_today: &'static str,
}

/// The words for a BCP 47 tag, by its primary subtag (`id-ID` → Indonesian;
/// `in` is Indonesian's old code); English for every language without its
/// own words.
pub fn for_language(tag: &str) -> &'static Words {
    let primary = tag
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match primary.as_str() {
        "id" | "in" => &ID,
        "ko" => &KO,
        _ => &EN,
    }
}

impl Words {
    pub fn kind_name(&self, kind: EnquiryKind) -> &'static str {
        named(&self.kind_names, kind as i32, kind.as_str_name())
    }

    pub fn format_name(&self, format: Format) -> &'static str {
        named(&self.format_names, format as i32, format.as_str_name())
    }

    pub fn topic_name(&self, topic: Topic) -> &'static str {
        named(&self.topic_names, topic as i32, topic.as_str_name())
    }

    pub fn role_name(&self, role: ExpertRole) -> &'static str {
        named(&self.role_names, role as i32, role.as_str_name())
    }

    /// A rejection code in words; codes added to the contract later read as
    /// "another reason" next to the code itself.
    pub fn rejection(&self, code: &str) -> &'static str {
        self.rejection_words
            .iter()
            .find(|(known, _)| *known == code)
            .map_or(self.rejection_other, |(_, words)| words)
    }

    /// The reason and advice for a code, if this language knows it.
    pub fn unplannable(&self, code: &str) -> Option<&'static Unplannable> {
        self.unplannable.iter().find(|u| u.code == code)
    }
}

/// The name at `number`, or the proto name for a value newer than the table.
fn named(names: &[&'static str], number: i32, proto_name: &'static str) -> &'static str {
    usize::try_from(number)
        .ok()
        .and_then(|i| names.get(i))
        .copied()
        .unwrap_or(proto_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_subtag_picks_the_language() {
        assert_eq!(for_language("id-ID").code, "id");
        assert_eq!(for_language("ID").code, "id");
        assert_eq!(for_language("in").code, "id");
        assert_eq!(for_language("ko-KR").code, "ko");
        assert_eq!(for_language("en-GB").code, "en");
        assert_eq!(for_language("si").code, "en");
        assert_eq!(for_language("dv-MV").code, "en");
        assert_eq!(for_language("").code, "en");
        assert_eq!(for_language("indonesian").code, "en");
    }

    #[test]
    fn every_language_names_every_enum_value() {
        for words in [&EN, &ID, &KO] {
            assert_eq!(
                words.kind_name(EnquiryKind::PilotProject),
                words.kind_names[3]
            );
            assert_eq!(words.topic_name(Topic::Housing), words.topic_names[12]);
            assert_eq!(words.role_name(ExpertRole::Support), words.role_names[2]);
            assert_eq!(words.format_name(Format::Virtual), words.format_names[2]);
        }
    }

    #[test]
    fn every_language_knows_the_same_codes() {
        let codes = |w: &Words| {
            w.rejection_words
                .iter()
                .map(|(c, _)| *c)
                .collect::<Vec<_>>()
        };
        let plans = |w: &Words| w.unplannable.iter().map(|u| u.code).collect::<Vec<_>>();
        for words in [&ID, &KO] {
            assert_eq!(codes(words), codes(&EN), "{}", words.code);
            assert_eq!(plans(words), plans(&EN), "{}", words.code);
        }
        assert_eq!(codes(&EN).len(), 11);
    }
}
