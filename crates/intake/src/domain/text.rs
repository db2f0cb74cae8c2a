//! Free-text newtypes of inbound bodies: [`Reference`], [`ContactName`],
//! [`Description`] and [`WithdrawalReason`]. Owns what "printable" means and the
//! length limits, counted in characters (Unicode scalar values), not bytes.

use std::fmt;

/// Why a text field was refused. Its message never quotes the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidText {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters, not {len}")]
    TooLong { max: usize, len: usize },
    #[error("must not contain {} (character {at})", char_name(*.found))]
    Unprintable { at: usize, found: char },
    #[error("must not start or end with white space")]
    SurroundingSpace,
}

fn char_name(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// Control characters and the Unicode line and paragraph separators, which
/// act like line breaks. Other format characters (ZWJ, bidi marks) stay
/// allowed in free text: Sinhala and Thaana text needs them.
fn is_unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Invisible characters that have no place in an identifier: zero-width and
/// bidi formatting characters, and the byte order mark.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// Checks length (in characters) and forbidden characters.
fn check(raw: &str, max: usize, forbidden: impl Fn(char) -> bool) -> Result<(), InvalidText> {
    let len = raw.chars().count();
    if len > max {
        return Err(InvalidText::TooLong { max, len });
    }
    if let Some((at, found)) = raw.chars().enumerate().find(|(_, c)| forbidden(*c)) {
        return Err(InvalidText::Unprintable { at: at + 1, found });
    }
    Ok(())
}

/// The city's own reference of an enquiry: 1-64 printable characters, no
/// surrounding or non-space white space, nothing invisible. Together with the
/// city it is the enquiry's natural key, so two references that look the same
/// are the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference(String);

impl Reference {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, InvalidText> {
        if raw.is_empty() {
            return Err(InvalidText::Empty);
        }
        check(raw, Self::MAX_CHARS, |c| {
            is_unprintable(c) || is_invisible(c) || (c.is_whitespace() && c != ' ')
        })?;
        if raw.starts_with(' ') || raw.ends_with(' ') {
            return Err(InvalidText::SurroundingSpace);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A contact's name: 1-200 characters on one line, surrounding white space
/// trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContactName(String);

impl ContactName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, InvalidText> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidText::Empty);
        }
        check(trimmed, Self::MAX_CHARS, is_unprintable)?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Multi-line free text: line feeds and tabs allowed, other control
/// characters not. Kept exactly as sent (it is plain text to every reader;
/// markup or SQL in it is just characters).
fn parse_multiline(raw: &str, max: usize) -> Result<String, InvalidText> {
    check(raw, max, |c| is_unprintable(c) && c != '\n' && c != '\t')?;
    Ok(raw.to_owned())
}

/// An enquiry's description: at most 4,000 characters. Empty is "none".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 4_000;

    /// `None` for the empty string (proto3's "not given").
    pub fn parse(raw: &str) -> Result<Option<Self>, InvalidText> {
        if raw.is_empty() {
            return Ok(None);
        }
        parse_multiline(raw, Self::MAX_CHARS).map(|s| Some(Self(s)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a city withdraws: at most 1,000 characters. Empty is "none".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WithdrawalReason(String);

impl WithdrawalReason {
    pub const MAX_CHARS: usize = 1_000;

    /// `None` for the empty string (proto3's "not given").
    pub fn parse(raw: &str) -> Result<Option<Self>, InvalidText> {
        if raw.is_empty() {
            return Ok(None);
        }
        parse_multiline(raw, Self::MAX_CHARS).map(|s| Some(Self(s)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_of_one_to_sixty_four_printable_characters_is_kept_as_sent() {
        for raw in ["A", "MKS-2027-014", "마카사르 2027/14", &"r".repeat(64)] {
            assert_eq!(Reference::parse(raw).unwrap().as_str(), raw);
        }
    }

    #[test]
    fn a_reference_that_is_empty_long_or_unprintable_is_refused() {
        assert_eq!(Reference::parse(""), Err(InvalidText::Empty));
        assert_eq!(
            Reference::parse(&"r".repeat(65)),
            Err(InvalidText::TooLong { max: 64, len: 65 })
        );
        for raw in [
            "a\u{0}b",
            "a\nb",
            "a\tb",
            "a\u{7f}",
            "a\u{202e}b",
            "\u{feff}a",
            "a\u{200b}",
        ] {
            assert!(
                matches!(Reference::parse(raw), Err(InvalidText::Unprintable { .. })),
                "{raw:?}"
            );
        }
        assert_eq!(Reference::parse(" a"), Err(InvalidText::SurroundingSpace));
    }

    #[test]
    fn a_reference_length_counts_characters_not_bytes() {
        let korean = "가".repeat(64);
        assert!(korean.len() > 64);
        assert!(Reference::parse(&korean).is_ok());
    }

    #[test]
    fn a_contact_name_is_trimmed_and_must_stay_on_one_line() {
        assert_eq!(
            ContactName::parse("  A. Rahman ").unwrap().as_str(),
            "A. Rahman"
        );
        assert_eq!(ContactName::parse("   "), Err(InvalidText::Empty));
        assert!(ContactName::parse("A\nB").is_err());
        assert!(ContactName::parse("A\u{2028}B").is_err());
        assert!(ContactName::parse(&"n".repeat(200)).is_ok());
        assert!(ContactName::parse(&"n".repeat(201)).is_err());
        // Sinhala uses the zero-width joiner inside words.
        assert!(ContactName::parse("ශ්‍රී ලංකා").is_ok());
    }

    #[test]
    fn a_description_keeps_line_feeds_and_tabs_but_no_other_control_characters() {
        let text = "Line one\n\tLine two";
        assert_eq!(Description::parse(text).unwrap().unwrap().as_str(), text);
        assert_eq!(Description::parse("").unwrap(), None);
        let err = Description::parse("bell\u{7}").unwrap_err();
        assert_eq!(
            err,
            InvalidText::Unprintable {
                at: 5,
                found: '\u{7}'
            }
        );
        assert_eq!(err.to_string(), "must not contain U+0007 (character 5)");
        assert!(Description::parse("a\r\nb").is_err());
    }

    #[test]
    fn a_description_of_four_thousand_characters_is_accepted_and_one_more_is_not() {
        let at_limit = "é".repeat(4_000);
        assert!(Description::parse(&at_limit).unwrap().is_some());
        let err = Description::parse(&format!("{at_limit}é")).unwrap_err();
        assert_eq!(
            err,
            InvalidText::TooLong {
                max: 4_000,
                len: 4_001
            }
        );
    }

    #[test]
    fn injection_text_in_a_description_is_plain_text() {
        for text in [
            "'; DROP TABLE enquiries; --",
            "{{ config.secret }} ${jndi:ldap://x} <script>alert(1)</script>",
        ] {
            assert_eq!(Description::parse(text).unwrap().unwrap().as_str(), text);
        }
    }

    #[test]
    fn a_withdrawal_reason_is_at_most_one_thousand_characters() {
        assert!(WithdrawalReason::parse(&"w".repeat(1_000)).is_ok());
        assert!(WithdrawalReason::parse(&"w".repeat(1_001)).is_err());
        assert_eq!(WithdrawalReason::parse("").unwrap(), None);
    }
}
