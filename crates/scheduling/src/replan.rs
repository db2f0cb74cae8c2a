//! Re-planning around new enquiries with the optimiser (`planner`): the
//! new enquiries (one, or a burst that queued up: see [`received`]) and the
//! planned workshops they could join or compete with are solved together,
//! everything else held fixed, and the answer comes back as [`Change`]s for
//! the handler to store and announce.
//!
//! # What is re-planned
//!
//! A *neighbourhood* ([`store::neighbourhood`], at most
//! [`Rules::replan_workshops`] per new enquiry): joint workshops of the new
//! enquiry's kind and primary topic, which it might join (after a move, if
//! need be), then workshops whose days meet its window, which compete with
//! it for days and experts. A burst's neighbourhood takes the nearest of
//! each enquiry's in turn, up to twice [`Rules::replan_workshops`] in all,
//! so one solve stays about the size of two. Nothing that starts within
//! [`Rules::freeze_horizon`] of the latest arrival is in it: frozen
//! workshops never move. The rest of the calendar, and every expert hold
//! outside the neighbourhood, is fixed.
//!
//! Each workshop in the neighbourhood is kept whole and served; it may move
//! to other dates every one of its cities can attend, in its format, while
//! it has moves left ([`Rules::max_moves`]). The objective (docs/planning.md)
//! moves one only to serve more enquiries or to group cities.
//!
//! # When the optimiser is not used
//!
//! With no roster known yet (assignment has not published one), the plan
//! cannot know who can staff a date, so the caller plans first-fit, as
//! before the optimiser, and assignment staffs or reports `unfilled`. The
//! same happens, with a warning, when the solver fails or a planned
//! workshop's dates are no longer a candidate: a new enquiry is never lost
//! to a planning error.
//!
//! # Deterministic
//!
//! The neighbourhood is read in a fixed order, the solver's budget is
//! counted in nodes, and the freeze horizon counts from the enquiries'
//! `received_at`, never from the clock: the same events, planned in the
//! same batches, give the same plan. Which enquiries were planned together
//! is recorded ([`store::record_planning`]) for a replay to follow.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use contract::proto::common::v1::{EnquiryKind, Topic};
use messaging::HandlerError;
use sqlx::PgConnection;
use std::collections::{BTreeMap, BTreeSet};
use tracing::{info, warn};
use uuid::Uuid;

use crate::domain::candidates::{
    Candidates, CurrentWorkshop, Mobility, OpenEnquiry, OutsideHold, PlannedGroup, candidates,
    hold_period_of,
};
use crate::domain::{DaySpan, PlannedWorkshop, Request, Rules, Session, programme_day};
use crate::roster::{self, CommittedHold, ExpertProfile};
use crate::store::{self, CalendarQuery, NeighbourhoodQuery, WorkshopRow};
use contract::proto::assignment::v1::ExpertRole;

/// A team the plan proposes, by expert id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub lead: String,
    pub support: Option<String>,
}

/// What the re-plan changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A planned workshop moves: `workshop` has its new sessions and the
    /// next version.
    Moved {
        id: Uuid,
        workshop: PlannedWorkshop,
        team: Team,
        reason: String,
        /// Whether its dates change, not only its sessions' hours (a
        /// virtual workshop's hours follow its cities' zones, so a city
        /// joining may shift them). Only a change of dates is one of the
        /// workshop's moves (DOMAIN.md: cities and experts book travel by
        /// the dates); the planner's slots are dates, and keeping the
        /// dates is staying, as it sees it.
        dates_changed: bool,
    },
    /// New enquiries (`enquiries`, by id) join a planned workshop:
    /// `workshop` has them among its attendees, at the next version.
    Joined {
        id: Uuid,
        workshop: PlannedWorkshop,
        team: Team,
        enquiries: Vec<String>,
    },
    /// A new workshop or mission, at version 1, for the new enquiries it
    /// lists as attendees (several when a burst is planned together).
    Created {
        id: Uuid,
        workshop: PlannedWorkshop,
        team: Team,
    },
    /// This new enquiry cannot be served: no date in its window that the
    /// rules allow has an expert free to staff it.
    Unserved { enquiry_id: String },
}

/// Why the optimiser was not used for this enquiry (the caller plans it
/// first-fit instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// No roster is known yet.
    NoRoster,
    /// The solver or the bridge failed; logged.
    Failed(String),
}

