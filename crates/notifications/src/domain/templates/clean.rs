//! Making untrusted text safe to show: one line, no control characters,
//! bounded length ([`one_line`]); HTML escaping ([`escape_html`]); and filling
//! a template's `{placeholders}` without ever reading a value as a template
//! ([`fill`]).

/// A person's name (a city's contact, an expert's display name).
pub const NAME_MAX: usize = 200;
/// A city's reference of an enquiry; the contract allows 64 characters.
pub const REFERENCE_MAX: usize = 64;
/// Free text: reasons, rejection messages.
pub const FREE_TEXT_MAX: usize = 500;
/// Codes and identifiers: reason codes, field paths, ids, city codes.
pub const CODE_MAX: usize = 64;
/// A whole subject line; longer ones are cut (mail clients cut them anyway).
pub const SUBJECT_MAX: usize = 200;
/// How many rejection reasons a message lists before "and N more".
pub const REASONS_MAX: usize = 20;

const ELLIPSIS: char = '…';

/// `raw` as one line of at most `max` characters (Unicode scalar values):
/// line breaks and tabs become spaces, other control characters and the bidi
/// embedding, override and isolate marks are removed (an unclosed override
/// from a city would reverse the template text that follows it), runs of
/// white space become one space, and text that is too long ends in "…".
pub fn one_line(raw: &str, max: usize) -> String {
    let visible: String = raw
        .chars()
        .filter_map(|c| match c {
            c if c.is_whitespace() => Some(' '),
            c if c.is_control() || is_bidi_control(c) => None,
            c => Some(c),
        })
        .collect();
    let collapsed = visible.split_whitespace().collect::<Vec<_>>().join(" ");
    cap(collapsed, max)
}

/// Characters that change the direction of the text around them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` cut to `max` characters, the last of them an ellipsis.
fn cap(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    if max == 0 {
        return String::new();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push(ELLIPSIS);
    cut
}

/// `text` safe inside HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `template` with each `{name}` replaced by its value. One pass over the
/// template only: a value that contains `{reference}` stays as it is, so
/// untrusted text cannot pull other values in or out. Unknown names are left
/// as written.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let found = after.find('}').and_then(|close| {
            let name = &after[..close];
            let value = values.iter().find(|(key, _)| *key == name)?.1;
            Some((value, close))
        });
        match found {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A city code as a name: `makassar` → `Makassar`, `new-delhi` → `New-Delhi`.
pub fn city_name(code: &str) -> String {
    let clean = one_line(code, CODE_MAX);
    let mut name = String::with_capacity(clean.len());
    let mut start_of_word = true;
    for c in clean.chars() {
        if start_of_word {
            name.extend(c.to_uppercase());
        } else {
            name.push(c);
        }
        start_of_word = c == '-' || c == ' ';
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_become_spaces_and_other_controls_go() {
        assert_eq!(one_line("a\r\nb\tc\u{0}d\u{1b}[31m", 100), "a b cd[31m");
        assert_eq!(one_line("  x \u{2028} y  ", 100), "x y");
        assert_eq!(one_line("evil\u{202E}txt.exe", 100), "eviltxt.exe");
    }

    #[test]
    fn long_text_ends_in_an_ellipsis_within_the_limit() {
        let long = "x".repeat(300);
        let cut = one_line(&long, 200);
        assert_eq!(cut.chars().count(), 200);
        assert!(cut.ends_with('…'));
        assert_eq!(one_line("exactly", 7), "exactly");
        assert_eq!(one_line("Ibu Andi Sitti Rahmawati", 9), "Ibu Andi…");
    }

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn fill_never_reads_a_value_as_a_template() {
        let text = fill("{a} and {b} {unknown} {", &[("a", "{b}"), ("b", "two")]);
        assert_eq!(text, "{b} and two {unknown} {");
    }

    #[test]
    fn city_codes_read_as_names() {
        assert_eq!(city_name("makassar"), "Makassar");
        assert_eq!(city_name("new-delhi"), "New-Delhi");
        assert_eq!(city_name(""), "");
    }
}
