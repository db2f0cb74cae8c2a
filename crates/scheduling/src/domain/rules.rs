//! The planner's configurable figures ([`Rules`]), with the programme's
//! defaults from `DOMAIN.md` ("Workshop scheduling").

use chrono::{Duration, NaiveTime};
use chrono_tz::Tz;

/// Everything the planner takes as given. Every figure is a default that
/// configuration may change; the planner reads nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Nothing starts sooner than this after the enquiry was received (rule 1).
    pub lead_time: Duration,
    /// A city's working hours in its own local time (rule 2); also the hours of
    /// an in-person session in its host's local time.
    pub working_hours: (NaiveTime, NaiveTime),
    /// The experts' working hours in [`Rules::experts_zone`]: a virtual session
    /// lies inside them (rule 2).
    pub experts_hours: (NaiveTime, NaiveTime),
    /// Where the experts work; virtual workshops and consultations are kept
    /// in this zone.
    pub experts_zone: Tz,
    /// The code of the city that hosts in-person joint workshops.
    pub host_city: String,
    /// The host city's zone.
    pub host_zone: Tz,
    /// The host city's country (ISO 3166-1 alpha-2): no in-person joint
    /// workshop falls on one of its public holidays (rule 8).
    pub host_country: String,
    /// Where the experts work (ISO 3166-1 alpha-2): no session of any kind
    /// falls on one of its public holidays (rule 8, "or of Korea").
    pub experts_country: String,
    /// Rule 5: at most this many workshops or missions on one programme day.
    pub max_workshops_per_day: u32,
    /// Rule 3: a joint workshop takes cities in only while it stays within
    /// this many participants...
    pub max_participants: u32,
    /// ...and this many cities.
    pub max_cities: u32,
    /// A joint workshop with more cities than this needs a SUPPORT expert
    /// besides its LEAD (assignment's rule 1): the optimiser staffs what it
    /// plans, so it counts the same way.
    pub support_over_cities: u32,
    /// ...or with more participants than this.
    pub support_over_participants: u32,
    /// Rule 6: how many later dates are tried after `assignment.unfilled`
    /// before `NO_EXPERT_AFTER_RETRIES`. Counted by the caller.
    pub max_reschedules: u32,
    /// Re-planning never changes what starts sooner than this after the
    /// event that causes it (DOMAIN.md: the freeze horizon): cities and
    /// experts book travel.
    pub freeze_horizon: Duration,
    /// A planned workshop moves at most this many times in its life to let
    /// more enquiries be served or cities be grouped.
    pub max_moves: u32,
    /// At most this many planned workshops are re-planned with a new
    /// enquiry: those it could join first, then those competing for its
    /// days. Bounds each solve's size, so planning stays quick.
    pub replan_workshops: u32,
    /// Of the dates a re-planned workshop could move to, only this many
    /// nearest its own are offered to the solver, and any where the new
    /// enquiry could join it; 0 offers them all. Bounds each solve's size.
    pub replan_alternatives: u32,
    /// The solver's budget per objective level, in branch-and-bound nodes
    /// (deterministic, unlike seconds).
    pub solver_nodes: [u64; 3],
    /// When enquiries queue up, at most this many consecutive ones are
    /// planned together in one solve; 1 plans each on its own.
    pub plan_batch: u32,
    /// Consecutive working days of a joint workshop.
    pub joint_days: u32,
    /// The length of each day's session of a virtual joint workshop.
    pub virtual_joint_session: Duration,
    /// The length of a consultation (one virtual session).
    pub consultation: Duration,
    /// Consecutive working days of a pilot project's field mission.
    pub mission_days: u32,
    /// A virtual session starts on a multiple of this after midnight in
    /// [`Rules::experts_zone`], so times read well ("12:30", not "12:17").
    pub slot_step: Duration,
    /// The language every city and every workshop is assumed to share,
    /// whether listed or not (the contract: "English is always assumed
    /// possible").
    pub always_shared_language: String,
}

fn clock(hour: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or(NaiveTime::MIN)
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            lead_time: Duration::days(14),
            working_hours: (clock(9), clock(17)),
            experts_hours: (clock(9), clock(18)),
            experts_zone: chrono_tz::Asia::Seoul,
            host_city: "seoul".to_owned(),
            host_zone: chrono_tz::Asia::Seoul,
            host_country: "KR".to_owned(),
            experts_country: "KR".to_owned(),
            max_workshops_per_day: 3,
            max_participants: 40,
            max_cities: 5,
            support_over_cities: 2,
            support_over_participants: 25,
            max_reschedules: 3,
            freeze_horizon: Duration::days(28),
            max_moves: 2,
            replan_workshops: 12,
            replan_alternatives: 0,
            solver_nodes: [5_000, 1_000, 500],
            plan_batch: 8,
            joint_days: 2,
            virtual_joint_session: Duration::hours(3),
            consultation: Duration::hours(2),
            mission_days: 5,
            slot_step: Duration::minutes(15),
            always_shared_language: "en".to_owned(),
        }
    }
}
