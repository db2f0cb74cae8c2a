//! Properties of the matcher over generated rosters, holds and needs:
//! whatever it answers keeps rules 1-4 (checked here from scratch, not with
//! the matcher's own checks); every current expert is kept, re-added or
//! released, once; an unfilled lead really has nobody; the answer does not
//! depend on input order; and a run of needs fed back as holds never
//! double-books anyone or breaks a monthly limit.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use contract::proto::assignment::v1::ExpertRole;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use std::collections::{BTreeMap, BTreeSet};

use super::{
    Commitment, Current, Expert, ExpertId, Need, Outcome, Period, Rules, Staffing, UnfilledCode,
    month_of, period_of, roles_needed, staff, staff_proposed,
};

/// Few topics, languages and cities, so that generated experts and needs
/// meet often enough for every outcome to show up.
const TOPICS: [Topic; 4] = [
    Topic::UrbanPlanning,
    Topic::Transport,
    Topic::DesignThinking,
    Topic::Housing,
];
const LANGUAGES: [&str; 4] = ["en", "ko", "id", "si"];
const CITIES: [&str; 4] = ["makassar", "colombo", "hulhumale", "chandigarh"];
const ZONES: [Tz; 4] = [
    Tz::Asia__Seoul,
    Tz::Asia__Jakarta,
    Tz::UTC,
    Tz::America__Santiago,
];
/// Everything happens within ~80 days of this, across three months.
const HORIZON_HOURS: i64 = 80 * 24;

fn base() -> DateTime<Utc> {
    "2027-02-20T00:00:00Z".parse().unwrap()
}

fn base_day() -> NaiveDate {
    base().date_naive()
}

fn expert_id(index: usize) -> ExpertId {
    ExpertId::parse(&format!("ex-{index:02}")).unwrap()
}

prop_compose! {
    fn expert_parts()(
        topics in subsequence(TOPICS.to_vec(), 0..=3),
        languages in subsequence(LANGUAGES.to_vec(), 1..=2),
        zone in select(ZONES.to_vec()),
        unavailable in prop::collection::vec((0i64..80, 0i64..6), 0..=2),
        monthly_limit in prop_oneof![4 => 1u32..=4, 1 => Just(0u32)],
    ) -> (Vec<Topic>, Vec<&'static str>, Tz, Vec<(i64, i64)>, u32) {
        (topics, languages, zone, unavailable, monthly_limit)
    }
}

fn roster() -> impl Strategy<Value = Vec<Expert>> {
    roster_of(0..10)
}