/// Plans `newcomers` (already stored, in the order they arrived) together
/// with their neighbourhood: one enquiry, or a burst that queued up, in one
/// solve. They are the first open enquiries of the model, `0..n`.
pub async fn received(
    tx: &mut PgConnection,
    newcomers: &[OpenEnquiry],
    rules: &Rules,
    holiday_countries: impl Fn(&[&crate::domain::Attendee]) -> Vec<String>,
) -> Result<Result<Vec<Change>, Skipped>, HandlerError> {
    let roster = roster::roster(tx).await?;
    if roster.is_empty() {
        return Ok(Err(Skipped::NoRoster));
    }
    let Some(latest) = newcomers
        .iter()
        .map(|n| n.request.attendee.received_at)
        .max()
    else {
        return Ok(Ok(Vec::new()));
    };
    let frozen_until = programme_day(latest + rules.freeze_horizon);
    let rows = neighbourhood(tx, newcomers, frozen_until, rules).await?;
    let arrivals = 0..newcomers.len();

    // The open enquiries: the new ones first, then each workshop's.
    let mut open = newcomers.to_vec();
    let mut planned: Vec<(WorkshopRow, PlannedWorkshop)> = Vec::new();
    for (row, attendees) in rows {
        match row.to_planned(&attendees) {
            Ok(workshop) if !workshop.attendees.is_empty() => planned.push((row, workshop)),
            Ok(_) => {}
            Err(unreadable) => {
                warn!(workshop_id = %row.id, %unreadable, "workshop left out of the re-plan");
            }
        }
    }
    let mut current = match currents(tx, &planned, &mut open, |row| {
        if u32::try_from(row.moves).unwrap_or(u32::MAX) < rules.max_moves {
            Mobility::MayMove
        } else {
            Mobility::Stays
        }
    })
    .await?
    {
        Ok(current) => current,
        Err(skipped) => return Ok(Err(skipped)),
    };
    let except: Vec<Uuid> = planned.iter().map(|(row, _)| row.id).collect();
    let all = match bridge(
        tx,
        &open,
        &mut current,
        &except,
        &roster,
        rules,
        &holiday_countries,
    )
    .await?
    {
        Ok(all) => all,
        Err(skipped) => return Ok(Err(skipped)),
    };
    let budget = planner::Budget {
        nodes: rules.solver_nodes,
    };
    let solving = std::time::Instant::now();
    // First with every planned workshop kept where it is: a small model.
    // When the new enquiry is served there and moves could not do better,
    // that plan is the optimum of the whole model (see `settled_without_moves`).
    let kept: Vec<CurrentWorkshop> = current
        .iter()
        .cloned()
        .map(|workshop| CurrentWorkshop {
            mobility: Mobility::Stays,
            ..workshop
        })
        .collect();
    let still = match all.clone().with_current(&kept) {
        Ok(bridge) => bridge,
        Err(stale) => return Ok(Err(Skipped::Failed(stale.to_string()))),
    };
    let start = still.current_plan();
    let first = match planner::optimise(&still.instance, budget, start.as_ref()) {
        Ok(outcome) => outcome,
        Err(error) => {
            let why = why_the_calendar_is_not_a_plan(&still, start.as_ref());
            return Ok(Err(Skipped::Failed(format!(
                "the first stage: {error}{why}"
            ))));
        }
    };
    let first_ms = solving.elapsed().as_millis();
    // Until the whole model's levels 1 and 2 are done, when they run.
    let mut second_ms = first_ms;
    let first_served = first.plan.served();
    let movable = current.iter().any(|c| c.mobility == Mobility::MayMove);
    // The whole model: every planned workshop with moves left may move.
    let whole = match all.clone().with_current(&current) {
        Ok(bridge) => {
            bridge.with_nearest_alternatives(rules.replan_alternatives as usize, arrivals.clone())
        }
        Err(stale) => return Ok(Err(Skipped::Failed(stale.to_string()))),
    };
    let settled = !movable || settled_without_moves(&still, &whole, &first.plan, arrivals.clone());
    // Before the whole model, one move alone: a model about the first
    // stage's size that settles the usual move (a workshop moved so that a
    // new enquiry joins it, or out of its way) when its answer is one no
    // plan can beat.
    let mut one_move_ms = None;
    let mut relaxed_ms = None;
    // Which step's answer the plan is (for the log).
    let mut settled_by = if settled {
        "first stage"
    } else {
        "whole model"
    };
    let one_move = if settled {
        None
    } else {
        let one_move = settled_by_one_move(
            &all,
            &current,
            &whole,
            &first,
            budget,
            rules,
            arrivals.clone(),
        );
        one_move_ms = Some(solving.elapsed().as_millis());
        one_move
    };
    let (bridge, outcome, stages) = if settled {
        (still, first, 1)
    } else if let Some(one_move) = one_move {
        let (alone, two) = match one_move {
            Ok(settled) => settled,
            Err(error) => return Ok(Err(Skipped::Failed(format!("one move alone: {error}")))),
        };
        second_ms = solving.elapsed().as_millis();
        settled_by = "one move";
        match last_level(&all, &current, &alone, two, budget, rules, arrivals.clone()) {
            Ok((narrow, outcome)) => (narrow, outcome, 3),
            Err(error) => return Ok(Err(Skipped::Failed(error))),
        }
    } else {
        // Moves may serve the enquiry, or let it join a workshop instead of
        // opening one: the whole model, from the first stage's plan.
        let bridge = whole;
        // Served and grouping first (levels 1 and 2), searched for first
        // without the workshops no new enquiry could join, which can only
        // compete with it; when that answer fits back around them, it is
        // the whole model's (`planner::relax`). Either way, when moves do
        // no better there than the first stage, the first stage's plan is
        // the whole model's optimum: an equal second level means no
        // move (a move outweighs any change of experts, and a workshop
        // fewer would lower the level), and every planned workshop is
        // confirmed, so a plan that ties lies within the first stage's
        // model, where the third level was already solved.
        // A failure here costs only the shortcut: the whole model follows.
        let relaxed =
            planner::relax::optimise_served_and_grouping(&bridge.instance, budget, &first.plan)
                .unwrap_or_else(|error| {
                    warn!(%error, "the model without the workshops nobody could join failed");
                    None
                });
        relaxed_ms = Some(solving.elapsed().as_millis());
        let two = match relaxed {
            Some(two) => {
                settled_by = "relaxation";
                two
            }
            None => match planner::optimise_with(
                &bridge.instance,
                budget,
                Some(&first.plan),
                LEVELS_ONE_AND_TWO,
            ) {
                Ok(outcome) => outcome,
                Err(error) => {
                    return Ok(Err(Skipped::Failed(format!("the whole model: {error}"))));
                }
            },
        };
        second_ms = solving.elapsed().as_millis();
        if two.score.grouping() == first.score.grouping() {
            (still, first, 2)
        } else {
            match last_level(
                &all,
                &current,
                &bridge,
                two,
                budget,
                rules,
                arrivals.clone(),
            ) {
                Ok((narrow, outcome)) => (narrow, outcome, 3),
                Err(error) => return Ok(Err(Skipped::Failed(error))),
            }
        }
    };
    // The solver sees the largest load only: below it, the least busy
    // expert who may take a role takes it (`planner::balance`).
    let evening = std::time::Instant::now();
    let (plan, evened) = planner::even_the_load(&bridge.instance, &outcome.plan);
    info!(
        enquiry_id = %newcomers[0].request.attendee.enquiry_id,
        together = newcomers.len(),
        workshops = planned.len(),
        stages,
        moves = outcome.score.moves,
        experts_changed = outcome.score.experts_changed,
        variables = outcome.variables,
        rows = outcome.rows,
        proven = outcome.proven,
        first_served,
        served = outcome.plan.served(),
        first_ms = u64::try_from(first_ms).unwrap_or(u64::MAX),
        second_ms = u64::try_from(second_ms).unwrap_or(u64::MAX),
        one_move_ms = one_move_ms.map(|ms| u64::try_from(ms).unwrap_or(u64::MAX)),
        relaxed_ms = relaxed_ms.map(|ms| u64::try_from(ms).unwrap_or(u64::MAX)),
        settled_by,
        solve_ms = u64::try_from(evening.duration_since(solving).as_millis()).unwrap_or(u64::MAX),
        evened,
        even_ms = u64::try_from(evening.elapsed().as_millis()).unwrap_or(u64::MAX),
        "re-planned"
    );
    let groups = match bridge.workshops(&plan, rules) {
        Ok(groups) => groups,
        Err(error) => return Ok(Err(Skipped::Failed(error.to_string()))),
    };
    let mut changes = changes(
        newcomers.len(),
        &open,
        &planned,
        &groups,
        &bridge.layouts,
        rules,
    );
    let held: BTreeMap<Uuid, Held> = planned
        .iter()
        .zip(&current)
        .map(|((row, workshop), now)| {
            let experts = now.lead.iter().chain(&now.support).cloned().collect();
            (row.id, Held::of(experts, workshop))
        })
        .collect();
    in_announcement_order(&mut changes, &held);
    Ok(Ok(changes))
}

