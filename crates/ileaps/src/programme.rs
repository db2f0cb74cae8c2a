//! What the programme planned, as its public events tell it: the demo's view
//! of scheduling and assignment. Built only from `ileaps.events.>`, the way an
//! integrator would, so it shows what the contract carries.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One workshop or mission at its latest version.
#[derive(Debug, Default)]
struct Workshop {
    version: u64,
    kind: String,
    format: String,
    host_city: String,
    time_zone: String,
    sessions: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// (city, enquiry id)
    cities: Vec<(String, String)>,
    /// (display name, role), from the `assignment.made` of the current version.
    experts: Vec<(String, String)>,
    staffed_version: Option<u64>,
    unfilled: Option<String>,
    cancelled: Option<String>,
    /// Each `workshop.rescheduled`'s reason, in order: a move to group
    /// cities or serve more, or a later date after nobody could staff it.
    moves: Vec<String>,
}

/// The planning state an observer can rebuild from the event stream.
#[derive(Debug, Default)]
pub struct Programme {
    workshops: BTreeMap<String, Workshop>,
    /// enquiry id → (city, IANA zone)
    enquiries: BTreeMap<String, (String, String)>,
    withdrawn: BTreeSet<String>,
    /// enquiry id → (city, code, detail)
    unschedulable: BTreeMap<String, (String, String, String)>,
}

impl Programme {
    /// Takes one event of `ileaps.events.>`; others' types are ignored.
    pub fn apply(&mut self, ce_type: &str, body: &Value) {
        let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
        let version = body["version"]
            .as_u64()
            .or_else(|| body["workshopVersion"].as_u64())
            .unwrap_or(0);
        match ce_type {
            "ileaps.enquiry.received.v1" => {
                self.enquiries
                    .insert(text("enquiryId"), (text("city"), text("timeZone")));
            }
            "ileaps.enquiry.withdrawn.v1" => {
                self.withdrawn.insert(text("enquiryId"));
            }
            "ileaps.workshop.scheduled.v1" => {
                let workshop = self.workshops.entry(text("workshopId")).or_default();
                workshop.version = version;
                workshop.kind = text("kind");
                workshop.format = text("format");
                workshop.host_city = text("hostCity");
                workshop.time_zone = text("timeZone");
                workshop.sessions = sessions(body);
                workshop.cities = body["cities"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        let field = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
                        (field("city"), field("enquiryId"))
                    })
                    .collect();
                workshop.unfilled = None;
            }
            "ileaps.workshop.rescheduled.v1" => {
                let workshop = self.workshops.entry(text("workshopId")).or_default();
                workshop.version = version;
                workshop.sessions = sessions(body);
                workshop.moves.push(text("reason"));
            }
            "ileaps.workshop.cancelled.v1" => {
                let workshop = self.workshops.entry(text("workshopId")).or_default();
                workshop.version = workshop.version.max(version);
                workshop.cancelled = Some(text("reason"));
            }
            "ileaps.workshop.unschedulable.v1" => {
                self.unschedulable.insert(
                    text("enquiryId"),
                    (text("city"), text("reasonCode"), text("detail")),
                );
            }
            "ileaps.assignment.made.v1" => {
                let workshop = self.workshops.entry(text("workshopId")).or_default();
                if version >= workshop.version {
                    workshop.staffed_version = Some(version);
                    workshop.unfilled = None;
                    workshop.experts = body["experts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|e| {
                            let field = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                            (field("displayName"), field("role"))
                        })
                        .collect();
                }
            }
            "ileaps.assignment.unfilled.v1" => {
                let workshop = self.workshops.entry(text("workshopId")).or_default();
                if version >= workshop.version {
                    workshop.unfilled = Some(text("reasonCode"));
                }
            }
            _ => {}
        }
    }

    /// Accepted enquiries whose planning has not reached an end yet: not
    /// withdrawn, not unschedulable, and not in a staffed current workshop.
    pub fn unsettled(&self) -> usize {
        self.enquiries
            .keys()
            .filter(|id| !self.withdrawn.contains(*id) && !self.unschedulable.contains_key(*id))
            .filter(|id| {
                !self.workshops.values().any(|w| {
                    w.cancelled.is_none()
                        && w.staffed_version == Some(w.version)
                        && w.cities.iter().any(|(_, e)| e == *id)
                })
            })
            .count()
    }

    /// The readable summary the demo ends with.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let live: Vec<_> = self
            .workshops
            .iter()
            .filter(|(_, w)| w.cancelled.is_none() && !w.sessions.is_empty())
            .collect();
        out.push_str(&format!("planned: {} workshops and missions\n", live.len()));
        for (id, w) in live {
            let cities: Vec<&str> = w.cities.iter().map(|(c, _)| c.as_str()).collect();
            let host = if w.host_city.is_empty() {
                "virtual".to_owned()
            } else {
                format!("in {}", w.host_city)
            };
            out.push_str(&format!(
                "\n  {} {} {} v{} ({})  cities: {}\n",
                short(id),
                w.kind,
                w.format,
                w.version,
                host,
                cities.join(", ")
            ));
            for (start, end) in &w.sessions {
                out.push_str(&format!(
                    "      {} – {} UTC{}\n",
                    start.format("%a %Y-%m-%d %H:%M"),
                    end.format("%H:%M"),
                    self.local_times(w, *start, *end)
                ));
            }
            match (&w.staffed_version, &w.unfilled) {
                (Some(v), _) if *v == w.version => {
                    let experts: Vec<String> = w
                        .experts
                        .iter()
                        .map(|(name, role)| format!("{name} ({})", role.to_lowercase()))
                        .collect();
                    out.push_str(&format!("      experts: {}\n", experts.join(", ")));
                }
                (_, Some(code)) => out.push_str(&format!("      not staffed yet: {code}\n")),
                _ => out.push_str("      waiting for experts\n"),
            }
            for reason in &w.moves {
                out.push_str(&format!("      rescheduled: {reason}\n"));
            }
        }
        let cancelled: Vec<_> = self
            .workshops
            .iter()
            .filter_map(|(id, w)| w.cancelled.as_ref().map(|r| (id, r)))
            .collect();
        for (id, reason) in cancelled {
            out.push_str(&format!("\n  {} cancelled: {reason}\n", short(id)));
        }
        if !self.unschedulable.is_empty() {
            out.push_str("\ncould not be planned:\n");
            for (enquiry, (city, code, detail)) in &self.unschedulable {
                out.push_str(&format!(
                    "  {city:<11} enquiry {}  {code}: {detail}\n",
                    short(enquiry)
                ));
            }
        }
        out
    }

    /// Each attending city's local clock for a session, and the host's.
    fn local_times(&self, w: &Workshop, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
        let mut zones: Vec<(String, String)> = Vec::new();
        if !w.host_city.is_empty() {
            zones.push((w.host_city.clone(), w.time_zone.clone()));
        }
        for (city, enquiry) in &w.cities {
            if let Some((_, zone)) = self.enquiries.get(enquiry)
                && !zones.iter().any(|(c, _)| c == city)
            {
                zones.push((city.clone(), zone.clone()));
            }
        }
        let mut parts = Vec::new();
        for (city, zone) in zones {
            if let Ok(tz) = zone.parse::<Tz>() {
                parts.push(format!(
                    "{city} {}–{}",
                    start.with_timezone(&tz).format("%H:%M"),
                    end.with_timezone(&tz).format("%H:%M")
                ));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("  ·  {}", parts.join(", "))
        }
    }
}

