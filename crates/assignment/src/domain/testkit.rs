//! Test fixtures for the matcher: a two-day in-person joint workshop for
//! Makassar in March 2027, experts in one line, and `staff` with no history
//! and the default rules.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use std::collections::{BTreeMap, BTreeSet};

use super::{Commitment, Current, Expert, ExpertId, Need, Period, Rules, Staffing, staff};

pub use ExpertRole::{Lead, Support};
pub use Topic::{DesignThinking, Housing, Transport, UrbanPlanning};

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

pub fn id(s: &str) -> ExpertId {
    ExpertId::parse(s).unwrap()
}

pub fn period(start: &str, end: &str) -> Period {
    Period::new(at(start), at(end)).unwrap()
}

/// An expert in Seoul with the default limit and no unavailable days.
pub fn expert(name: &str, topics: &[Topic], languages: &[&str]) -> Expert {
    Expert {
        id: id(name),
        display_name: name.to_uppercase(),
        topics: topics.iter().copied().collect(),
        languages: languages.iter().map(|&l| l.to_owned()).collect(),
        time_zone: Tz::Asia__Seoul,
        unavailable: Vec::new(),
        monthly_limit: Expert::DEFAULT_MONTHLY_LIMIT,
    }
}

/// Workshop `w1`: URBAN_PLANNING (primary) and TRANSPORT, Makassar only,
/// 18 participants, in person on 2027-03-03 and 03-04, 09:00-17:00 Seoul.
/// Held (with travel days) from 2027-03-02T00:00Z to 2027-03-05T08:00Z.
pub fn need() -> Need {
    Need {
        workshop_id: "w1".into(),
        version: 1,
        kind: EnquiryKind::JointWorkshop,
        format: Format::InPerson,
        topics: vec![UrbanPlanning, Transport],
        languages: BTreeSet::from(["id".to_owned()]),
        cities: vec!["makassar".into()],
        participants: 18,
        sessions: vec![
            (at("2027-03-03T00:00:00Z"), at("2027-03-03T08:00:00Z")),
            (at("2027-03-04T00:00:00Z"), at("2027-03-04T08:00:00Z")),
        ],
    }
}

/// [`need`] grown past 25 participants, so it needs a support.
pub fn large_need() -> Need {
    Need {
        version: 2,
        participants: 30,
        cities: vec!["makassar".into(), "colombo".into()],
        ..need()
    }
}

/// Another workshop's hold on `expert`, counted in the month of `start`.
pub fn hold(expert: &str, workshop: &str, start: &str, end: &str) -> Commitment {
    let period = period(start, end);
    let month = {
        use chrono::Datelike;
        (period.start().year(), period.start().month())
    };
    Commitment {
        expert_id: id(expert),
        workshop_id: workshop.into(),
        period,
        month,
    }
}

/// A hold in March 2027 that overlaps nothing of [`need`].
pub fn march_hold(expert: &str, workshop: &str) -> Commitment {
    hold(
        expert,
        workshop,
        "2027-03-20T00:00:00Z",
        "2027-03-21T00:00:00Z",
    )
}

pub fn current(expert: &str, role: ExpertRole) -> Current {
    Current {
        expert_id: id(expert),
        role,
    }
}

pub fn run(
    need: &Need,
    current: &[Current],
    experts: &[Expert],
    commitments: &[Commitment],
) -> Staffing {
    staff(
        need,
        current,
        experts,
        commitments,
        &BTreeMap::new(),
        &Rules::default(),
    )
}

/// The final staffing as `(id, role)`, kept then added.
pub fn assigned(staffing: &Staffing) -> Vec<(String, ExpertRole)> {
    staffing
        .assigned()
        .into_iter()
        .map(|(id, role)| (id.as_str().to_owned(), role))
        .collect()
}

pub fn added(staffing: &Staffing) -> Vec<(String, ExpertRole)> {
    staffing
        .add
        .iter()
        .map(|(id, role)| (id.as_str().to_owned(), *role))
        .collect()
}

pub fn released(staffing: &Staffing) -> Vec<&str> {
    staffing.release.iter().map(ExpertId::as_str).collect()
}

pub fn kept(staffing: &Staffing) -> Vec<(String, ExpertRole)> {
    staffing
        .keep
        .iter()
        .map(|c| (c.expert_id.as_str().to_owned(), c.role))
        .collect()
}

pub fn lead(name: &str) -> (String, ExpertRole) {
    (name.to_owned(), Lead)
}

pub fn support(name: &str) -> (String, ExpertRole) {
    (name.to_owned(), Support)
}