/// The planned workshops a re-plan of `newcomers` may change: each one's
/// neighbourhood ([`store::neighbourhood`]), taken in turn (the first
/// nearest of each, then the second, …) without repeats, at most
/// [`Rules::replan_workshops`] for one enquiry and twice that for a burst.
async fn neighbourhood(
    tx: &mut PgConnection,
    newcomers: &[OpenEnquiry],
    frozen_until: NaiveDate,
    rules: &Rules,
) -> Result<Vec<(WorkshopRow, Vec<store::AttendeeRow>)>, HandlerError> {
    let mut each = Vec::with_capacity(newcomers.len());
    for newcomer in newcomers {
        let request = &newcomer.request;
        let joinable = (request.kind == EnquiryKind::JointWorkshop)
            .then(|| request.primary_topic().map(|topic| (request.kind, topic)))
            .flatten();
        let window = request.attendee.window;
        let rows = store::neighbourhood(
            tx,
            &NeighbourhoodQuery {
                joinable,
                window: DaySpan::new(window.start, window.end),
                after: frozen_until,
                limit: i64::from(rules.replan_workshops),
            },
        )
        .await?;
        each.push(rows.into_iter());
    }
    let limit = if newcomers.len() > 1 {
        2 * rules.replan_workshops as usize
    } else {
        rules.replan_workshops as usize
    };
    let mut taken = BTreeSet::new();
    let mut rows = Vec::new();
    while rows.len() < limit {
        let mut any = false;
        for list in &mut each {
            if let Some((row, attendees)) = list.next() {
                any = true;
                if rows.len() < limit && taken.insert(row.id) {
                    rows.push((row, attendees));
                }
            }
        }
        if !any {
            break;
        }
    }
    Ok(rows)
}

/// A later date for a planned workshop that nobody could staff where it
/// is (`assignment.unfilled`): the model with this workshop alone, which
/// must move to later dates every one of its cities can attend in its
/// format, staffed by an expert the read model shows free then. Everything
/// else on the calendar, and every other hold, stays as it is. Of those
/// dates the plan takes the one that keeps the experts' load most even,
/// then the earliest (the objective's last level).
///
/// `Ok(Ok(None))`: no later date in its cities' windows has a qualified
/// team free.
pub async fn retry(
    tx: &mut PgConnection,
    row: &WorkshopRow,
    workshop: &PlannedWorkshop,
    rules: &Rules,
    holiday_countries: impl Fn(&[&crate::domain::Attendee]) -> Vec<String>,
) -> Result<Result<Option<(Vec<Session>, Team)>, Skipped>, HandlerError> {
    let roster = roster::roster(tx).await?;
    if roster.is_empty() {
        return Ok(Err(Skipped::NoRoster));
    }
    let planned = [(row.clone(), workshop.clone())];
    let mut open = Vec::new();
    let mut current = match currents(tx, &planned, &mut open, |_| Mobility::MustMoveLater).await? {
        Ok(current) => current,
        Err(skipped) => return Ok(Err(skipped)),
    };
    let all = match bridge(
        tx,
        &open,
        &mut current,
        &[row.id],
        &roster,
        rules,
        &holiday_countries,
    )
    .await?
    {
        Ok(all) => all,
        Err(skipped) => return Ok(Err(skipped)),
    };
    // Whatever it still holds was for the dates it leaves.
    for workshop in &mut current {
        workshop.lead = None;
        workshop.support = None;
    }
    let bridge = match all.with_current(&current) {
        Ok(bridge) => bridge,
        Err(stale) => return Ok(Err(Skipped::Failed(stale.to_string()))),
    };
    if bridge
        .instance
        .current
        .iter()
        .all(|c| c.alternatives.is_empty())
    {
        return Ok(Ok(None));
    }
    let budget = planner::Budget {
        nodes: rules.solver_nodes,
    };
    let outcome = match planner::optimise(&bridge.instance, budget, None) {
        Ok(outcome) => outcome,
        Err(planner::SolveError::Infeasible(_)) => return Ok(Ok(None)),
        Err(error) => return Ok(Err(Skipped::Failed(error.to_string()))),
    };
    let (plan, _) = planner::even_the_load(&bridge.instance, &outcome.plan);
    let groups = match bridge.workshops(&plan, rules) {
        Ok(groups) => groups,
        Err(error) => return Ok(Err(Skipped::Failed(error.to_string()))),
    };
    info!(
        workshop_id = %row.id,
        variables = outcome.variables,
        proven = outcome.proven,
        "re-planned a workshop nobody could staff"
    );
    Ok(Ok(groups
        .into_iter()
        .find(|group| group.enquiries.contains(&0))
        .map(|group| {
            (
                group.sessions,
                Team {
                    lead: group.lead,
                    support: group.support,
                },
            )
        })))
}

/// The enquiries of `planned` appended to `open`, and each workshop as the
/// re-plan sees it, with no team yet ([`bridge`] reads the teams).
async fn currents(
    tx: &mut PgConnection,
    planned: &[(WorkshopRow, PlannedWorkshop)],
    open: &mut Vec<OpenEnquiry>,
    mobility: impl Fn(&WorkshopRow) -> Mobility,
) -> Result<Result<Vec<CurrentWorkshop>, Skipped>, HandlerError> {
    let ids: Vec<String> = planned
        .iter()
        .flat_map(|(_, w)| w.attendees.iter().map(|a| a.enquiry_id.clone()))
        .collect();
    let stored = store::requests_of(tx, &ids).await?;
    let mut current = Vec::with_capacity(planned.len());
    for (row, workshop) in planned {
        let mut enquiries = Vec::with_capacity(workshop.attendees.len());
        for attendee in &workshop.attendees {
            let Some(found) = stored.iter().find(|s| s.id == attendee.enquiry_id) else {
                return Ok(Err(Skipped::Failed(format!(
                    "enquiry {} of workshop {} is not stored",
                    attendee.enquiry_id, row.id
                ))));
            };
            let kind = EnquiryKind::from_str_name(&found.kind).unwrap_or(workshop.kind);
            let topics: Vec<Topic> = found
                .topics
                .iter()
                .filter_map(|t| Topic::from_str_name(t))
                .collect();
            enquiries.push(open.len());
            open.push(OpenEnquiry {
                request: Request {
                    attendee: attendee.clone(),
                    kind,
                    topics,
                },
                beneficiary: found.priority,
            });
        }
        current.push(CurrentWorkshop {
            id: row.id.to_string(),
            enquiries,
            format: workshop.format,
            time_zone: workshop.time_zone,
            sessions: workshop.sessions.clone(),
            mobility: mobility(row),
            lead: None,
            support: None,
        });
    }
    Ok(Ok(current))
}