fn sessions(body: &Value) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    body["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let at = |k: &str| s[k].as_str()?.parse::<DateTime<Utc>>().ok();
            Some((at("start")?, at("end")?))
        })
        .collect()
}

/// The first block of a UUID: enough to tell workshops apart on screen.
fn short(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_enquiry_is_settled_once_its_workshop_is_staffed_at_its_current_version() {
        let mut programme = Programme::default();
        programme.apply(
            "ileaps.enquiry.received.v1",
            &json!({"enquiryId": "e1", "city": "makassar", "timeZone": "Asia/Makassar"}),
        );
        assert_eq!(programme.unsettled(), 1);
        let scheduled = json!({
            "workshopId": "w1", "version": 1, "kind": "JOINT_WORKSHOP", "format": "VIRTUAL",
            "timeZone": "Asia/Seoul",
            "sessions": [{"start": "2027-02-01T01:00:00Z", "end": "2027-02-01T04:00:00Z"}],
            "cities": [{"city": "makassar", "enquiryId": "e1", "participants": 18}]
        });
        programme.apply("ileaps.workshop.scheduled.v1", &scheduled);
        assert_eq!(programme.unsettled(), 1);
        programme.apply(
            "ileaps.assignment.made.v1",
            &json!({"workshopId": "w1", "workshopVersion": 1,
                    "experts": [{"expertId": "kim", "displayName": "Kim", "role": "LEAD"}]}),
        );
        assert_eq!(programme.unsettled(), 0);
        let text = programme.render();
        assert!(text.contains("makassar 09:00–12:00"), "{text}");
        assert!(text.contains("Kim (lead)"), "{text}");

        // A newer version is not staffed until assignment says so again.
        let mut v2 = scheduled.clone();
        v2["version"] = json!(2);
        programme.apply("ileaps.workshop.scheduled.v1", &v2);
        assert_eq!(programme.unsettled(), 1);
    }

    #[test]
    fn unschedulable_and_withdrawn_enquiries_are_settled() {
        let mut programme = Programme::default();
        for id in ["e1", "e2"] {
            programme.apply(
                "ileaps.enquiry.received.v1",
                &json!({"enquiryId": id, "city": "cebu", "timeZone": "Asia/Manila"}),
            );
        }
        programme.apply(
            "ileaps.workshop.unschedulable.v1",
            &json!({"enquiryId": "e1", "city": "cebu", "reasonCode": "NO_EXPERT_AFTER_RETRIES", "detail": "x"}),
        );
        programme.apply("ileaps.enquiry.withdrawn.v1", &json!({"enquiryId": "e2"}));
        assert_eq!(programme.unsettled(), 0);
        assert!(programme.render().contains("NO_EXPERT_AFTER_RETRIES"));
    }
}
