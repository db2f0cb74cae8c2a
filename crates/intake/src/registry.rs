//! The city registry: validated city records, and a short-lived in-memory
//! copy so a batch of enquiries does not read the table once per message.

use crate::store::{self, CityRecord};
use contract::CityCode;
use serde::Deserialize;
use sqlx::PgConnection;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// How long a copy of the registry serves before it is read again. A city an
/// operator registers is known to every replica within this time.
const FRESH_FOR: Duration = Duration::from_secs(2);

pub type Cities = Arc<HashMap<String, CityRecord>>;

#[derive(Debug, Clone, Default)]
pub struct CityRegistry {
    cached: Arc<RwLock<Option<(Instant, Cities)>>>,
}

impl CityRegistry {
    /// The registry as of at most [`FRESH_FOR`] ago.
    pub async fn snapshot(&self, conn: &mut PgConnection) -> Result<Cities, sqlx::Error> {
        if let Some((at, cities)) = &*self.cached.read().await
            && at.elapsed() < FRESH_FOR
        {
            return Ok(cities.clone());
        }
        let cities: Cities = Arc::new(
            store::load_cities(conn)
                .await?
                .into_iter()
                .map(|c| (c.code.clone(), c))
                .collect(),
        );
        *self.cached.write().await = Some((Instant::now(), cities.clone()));
        Ok(cities)
    }

    /// Forgets the copy, after an import.
    pub async fn invalidate(&self) {
        *self.cached.write().await = None;
    }
}

/// One city as an operator writes it in a registry file (`deploy/seed/cities.yaml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CityEntry {
    pub code: String,
    pub name: String,
    pub country: String,
    pub time_zone: String,
    #[serde(default)]
    pub beneficiary: bool,
    #[serde(default)]
    pub host: bool,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub contact: Option<CityContact>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityContact {
    pub name: String,
    pub email: String,
}

/// The registry file: `{"cities": [...]}` (JSON or YAML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityFile {
    pub cities: Vec<CityEntry>,
}

/// Every problem of a registry file, each naming its entry and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct InvalidCities(pub Vec<String>);

impl CityFile {
    /// Checks every entry and returns the records to store, or every problem.
    pub fn validate(&self) -> Result<Vec<CityRecord>, InvalidCities> {
        let mut problems = Vec::new();
        let mut records = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, entry) in self.cities.iter().enumerate() {
            let at = |field: &str| format!("cities[{i}].{field}");
            let before = problems.len();
            if let Err(e) = CityCode::parse(&entry.code) {
                problems.push(format!("{}: {e}", at("code")));
            } else if !seen.insert(entry.code.clone()) {
                problems.push(format!("{}: {:?} appears twice", at("code"), entry.code));
            }
            let name = entry.name.trim();
            if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
                problems.push(format!(
                    "{}: must be 1-200 printable characters",
                    at("name")
                ));
            }
            if !(entry.country.len() == 2 && entry.country.chars().all(|c| c.is_ascii_uppercase()))
            {
                problems.push(format!(
                    "{}: {:?} is not an ISO 3166-1 alpha-2 code like \"ID\"",
                    at("country"),
                    entry.country
                ));
            }
            if entry.time_zone.parse::<chrono_tz::Tz>().is_err() {
                problems.push(format!(
                    "{}: {:?} is not an IANA time zone like \"Asia/Makassar\"",
                    at("timeZone"),
                    entry.time_zone
                ));
            }
            for (j, lang) in entry.languages.iter().enumerate() {
                let ok =
                    (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_lowercase());
                if !ok {
                    problems.push(format!(
                        "{}: {lang:?} is not a language code like \"id\"",
                        at(&format!("languages[{j}]"))
                    ));
                }
            }
            if let Some(contact) = &entry.contact
                && (!contact.email.contains('@') || contact.email.chars().any(char::is_whitespace))
            {
                problems.push(format!("{}: not an email address", at("contact.email")));
            }
            if problems.len() == before {
                records.push(CityRecord {
                    code: entry.code.clone(),
                    name: name.to_owned(),
                    country: entry.country.clone(),
                    time_zone: entry.time_zone.clone(),
                    beneficiary: entry.beneficiary,
                    host: entry.host,
                    languages: entry.languages.clone(),
                    contact_name: entry.contact.as_ref().map(|c| c.name.clone()),
                    contact_email: entry.contact.as_ref().map(|c| c.email.clone()),
                });
            }
        }
        if problems.is_empty() {
            Ok(records)
        } else {
            Err(InvalidCities(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(json: &str) -> CityFile {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_valid_file_gives_one_record_per_city() {
        let records = file(
            r#"{"cities": [{"code": "colombo", "name": "Colombo", "country": "LK",
                "timeZone": "Asia/Colombo", "beneficiary": true, "languages": ["si", "ta", "en"]}]}"#,
        )
        .validate()
        .unwrap();
        assert_eq!(records.len(), 1);
        assert!(records[0].beneficiary);
    }

    #[test]
    fn every_problem_is_named_with_its_entry_and_field() {
        let err = file(
            r#"{"cities": [
                {"code": "ok-city", "name": "Fine", "country": "IN", "timeZone": "Asia/Kolkata"},
                {"code": "Bad.Code", "name": "", "country": "india", "timeZone": "Asia/Makasar"}
            ]}"#,
        )
        .validate()
        .unwrap_err();
        let text = err.to_string();
        for expected in [
            "cities[1].code",
            "cities[1].name",
            "cities[1].country",
            "cities[1].timeZone",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert!(!text.contains("cities[0]"));
    }

    #[test]
    fn a_city_listed_twice_is_refused() {
        let err = file(
            r#"{"cities": [
                {"code": "colombo", "name": "A", "country": "LK", "timeZone": "Asia/Colombo"},
                {"code": "colombo", "name": "B", "country": "LK", "timeZone": "Asia/Colombo"}
            ]}"#,
        )
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("appears twice"));
    }
}