/// The planning instance of `open`: the calendar without the workshops in
/// `except`, over every open window (two days' margin), the roster, and
/// every expert hold: those of `current` workshops become their teams, the
/// rest are fixed.
async fn bridge(
    tx: &mut PgConnection,
    open: &[OpenEnquiry],
    current: &mut [CurrentWorkshop],
    except: &[Uuid],
    roster: &[ExpertProfile],
    rules: &Rules,
    holiday_countries: impl Fn(&[&crate::domain::Attendee]) -> Vec<String>,
) -> Result<Result<Candidates, Skipped>, HandlerError> {
    // The calendar without the neighbourhood, over every window in it.
    let first = open.iter().map(|o| o.request.attendee.window.start).min();
    let last = open.iter().map(|o| o.request.attendee.window.end).max();
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Err(Skipped::Failed("no open enquiry".to_owned())));
    };
    let days = DaySpan::new(
        first.checked_sub_days(Days::new(2)).unwrap_or(first),
        last.checked_add_days(Days::new(2)).unwrap_or(last),
    );
    let cities: Vec<String> = open
        .iter()
        .map(|o| o.request.attendee.city.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let attendees: Vec<&crate::domain::Attendee> =
        open.iter().map(|o| &o.request.attendee).collect();
    let countries = holiday_countries(&attendees);
    let calendar = match store::load_calendar(
        tx,
        &CalendarQuery {
            days,
            cities: &cities,
            countries: &countries,
            joinable: None,
            except,
        },
    )
    .await?
    {
        Ok(calendar) => calendar,
        Err(unreadable) => return Ok(Err(Skipped::Failed(unreadable.to_string()))),
    };

    // Experts: holds in the neighbourhood are its teams; the rest are fixed.
    let until = days
        .last
        .checked_add_days(Days::new(1))
        .unwrap_or(days.last);
    let holds = roster::holds_between(tx, midnight(days.first), midnight(until)).await?;
    let mut outside = Vec::new();
    for hold in holds {
        match current.iter_mut().find(|c| c.id == hold.workshop_id) {
            Some(workshop) => take_role(workshop, hold),
            None => outside.push(OutsideHold {
                expert_id: hold.expert_id,
                start: hold.start,
                end: hold.end,
                month: hold.month,
            }),
        }
    }

    let in_model: Vec<String> = current.iter().map(|c| c.id.clone()).collect();
    let loads = roster::loads_outside(tx, &in_model).await?;
    Ok(Ok(
        candidates(open, roster, &outside, &calendar, rules).with_loads(&loads)
    ))
}

/// What makes the calendar as it stands (`start`, every planned workshop
/// where it is) no plan of `still`'s model, for a failure's message: the
/// rules the independent checker finds it breaks, or the workshops that
/// have no lead yet (no start at all). Empty when neither explains it.
fn why_the_calendar_is_not_a_plan(still: &Candidates, start: Option<&planner::Plan>) -> String {
    let found = match start {
        Some(plan) => planner::violations(&still.instance, plan),
        None => still
            .instance
            .current
            .iter()
            .filter(|c| c.team.0.is_none())
            .map(|c| {
                format!(
                    "workshop {} has no lead in the read model of the holds",
                    c.id
                )
            })
            .collect(),
    };
    if found.is_empty() {
        String::new()
    } else {
        format!(" ({})", found.join("; "))
    }
}

/// The objective's levels 1 and 2 only: served, then grouping and moves.
const LEVELS_ONE_AND_TWO: planner::SolveOptions = planner::SolveOptions {
    presolve: false,
    levels: 2,
    from_level: 0,
};

/// One move alone: between the first stage and the whole model, models in
/// which only the planned workshops concerned may move, everything else
/// where it is: first those a new enquiry could join after a move
/// ([`joinable_after_a_move`]), all together; then, for a new enquiry the
/// first stage left unserved, each of the [`IN_THE_WAY_TRIED`] workshops
/// most in its way ([`in_the_way`]) on its own. Each is about the size of
/// the first stage's, where the whole model's levels 1 and 2 took most of
/// the slowest re-plans (docs/planning.md, session 9).
///
/// A model's plan is the whole model's optimum on levels 1 and 2 when it
/// reaches what no plan can beat ([`planner::one_move_is_optimal`]:
/// everyone served, no workshop beyond the fewest possible, one move, no
/// expert changed, where the first stage, without moves, did worse). Then
/// `Some` with the first such model, in the order above, and its answer
/// (levels 1 and 2); otherwise `None`, and the relaxation
/// (`planner::relax`), then the whole model, decide. Also `None`, without
/// a search, when the first stage is not proven.
fn settled_by_one_move(
    all: &Candidates,
    current: &[CurrentWorkshop],
    whole: &Candidates,
    first: &planner::Outcome,
    budget: planner::Budget,
    rules: &Rules,
    newcomers: std::ops::Range<usize>,
) -> Option<Result<(Candidates, planner::Outcome), String>> {
    if !first.proven_levels.iter().take(2).all(|p| *p) {
        return None;
    }
    let may_move = |w: &usize| current[*w].mobility == Mobility::MayMove;
    let joinable: BTreeSet<usize> = newcomers
        .clone()
        .flat_map(|newcomer| joinable_after_a_move(&whole.instance, newcomer))
        .filter(may_move)
        .collect();
    let mut tries: Vec<BTreeSet<usize>> = Vec::new();
    if !joinable.is_empty() {
        tries.push(joinable);
    }
    for newcomer in newcomers.clone() {
        if first.plan.served_in[newcomer].is_none() {
            tries.extend(
                in_the_way(&whole.instance, newcomer)
                    .into_iter()
                    .filter(may_move)
                    .take(IN_THE_WAY_TRIED)
                    .map(|w| BTreeSet::from([w])),
            );
        }
    }
    for concerned in tries {
        let only_those: Vec<CurrentWorkshop> = current
            .iter()
            .enumerate()
            .map(|(w, workshop)| CurrentWorkshop {
                mobility: if concerned.contains(&w) {
                    workshop.mobility
                } else {
                    Mobility::Stays
                },
                ..workshop.clone()
            })
            .collect();
        let alone = match all.clone().with_current(&only_those) {
            Ok(bridge) => bridge
                .with_nearest_alternatives(rules.replan_alternatives as usize, newcomers.clone()),
            Err(stale) => return Some(Err(stale.to_string())),
        };
        let two = match planner::optimise_with(
            &alone.instance,
            budget,
            Some(&first.plan),
            LEVELS_ONE_AND_TWO,
        ) {
            Ok(two) => two,
            Err(error) => return Some(Err(error.to_string())),
        };
        if planner::one_move_is_optimal(&whole.instance, first, &two.plan) {
            return Some(Ok((alone, two)));
        }
    }
    None
}

