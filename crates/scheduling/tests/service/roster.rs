//! Scheduling's read model of assignment's roster and live holds, fed as
//! assignment publishes them on `ileaps.internal.roster.>` and read back as
//! the planner reads it ([`scheduling::roster::roster`],
//! [`scheduling::roster::holds_between`]).

use crate::helpers::*;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use contract::proto::assignment::v1::{ExpertProfile, ExpertRole, Hold, WorkshopHolds};
use contract::proto::common::v1::{DateWindow, Topic};
use contract::{Service, subjects};
use scheduling::roster::{self, CommittedHold};
use test_support::eventually;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn profile(id: &str, revision: u32, monthly_limit: u32, away: &[(&str, &str)]) -> ExpertProfile {
    ExpertProfile {
        expert_id: id.into(),
        display_name: id.to_uppercase(),
        topics: vec![Topic::UrbanPlanning.into(), Topic::Transport.into()],
        languages: vec!["ko".into(), "en".into()],
        time_zone: "Asia/Seoul".into(),
        unavailable: away
            .iter()
            .map(|(start, end)| DateWindow {
                start: (*start).into(),
                end: (*end).into(),
            })
            .collect(),
        monthly_limit,
        active: true,
        revision,
    }
}

fn hold(expert: &str, role: ExpertRole, start: &str, end: &str, month: &str) -> Hold {
    let ts = |s: &str| pbjson_types::Timestamp {
        seconds: at(s).timestamp(),
        nanos: 0,
    };
    Hold {
        expert_id: expert.into(),
        role: role.into(),
        start: Some(ts(start)),
        end: Some(ts(end)),
        month: month.into(),
    }
}

fn holds(workshop: &str, version: u32, revision: u32, holds: Vec<Hold>) -> WorkshopHolds {
    WorkshopHolds {
        workshop_id: workshop.into(),
        workshop_version: version,
        holds,
        revision,
    }
}

async fn send_holds(service: &TestService, body: &WorkshopHolds) {
    service
        .publish(
            Service::Assignment,
            subjects::INTERNAL_ROSTER_HOLDS,
            &body.workshop_id,
            body,
        )
        .await;
}

/// The roster once `ready` holds of it.
async fn roster_when(
    service: &TestService,
    what: &str,
    ready: impl Fn(&[roster::ExpertProfile]) -> bool,
) -> Vec<roster::ExpertProfile> {
    eventually(what, DEADLINE, || async {
        let mut conn = service.pool().acquire().await.ok()?;
        let experts = roster::roster(&mut conn).await.ok()?;
        ready(&experts).then_some(experts)
    })
    .await
}

async fn holds_when(
    service: &TestService,
    (from, to): (&str, &str),
    what: &str,
    ready: impl Fn(&[CommittedHold]) -> bool,
) -> Vec<CommittedHold> {
    eventually(what, DEADLINE, || async {
        let mut conn = service.pool().acquire().await.ok()?;
        let found = roster::holds_between(&mut conn, at(from), at(to))
            .await
            .ok()?;
        ready(&found).then_some(found)
    })
    .await
}

#[tokio::test]
async fn the_roster_follows_each_newer_profile_and_ignores_a_stale_one() {
    let service = TestService::spawn().await;
    service
        .send_profile(&profile("kim-jiwoo", 1, 4, &[("2027-02-01", "2027-02-14")]))
        .await;
    let experts = roster_when(&service, "kim on the roster", |e| e.len() == 1).await;
    assert_eq!(
        experts[0],
        roster::ExpertProfile {
            id: "kim-jiwoo".into(),
            display_name: "KIM-JIWOO".into(),
            topics: [Topic::UrbanPlanning, Topic::Transport].into(),
            languages: vec!["ko".into(), "en".into()],
            time_zone: Tz::Asia__Seoul,
            unavailable: vec![(day("2027-02-01"), day("2027-02-14"))],
            monthly_limit: 4,
            revision: 1,
        }
    );

    // Revision 3, then a late copy of revision 2, then another expert: once
    // that one is there, the stale copy was handled before it (one consumer,
    // in stream order) and changed nothing.
    service
        .send_profile(&profile("kim-jiwoo", 3, 2, &[("2027-03-01", "2027-03-03")]))
        .await;
    service.send_profile(&profile("kim-jiwoo", 2, 9, &[])).await;
    service
        .send_profile(&profile("lee-seoyeon", 1, 4, &[]))
        .await;
    let experts = roster_when(&service, "lee on the roster", |e| e.len() == 2).await;
    let kim = &experts[0];
    assert_eq!(
        (kim.id.as_str(), kim.revision, kim.monthly_limit),
        ("kim-jiwoo", 3, 2)
    );
    assert_eq!(kim.unavailable, [(day("2027-03-01"), day("2027-03-03"))]);

    // The same revision again (an operator's `experts.publish`) is ignored too.
    service.send_profile(&profile("kim-jiwoo", 3, 7, &[])).await;
    // Deactivated: off the roster the planner reads.
    let mut lee = profile("lee-seoyeon", 2, 4, &[]);
    lee.active = false;
    service.send_profile(&lee).await;
    let experts = roster_when(&service, "lee off the roster", |e| e.len() == 1).await;
    assert_eq!(experts[0].id, "kim-jiwoo");
    assert_eq!(
        experts[0].monthly_limit, 2,
        "the republished revision 3 was ignored"
    );
}

