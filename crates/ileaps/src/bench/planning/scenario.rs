//! A contested planning scenario from a seed, in the programme's own terms:
//! registered cities, an expert roster with leave and monthly limits, and
//! enquiries with windows over the coming months, in arrival order.
//!
//! Cities are the seed registry's (`deploy/seed/cities.yaml`: their
//! countries, time zones and languages, so the seed's public holidays apply),
//! repeated with a suffix when more are asked for; the first
//! `beneficiaries` are beneficiaries. The roster and the enquiries are drawn
//! here. The randomness is `planner::generate::Rng` (SplitMix64, written in
//! the project), so a seed and a start date give the same scenario on any
//! machine.

use anyhow::{Context, Result, bail};
use chrono::{Days, NaiveDate};
use chrono_tz::Tz;
use contract::proto::common::v1::{EnquiryKind, Topic};
use planner::generate::Rng;
use scheduling::roster::ExpertProfile;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// What to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub seed: u64,
    pub enquiries: usize,
    pub cities: usize,
    pub beneficiaries: usize,
    pub experts: usize,
    /// Days over which windows fall, from `first_day`.
    pub horizon_days: u32,
}

/// A registered city.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct City {
    pub code: String,
    pub name: String,
    pub country: String,
    pub time_zone: String,
    pub beneficiary: bool,
    pub languages: Vec<String>,
}

/// An expert of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expert {
    pub id: String,
    pub topics: Vec<Topic>,
    pub languages: Vec<String>,
    pub monthly_limit: u32,
    /// Whole days of leave, inclusive.
    pub leave: Option<(NaiveDate, NaiveDate)>,
}

/// An enquiry, as its city sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enquiry {
    /// Index into [`Scenario::cities`].
    pub city: usize,
    pub reference: String,
    pub kind: EnquiryKind,
    /// The primary topic first.
    pub topics: Vec<Topic>,
    pub window: (NaiveDate, NaiveDate),
    pub participants: Option<u32>,
    /// `IN_PERSON`, `VIRTUAL` or `EITHER`; `None` leaves it to the kind.
    pub format: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub shape: Shape,
    /// The earliest day a window opens: far enough ahead that nothing is
    /// inside the freeze horizon while the scenario plays.
    pub first_day: NaiveDate,
    pub cities: Vec<City>,
    pub experts: Vec<Expert>,
    /// In arrival order.
    pub enquiries: Vec<Enquiry>,
}

/// Days from the run's date to the first window: beyond the freeze horizon
/// (28 days) and the lead time, so every enquiry can be re-planned.
pub const FIRST_WINDOW_AFTER_DAYS: u64 = 35;

/// Every topic of the contract, most requested first: demand (and, in
/// proportion, the roster's cover) falls off along this list.
const TOPICS: [Topic; 12] = [
    Topic::SocialInnovation,
    Topic::UrbanPlanning,
    Topic::DigitalGovernment,
    Topic::ClimateResilience,
    Topic::CitizenParticipation,
    Topic::Transport,
    Topic::LocalGovernance,
    Topic::WaterAndSanitation,
    Topic::DesignThinking,
    Topic::WasteManagement,
    Topic::SystemsThinking,
    Topic::Housing,
];

/// A topic drawn with weight 12 for the first of [`TOPICS`] down to 1.
fn weighted_topic(rng: &mut Rng) -> Topic {
    let n = TOPICS.len() as u64;
    let mut pick = rng.below(n * (n + 1) / 2);
    for (i, topic) in TOPICS.iter().enumerate() {
        let weight = n - i as u64;
        if pick < weight {
            return *topic;
        }
        pick -= weight;
    }
    TOPICS[0]
}