/// How many of the workshops most in an unserved new enquiry's way
/// [`settled_by_one_move`] tries moving, one at a time: each try is a
/// small solve, and when none settles it the relaxation and the whole
/// model still run.
const IN_THE_WAY_TRIED: usize = 3;

/// The planned workshops (indices into `instance.current`) whose days or
/// holds meet those of one of `newcomer`'s options, most in its way first:
/// moving one of them may free the day, the city or an expert it needs.
/// "Most in its way" counts the options it meets.
fn in_the_way(instance: &planner::Instance, newcomer: usize) -> Vec<usize> {
    let meet = |a: planner::Days, b: planner::Days| a.first <= b.last && b.first <= a.last;
    let Some(enquiry) = instance.enquiries.get(newcomer) else {
        return Vec::new();
    };
    let mut met: Vec<(usize, usize)> = (0..instance.current.len())
        .map(|w| {
            let at = &instance.slots[instance.current[w].slot];
            let options = enquiry
                .options
                .iter()
                .filter(|o| {
                    let option = &instance.slots[o.slot];
                    meet(at.span, option.span) || meet(at.hold, option.hold)
                })
                .count();
            (w, options)
        })
        .filter(|(_, options)| *options > 0)
        .collect();
    // Most options met first; the sort is stable, so ties keep the
    // neighbourhood's order (nearest first).
    met.sort_by_key(|(_, options)| std::cmp::Reverse(*options));
    met.into_iter().map(|(w, _)| w).collect()
}

/// The last level (load, then dates) over the workshops `two` (levels 1
/// and 2, solved in `bridge`) moved, the others where they are: a model
/// the size of the first stage's, where the whole model's took most of a
/// re-plan's time. Not the whole model's optimum of that level (moving
/// other workshops instead might even the load more), but served,
/// grouping and moves are.
fn last_level(
    all: &Candidates,
    current: &[CurrentWorkshop],
    bridge: &Candidates,
    two: planner::Outcome,
    budget: planner::Budget,
    rules: &Rules,
    newcomers: std::ops::Range<usize>,
) -> Result<(Candidates, planner::Outcome), String> {
    let moved: Vec<CurrentWorkshop> = current
        .iter()
        .zip(&bridge.instance.current)
        .map(|(workshop, placed)| {
            let stays = placed
                .enquiries
                .first()
                .is_some_and(|&e| two.plan.served_in[e] == Some(placed.slot));
            CurrentWorkshop {
                mobility: if stays {
                    Mobility::Stays
                } else {
                    workshop.mobility
                },
                ..workshop.clone()
            }
        })
        .collect();
    let narrow = all
        .clone()
        .with_current(&moved)
        .map_err(|stale| stale.to_string())?
        .with_nearest_alternatives(rules.replan_alternatives as usize, newcomers);
    let load_and_dates = planner::SolveOptions {
        from_level: 2,
        ..planner::SolveOptions::default()
    };
    let mut outcome =
        planner::optimise_with(&narrow.instance, budget, Some(&two.plan), load_and_dates)
            .map_err(|error| format!("the last level: {error}"))?;
    outcome.proven_levels[..2].copy_from_slice(&two.proven_levels[..2]);
    outcome.proven = outcome.proven_levels.iter().all(|p| *p);
    Ok((narrow, outcome))
}

/// Whether `plan`, made with every planned workshop kept in place, is the
/// optimum of the `whole` model, where they may move. It is when every new
/// enquiry (`newcomers`) is either served and joined a planned workshop or
/// could not join any after a move ([`could_join_after_a_move`]), or is
/// unserved and could not be served wherever the planned workshops went
/// ([`could_be_served_after_a_move`]): everything that can be is then
/// served (planned workshops always are), with the fewest workshops
/// possible (no planned one can merge with another, and new ones grouped
/// as well as they could be in the first model) and no move; a move ranks
/// above the load and the dates, so it could only cost. Otherwise moves
/// might serve one or let it join, and the whole model must be solved.
fn settled_without_moves(
    kept: &Candidates,
    whole: &Candidates,
    plan: &planner::Plan,
    mut newcomers: std::ops::Range<usize>,
) -> bool {
    newcomers.all(|newcomer| {
        let Some(slot) = plan.served_in.get(newcomer).copied().flatten() else {
            return !could_be_served_after_a_move(&whole.instance, newcomer);
        };
        let joined = kept.instance.current.iter().any(|c| c.slot == slot);
        joined
            || !kept.instance.slots[slot].shared
            || !could_join_after_a_move(&whole.instance, newcomer)
    })
}

/// Whether enquiry `newcomer` could join a planned workshop somewhere it may
/// move to: a slot among the workshop's alternatives that the newcomer lists
/// too (so of its topic and format, in every window), where the cities and
/// participants together stay within the joint limits, nobody there is
/// incompatible with the newcomer, and what lies outside the model leaves
/// room for the group ([`planner::bound::join_slots_with_room`]). A
/// necessary condition only: the model's own workshops may still forbid
/// the join, which the solver decides. Joining where the workshop is now
/// needs no move, and the first stage's model had that choice already.
fn could_join_after_a_move(instance: &planner::Instance, newcomer: usize) -> bool {
    !joinable_after_a_move(instance, newcomer).is_empty()
}

/// The planned workshops (indices into `instance.current`) that enquiry
/// `newcomer` could join after a move, as [`could_join_after_a_move`] says.
fn joinable_after_a_move(instance: &planner::Instance, newcomer: usize) -> Vec<usize> {
    if newcomer >= instance.enquiries.len() {
        return Vec::new();
    }
    let joinable = |workshop: &planner::Current| {
        planner::bound::join_slots_with_room(instance, workshop, newcomer)
            .into_iter()
            .any(|s| workshop.alternatives.contains(&s))
    };
    (0..instance.current.len())
        .filter(|&w| joinable(&instance.current[w]))
        .collect()
}