fn roster_of(size: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Expert>> {
    prop::collection::vec(expert_parts(), size).prop_map(|parts| {
        parts
            .into_iter()
            .enumerate()
            .map(
                |(i, (topics, languages, zone, unavailable, limit))| Expert {
                    id: expert_id(i),
                    display_name: format!("Expert {i}"),
                    topics: topics.into_iter().collect(),
                    languages: languages.into_iter().map(str::to_owned).collect(),
                    time_zone: zone,
                    unavailable: unavailable
                        .into_iter()
                        .map(|(from, len)| {
                            let first = base_day() + Duration::days(from);
                            (first, first + Duration::days(len))
                        })
                        .collect(),
                    monthly_limit: limit,
                },
            )
            .collect()
    })
}

prop_compose! {
    fn need_in(workshop_ids: Vec<&'static str>)(
        workshop_id in select(workshop_ids),
        version in 1u32..5,
        kind in select(vec![
            EnquiryKind::JointWorkshop,
            EnquiryKind::ConsultativeSupport,
            EnquiryKind::PilotProject,
        ]),
        format in select(vec![Format::InPerson, Format::Virtual]),
        topics in subsequence(TOPICS.to_vec(), 1..=3).prop_shuffle(),
        languages in subsequence(LANGUAGES[1..].to_vec(), 0..=2),
        cities in subsequence(CITIES.to_vec(), 1..=4),
        participants in 1u32..=50,
        start in 0i64..HORIZON_HOURS,
        days in 1i64..=3,
        hours in 1i64..=8,
    ) -> Need {
        let first = base() + Duration::hours(start);
        Need {
            workshop_id: workshop_id.to_owned(),
            version,
            kind,
            format,
            topics,
            languages: languages.into_iter().map(str::to_owned).collect(),
            cities: cities.into_iter().map(str::to_owned).collect(),
            participants,
            sessions: (0..days)
                .map(|d| {
                    let start = first + Duration::days(d);
                    (start, start + Duration::hours(hours))
                })
                .collect(),
        }
    }
}

fn need() -> impl Strategy<Value = Need> {
    need_in(vec!["w-staffed"])
}

fn commitments() -> impl Strategy<Value = Vec<Commitment>> {
    prop::collection::vec(
        (0usize..10, 0i64..HORIZON_HOURS, 1i64..72, any::<bool>()),
        0..12,
    )
    .prop_map(|holds| {
        holds
            .into_iter()
            .enumerate()
            .map(|(k, (expert, start, len, own))| {
                let start = base() + Duration::hours(start);
                Commitment {
                    expert_id: expert_id(expert),
                    // Now and then a stale hold of the workshop itself.
                    workshop_id: if own && k % 4 == 0 {
                        "w-staffed".to_owned()
                    } else {
                        format!("w-other-{k}")
                    },
                    period: Period::new(start, start + Duration::hours(len)).unwrap(),
                    month: (start.year(), start.month()),
                }
            })
            .collect()
    })
}

fn current() -> impl Strategy<Value = Vec<Current>> {
    prop::collection::vec(
        (
            0usize..10,
            prop_oneof![
                4 => Just(ExpertRole::Lead),
                4 => Just(ExpertRole::Support),
                1 => Just(ExpertRole::Unspecified),
            ],
        ),
        0..=3,
    )
    .prop_map(|entries| {
        entries
            .into_iter()
            .map(|(expert, role)| Current {
                expert_id: expert_id(expert),
                role,
            })
            .collect()
    })
}

fn worked_with() -> impl Strategy<Value = BTreeMap<ExpertId, BTreeSet<String>>> {
    prop::collection::btree_map(
        (0usize..10).prop_map(expert_id),
        subsequence(CITIES.to_vec(), 0..=2)
            .prop_map(|cities| cities.into_iter().map(str::to_owned).collect()),
        0..5,
    )
}

#[derive(Debug, Clone)]
struct Scenario {
    need: Need,
    current: Vec<Current>,
    experts: Vec<Expert>,
    commitments: Vec<Commitment>,
    worked_with: BTreeMap<ExpertId, BTreeSet<String>>,
}

impl Scenario {
    fn staff(&self) -> Staffing {
        staff(
            &self.need,
            &self.current,
            &self.experts,
            &self.commitments,
            &self.worked_with,
            &Rules::default(),
        )
    }

    fn expert(&self, id: &ExpertId) -> Option<&Expert> {
        self.experts.iter().find(|e| &e.id == id)
    }

    // The rules, written out again from DOMAIN.md.

    fn has_topic_for(&self, expert: &Expert, role: ExpertRole) -> bool {
        match role {
            ExpertRole::Lead => expert.topics.contains(&self.need.topics[0]),
            ExpertRole::Support => self.need.topics.iter().any(|t| expert.topics.contains(t)),
            ExpertRole::Unspecified => false,
        }
    }

    fn shares_language(&self, expert: &Expert) -> bool {
        let primary = |tag: &str| tag.split('-').next().unwrap().to_ascii_lowercase();
        expert.languages.iter().any(|spoken| {
            let spoken = primary(spoken);
            spoken == "en" || self.need.languages.iter().any(|l| primary(l) == spoken)
        })
    }

    fn others(&self, expert: &Expert) -> impl Iterator<Item = &Commitment> {
        let id = expert.id.clone();
        let workshop = self.need.workshop_id.clone();
        self.commitments
            .iter()
            .filter(move |c| c.expert_id == id && c.workshop_id != workshop)
    }

    fn is_free(&self, expert: &Expert) -> bool {
        let held = period_of(&self.need);
        let clash = |p: &Period| p.start().max(held.start()) < p.end().min(held.end());
        !self.others(expert).any(|c| clash(&c.period))
            && !expert.unavailable.iter().any(|&(first, last)| {
                Period::local_days(expert.time_zone, first, last).is_some_and(|p| clash(&p))
            })
    }

    fn under_limit(&self, expert: &Expert) -> bool {
        let month = month_of(&self.need);
        let count = self.others(expert).filter(|c| c.month == month).count();
        u32::try_from(count).unwrap() < expert.monthly_limit
    }

    fn qualifies(&self, expert: &Expert, role: ExpertRole) -> bool {
        self.has_topic_for(expert, role)
            && self.shares_language(expert)
            && self.is_free(expert)
            && self.under_limit(expert)
    }
}

prop_compose! {
    fn scenario()(
        need in need(),
        current in current(),
        experts in roster(),
        commitments in commitments(),
        worked_with in worked_with(),
    ) -> Scenario {
        Scenario { need, current, experts, commitments, worked_with }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn everyone_assigned_keeps_the_rules_of_their_role(s in scenario()) {
        let staffing = s.staff();
        let assigned = staffing.assigned();
        let mut seen = BTreeSet::new();
        for (id, role) in &assigned {
            prop_assert!(seen.insert(id.clone()), "{id} twice in {staffing:?}");
            let expert = s.expert(id).expect("assigned experts are on the roster");
            prop_assert!(s.has_topic_for(expert, *role), "{id} as {role:?} lacks the topic");
            prop_assert!(s.shares_language(expert), "{id} shares no language");
            prop_assert!(s.is_free(expert), "{id} is double-booked or unavailable");
            prop_assert!(s.under_limit(expert), "{id} is over the monthly limit");
        }
        if staffing.is_staffed() {
            let roles: Vec<ExpertRole> = assigned.iter().map(|(_, r)| *r).collect();
            let mut needed = roles_needed(&s.need);
            let mut got = roles.clone();
            needed.sort();
            got.sort();
            prop_assert_eq!(got, needed, "roles of {:?}", staffing);
        } else {
            prop_assert!(staffing.add.is_empty());
        }
    }

    #[test]
    fn every_current_expert_is_kept_readded_or_released_once(s in scenario()) {
        let staffing = s.staff();
        let kept: BTreeSet<&ExpertId> = staffing.keep.iter().map(|c| &c.expert_id).collect();
        let added: BTreeSet<&ExpertId> = staffing.add.iter().map(|(id, _)| id).collect();
        let released: BTreeSet<&ExpertId> = staffing.release.iter().collect();
        prop_assert_eq!(released.len(), staffing.release.len(), "released twice");
        prop_assert!(kept.is_disjoint(&added));
        prop_assert!(released.is_disjoint(&kept) && released.is_disjoint(&added));
        for c in &staffing.keep {
            prop_assert!(s.current.contains(c), "{c:?} kept but not current");
        }
        for id in &released {
            prop_assert!(s.current.iter().any(|c| &c.expert_id == *id));
        }
        for c in &s.current {
            let places = [kept.contains(&c.expert_id), added.contains(&c.expert_id), released.contains(&c.expert_id)];
            prop_assert_eq!(places.iter().filter(|p| **p).count(), 1, "{:?} in {:?}", c, staffing);
        }
    }

    #[test]
    fn an_unfilled_lead_means_nobody_could_lead(s in scenario()) {
        let staffing = s.staff();
        let can_lead: Vec<&Expert> = s.experts.iter().filter(|e| s.qualifies(e, ExpertRole::Lead)).collect();
        match &staffing.outcome {
            Outcome::Unfilled { code, detail } if *code != UnfilledCode::NoSupportExpert => {
                prop_assert!(can_lead.is_empty(), "{code} though {:?} could lead", can_lead);
                prop_assert!(detail.ends_with('.') && !detail.is_empty());
                let with_topic = s.experts.iter().filter(|e| s.has_topic_for(e, ExpertRole::Lead));
                let speaking = with_topic.clone().filter(|e| s.shares_language(e));
                let free = speaking.clone().filter(|e| s.is_free(e));
                let expected = if with_topic.count() == 0 {
                    UnfilledCode::NoExpertForTopic
                } else if speaking.count() == 0 {
                    UnfilledCode::NoSharedLanguage
                } else if free.count() == 0 {
                    UnfilledCode::AllExpertsBusy
                } else {
                    UnfilledCode::MonthlyLimitReached
                };
                prop_assert_eq!(*code, expected);
            }
            _ => {}
        }
        if can_lead.is_empty() {
            prop_assert!(!staffing.is_staffed());
        }
    }

    #[test]
    fn the_answer_is_deterministic_and_ignores_the_order_of_roster_and_holds(
        s in scenario(),
        seed in any::<u64>(),
    ) {
        let first = s.staff();
        prop_assert_eq!(&first, &s.staff());
        let mut shuffled = s.clone();
        rotate(&mut shuffled.experts, seed);
        rotate(&mut shuffled.commitments, seed / 7);
        shuffled.experts.reverse();
        prop_assert_eq!(first, shuffled.staff());
    }

    #[test]
    fn a_period_overlaps_another_exactly_when_they_share_an_instant(
        a in (0i64..100, 0i64..20),
        b in (0i64..100, 0i64..20),
    ) {
        let p = |(start, len): (i64, i64)| {
            Period::new(base() + Duration::hours(start), base() + Duration::hours(start + len)).unwrap()
        };
        let (pa, pb) = (p(a), p(b));
        let shared = (0..120).any(|h| {
            let t = base() + Duration::hours(h);
            [pa, pb].iter().all(|x| x.start() <= t && t < x.end())
        });
        prop_assert_eq!(pa.overlaps(&pb), shared);
        prop_assert_eq!(pa.overlaps(&pb), pb.overlaps(&pa));
    }
}

fn rotate<T>(items: &mut [T], by: u64) {
    if !items.is_empty() {
        let by = usize::try_from(by % items.len() as u64).unwrap();
        items.rotate_left(by);
    }
}

/// What the store would hold: each workshop's latest need and experts.
#[derive(Default)]
struct Store {
    workshops: BTreeMap<String, (Need, Vec<Current>)>,
    worked_with: BTreeMap<ExpertId, BTreeSet<String>>,
}

impl Store {
    fn commitments_except(&self, workshop_id: &str) -> Vec<Commitment> {
        self.workshops
            .iter()
            .filter(|(id, _)| id.as_str() != workshop_id)
            .flat_map(|(_, (need, experts))| {
                experts
                    .iter()
                    .map(|c| Commitment::for_need(need, c.expert_id.clone(), &Rules::default()))
            })
            .collect()
    }

    fn apply(&mut self, need: &Need, experts: &[Expert]) -> Staffing {
        let current = self
            .workshops
            .get(&need.workshop_id)
            .map(|(_, current)| current.clone())
            .unwrap_or_default();
        let staffing = staff(
            need,
            &current,
            experts,
            &self.commitments_except(&need.workshop_id),
            &self.worked_with,
            &Rules::default(),
        );
        let now: Vec<Current> = staffing
            .assigned()
            .into_iter()
            .map(|(expert_id, role)| Current { expert_id, role })
            .collect();
        if staffing.is_staffed() {
            for c in &now {
                self.worked_with
                    .entry(c.expert_id.clone())
                    .or_default()
                    .extend(need.cities.iter().cloned());
            }
        }
        self.workshops
            .insert(need.workshop_id.clone(), (need.clone(), now));
        staffing
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_run_of_needs_never_double_books_an_expert_or_breaks_a_limit(
        experts in roster_of(4..12),
        needs in prop::collection::vec(need_in(vec!["w0", "w1", "w2", "w3", "w4"]), 1..16),
    ) {
        let mut store = Store::default();
        let mut staffed = 0;
        for need in &needs {
            if store.apply(need, &experts).is_staffed() {
                staffed += 1;
            }
            let all = store.commitments_except("");
            for expert in &experts {
                let mine: Vec<&Commitment> = all.iter().filter(|c| c.expert_id == expert.id).collect();
                for (i, a) in mine.iter().enumerate() {
                    for b in &mine[i + 1..] {
                        prop_assert!(
                            !a.period.overlaps(&b.period),
                            "{} holds {} and {} at once", expert.id, a.workshop_id, b.workshop_id
                        );
                    }
                    let in_month = mine.iter().filter(|c| c.month == a.month).count();
                    prop_assert!(u32::try_from(in_month).unwrap() <= expert.monthly_limit);
                }
            }
        }
        prop_assert!(staffed <= needs.len());
    }
}

// ---- scheduling's proposed team (module docs, decision 8) ---------------------

fn proposal() -> impl Strategy<Value = Vec<(ExpertId, ExpertRole)>> {
    prop::collection::vec(
        (
            0usize..10,
            prop_oneof![
                4 => Just(ExpertRole::Lead),
                4 => Just(ExpertRole::Support),
                1 => Just(ExpertRole::Unspecified),
            ],
        ),
        0..=3,
    )
    .prop_map(|entries| {
        entries
            .into_iter()
            .map(|(expert, role)| (expert_id(expert), role))
            .collect()
    })
}

impl Scenario {
    fn staff_proposed(&self, proposal: &[(ExpertId, ExpertRole)]) -> Staffing {
        staff_proposed(
            &self.need,
            &self.current,
            proposal,
            &self.experts,
            &self.commitments,
            &self.worked_with,
            &Rules::default(),
        )
    }

    /// Rules 1-4 for `id` in `role`, written out again (not the matcher's).
    fn qualifies_by_id(&self, id: &ExpertId, role: ExpertRole) -> bool {
        self.expert(id).is_some_and(|e| self.qualifies(e, role))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_proposal_nobody_in_which_qualifies_gives_exactly_the_matchers_answer(
        s in scenario(),
        proposal in proposal(),
    ) {
        let unqualified: Vec<(ExpertId, ExpertRole)> = proposal
            .into_iter()
            .filter(|(id, role)| !s.qualifies_by_id(id, *role))
            .collect();
        let staffing = s.staff_proposed(&unqualified);
        prop_assert_eq!(&staffing, &s.staff());
        // And none of them holds the role they were proposed for (unless
        // the matcher chose them for it by itself, which it cannot: they
        // do not qualify).
        let assigned = staffing.assigned();
        for entry in &unqualified {
            prop_assert!(!assigned.contains(entry), "{entry:?} taken in {staffing:?}");
        }
    }

    #[test]
    fn a_qualifying_proposed_lead_is_always_taken_when_the_lead_is_vacant(
        s in scenario(),
        support_too in prop::option::of(0usize..10),
    ) {
        let s = Scenario { current: Vec::new(), ..s };
        let support_needed = Rules::default().needs_support(&s.need);
        for candidate in s.experts.iter().filter(|e| s.qualifies(e, ExpertRole::Lead)) {
            let mut proposal = vec![(candidate.id.clone(), ExpertRole::Lead)];
            let support = support_too
                .map(expert_id)
                .filter(|id| support_needed && *id != candidate.id && s.qualifies_by_id(id, ExpertRole::Support));
            if let Some(id) = &support {
                proposal.push((id.clone(), ExpertRole::Support));
            }
            // A whole team can be made around them: no support is needed,
            // or someone else qualifies for it.
            let completable = !support_needed
                || s.experts.iter().any(|e| e.id != candidate.id && s.qualifies(e, ExpertRole::Support));
            let staffing = s.staff_proposed(&proposal);
            if completable {
                prop_assert!(staffing.is_staffed(), "{staffing:?}");
                let assigned = staffing.assigned();
                prop_assert!(
                    assigned.contains(&(candidate.id.clone(), ExpertRole::Lead)),
                    "{} proposed and qualified, yet {assigned:?}", candidate.id
                );
                if let Some(id) = support {
                    prop_assert!(assigned.contains(&(id, ExpertRole::Support)), "{assigned:?}");
                }
            } else {
                prop_assert_eq!(staffing, s.staff());
            }
        }
    }

    #[test]
    fn whatever_is_proposed_the_rules_hold_and_a_staffable_workshop_stays_staffed(
        s in scenario(),
        proposal in proposal(),
    ) {
        let staffing = s.staff_proposed(&proposal);
        let mut seen = BTreeSet::new();
        for (id, role) in staffing.assigned() {
            prop_assert!(seen.insert(id.clone()), "{id} twice in {staffing:?}");
            prop_assert!(s.qualifies_by_id(&id, role), "{id} as {role:?} breaks a rule");
        }
        if s.staff().is_staffed() {
            prop_assert!(staffing.is_staffed(), "{staffing:?}");
        }
        // Rule 6 first: a current expert the matcher keeps is kept.
        for kept in &s.staff().keep {
            prop_assert!(staffing.keep.contains(kept) || !staffing.is_staffed(), "{kept:?} not kept");
        }
    }
}
