//! The demo's feed: what the seed's cities might send in a week, good and bad,
//! with windows relative to today so it stays realistic whenever it runs.

use chrono::{Days, NaiveDate};
use contract::event_types::{ENQUIRY_SUBMIT, ENQUIRY_WITHDRAW};
use serde_json::{Value, json};

/// One message of the feed.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub city: &'static str,
    /// What the message is meant to show.
    pub label: &'static str,
    /// `None` sends the message without a `ce-type` header.
    pub ce_type: Option<&'static str>,
    pub body: Vec<u8>,
    /// Whether intake should accept it.
    pub expect_accepted: bool,
}

fn window(today: NaiveDate, from_days: u64, to_days: u64) -> Value {
    json!({
        "start": (today + Days::new(from_days)).to_string(),
        "end": (today + Days::new(to_days)).to_string(),
    })
}

fn good(label: &'static str, city: &'static str, body: Value) -> FeedItem {
    FeedItem {
        city,
        label,
        ce_type: Some(ENQUIRY_SUBMIT),
        body: body.to_string().into_bytes(),
        expect_accepted: true,
    }
}

fn bad(
    label: &'static str,
    city: &'static str,
    ce_type: Option<&'static str>,
    body: Vec<u8>,
) -> FeedItem {
    FeedItem {
        city,
        label,
        ce_type,
        body,
        expect_accepted: false,
    }
}