/// Whether enquiry `newcomer`, unserved with every planned workshop kept
/// where it is, might be served once some move: one of its slots has room
/// for it outside the model ([`planner::bound::room_outside_the_model`]).
/// When none has, what stands in its way is fixed (the calendar beyond the model, leave,
/// frozen holds, full months), and no move can serve it: the first
/// stage's answer stands without the whole model's search.
fn could_be_served_after_a_move(instance: &planner::Instance, newcomer: usize) -> bool {
    instance.enquiries.get(newcomer).is_some_and(|enquiry| {
        enquiry
            .options
            .iter()
            .any(|o| planner::bound::room_outside_the_model(instance, o.slot, &[newcomer]))
    })
}

/// The plan's groups as changes to what was planned. The new enquiries
/// are `open[..newcomers]`; the planned workshops' follow, in order. Moves
/// come in the plan's order; joins, new workshops and the unserved in the
/// order their first new enquiry arrived.
fn changes(
    newcomers: usize,
    open: &[OpenEnquiry],
    planned: &[(WorkshopRow, PlannedWorkshop)],
    groups: &[PlannedGroup],
    layouts: &[crate::domain::candidates::SlotLayout],
    rules: &Rules,
) -> Vec<Change> {
    let mut moves = Vec::new();
    // Each with the index of its first new enquiry, to sort by arrival.
    let mut arrivals: Vec<(usize, Change)> = Vec::new();
    let mut placed = vec![false; newcomers];
    // Index of the first open enquiry of each planned workshop.
    let mut first_of = Vec::with_capacity(planned.len());
    let mut next = newcomers;
    for (_, workshop) in planned {
        first_of.push(next);
        next += workshop.attendees.len();
    }
    let arrived = enquiries_of(&open[..newcomers]);
    for group in groups {
        let team = Team {
            lead: group.lead.clone(),
            support: group.support.clone(),
        };
        let joiners: Vec<usize> = group
            .enquiries
            .iter()
            .copied()
            .filter(|&e| e < newcomers)
            .collect();
        let continues = first_of
            .iter()
            .position(|first| group.enquiries.contains(first));
        match (continues, joiners.first()) {
            (Some(w), _) => {
                let (row, before) = &planned[w];
                let mut workshop = before.clone();
                if group.sessions != before.sessions {
                    workshop.sessions = group.sessions.clone();
                    workshop.version = workshop.version.saturating_add(1);
                    let when = dates(&group.sessions, workshop.time_zone);
                    let dates_changed = when != dates(&before.sessions, workshop.time_zone);
                    let change = if dates_changed {
                        format!("moved to {when}")
                    } else {
                        format!("new session times on the same dates ({when})")
                    };
                    let reason = if joiners.is_empty() {
                        format!("{change} to make room for {arrived}")
                    } else {
                        let joining = city_names(joiners.iter().map(|&e| &open[e]));
                        format!("{change} so that {joining} can join")
                    };
                    // A move made for a join is announced before it, with
                    // the cities it has until then: propose the support the
                    // joined group needs only if they need one already
                    // (assignment reads each version's proposal on its own).
                    let team_now = if !joiners.is_empty() && !workshop.needs_support(rules) {
                        Team {
                            support: None,
                            ..team.clone()
                        }
                    } else {
                        team.clone()
                    };
                    moves.push(Change::Moved {
                        id: row.id,
                        workshop: workshop.clone(),
                        team: team_now,
                        reason,
                        dates_changed,
                    });
                }
                if let Some(&first) = joiners.first() {
                    // One new version, however many cities join at once.
                    let version = workshop.version.saturating_add(1);
                    for &e in &joiners {
                        workshop.admit(open[e].request.attendee.clone(), rules);
                        workshop.cover_topics(&open[e].request.topics);
                        placed[e] = true;
                    }
                    workshop.version = version;
                    let enquiries = joiners
                        .iter()
                        .map(|&e| open[e].request.attendee.enquiry_id.clone())
                        .collect();
                    arrivals.push((
                        first,
                        Change::Joined {
                            id: row.id,
                            workshop,
                            team,
                            enquiries,
                        },
                    ));
                }
            }
            (None, Some(&first)) => {
                let layout = &layouts[group.slot];
                let founder = &open[first].request;
                let id = Uuid::new_v5(
                    &crate::handlers::WORKSHOP_NAMESPACE,
                    founder.attendee.enquiry_id.as_bytes(),
                );
                let mut workshop = PlannedWorkshop {
                    id: id.to_string(),
                    version: 1,
                    kind: layout.kind,
                    topics: founder.topics.clone(),
                    format: layout.format,
                    host_city: layout.host_city.clone(),
                    time_zone: layout.time_zone,
                    sessions: group.sessions.clone(),
                    attendees: Vec::new(),
                    languages: group.languages.clone(),
                };
                for &e in &joiners {
                    workshop.attendees.push(open[e].request.attendee.clone());
                    workshop.cover_topics(&open[e].request.topics);
                    placed[e] = true;
                }
                arrivals.push((first, Change::Created { id, workshop, team }));
            }
            (None, None) => {
                // A group of neither a new enquiry nor a planned workshop:
                // the model keeps every planned workshop whole, so this is
                // a bug; its enquiries are left as they were rather than
                // lost.
                warn!(slot = group.slot, enquiries = ?group.enquiries.iter().map(|e| &open[*e].request.attendee.enquiry_id).collect::<Vec<_>>(), "a group the re-plan cannot place");
            }
        }
    }
    for (e, placed) in placed.into_iter().enumerate() {
        if !placed {
            let enquiry_id = open[e].request.attendee.enquiry_id.clone();
            arrivals.push((e, Change::Unserved { enquiry_id }));
        }
    }
    arrivals.sort_by_key(|(first, _)| *first);
    moves.extend(arrivals.into_iter().map(|(_, change)| change));
    moves
}

/// "an enquiry of makassar", or "enquiries of makassar and colombo": what
/// a move made room for, for a reason a person reads.
fn enquiries_of(enquiries: &[OpenEnquiry]) -> String {
    let cities = city_names(enquiries.iter());
    if enquiries.len() == 1 {
        format!("an enquiry of {cities}")
    } else {
        format!("enquiries of {cities}")
    }
}

/// "makassar", or "makassar, hulhumale and colombo": the cities of
/// `enquiries`, each once, in order.
fn city_names<'a>(enquiries: impl Iterator<Item = &'a OpenEnquiry>) -> String {
    let mut cities: Vec<&str> = Vec::new();
    for enquiry in enquiries {
        let city = enquiry.request.attendee.city.as_str();
        if !cities.contains(&city) {
            cities.push(city);
        }
    }
    match cities.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Who a planned workshop holds, and when, as assignment holds them.
#[derive(Debug, Clone)]
struct Held {
    experts: Vec<String>,
    hold: Option<Hold>,
}

impl Held {
    fn of(experts: Vec<String>, workshop: &PlannedWorkshop) -> Self {
        Self {
            experts,
            hold: Hold::of(workshop),
        }
    }
}

/// A workshop's hold on its experts: its sessions with a travel day either
/// side when in person, and the UTC month of its first session (what
/// assignment's monthly limit counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hold {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    month: (i32, u32),
}

