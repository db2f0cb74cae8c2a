//! Assignment's rules an operator may change, read from `ILEAPS_*`
//! variables at start ([`AssignmentSettings::from_env`]); unset, the
//! programme's defaults (DOMAIN.md, "Expert assignment") hold. Every
//! unusable value is reported at once and the service does not start.
//!
//! | variable | default | rule |
//! | --- | --- | --- |
//! | `ILEAPS_DEFAULT_MONTHLY_LIMIT` | 4 (1–31) | assignments a month for an expert whose roster entry gives no `monthlyLimit` |
//! | `ILEAPS_SUPPORT_OVER_CITIES` | 2 (1–50) | a joint workshop with more cities needs a SUPPORT expert |
//! | `ILEAPS_SUPPORT_OVER_PARTICIPANTS` | 25 (1–10 000) | ...or with more participants |
//!
//! Scheduling reads the two `SUPPORT` variables too (its optimiser staffs
//! what it plans as assignment will), so set them on both services alike.

use service_kit::{Reader, SettingsError};

use crate::domain::{Expert, Rules};

/// What assignment runs by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentSettings {
    /// The matcher's rules.
    pub rules: Rules,
    /// Given to an imported expert without a `monthlyLimit`.
    pub default_monthly_limit: u32,
}

impl Default for AssignmentSettings {
    fn default() -> Self {
        Self {
            rules: Rules::default(),
            default_monthly_limit: Expert::DEFAULT_MONTHLY_LIMIT,
        }
    }
}

impl AssignmentSettings {
    /// From the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Through `lookup` (a variable name to its value), the defaults for
    /// anything unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let defaults = Self::default();
        let mut env = Reader::new(&lookup);
        let settings = Self {
            rules: Rules {
                support_over_cities: env.integer(
                    "ILEAPS_SUPPORT_OVER_CITIES",
                    defaults.rules.support_over_cities,
                    1..=50,
                ),
                support_over_participants: env.integer(
                    "ILEAPS_SUPPORT_OVER_PARTICIPANTS",
                    defaults.rules.support_over_participants,
                    1..=10_000,
                ),
                ..defaults.rules
            },
            default_monthly_limit: env.integer(
                "ILEAPS_DEFAULT_MONTHLY_LIMIT",
                defaults.default_monthly_limit,
                1..=31,
            ),
        };
        env.finish()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_set_is_the_programme_defaults() {
        let settings = AssignmentSettings::from_lookup(|_| None).unwrap();
        assert_eq!(settings, AssignmentSettings::default());
        assert_eq!(settings.default_monthly_limit, 4);
    }

    #[test]
    fn each_rule_is_read_and_every_bad_value_reported() {
        let settings = AssignmentSettings::from_lookup(|name| match name {
            "ILEAPS_DEFAULT_MONTHLY_LIMIT" => Some("6".into()),
            "ILEAPS_SUPPORT_OVER_CITIES" => Some("3".into()),
            "ILEAPS_SUPPORT_OVER_PARTICIPANTS" => Some(" 30 ".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(settings.default_monthly_limit, 6);
        assert_eq!(settings.rules.support_over_cities, 3);
        assert_eq!(settings.rules.support_over_participants, 30);

        let error = AssignmentSettings::from_lookup(|name| match name {
            "ILEAPS_DEFAULT_MONTHLY_LIMIT" => Some("32".into()),
            "ILEAPS_SUPPORT_OVER_CITIES" => Some("two".into()),
            _ => None,
        })
        .unwrap_err();
        let variables: Vec<_> = error.problems.iter().map(|p| p.variable).collect();
        assert_eq!(
            variables,
            ["ILEAPS_SUPPORT_OVER_CITIES", "ILEAPS_DEFAULT_MONTHLY_LIMIT"]
        );
        assert!(error.to_string().contains("from 1 to 31"), "{error}");
    }
}
