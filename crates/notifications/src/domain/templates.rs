//! What a message says (DOMAIN.md Notifications rules 1-4 and 7): one
//! message per [`Notice`], greeting its recipient by name, in English or the
//! recipient's language where there are words for it (Indonesian, Korean),
//! with every session in UTC and in the recipient's time zone.
//!
//! # Layout
//! - `words`: the fixed text, one table per language, and the choice of it.
//! - `compose`: what each notice says, from words and the notice's data.
//! - `letter`: the message as blocks, written out as plain text and HTML.
//! - `time`: how dates, times and zones read.
//! - `clean`: untrusted text made safe: one line, capped, HTML-escaped.
//!
//! Every string from outside (a city's reference, a contact's name, reasons,
//! even services' ids) is cleaned before it is placed and escaped when HTML
//! is written; fixed text never passes through a template with it, so a
//! value cannot inject markup, a header line or another placeholder.

mod clean;
mod compose;
mod letter;
mod time;
mod words;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use clean::{CODE_MAX, FREE_TEXT_MAX, NAME_MAX, REASONS_MAX, REFERENCE_MAX, SUBJECT_MAX};

use super::{Notice, Recipient};

/// An email ready to send: a subject line and the same text as plain text
/// and as HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// The language the message was written in (the recipient's, or `en`).
    pub language: String,
    /// One line: never a CR, LF or other control character, at most
    /// [`SUBJECT_MAX`] characters.
    pub subject: String,
    pub text: String,
    /// A complete HTML document in which all data is escaped.
    pub html: String,
}

/// Writes `notice` for `recipient`.
pub fn render(notice: &Notice, recipient: &Recipient) -> RenderedEmail {
    let words = words::for_language(&recipient.language);
    let letter = compose::letter(notice, recipient, words);
    RenderedEmail {
        language: words.code.to_owned(),
        text: letter.to_text(),
        html: letter.to_html(words.code),
        subject: letter.subject,
    }
}

/// What a city could change when no workshop could be planned, for the
/// feed's `advice` and the email, in English (the feed's language).
pub fn advice_for(reason_code: &str) -> &'static str {
    words::EN
        .unplannable(reason_code)
        .map_or(words::EN.unplannable_other_advice, |known| known.advice)
}

/// The language [`render`] writes in for a BCP 47 tag: `id`, `ko` or `en`.
pub fn language_for(tag: &str) -> &'static str {
    words::for_language(tag).code
}