impl Hold {
    fn of(workshop: &PlannedWorkshop) -> Option<Self> {
        let first = workshop.sessions.iter().map(|s| s.start).min()?;
        let (start, end) = hold_period_of(workshop.format, &workshop.sessions);
        Some(Self {
            start,
            end,
            month: (first.year(), first.month()),
        })
    }

    /// Whether one expert could not take both: they overlap, or count
    /// against the same month.
    fn competes(&self, other: &Hold) -> bool {
        (self.start < other.end && other.start < self.end) || self.month == other.month
    }
}

/// The order assignment must read the changes in to staff them as planned.
/// It staffs each version as it reads it, so a workshop that takes an
/// expert (or room in their month) that a move frees must be announced
/// after that move:
///
/// - moves first: in slot order, a new workshop was seen (planning bench,
///   seed 3) to lose its lead to the very workshop the plan had moved out
///   of its way, and be cancelled;
/// - among moves, one whose new team includes an expert that another moved
///   workshop held (`held`, before the re-plan) on days or in a month its
///   new dates compete for, after that one. Where two moves need each
///   other (experts swapped), no order works and the plan's order stands.
///
/// Otherwise the plan's order stands, so a move made for a join stays right
/// before the join.
fn in_announcement_order(changes: &mut Vec<Change>, held: &BTreeMap<Uuid, Held>) {
    changes.sort_by_key(|change| !matches!(change, Change::Moved { .. }));
    let moves = changes
        .iter()
        .take_while(|change| matches!(change, Change::Moved { .. }))
        .count();
    let needs = |a: &Change, b: &Change| match (a, b) {
        (Change::Moved { workshop, team, .. }, Change::Moved { id: other, .. }) => {
            let (Some(new), Some(before)) = (Hold::of(workshop), held.get(other)) else {
                return false;
            };
            before.hold.is_some_and(|old| new.competes(&old))
                && before
                    .experts
                    .iter()
                    .any(|x| *x == team.lead || team.support.as_ref() == Some(x))
        }
        _ => false,
    };
    let mut pending: Vec<Change> = changes.drain(..moves).collect();
    let mut ordered = Vec::with_capacity(moves);
    while !pending.is_empty() {
        let free = (0..pending.len())
            .find(|&a| !(0..pending.len()).any(|b| b != a && needs(&pending[a], &pending[b])));
        ordered.push(pending.remove(free.unwrap_or(0)));
    }
    changes.splice(0..0, ordered);
}

/// The workshop's session dates, for a reason a person reads.
fn dates(sessions: &[Session], zone: chrono_tz::Tz) -> String {
    let days: Vec<NaiveDate> = sessions
        .iter()
        .map(|s| s.start.with_timezone(&zone).date_naive())
        .collect();
    match (days.first(), days.last()) {
        (Some(first), Some(last)) if first != last => format!("{first} – {last}"),
        (Some(first), _) => first.to_string(),
        _ => "new dates".to_owned(),
    }
}

fn take_role(workshop: &mut CurrentWorkshop, hold: CommittedHold) {
    match hold.role {
        ExpertRole::Support => workshop.support = Some(hold.expert_id),
        _ => workshop.lead = Some(hold.expert_id),
    }
}