impl Scenario {
    /// The scenario of `shape`, with cities modelled on `registry` (the seed
    /// file's JSON: `{"cities": [...]}`; the host is skipped) and windows
    /// from `today` + [`FIRST_WINDOW_AFTER_DAYS`].
    pub fn generate(shape: Shape, registry: &Value, today: NaiveDate) -> Result<Self> {
        if shape.enquiries == 0 || shape.cities == 0 || shape.experts == 0 {
            bail!("a scenario needs at least one enquiry, city and expert");
        }
        if shape.horizon_days < 30 {
            bail!("the horizon must be at least 30 days");
        }
        let templates: Vec<&Value> = registry["cities"]
            .as_array()
            .context("the city registry has no `cities` list")?
            .iter()
            .filter(|c| c["host"] != true)
            .collect();
        if templates.is_empty() {
            bail!("the city registry has no city that sends enquiries");
        }
        let mut rng = Rng::new(shape.seed);
        let first_day = today + Days::new(FIRST_WINDOW_AFTER_DAYS);
        let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
        let cities: Vec<City> = (0..shape.cities)
            .map(|i| {
                let template = templates[i % templates.len()];
                let round = i / templates.len();
                let suffix = if round == 0 {
                    String::new()
                } else {
                    format!("-{}", round + 1)
                };
                City {
                    code: format!("{}{suffix}", text(template, "code")),
                    name: format!("{}{suffix}", text(template, "name")),
                    country: text(template, "country"),
                    time_zone: text(template, "timeZone"),
                    beneficiary: i < shape.beneficiaries,
                    languages: template["languages"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|l| l.as_str().map(str::to_owned))
                        .collect(),
                }
            })
            .collect();

        let local_languages: Vec<String> = templates
            .iter()
            .filter_map(|t| t["languages"][0].as_str().map(str::to_owned))
            .collect();
        let experts = (0..shape.experts)
            .map(|x| {
                let mut topics = Vec::new();
                while topics.len() < 2 + x % 2 {
                    let topic = weighted_topic(&mut rng);
                    if !topics.contains(&topic) {
                        topics.push(topic);
                    }
                }
                let local = &local_languages[x % local_languages.len()];
                // Most work in English too; one in eight only in Korean and
                // one city's language; a third also speak a city's language.
                let languages = match x % 8 {
                    7 => vec!["ko".to_owned(), local.clone()],
                    _ if x % 3 == 0 => vec!["ko".to_owned(), "en".to_owned(), local.clone()],
                    _ => vec!["ko".to_owned(), "en".to_owned()],
                };
                let leave = rng.chance(40).then(|| {
                    let start = first_day + Days::new(rng.below(u64::from(shape.horizon_days)));
                    (start, start + Days::new(6 + 7 * rng.below(2)))
                });
                Expert {
                    id: format!("bench-expert-{x:02}"),
                    topics,
                    languages,
                    monthly_limit: 4,
                    leave,
                }
            })
            .collect();

        let enquiries = (0..shape.enquiries)
            .map(|e| {
                let city = rng.below(shape.cities as u64) as usize;
                let kind = match rng.below(100) {
                    0..55 => EnquiryKind::JointWorkshop,
                    55..85 => EnquiryKind::ConsultativeSupport,
                    _ => EnquiryKind::PilotProject,
                };
                let mut topics = vec![weighted_topic(&mut rng)];
                for _ in 0..rng.below(3) {
                    let topic = TOPICS[rng.below(TOPICS.len() as u64) as usize];
                    if !topics.contains(&topic) {
                        topics.push(topic);
                    }
                }
                let length = 14 + rng.below(50);
                let latest_start = u64::from(shape.horizon_days).saturating_sub(length).max(1);
                let start = first_day + Days::new(rng.below(latest_start));
                let (participants, format) = match kind {
                    EnquiryKind::JointWorkshop => (
                        Some(4 + rng.below(18) as u32),
                        Some(["IN_PERSON", "VIRTUAL", "EITHER"][rng.below(3) as usize]),
                    ),
                    EnquiryKind::PilotProject => (None, Some("IN_PERSON")),
                    _ => (None, None),
                };
                Enquiry {
                    city,
                    reference: format!("BENCH-{}-{e:04}", shape.seed),
                    kind,
                    topics,
                    window: (start, start + Days::new(length)),
                    participants,
                    format,
                }
            })
            .collect();
        Ok(Self {
            shape,
            first_day,
            cities,
            experts,
            enquiries,
        })
    }

    /// The registry, as `cities.import` takes it.
    pub fn cities_document(&self) -> Value {
        let cities: Vec<Value> = self
            .cities
            .iter()
            .map(|c| {
                json!({
                    "code": c.code,
                    "name": c.name,
                    "country": c.country,
                    "timeZone": c.time_zone,
                    "beneficiary": c.beneficiary,
                    "languages": c.languages,
                    "contact": {"name": "Programme focal point", "email": format!("focal.point@{}.example", c.code)},
                })
            })
            .collect();
        json!({ "cities": cities })
    }

    /// The roster, as `experts.import` takes it.
    pub fn roster_document(&self) -> Value {
        let experts: Vec<Value> = self
            .experts
            .iter()
            .map(|x| {
                let mut expert = json!({
                    "id": x.id,
                    "displayName": x.id,
                    "email": format!("{}@seoul.example", x.id),
                    "topics": x.topics.iter().map(|t| t.as_str_name()).collect::<Vec<_>>(),
                    "languages": x.languages,
                    "timeZone": "Asia/Seoul",
                    "monthlyLimit": x.monthly_limit,
                });
                if let Some((start, end)) = x.leave {
                    expert["unavailable"] = json!([{"start": start.to_string(), "end": end.to_string(), "reason": "leave"}]);
                }
                expert
            })
            .collect();
        json!({ "experts": experts })
    }

