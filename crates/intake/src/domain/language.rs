//! BCP 47 language tags ([`LanguageTag`]) and an enquiry's list of them
//! ([`Languages`]). Owns the tag syntax (RFC 5646 `langtag`, without the
//! grandfathered and private-use-only forms) and its canonical case.

use std::fmt;

use super::rejection::echo;

/// A well-formed BCP 47 tag in canonical case: `en`, `id`, `dv`, `zh-Hant-TW`,
/// `sr-Latn-RS`, `de-CH-1996`.
///
/// Well-formed, not valid: subtags are not looked up in the IANA registry,
/// so `qq` passes. The primary language subtag is 2-3 letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageTag(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is not a BCP 47 language tag such as \"en\", \"id\" or \"zh-Hant-TW\"", echo(.0))]
pub struct InvalidLanguageTag(String);

/// Tags longer than this are refused (RFC 5646 §4.4.1 asks implementations to
/// support at least 35 characters, which covers every practical tag).
const MAX_TAG_LEN: usize = 35;

fn is_alpha(s: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_alnum(s: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_variant(s: &str) -> bool {
    is_alnum(s, 5..=8) || (s.len() == 4 && s.as_bytes()[0].is_ascii_digit() && is_alnum(s, 4..=4))
}

fn title_case(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = lower[..1].to_ascii_uppercase();
    out.push_str(&lower[1..]);
    out
}

impl LanguageTag {
    pub fn parse(raw: &str) -> Result<Self, InvalidLanguageTag> {
        let invalid = || InvalidLanguageTag(raw.to_owned());
        if raw.len() > MAX_TAG_LEN {
            return Err(invalid());
        }
        let mut subtags = raw.split('-').peekable();
        let mut out: Vec<String> = Vec::new();

        // language, then up to three extlang subtags
        match subtags.next() {
            Some(language) if is_alpha(language, 2..=3) => out.push(language.to_ascii_lowercase()),
            _ => return Err(invalid()),
        }
        for _ in 0..3 {
            match subtags.next_if(|s| is_alpha(s, 3..=3)) {
                Some(extlang) => out.push(extlang.to_ascii_lowercase()),
                None => break,
            }
        }
        if let Some(script) = subtags.next_if(|s| is_alpha(s, 4..=4)) {
            out.push(title_case(script));
        }
        if let Some(region) = subtags.next_if(|s| is_alpha(s, 2..=2) || is_digits(s, 3)) {
            out.push(region.to_ascii_uppercase());
        }
        let mut variants = Vec::new();
        while let Some(variant) = subtags.next_if(|s| is_variant(s)) {
            let variant = variant.to_ascii_lowercase();
            if variants.contains(&variant) {
                return Err(invalid());
            }
            variants.push(variant.clone());
            out.push(variant);
        }
        let mut singletons = Vec::new();
        while let Some(singleton) =
            subtags.next_if(|s| is_alnum(s, 1..=1) && !s.eq_ignore_ascii_case("x"))
        {
            let singleton = singleton.to_ascii_lowercase();
            if singletons.contains(&singleton) {
                return Err(invalid());
            }
            singletons.push(singleton.clone());
            out.push(singleton);
            let before = out.len();
            while let Some(part) = subtags.next_if(|s| is_alnum(s, 2..=8)) {
                out.push(part.to_ascii_lowercase());
            }
            if out.len() == before {
                return Err(invalid());
            }
        }
        if let Some(x) = subtags.next_if(|s| s.eq_ignore_ascii_case("x")) {
            out.push(x.to_ascii_lowercase());
            let before = out.len();
            while let Some(part) = subtags.next_if(|s| is_alnum(s, 1..=8)) {
                out.push(part.to_ascii_lowercase());
            }
            if out.len() == before {
                return Err(invalid());
            }
        }
        if subtags.next().is_some() {
            return Err(invalid());
        }
        Ok(Self(out.join("-")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The primary language subtag, e.g. `zh` of `zh-Hant-TW`.
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    pub fn is_english(&self) -> bool {
        self.primary() == "en"
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 1-5 distinct language tags, in the city's order. English is always
/// assumed possible, whether listed or not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Languages(Vec<LanguageTag>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidLanguages {
    #[error("must list 1-5 languages, not {0}")]
    Count(usize),
    #[error("{0} is listed twice")]
    Repeated(LanguageTag),
}

impl Languages {
    pub const MAX: usize = 5;

    pub fn new(tags: Vec<LanguageTag>) -> Result<Self, InvalidLanguages> {
        if tags.is_empty() || tags.len() > Self::MAX {
            return Err(InvalidLanguages::Count(tags.len()));
        }
        for (i, tag) in tags.iter().enumerate() {
            if tags[..i].contains(tag) {
                return Err(InvalidLanguages::Repeated(tag.clone()));
            }
        }
        Ok(Self(tags))
    }

    pub fn as_slice(&self) -> &[LanguageTag] {
        &self.0
    }

    /// The first language that is not English, else `en`: the language to
    /// write to the city's contact in.
    pub fn preferred(&self) -> String {
        self.0
            .iter()
            .find(|tag| !tag.is_english())
            .map_or_else(|| "en".to_owned(), |tag| tag.as_str().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_programmes_languages_and_common_tags_parse_in_canonical_case() {
        for (raw, canonical) in [
            ("en", "en"),
            ("ID", "id"),
            ("dv", "dv"),
            ("si", "si"),
            ("ta", "ta"),
            ("hi", "hi"),
            ("ko", "ko"),
            ("fil", "fil"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("SR-LATN-rs", "sr-Latn-RS"),
            ("en-gb", "en-GB"),
            ("es-419", "es-419"),
            ("de-CH-1996", "de-CH-1996"),
            ("zh-yue-HK", "zh-yue-HK"),
            ("en-US-u-ca-gregory", "en-US-u-ca-gregory"),
            ("en-x-Seoul", "en-x-seoul"),
        ] {
            assert_eq!(
                LanguageTag::parse(raw).unwrap().as_str(),
                canonical,
                "{raw}"
            );
        }
    }

    #[test]
    fn strings_that_are_not_language_tags_are_refused() {
        for raw in [
            "",
            "e",
            "english",
            "en_US",
            "en-",
            "-en",
            "en--US",
            "x-private",
            "i-klingon",
            "en-US-u",
            "en-a-b-foo",
            "de-1996-1996",
            "en-x",
            "en-toolongsubtag",
            "ko kr",
            "한국어",
            "en\n",
            &"en-abcdefgh".repeat(4),
        ] {
            assert!(LanguageTag::parse(raw).is_err(), "{raw:?} accepted");
        }
    }

    #[test]
    fn a_refused_tag_is_quoted_but_capped_in_the_message() {
        let err = LanguageTag::parse(&"x".repeat(100_000)).unwrap_err();
        assert!(err.to_string().len() < 150, "{err}");
    }

    #[test]
    fn languages_are_one_to_five_distinct_tags() {
        let tag = |s: &str| LanguageTag::parse(s).unwrap();
        assert!(Languages::new(vec![tag("en")]).is_ok());
        assert_eq!(Languages::new(vec![]), Err(InvalidLanguages::Count(0)));
        let six = ["en", "id", "dv", "si", "ta", "hi"].map(tag).to_vec();
        assert_eq!(Languages::new(six), Err(InvalidLanguages::Count(6)));
        assert_eq!(
            Languages::new(vec![tag("en-gb"), tag("en-GB")]),
            Err(InvalidLanguages::Repeated(tag("en-GB")))
        );
    }

    #[test]
    fn the_preferred_language_is_the_first_that_is_not_english() {
        let langs = |tags: &[&str]| {
            Languages::new(
                tags.iter()
                    .map(|s| LanguageTag::parse(s).unwrap())
                    .collect(),
            )
            .unwrap()
        };
        assert_eq!(langs(&["en", "id", "dv"]).preferred(), "id");
        assert_eq!(langs(&["en-GB", "si"]).preferred(), "si");
        assert_eq!(langs(&["ko"]).preferred(), "ko");
        assert_eq!(langs(&["en", "en-GB"]).preferred(), "en");
    }
}