/// The start of a programme day, in UTC.
fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::proto::common::v1::Format;

    fn workshop(id: &str) -> PlannedWorkshop {
        PlannedWorkshop {
            id: id.to_owned(),
            version: 1,
            kind: EnquiryKind::JointWorkshop,
            topics: vec![Topic::Transport],
            format: Format::Virtual,
            host_city: None,
            time_zone: chrono_tz::Asia::Seoul,
            sessions: Vec::new(),
            attendees: Vec::new(),
            languages: BTreeSet::new(),
        }
    }

    fn team() -> Team {
        Team {
            lead: "kim".to_owned(),
            support: None,
        }
    }

    /// A planned workshop of one city (enquiry 0, 30 participants) in slot
    /// 0 that may move to slots 1 and 2; the newcomer (enquiry 1) lists
    /// `listed`. Slot `s` spans days `2s` and `2s + 1`; Kim and Lee may
    /// lead or support any slot.
    fn joinable(listed: &[usize], newcomer_participants: u32) -> planner::Instance {
        let slot = |s: i32| planner::Slot {
            shared: true,
            support: planner::SupportRule::BySize,
            span: planner::Days::new(2 * s, 2 * s + 1),
            hold: planner::Days::new(2 * s, 2 * s + 1),
            month: 0,
            primary_topic: 0,
            leads: vec![0, 1],
            supports: vec![0, 1],
            incompatible: Vec::new(),
        };
        let expert = |id: &str| planner::Expert {
            id: id.to_owned(),
            topics: [0].into(),
            languages: BTreeSet::new(),
            month_room: BTreeMap::new(),
            monthly_limit: 4,
            fixed_load: 0,
        };
        let enquiry = |city: &str, participants, slots: &[usize]| planner::Enquiry {
            id: city.to_owned(),
            city: city.to_owned(),
            beneficiary: false,
            participants,
            languages: BTreeSet::new(),
            topics: vec![0],
            options: slots
                .iter()
                .map(|&slot| planner::Candidate { slot, lateness: 0 })
                .collect(),
        };
        planner::Instance {
            enquiries: vec![
                enquiry("makassar", 30, &[0, 1, 2]),
                enquiry("colombo", newcomer_participants, listed),
            ],
            slots: vec![slot(0), slot(1), slot(2), slot(3)],
            experts: vec![expert("kim"), expert("lee")],
            current: vec![planner::Current {
                id: "w".to_owned(),
                enquiries: vec![0],
                slot: 0,
                confirmed: true,
                alternatives: vec![1, 2],
                may_stay: true,
                team: (None, None),
            }],
            ..planner::Instance::default()
        }
    }

    #[test]
    fn the_workshops_most_in_an_unserved_enquirys_way_come_first() {
        // Colombo lists slots 2 (days 4–5) and 3 (days 6–7).
        let mut instance = joinable(&[2, 3], 10);
        let wide = planner::Slot {
            span: planner::Days::new(4, 7),
            hold: planner::Days::new(4, 7),
            ..instance.slots[2].clone()
        };
        instance.slots.push(wide);
        let planned_at = |slot: usize| planner::Current {
            slot,
            ..instance.current[0].clone()
        };
        // Workshop 0 stays on days 0–1, out of the way; 1 meets one of
        // Colombo's options; 2 (days 4–7) meets both.
        let (at_two, at_wide) = (planned_at(2), planned_at(4));
        instance.current.extend([at_two, at_wide]);
        assert_eq!(in_the_way(&instance, 1), vec![2, 1]);
    }

    #[test]
    fn a_join_after_a_move_is_tried_only_where_it_could_happen() {
        assert!(could_join_after_a_move(&joinable(&[2, 3], 10), 1));
        // Only where the workshop is now: the first stage could join there.
        assert!(!could_join_after_a_move(&joinable(&[0, 3], 10), 1));
        // 30 + 11 participants are more than a joint workshop takes.
        assert!(!could_join_after_a_move(&joinable(&[2, 3], 11), 1));
        let mut incompatible = joinable(&[2], 10);
        incompatible.slots[2].incompatible.push((0, 1));
        assert!(!could_join_after_a_move(&incompatible, 1));
    }

    #[test]
    fn a_join_after_a_move_needs_room_outside_the_model() {
        // Day 4 (slot 2's first) already holds three workshops outside.
        let mut full_day = joinable(&[2], 10);
        full_day.fixed.day_load.insert(4, 3);
        assert!(!could_join_after_a_move(&full_day, 1));
        // Colombo is engaged on day 5 outside the model.
        let mut engaged = joinable(&[2], 10);
        engaged
            .fixed
            .city_days
            .insert("colombo".to_owned(), [5].into());
        assert!(!could_join_after_a_move(&engaged, 1));
        // Nobody may lead slot 2, or the only one who may has a full month.
        let mut no_lead = joinable(&[2], 10);
        no_lead.slots[2].leads.clear();
        assert!(!could_join_after_a_move(&no_lead, 1));
        let mut full_month = joinable(&[2], 10);
        full_month.slots[2].leads = vec![0];
        full_month.experts[0].month_room.insert(0, 0);
        assert!(!could_join_after_a_move(&full_month, 1));
        // 30 + 6 participants need a support besides the lead: Kim alone
        // can't be both, Kim and Lee can.
        let mut alone = joinable(&[2], 6);
        alone.slots[2].leads = vec![0];
        alone.slots[2].supports = vec![0];
        assert!(!could_join_after_a_move(&alone, 1));
        alone.slots[2].supports = vec![0, 1];
        assert!(could_join_after_a_move(&alone, 1));
    }

    #[test]
    fn an_unserved_enquiry_is_searched_for_with_moves_only_where_room_outside_is_left() {
        let mut instance = joinable(&[2, 3], 10);
        assert!(could_be_served_after_a_move(&instance, 1));
        // Slot 2's days are full outside the model; slot 3 has no lead free.
        instance.fixed.day_load.insert(5, 3);
        instance.slots[3].leads.clear();
        assert!(!could_be_served_after_a_move(&instance, 1));
    }

    /// A virtual workshop on `day` (of 2027), led by `lead`.
    fn on(id: &str, day: &str, lead: &str) -> (PlannedWorkshop, Team) {
        let start: DateTime<Utc> = format!("2027-{day}T01:00:00Z").parse().unwrap();
        let workshop = PlannedWorkshop {
            sessions: vec![Session {
                start,
                end: start + chrono::Duration::hours(3),
            }],
            ..workshop(id)
        };
        let team = Team {
            lead: lead.to_owned(),
            support: None,
        };
        (workshop, team)
    }

    fn moved(id: Uuid, (workshop, team): (PlannedWorkshop, Team)) -> Change {
        Change::Moved {
            id,
            workshop,
            team,
            reason: String::new(),
            dates_changed: true,
        }
    }

    fn ids(changes: &[Change]) -> Vec<Uuid> {
        changes
            .iter()
            .map(|change| match change {
                Change::Moved { id, .. }
                | Change::Joined { id, .. }
                | Change::Created { id, .. } => *id,
                Change::Unserved { .. } => Uuid::nil(),
            })
            .collect()
    }

    #[test]
    fn a_move_is_announced_after_the_move_that_frees_its_new_lead() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        // A (Kim, in February) moves to 10 March with Lee, whom B holds
        // on 10 March until B moves to 20 April with Kim.
        assert_eq!(order(&on("a", "02-03", "kim").0), [b, a]);
        // Kim and Lee swapped between the two, each in the other's month:
        // neither order staffs both, and the plan's order stands.
        assert_eq!(order(&on("a", "04-21", "kim").0), [a, b]);
    }

    /// The order of A's move to 10 March with Lee and B's to 20 April with
    /// Kim, when A held Kim at `a_before` and B held Lee on 10 March.
    fn order(a_before: &PlannedWorkshop) -> Vec<Uuid> {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let held: BTreeMap<Uuid, Held> = [
            (a, Held::of(vec!["kim".to_owned()], a_before)),
            (
                b,
                Held::of(vec!["lee".to_owned()], &on("b", "03-10", "lee").0),
            ),
        ]
        .into();
        let mut changes = vec![
            moved(a, on("a", "03-10", "lee")),
            moved(b, on("b", "04-20", "kim")),
        ];
        in_announcement_order(&mut changes, &held);
        ids(&changes)
    }

    #[test]
    fn moves_are_announced_before_the_workshops_that_take_what_they_free() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let mut changes = vec![
            Change::Created {
                id: a,
                workshop: workshop("a"),
                team: team(),
            },
            Change::Moved {
                id: b,
                workshop: workshop("b"),
                team: team(),
                reason: "to make room".to_owned(),
                dates_changed: true,
            },
            Change::Moved {
                id: c,
                workshop: workshop("c"),
                team: team(),
                reason: "so that a city can join".to_owned(),
                dates_changed: true,
            },
            Change::Joined {
                id: c,
                workshop: workshop("c"),
                team: team(),
                enquiries: vec!["e".to_owned()],
            },
        ];
        in_announcement_order(&mut changes, &BTreeMap::new());
        let order: Vec<(&str, Uuid)> = changes
            .iter()
            .map(|change| match change {
                Change::Moved { id, .. } => ("moved", *id),
                Change::Joined { id, .. } => ("joined", *id),
                Change::Created { id, .. } => ("created", *id),
                Change::Unserved { .. } => ("unserved", Uuid::nil()),
            })
            .collect();
        assert_eq!(
            order,
            [("moved", b), ("moved", c), ("created", a), ("joined", c)]
        );
    }
}