    /// Enquiry `e`'s body, as its city sends it.
    pub fn enquiry_body(&self, e: usize) -> Value {
        let enquiry = &self.enquiries[e];
        let city = &self.cities[enquiry.city];
        let mut languages = city.languages.clone();
        languages.push("en".to_owned());
        let mut body = json!({
            "reference": enquiry.reference,
            "city": city.code,
            "kind": enquiry.kind.as_str_name(),
            "topics": enquiry.topics.iter().map(|t| t.as_str_name()).collect::<Vec<_>>(),
            "preferredWindow": {"start": enquiry.window.0.to_string(), "end": enquiry.window.1.to_string()},
            "languages": languages,
            "contact": {"name": "Programme focal point", "email": format!("focal.point@{}.example", city.code)},
        });
        if let Some(participants) = enquiry.participants {
            body["participants"] = json!(participants);
        }
        if let Some(format) = enquiry.format {
            body["format"] = json!(format);
        }
        body
    }

    /// The roster as scheduling's planner sees it.
    pub fn profiles(&self) -> Vec<ExpertProfile> {
        self.experts
            .iter()
            .map(|x| ExpertProfile {
                id: x.id.clone(),
                display_name: x.id.clone(),
                topics: x.topics.iter().copied().collect::<BTreeSet<_>>(),
                languages: x.languages.clone(),
                time_zone: Tz::Asia__Seoul,
                unavailable: x.leave.into_iter().collect(),
                monthly_limit: x.monthly_limit,
                revision: 1,
            })
            .collect()
    }

    /// The countries whose public holidays apply: the cities' and Korea's.
    pub fn countries(&self) -> BTreeSet<String> {
        self.cities
            .iter()
            .map(|c| c.country.clone())
            .chain(["KR".to_owned()])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Value {
        json!({"cities": [
            {"code": "seoul", "name": "Seoul", "country": "KR", "timeZone": "Asia/Seoul", "host": true, "languages": ["ko"]},
            {"code": "makassar", "name": "Makassar", "country": "ID", "timeZone": "Asia/Makassar", "beneficiary": true, "languages": ["id"]},
            {"code": "colombo", "name": "Colombo", "country": "LK", "timeZone": "Asia/Colombo", "languages": ["si", "ta"]},
        ]})
    }

    fn shape(seed: u64) -> Shape {
        Shape {
            seed,
            enquiries: 40,
            cities: 5,
            beneficiaries: 2,
            experts: 6,
            horizon_days: 120,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()
    }

    #[test]
    fn a_seed_gives_the_same_scenario_and_another_seed_another() {
        let a = Scenario::generate(shape(7), &registry(), today()).unwrap();
        let b = Scenario::generate(shape(7), &registry(), today()).unwrap();
        let c = Scenario::generate(shape(8), &registry(), today()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.enquiries, c.enquiries);
    }

    #[test]
    fn cities_repeat_the_registry_without_its_host_and_the_first_are_beneficiaries() {
        let scenario = Scenario::generate(shape(1), &registry(), today()).unwrap();
        let codes: Vec<&str> = scenario.cities.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "makassar",
                "colombo",
                "makassar-2",
                "colombo-2",
                "makassar-3"
            ]
        );
        let beneficiaries: Vec<bool> = scenario.cities.iter().map(|c| c.beneficiary).collect();
        assert_eq!(beneficiaries, [true, true, false, false, false]);
    }

    #[test]
    fn every_window_lies_in_the_horizon_after_the_freeze_horizon() {
        let scenario = Scenario::generate(shape(3), &registry(), today()).unwrap();
        let last = scenario.first_day + Days::new(120);
        for enquiry in &scenario.enquiries {
            assert!(enquiry.window.0 >= scenario.first_day);
            assert!(enquiry.window.1 <= last, "{enquiry:?}");
            assert!(enquiry.window.0 < enquiry.window.1);
        }
        assert!(scenario.first_day >= today() + Days::new(29));
    }

    #[test]
    fn bodies_carry_what_intake_requires_of_each_kind() {
        let scenario = Scenario::generate(shape(5), &registry(), today()).unwrap();
        for (e, enquiry) in scenario.enquiries.iter().enumerate() {
            let body = scenario.enquiry_body(e);
            assert_eq!(body["city"], scenario.cities[enquiry.city].code);
            assert_eq!(
                body.get("participants").is_some(),
                enquiry.kind == EnquiryKind::JointWorkshop
            );
            assert!(body["languages"].as_array().unwrap().contains(&json!("en")));
        }
        let roster = scenario.roster_document();
        assert_eq!(roster["experts"].as_array().unwrap().len(), 6);
    }
}
