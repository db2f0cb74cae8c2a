//! City codes: the `<city>` token of every city subject.

use std::fmt;

/// A city code: 2-32 characters of `a-z`, `0-9` and `-` (e.g. `makassar`).
///
/// Parsing is the only way to make one, so a `CityCode` is always safe to put in
/// a subject or a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CityCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("city code {0:?} must be 2-32 characters of a-z, 0-9 and '-'")]
pub struct InvalidCityCode(pub String);

impl CityCode {
    pub fn parse(raw: &str) -> Result<Self, InvalidCityCode> {
        let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if (2..=32).contains(&raw.len()) && raw.chars().all(valid_char) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidCityCode(raw.chars().take(64).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CityCode {
    type Err = InvalidCityCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for CityCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_seed_cities_are_valid_codes() {
        for code in [
            "makassar",
            "hulhumale",
            "colombo",
            "chandigarh",
            "da-nang",
            "x1",
        ] {
            assert_eq!(CityCode::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn codes_that_could_escape_a_subject_are_refused() {
        for code in [
            "",
            "a",
            "Makassar",
            "a.b",
            "a*",
            "a>",
            "a b",
            "ab\n",
            &"a".repeat(33),
        ] {
            assert!(CityCode::parse(code).is_err(), "{code:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn a_parsed_code_never_contains_a_subject_separator(raw in "\\PC{0,40}") {
            if let Ok(code) = CityCode::parse(&raw) {
                prop_assert!(!code.as_str().contains(['.', '*', '>', ' ']));
            }
        }
    }
}