#[tokio::test]
async fn a_workshops_holds_replace_the_earlier_ones_and_stale_ones_are_ignored() {
    let service = TestService::spawn().await;
    let may = ("2027-05-01T00:00:00Z", "2027-06-01T00:00:00Z");
    send_holds(
        &service,
        &holds(
            "w1",
            1,
            1,
            vec![hold(
                "kim-jiwoo",
                ExpertRole::Lead,
                "2027-05-09T00:00:00Z",
                "2027-05-12T08:00:00Z",
                "2027-05",
            )],
        ),
    )
    .await;
    let found = holds_when(&service, may, "w1's lead", |h| h.len() == 1).await;
    assert_eq!(
        found[0],
        CommittedHold {
            workshop_id: "w1".into(),
            workshop_version: 1,
            expert_id: "kim-jiwoo".into(),
            role: ExpertRole::Lead,
            start: at("2027-05-09T00:00:00Z"),
            end: at("2027-05-12T08:00:00Z"),
            month: (2027, 5),
        }
    );

    // Version 2 replaces the holds whole; a late revision 1 and a repeat
    // of revision 2 change nothing; w2 marks that they were all handled.
    let second = holds(
        "w1",
        2,
        2,
        vec![
            hold(
                "park-minjun",
                ExpertRole::Lead,
                "2027-05-09T00:00:00Z",
                "2027-05-12T08:00:00Z",
                "2027-05",
            ),
            hold(
                "lee-seoyeon",
                ExpertRole::Support,
                "2027-05-09T00:00:00Z",
                "2027-05-12T08:00:00Z",
                "2027-05",
            ),
        ],
    );
    send_holds(&service, &second).await;
    send_holds(
        &service,
        &holds(
            "w1",
            1,
            1,
            vec![hold(
                "kim-jiwoo",
                ExpertRole::Lead,
                "2027-05-09T00:00:00Z",
                "2027-05-12T08:00:00Z",
                "2027-05",
            )],
        ),
    )
    .await;
    let mut repeat = second.clone();
    repeat.holds.truncate(1);
    send_holds(&service, &repeat).await;
    // w2 is held at the end of April but counts against May.
    send_holds(
        &service,
        &holds(
            "w2",
            1,
            1,
            vec![hold(
                "kim-jiwoo",
                ExpertRole::Lead,
                "2027-04-29T00:00:00Z",
                "2027-05-01T08:00:00Z",
                "2027-05",
            )],
        ),
    )
    .await;
    let found = holds_when(&service, may, "w2's hold", |h| {
        h.iter().any(|h| h.workshop_id == "w2")
    })
    .await;
    let w1: Vec<(&str, ExpertRole, u32)> = found
        .iter()
        .filter(|h| h.workshop_id == "w1")
        .map(|h| (h.expert_id.as_str(), h.role, h.workshop_version))
        .collect();
    assert_eq!(
        w1,
        [
            ("lee-seoyeon", ExpertRole::Support, 2),
            ("park-minjun", ExpertRole::Lead, 2)
        ]
    );

    // Late May: w1 does not overlap it, but both count against May; June
    // sees neither.
    let late_may = holds_when(
        &service,
        ("2027-05-20T00:00:00Z", "2027-05-25T00:00:00Z"),
        "May's holds",
        |h| !h.is_empty(),
    )
    .await;
    assert_eq!(late_may.len(), 3, "{late_may:?}");
    let mut conn = service.pool().acquire().await.unwrap();
    let june = roster::holds_between(
        &mut conn,
        at("2027-06-01T00:00:00Z"),
        at("2027-07-01T00:00:00Z"),
    )
    .await
    .unwrap();
    assert!(june.is_empty(), "{june:?}");
    drop(conn);

    // Cancelled (same version, next revision): w1's holds are gone.
    send_holds(&service, &holds("w1", 2, 3, Vec::new())).await;
    let found = holds_when(&service, may, "w1 released", |h| {
        h.iter().all(|h| h.workshop_id != "w1")
    })
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].workshop_id, "w2");
}