/// The scenario, in the order it is played. `run` tags the references so the
/// demo can run again against the same database and still be news.
pub fn scenario(today: NaiveDate, run: &str) -> Vec<FeedItem> {
    let reference = |base: &str| json!(format!("{base}-{run}"));
    let makassar = json!({
        "reference": reference("MKS-DEMO-014"),
        "city": "makassar",
        "kind": "JOINT_WORKSHOP",
        "topics": ["SOCIAL_INNOVATION", "LOCAL_GOVERNANCE"],
        "preferredWindow": window(today, 30, 90),
        "participants": 18,
        "languages": ["en", "id"],
        "format": "EITHER",
        "contact": {"name": "A. Rahman", "email": "innovation.office@makassar.example"},
        "description": "Joint workshop on Seoul's participatory budgeting."
    });
    let mut conflicting = makassar.clone();
    conflicting["participants"] = json!(25);
    let mut mismatch = makassar.clone();
    mismatch["reference"] = reference("MKS-DEMO-099");
    mismatch["city"] = json!("colombo");
    let mut oversized = makassar.clone();
    oversized["reference"] = reference("MKS-DEMO-100");
    oversized["description"] = json!("x".repeat(70 * 1024));

    vec![
        good("a beneficiary city asks for a joint workshop", "makassar", makassar.clone()),
        good(
            "Colombo asks for a joint workshop on the same topic",
            "colombo",
            json!({
                "reference": reference("CMB/2027/07"),
                "city": "colombo",
                "kind": "JOINT_WORKSHOP",
                "topics": ["SOCIAL_INNOVATION", "CITIZEN_PARTICIPATION"],
                "preferredWindow": window(today, 40, 100),
                "participants": 12,
                "languages": ["si", "en"],
                "format": "EITHER",
                "contact": {"name": "N. Perera", "email": "planning@colombo.example", "phone": "+94 11 269 1191"}
            }),
        ),
        good(
            "Hulhumale asks for a pilot project",
            "hulhumale",
            json!({
                "reference": reference("HUL-PILOT-3"),
                "city": "hulhumale",
                "kind": "PILOT_PROJECT",
                "topics": ["CLIMATE_RESILIENCE", "URBAN_PLANNING", "WATER_AND_SANITATION"],
                "preferredWindow": window(today, 20, 120),
                "languages": ["dv", "en"],
                "format": "IN_PERSON",
                "contact": {"name": "M. Shareef", "email": "urban@hulhumale.example"}
            }),
        ),
        good(
            "Chandigarh asks for consultative support",
            "chandigarh",
            json!({
                "reference": reference("CHD-CS-2027-1"),
                "city": "chandigarh",
                "kind": "CONSULTATIVE_SUPPORT",
                "topics": ["DIGITAL_GOVERNMENT"],
                "preferredWindow": window(today, 15, 60),
                "languages": ["hi", "en"],
                "contact": {"name": "R. Singh", "email": "smartcity@chandigarh.example"}
            }),
        ),
        good(
            "Da Nang asks about design thinking",
            "da-nang",
            json!({
                "reference": reference("DN-0042"),
                "city": "da-nang",
                "kind": "JOINT_WORKSHOP",
                "topics": ["DESIGN_THINKING", "SYSTEMS_THINKING"],
                "preferredWindow": window(today, 25, 80),
                "participants": 30,
                "languages": ["vi", "en"],
                "format": "VIRTUAL",
                "contact": {"name": "T. Nguyen", "email": "dic@danang.example"}
            }),
        ),
        good(
            "Kathmandu asks for a transport consultation",
            "kathmandu",
            json!({
                "reference": reference("KTM-TR-7"),
                "city": "kathmandu",
                "kind": "CONSULTATIVE_SUPPORT",
                "topics": ["TRANSPORT", "URBAN_PLANNING"],
                "preferredWindow": window(today, 20, 45),
                "languages": ["ne"],
                "contact": {"name": "S. Shrestha", "email": "metro@kathmandu.example"}
            }),
        ),
        good(
            "Cebu asks about housing, which no expert on the roster covers",
            "cebu",
            json!({
                "reference": reference("CEBU-HSG-3"),
                "city": "cebu",
                "kind": "CONSULTATIVE_SUPPORT",
                "topics": ["HOUSING"],
                "preferredWindow": window(today, 20, 120),
                "languages": ["en"],
                "contact": {"name": "L. Santos", "email": "housing@cebu.example"}
            }),
        ),
        good("Makassar sends the same enquiry again (a no-op)", "makassar", makassar),
        bad(
            "the same reference with other content",
            "makassar",
            Some(ENQUIRY_SUBMIT),
            conflicting.to_string().into_bytes(),
        ),
        bad(
            "Makassar puts Colombo's code in the body",
            "makassar",
            Some(ENQUIRY_SUBMIT),
            mismatch.to_string().into_bytes(),
        ),
        bad(
            "an unregistered city",
            "atlantis",
            Some(ENQUIRY_SUBMIT),
            json!({
                "reference": reference("ATL-1"), "city": "atlantis", "kind": "CONSULTATIVE_SUPPORT",
                "topics": ["HOUSING"], "preferredWindow": window(today, 20, 40), "languages": ["en"],
                "contact": {"name": "Nobody", "email": "nobody@atlantis.example"}
            })
            .to_string()
            .into_bytes(),
        ),
        bad(
            "a careless form: past window, unknown topic, no contact email",
            "cebu",
            Some(ENQUIRY_SUBMIT),
            json!({
                "reference": reference("CEBU-17"), "city": "cebu", "kind": "JOINT_WORKSHOP",
                "topics": ["SOCIAL_INNOVATION", "SMART_BEACHES"], "participants": 400,
                "preferredWindow": {"start": (today - Days::new(10)).to_string(), "end": (today + Days::new(10)).to_string()},
                "languages": ["en"], "contact": {"name": "J. Cruz"}
            })
            .to_string()
            .into_bytes(),
        ),
        bad("garbage bytes", "dhaka", Some(ENQUIRY_SUBMIT), b"\x00\xffnot json at all{".to_vec()),
        bad("no ce-type header", "ulaanbaatar", None, b"{}".to_vec()),
        bad(
            "a body over 64 KiB",
            "makassar",
            Some(ENQUIRY_SUBMIT),
            oversized.to_string().into_bytes(),
        ),
        bad(
            "a withdrawal of a reference never accepted",
            "chandigarh",
            Some(ENQUIRY_WITHDRAW),
            json!({"reference": reference("CHD-NEVER"), "city": "chandigarh"}).to_string().into_bytes(),
        ),
        FeedItem {
            city: "kathmandu",
            label: "Kathmandu withdraws its consultation",
            ce_type: Some(ENQUIRY_WITHDRAW),
            body: json!({"reference": reference("KTM-TR-7"), "city": "kathmandu", "reason": "Budget year closed"})
                .to_string()
                .into_bytes(),
            expect_accepted: true,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenario_has_good_and_bad_messages_from_several_cities() {
        let items = scenario(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(), "t1");
        assert!(items.iter().filter(|i| i.expect_accepted).count() >= 5);
        assert!(items.iter().filter(|i| !i.expect_accepted).count() >= 5);
        let cities: std::collections::HashSet<_> = items.iter().map(|i| i.city).collect();
        assert!(cities.len() >= 6);
    }
}
