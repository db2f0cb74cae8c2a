//! From the calendar to the optimiser: every open enquiry's candidate
//! workshops ([`candidates`]), as the `planner` crate's [`planner::Instance`],
//! and the optimiser's plan back as workshops with their sessions
//! ([`Candidates::workshops`]).
//!
//! A candidate is found by the same [`Search`] first-fit uses, for the city
//! alone, in a calendar that holds only the public holidays: so it keeps the
//! lead time, the window, working days and hours and the holidays (rules 1,
//! 2 and 8), and leaves what depends on others (rules 3 to 5, the experts)
//! to the model.
//!
//! - **Slots.** A joint workshop's candidates are shared, keyed by (primary
//!   topic, format, session days): every joint enquiry that can attend those
//!   days lists the same slot, which is how cities are grouped. A city of
//!   more than `max_participants` gets slots of its own, as first-fit does.
//!   Consultations and missions have slots of their own.
//! - **Virtual joint slots** fix the days, not the clock time: the group the
//!   plan puts there gets the earliest time all of them can make
//!   ([`Search::layout_on`]). Two cities with no such time are an
//!   `incompatible` pair of the slot; for intervals on one clock, pairs that
//!   meet mean the whole group meets.
//! - **Experts** are held from the first session's start to the last's end,
//!   a travel day before and after in person, as assignment holds them. One
//!   on leave then, or held outside the model (`outside`), is not offered
//!   for the slot; holds outside the model also take their room in the month.
//! - **Days** are programme days numbered from the common era, the
//!   planner's `Day`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use std::collections::{BTreeMap, BTreeSet};

use super::attendee::{Attendee, Request};
use super::calendar::{Busy, Calendar};
use super::days::{DaySpan, Session, local_date, programme_day, span_of};
use super::rules::Rules;
use super::slots::{Search, Shape};
use super::{layout, workshop_languages};

/// An enquiry the plan may serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenEnquiry {
    pub request: Request,
    /// A beneficiary city's: served first.
    pub beneficiary: bool,
}

/// One expert as the planner sees them: everything the matcher's rules 1-4
/// look at, nothing personal. Scheduling's read model of assignment's roster
/// (`crate::roster`) stores and returns exactly this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertProfile {
    pub id: String,
    pub display_name: String,
    pub topics: BTreeSet<Topic>,
    /// Lower-case BCP 47 tags, the preferred one first; matched on their
    /// primary subtag.
    pub languages: Vec<String>,
    pub time_zone: Tz,
    /// Whole days they cannot work, inclusive, in `time_zone`, by first day.
    pub unavailable: Vec<(NaiveDate, NaiveDate)>,
    /// Holds counting against one calendar month, at most.
    pub monthly_limit: u32,
    /// The revision of assignment's entry this copy is.
    pub revision: u32,
}

/// An expert's hold the plan does not decide (a frozen workshop's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideHold {
    pub expert_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `(year, month)` it counts against.
    pub month: (i32, u32),
}

/// What a slot is, in the calendar's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotLayout {
    pub kind: EnquiryKind,
    /// `IN_PERSON` or `VIRTUAL`.
    pub format: Format,
    pub host_city: Option<String>,
    pub time_zone: Tz,
    pub primary_topic: Topic,
    /// The session days in the layout's zone (the host's, or the experts').
    pub days: Vec<NaiveDate>,
    /// The sessions for the first enquiry that listed the slot: exact for
    /// anything but a virtual joint workshop, whose time follows its group.
    pub sessions: Vec<Session>,
    shape: Shape,
    host_country: Option<String>,
}

/// The optimiser's instance and how to read its slots back.
#[derive(Debug, Clone)]
pub struct Candidates {
    pub instance: planner::Instance,
    /// One per slot of `instance`.
    pub layouts: Vec<SlotLayout>,
    /// The enquiries, in the instance's order.
    pub open: Vec<OpenEnquiry>,
    /// The roster, in the instance's order.
    pub experts: Vec<ExpertProfile>,
    holidays: Calendar,
}

/// A workshop of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedGroup {
    pub slot: usize,
    /// Indices into [`Candidates::open`], in that order.
    pub enquiries: Vec<usize>,
    pub sessions: Vec<Session>,
    pub languages: BTreeSet<String>,
    /// Expert ids.
    pub lead: String,
    pub support: Option<String>,
}

/// Why a plan cannot be read back: the optimiser and the calendar disagree,
/// which is a bug, never something a retry fixes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("slot {slot}: the cities the plan grouped have no common session time")]
pub struct NoCommonTime {
    pub slot: usize,
}

/// Every candidate of every open enquiry. `calendar` carries the holidays
/// and what the plan does not decide: its `busy` and `day_load` become the
/// instance's fixed engagements and load (its `workshops` are not read).
pub fn candidates(
    open: &[OpenEnquiry],
    roster: &[ExpertProfile],
    outside: &[OutsideHold],
    calendar: &Calendar,
    rules: &Rules,
) -> Candidates {
    let holidays = Calendar {
        holidays: calendar.holidays.clone(),
        ..Calendar::default()
    };
    let experts = planner_experts(roster, outside);
    let mut builder = Builder {
        rules,
        holidays: &holidays,
        roster,
        outside,
        layouts: Vec::new(),
        slots: Vec::new(),
        shared: BTreeMap::new(),
    };
    let enquiries: Vec<planner::Enquiry> = open
        .iter()
        .map(|enquiry| builder.enquiry(enquiry))
        .collect();
    builder.incompatible_pairs(open, &enquiries);
    let instance = planner::Instance {
        limits: planner::Limits {
            workshops_per_day: rules.max_workshops_per_day,
            max_cities: rules.max_cities,
            max_participants: rules.max_participants,
            support_over_cities: rules.support_over_cities,
            support_over_participants: rules.support_over_participants,
            shared_language: rules.always_shared_language.clone(),
        },
        enquiries,
        slots: builder.slots,
        experts,
        current: Vec::new(),
        fixed: planner::Fixed {
            day_load: calendar
                .day_load
                .iter()
                .map(|(day, load)| (day_number(*day), *load))
                .collect(),
            city_days: calendar
                .busy
                .iter()
                .map(|(city, spans)| {
                    let days = spans
                        .iter()
                        .flat_map(DaySpan::days)
                        .map(day_number)
                        .collect();
                    (city.clone(), days)
                })
                .collect(),
        },
    };
    Candidates {
        instance,
        layouts: builder.layouts,
        open: open.to_vec(),
        experts: roster.to_vec(),
        holidays,
    }
}

impl Candidates {
    /// The plan's workshops, with their sessions worked out for the group.
    pub fn workshops(
        &self,
        plan: &planner::Plan,
        rules: &Rules,
    ) -> Result<Vec<PlannedGroup>, NoCommonTime> {
        plan.workshops
            .iter()
            .map(|(&slot, team)| {
                let enquiries = plan.attendees(slot);
                let attendees: Vec<Attendee> = enquiries
                    .iter()
                    .map(|e| self.open[*e].request.attendee.clone())
                    .collect();
                let layout = &self.layouts[slot];
                let sessions = if enquiries.len() == 1 {
                    layout.sessions.clone()
                } else {
                    let busy = Busy::default();
                    Search {
                        shape: layout.shape,
                        attendees: &attendees,
                        calendar: &self.holidays,
                        busy: &busy,
                        rules,
                        after: None,
                        host_country: layout.host_country.as_deref(),
                    }
                    .layout_on(&layout.days)
                    .ok_or(NoCommonTime { slot })?
                };
                Ok(PlannedGroup {
                    slot,
                    sessions,
                    languages: workshop_languages(&attendees, rules),
                    enquiries,
                    lead: self.experts[team.lead].id.clone(),
                    support: team.support.map(|x| self.experts[x].id.clone()),
                })
            })
            .collect()
    }
}

/// A workshop planned before, which the re-plan may change: its enquiries
/// are among the open ones, and it is kept whole and served (DOMAIN.md's
/// stability contract), in its slot or, while it may move, another that
/// every one of its cities can attend in the same format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentWorkshop {
    pub id: String,
    /// Indices into the open enquiries, in joining order.
    pub enquiries: Vec<usize>,
    pub format: Format,
    /// Its zone (the host's, or the experts' when virtual): its sessions'
    /// dates are read there, as a slot's days are.
    pub time_zone: Tz,
    pub sessions: Vec<Session>,
    /// Whether it may move, or must.
    pub mobility: Mobility,
    /// Its team as assignment holds it, by expert id.
    pub lead: Option<String>,
    pub support: Option<String>,
}

/// Where a planned workshop may go in a re-plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mobility {
    /// It stays: frozen, or out of moves.
    Stays,
    /// It stays or moves to any other slot all its cities list.
    MayMove,
    /// Nobody could staff it where it is (assignment reported it
    /// unfilled): it moves to a later slot all its cities list, or the
    /// re-plan has no answer.
    MustMoveLater,
}

/// A planned workshop whose dates are not a candidate of all its cities any
/// more (a holiday imported since it was planned, changed rules): the
/// re-plan cannot keep it as it is, so it leaves it out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("workshop {id}: its dates are no longer a candidate of all its cities")]
pub struct NotACandidate {
    pub id: String,
}

impl Candidates {
    /// The instance with the workshops planned before as its `current`.
    pub fn with_current(mut self, current: &[CurrentWorkshop]) -> Result<Self, NotACandidate> {
        let mut planned = Vec::with_capacity(current.len());
        for workshop in current {
            let (placed, common) = self.placed(workshop)?;
            let slot = if planned.iter().any(|p: &planner::Current| p.slot == placed) {
                self.a_slot_of_its_own(placed, &workshop.enquiries)
            } else {
                placed
            };
            let index_of = |id: &Option<String>| {
                id.as_ref()
                    .and_then(|id| self.experts.iter().position(|x| &x.id == id))
            };
            let starts = self.instance.slots[slot].span.first;
            let alternatives: Vec<usize> = match workshop.mobility {
                Mobility::Stays => Vec::new(),
                Mobility::MayMove => common.into_iter().filter(|s| *s != placed).collect(),
                Mobility::MustMoveLater => common
                    .into_iter()
                    .filter(|s| self.instance.slots[*s].span.first > starts)
                    .collect(),
            };
            let may_stay = workshop.mobility != Mobility::MustMoveLater;
            // Kept whole in its slot or an alternative: its enquiries' other
            // options can never be taken, and would only make the model big.
            for &e in &workshop.enquiries {
                self.instance.enquiries[e]
                    .options
                    .retain(|o| (may_stay && o.slot == slot) || alternatives.contains(&o.slot));
            }
            planned.push(planner::Current {
                id: workshop.id.clone(),
                enquiries: workshop.enquiries.clone(),
                slot,
                confirmed: true,
                alternatives,
                may_stay,
                team: (index_of(&workshop.lead), index_of(&workshop.support)),
            });
        }
        self.instance.current = planned;
        Ok(self)
    }

    /// A copy of joint slot `slot` for the planned workshop of `enquiries`,
    /// which another planned workshop already holds: two joint workshops
    /// of one topic and format on the same days (the second planned while
    /// the first was outside the re-plan). Each keeps a slot of its own,
    /// so that the calendar as it stands is still a plan of the model
    /// (two planned workshops may never share one slot: a merge would
    /// cancel one under its cities).
    fn a_slot_of_its_own(&mut self, slot: usize, enquiries: &[usize]) -> usize {
        let copy = self.instance.slots.len();
        self.instance.slots.push(self.instance.slots[slot].clone());
        self.layouts.push(self.layouts[slot].clone());
        for &e in enquiries {
            for option in &mut self.instance.enquiries[e].options {
                if option.slot == slot {
                    option.slot = copy;
                }
            }
        }
        copy
    }

    /// Each expert's load outside the model over the whole programme, not
    /// only the holds around these windows that [`candidates`] was given:
    /// the objective evens the load of the programme, not of a few weeks.
    /// An expert missing from `loads` keeps what the holds given showed.
    pub fn with_loads(mut self, loads: &BTreeMap<String, u32>) -> Self {
        for expert in &mut self.instance.experts {
            if let Some(&load) = loads.get(&expert.id) {
                expert.fixed_load = expert.fixed_load.max(load);
            }
        }
        self
    }

    /// Keeps, of each planned workshop's alternatives, the `nearest` whose
    /// first day is nearest its own and every one an open enquiry of
    /// `newcomers` also lists (where it could join the workshop); `0` keeps
    /// them all. Most of a re-plan's model is the staffing of alternatives,
    /// and a move far from a workshop's dates is rarely what serves the
    /// newcomers.
    pub fn with_nearest_alternatives(
        mut self,
        nearest: usize,
        newcomers: std::ops::Range<usize>,
    ) -> Self {
        if nearest == 0 {
            return self;
        }
        let listed: BTreeSet<usize> = newcomers
            .filter_map(|e| self.instance.enquiries.get(e))
            .flat_map(|e| e.options.iter().map(|o| o.slot))
            .collect();
        let slots = &self.instance.slots;
        for workshop in &mut self.instance.current {
            let from = slots[workshop.slot].span.first;
            let mut ranked = workshop.alternatives.clone();
            ranked.sort_by_key(|&s| ((slots[s].span.first - from).abs(), s));
            let near: BTreeSet<usize> = ranked.into_iter().take(nearest).collect();
            workshop
                .alternatives
                .retain(|s| near.contains(s) || listed.contains(s));
            for &e in &workshop.enquiries {
                self.instance.enquiries[e].options.retain(|o| {
                    (workshop.may_stay && o.slot == workshop.slot)
                        || workshop.alternatives.contains(&o.slot)
                });
            }
        }
        self
    }

    /// The slot a planned workshop is in: the one every one of its
    /// enquiries lists, in its format, on its sessions' dates. An error when there is none: its dates break a rule for one of
    /// its cities (window, lead time, hours, a holiday) or it groups
    /// enquiries that could not share a slot.
    pub fn slot_of(&self, workshop: &CurrentWorkshop) -> Result<usize, NotACandidate> {
        self.placed(workshop).map(|(slot, _)| slot)
    }

    /// [`Self::slot_of`], and every slot all its enquiries list in its format.
    fn placed(&self, workshop: &CurrentWorkshop) -> Result<(usize, Vec<usize>), NotACandidate> {
        let not_a_candidate = || NotACandidate {
            id: workshop.id.clone(),
        };
        let days: Vec<NaiveDate> = workshop
            .sessions
            .iter()
            .map(|s| local_date(workshop.time_zone, s.start))
            .collect();
        let common: Vec<usize> = match workshop.enquiries.first() {
            Some(&first) => self.instance.enquiries[first]
                .options
                .iter()
                .map(|o| o.slot)
                .filter(|&slot| {
                    self.layouts[slot].format == workshop.format
                        && workshop.enquiries.iter().all(|&e| {
                            self.instance.enquiries[e]
                                .options
                                .iter()
                                .any(|o| o.slot == slot)
                        })
                })
                .collect(),
            None => Vec::new(),
        };
        let slot = common
            .iter()
            .copied()
            .find(|&slot| self.layouts[slot].days == days)
            .ok_or_else(not_a_candidate)?;
        Ok((slot, common))
    }

    /// The plan as it stands: every current workshop in its slot with its
    /// team, nobody else served. `None` when a current workshop has no lead
    /// yet (assignment has not staffed it) or may not stay where it is, so
    /// there is no whole plan to start from.
    pub fn current_plan(&self) -> Option<planner::Plan> {
        let mut plan = planner::Plan {
            served_in: vec![None; self.instance.enquiries.len()],
            workshops: BTreeMap::new(),
        };
        for workshop in &self.instance.current {
            if !workshop.may_stay {
                return None;
            }
            let (lead, support) = workshop.team;
            plan.workshops.insert(
                workshop.slot,
                planner::Team {
                    lead: lead?,
                    support,
                },
            );
            for &e in &workshop.enquiries {
                plan.served_in[e] = Some(workshop.slot);
            }
        }
        Some(plan)
    }
}

struct Builder<'a> {
    rules: &'a Rules,
    holidays: &'a Calendar,
    roster: &'a [ExpertProfile],
    outside: &'a [OutsideHold],
    layouts: Vec<SlotLayout>,
    slots: Vec<planner::Slot>,
    /// Shared joint slots by (primary topic, format, session days).
    shared: BTreeMap<(i32, i32, Vec<NaiveDate>), usize>,
}

impl Builder<'_> {
    fn enquiry(&mut self, enquiry: &OpenEnquiry) -> planner::Enquiry {
        let request = &enquiry.request;
        let attendee = &request.attendee;
        let mut options: Vec<(usize, DaySpan)> = Vec::new();
        if let Some(primary) = request.primary_topic() {
            for format in formats(request) {
                let (shape, host_city, time_zone) = layout(request, format, self.rules);
                let host_country = match request.kind {
                    EnquiryKind::PilotProject => Some(attendee.country.clone()),
                    _ if format == Format::InPerson => Some(self.rules.host_country.clone()),
                    _ => None,
                };
                let busy = Busy::default();
                let search = Search {
                    shape,
                    attendees: std::slice::from_ref(attendee),
                    calendar: self.holidays,
                    busy: &busy,
                    rules: self.rules,
                    after: None,
                    host_country: host_country.as_deref().filter(|c| !c.is_empty()),
                };
                let zone = match shape {
                    Shape::InPerson { zone, .. } => zone,
                    Shape::Virtual { .. } => self.rules.experts_zone,
                };
                for sessions in search.all() {
                    let Some(span) = span_of(&sessions) else {
                        continue;
                    };
                    let days: Vec<NaiveDate> =
                        sessions.iter().map(|s| local_date(zone, s.start)).collect();
                    let layout = SlotLayout {
                        kind: request.kind,
                        format,
                        host_city: host_city.clone(),
                        time_zone,
                        primary_topic: primary,
                        days,
                        sessions,
                        shape,
                        host_country: host_country.clone(),
                    };
                    let shared = request.kind == EnquiryKind::JointWorkshop
                        && attendee.participants <= self.rules.max_participants;
                    let slot = if shared {
                        // Every day, not just the first: two cities may start
                        // on the same day and end on different ones (one
                        // skips the other's public holiday); a slot keyed by
                        // its first day alone would seat them together on a
                        // holiday of one of them.
                        let key = (primary as i32, format as i32, layout.days.clone());
                        match self.shared.get(&key) {
                            Some(slot) => *slot,
                            None => {
                                let slot = self.add_slot(layout, true);
                                self.shared.insert(key, slot);
                                slot
                            }
                        }
                    } else {
                        self.add_slot(layout, false)
                    };
                    options.push((slot, span));
                }
            }
        }
        let earliest = options.iter().map(|(_, span)| span.first).min();
        planner::Enquiry {
            id: attendee.enquiry_id.clone(),
            city: attendee.city.clone(),
            beneficiary: enquiry.beneficiary,
            participants: attendee.participants,
            languages: attendee
                .languages
                .iter()
                .map(|l| primary_subtag(l))
                .collect(),
            topics: request.topics.iter().map(|t| *t as u32).collect(),
            options: options
                .into_iter()
                .map(|(slot, span)| planner::Candidate {
                    slot,
                    lateness: earliest.map_or(0, |first| {
                        u32::try_from((span.first - first).num_days()).unwrap_or(u32::MAX)
                    }),
                })
                .collect(),
        }
    }

    fn add_slot(&mut self, layout: SlotLayout, shared: bool) -> usize {
        let span =
            span_of(&layout.sessions).unwrap_or(DaySpan::new(NaiveDate::MAX, NaiveDate::MIN));
        let (start, end) = hold_period(&layout);
        let hold = DaySpan::new(
            programme_day(start),
            programme_day(end - Duration::seconds(1)),
        );
        let first = layout.sessions.first().map_or(start, |s| s.start);
        let month = first.year() * 12 + i32::try_from(first.month0()).unwrap_or(0);
        let free: Vec<usize> = self
            .roster
            .iter()
            .enumerate()
            .filter(|(_, expert)| self.is_free(expert, start, end))
            .map(|(x, _)| x)
            .collect();
        let primary = layout.primary_topic;
        self.slots.push(planner::Slot {
            shared,
            support: if layout.kind == EnquiryKind::JointWorkshop {
                planner::SupportRule::BySize
            } else {
                planner::SupportRule::Never
            },
            span: planner::Days::new(day_number(span.first), day_number(span.last)),
            hold: planner::Days::new(day_number(hold.first), day_number(hold.last)),
            month,
            primary_topic: primary as u32,
            leads: free
                .iter()
                .copied()
                .filter(|x| self.roster[*x].topics.contains(&primary))
                .collect(),
            supports: free,
            incompatible: Vec::new(),
        });
        self.layouts.push(layout);
        self.slots.len() - 1
    }

    /// Not on leave and not held outside the model during `[start, end)`.
    fn is_free(&self, expert: &ExpertProfile, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let on_leave = expert.unavailable.iter().any(|(first, last)| {
            let from = local_midnight(expert.time_zone, *first);
            let to = last.succ_opt().map_or(DateTime::<Utc>::MAX_UTC, |d| {
                local_midnight(expert.time_zone, d)
            });
            from < end && start < to
        });
        let held = self
            .outside
            .iter()
            .any(|h| h.expert_id == expert.id && h.start < end && start < h.end);
        !on_leave && !held
    }

    /// Pairs of enquiries that list a shared virtual slot but have no common
    /// session time there.
    fn incompatible_pairs(&mut self, open: &[OpenEnquiry], enquiries: &[planner::Enquiry]) {
        let mut attending: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (e, enquiry) in enquiries.iter().enumerate() {
            for slot in enquiry.options.iter().map(|o| o.slot) {
                if self.slots[slot].shared && self.layouts[slot].format == Format::Virtual {
                    attending.entry(slot).or_default().push(e);
                }
            }
        }
        for (slot, who) in attending {
            let layout = &self.layouts[slot];
            for (i, a) in who.iter().enumerate() {
                for b in &who[i + 1..] {
                    let pair = [
                        open[*a].request.attendee.clone(),
                        open[*b].request.attendee.clone(),
                    ];
                    let busy = Busy::default();
                    let meets = Search {
                        shape: layout.shape,
                        attendees: &pair,
                        calendar: self.holidays,
                        busy: &busy,
                        rules: self.rules,
                        after: None,
                        host_country: None,
                    }
                    .layout_on(&layout.days)
                    .is_some();
                    if !meets {
                        self.slots[slot].incompatible.push((*a, *b));
                    }
                }
            }
        }
    }
}

/// The formats a request may be held in: what a joint enquiry asked for
/// (both for `EITHER`); consultations are virtual and missions in person
/// whatever was asked.
fn formats(request: &Request) -> Vec<Format> {
    match request.kind {
        EnquiryKind::JointWorkshop => match request.attendee.wanted_format() {
            Format::InPerson => vec![Format::InPerson],
            Format::Virtual => vec![Format::Virtual],
            _ => vec![Format::InPerson, Format::Virtual],
        },
        EnquiryKind::ConsultativeSupport => vec![Format::Virtual],
        EnquiryKind::PilotProject => vec![Format::InPerson],
        EnquiryKind::Unspecified => Vec::new(),
    }
}

/// What an expert assigned to the slot is held for ([`hold_period_of`]).
fn hold_period(layout: &SlotLayout) -> (DateTime<Utc>, DateTime<Utc>) {
    hold_period_of(layout.format, &layout.sessions)
}

/// What an expert staffing `sessions` in `format` is held for: the
/// sessions, and a travel day either side in person (assignment's
/// `period_of`). No sessions hold nothing, at the epoch.
pub(crate) fn hold_period_of(
    format: Format,
    sessions: &[Session],
) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = sessions
        .iter()
        .map(|s| s.start)
        .min()
        .unwrap_or(DateTime::UNIX_EPOCH);
    let end = sessions
        .iter()
        .map(|s| s.end)
        .max()
        .unwrap_or(start)
        .max(start);
    if format == Format::Virtual {
        (start, end)
    } else {
        (start - Duration::days(1), end + Duration::days(1))
    }
}

/// The planner's experts: languages by primary subtag; outside holds as
/// load and as room taken in their month.
fn planner_experts(roster: &[ExpertProfile], outside: &[OutsideHold]) -> Vec<planner::Expert> {
    roster
        .iter()
        .map(|expert| {
            let held: Vec<&OutsideHold> = outside
                .iter()
                .filter(|h| h.expert_id == expert.id)
                .collect();
            let mut used: BTreeMap<i32, u32> = BTreeMap::new();
            for hold in &held {
                let (year, month) = hold.month;
                *used
                    .entry(year * 12 + i32::try_from(month).unwrap_or(1) - 1)
                    .or_default() += 1;
            }
            planner::Expert {
                id: expert.id.clone(),
                topics: expert.topics.iter().map(|t| *t as u32).collect(),
                languages: expert.languages.iter().map(|l| primary_subtag(l)).collect(),
                month_room: used
                    .into_iter()
                    .map(|(month, n)| (month, expert.monthly_limit.saturating_sub(n)))
                    .collect(),
                monthly_limit: expert.monthly_limit,
                fixed_load: u32::try_from(held.len()).unwrap_or(u32::MAX),
            }
        })
        .collect()
}

/// The planner's day number of a programme day.
fn day_number(day: NaiveDate) -> planner::Day {
    day.num_days_from_ce()
}

/// Where `day` begins in `zone` (the earliest midnight; a day whose
/// midnight a clock change skips begins an hour later).
fn local_midnight(zone: Tz, day: NaiveDate) -> DateTime<Utc> {
    zone.from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&day.and_hms_opt(1, 0, 0)?)
                .earliest()
        })
        .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc))
}

/// The primary subtag of a BCP 47 tag, lower-case (`en` of `en-GB`).
fn primary_subtag(tag: &str) -> String {
    tag.split('-').next().unwrap_or(tag).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testkit::{colombo, day, joint, makassar, with_holidays, with_window};

    fn expert(id: &str) -> ExpertProfile {
        ExpertProfile {
            id: id.to_owned(),
            display_name: id.to_owned(),
            topics: [Topic::SocialInnovation, Topic::LocalGovernance].into(),
            languages: vec!["en".to_owned(), "ko".to_owned()],
            time_zone: chrono_tz::Asia::Seoul,
            unavailable: Vec::new(),
            monthly_limit: 4,
            revision: 1,
        }
    }

    fn open(request: Request, beneficiary: bool) -> OpenEnquiry {
        OpenEnquiry {
            request,
            beneficiary,
        }
    }

    /// Makassar (window 30 to 90 days out) and Colombo (40 to 100), both
    /// joint on social innovation: one workshop serves both, inside both
    /// windows, on no holiday, staffed from the roster.
    #[test]
    fn two_cities_whose_windows_meet_share_one_workshop() {
        let rules = Rules::default();
        let received = day(2027, 1, 10);
        let makassar = joint(with_window(
            makassar(),
            received + Duration::days(30),
            received + Duration::days(90),
        ));
        let colombo = joint(with_window(
            colombo(),
            received + Duration::days(40),
            received + Duration::days(100),
        ));
        // The first day both could meet is an Indonesian holiday.
        let first_common = day(2027, 2, 19);
        let calendar = with_holidays(Calendar::default(), "ID", &[first_common]);
        let enquiries = [open(makassar, true), open(colombo, true)];
        let roster = [expert("kim-jiwoo"), expert("lee-minho")];
        let candidates = candidates(&enquiries, &roster, &[], &calendar, &rules);
        let outcome =
            planner::optimise(&candidates.instance, planner::Budget::GENEROUS, None).unwrap();
        assert_eq!(
            planner::violations(&candidates.instance, &outcome.plan),
            Vec::<String>::new()
        );
        let workshops = candidates.workshops(&outcome.plan, &rules).unwrap();
        assert_eq!(workshops.len(), 1, "{workshops:?}");
        let workshop = &workshops[0];
        assert_eq!(workshop.enquiries, vec![0, 1]);
        for enquiry in &enquiries {
            let attendee = &enquiry.request.attendee;
            for session in &workshop.sessions {
                assert!(attendee.window_holds(session));
                assert!(attendee.lead_time_holds(session, &rules));
                let local = local_date(attendee.time_zone, session.start);
                assert!(!calendar.is_holiday(&attendee.country, local), "{local}");
            }
        }
        assert!(roster.iter().any(|x| x.id == workshop.lead));
    }

    /// Two joint workshops of one topic and format on the same days (the
    /// second planned while the first was outside a re-plan): each keeps a
    /// slot of its own, so the calendar as it stands is a plan of the
    /// model and the first stage of a re-plan is feasible. Sharing one
    /// slot, the rule that two planned workshops never merge made every
    /// re-plan around them infeasible (seen in `ileaps bench planning`).
    #[test]
    fn two_planned_workshops_on_one_joint_slot_each_keep_their_own() {
        let rules = Rules::default();
        let window = (day(2027, 3, 1), day(2027, 3, 31));
        let enquiries = [
            open(joint(with_window(makassar(), window.0, window.1)), false),
            open(joint(with_window(colombo(), window.0, window.1)), false),
        ];
        let roster = [expert("kim-jiwoo"), expert("lee-minho")];
        let all = candidates(&enquiries, &roster, &[], &Calendar::default(), &rules);
        let both = all.instance.enquiries[0]
            .options
            .iter()
            .map(|o| o.slot)
            .find(|s| {
                all.instance.enquiries[1]
                    .options
                    .iter()
                    .any(|o| o.slot == *s)
            })
            .expect("a slot both list");
        let layout = all.layouts[both].clone();
        let planned = |id: &str, e: usize, lead: &str, mobility| CurrentWorkshop {
            id: id.to_owned(),
            enquiries: vec![e],
            format: layout.format,
            time_zone: layout.time_zone,
            sessions: layout.sessions.clone(),
            mobility,
            lead: Some(lead.to_owned()),
            support: None,
        };
        for mobility in [Mobility::Stays, Mobility::MayMove] {
            let current = [
                planned("a", 0, "kim-jiwoo", mobility),
                planned("b", 1, "lee-minho", mobility),
            ];
            let model = all.clone().with_current(&current).unwrap();
            let slots: Vec<usize> = model.instance.current.iter().map(|c| c.slot).collect();
            assert_eq!(slots[0], both);
            assert_ne!(slots[1], both);
            assert_eq!(model.layouts[slots[1]], layout);
            let start = model.current_plan().unwrap();
            assert_eq!(
                planner::violations(&model.instance, &start),
                Vec::<String>::new()
            );
            let outcome =
                planner::optimise(&model.instance, planner::Budget::GENEROUS, Some(&start))
                    .unwrap();
            assert_eq!(outcome.plan.served(), 2);
            assert_eq!(
                planner::violations(&model.instance, &outcome.plan),
                Vec::<String>::new()
            );
            let workshops = model.workshops(&outcome.plan, &rules).unwrap();
            assert_eq!(workshops.len(), 2, "never merged: {workshops:?}");
        }
    }

    /// Two cities that can both start on a Thursday, where the Friday is a
    /// holiday of one of them: the other's Thursday–Friday workshop is not
    /// offered to it (it gets Thursday–Monday instead). Keyed by the first
    /// day alone, both listed one slot, and the plan could not be laid out
    /// (found by `ileaps bench planning`).
    #[test]
    fn a_shared_slot_never_seats_a_city_on_its_own_holiday() {
        let rules = Rules::default();
        let window = (day(2027, 3, 1), day(2027, 3, 31));
        let makassar = joint(with_window(makassar(), window.0, window.1));
        let colombo = joint(with_window(colombo(), window.0, window.1));
        let (thursday, friday) = (day(2027, 3, 11), day(2027, 3, 12));
        let calendar = with_holidays(Calendar::default(), "LK", &[friday]);
        let enquiries = [open(makassar, false), open(colombo, false)];
        let candidates = candidates(&enquiries, &[expert("kim-jiwoo")], &[], &calendar, &rules);
        let slots_of = |e: usize| -> Vec<usize> {
            candidates.instance.enquiries[e]
                .options
                .iter()
                .map(|o| o.slot)
                .filter(|s| candidates.layouts[*s].days.first() == Some(&thursday))
                .collect()
        };
        for slot in slots_of(1) {
            assert!(!candidates.layouts[slot].days.contains(&friday));
        }
        let makassars_thursday_friday: Vec<usize> = slots_of(0)
            .into_iter()
            .filter(|s| candidates.layouts[*s].days.contains(&friday))
            .collect();
        assert!(!makassars_thursday_friday.is_empty());
        assert!(
            makassars_thursday_friday
                .iter()
                .all(|s| !slots_of(1).contains(s))
        );
        // Every slot both list can be laid out for both.
        let both: Vec<usize> = slots_of(0)
            .into_iter()
            .filter(|s| slots_of(1).contains(s))
            .collect();
        for slot in both {
            let plan = planner::Plan {
                served_in: vec![Some(slot), Some(slot)],
                workshops: [(
                    slot,
                    planner::Team {
                        lead: 0,
                        support: None,
                    },
                )]
                .into(),
            };
            assert!(candidates.workshops(&plan, &rules).is_ok(), "slot {slot}");
        }
    }

    /// A city's own candidate slots keep its window, lead time and holidays,
    /// whatever the format.
    #[test]
    fn every_candidate_keeps_the_city_rules() {
        let rules = Rules::default();
        let request = joint(makassar());
        let holiday = request.attendee.window.start + Duration::days(3);
        let calendar = with_holidays(Calendar::default(), "ID", &[holiday]);
        let enquiries = [open(request.clone(), false)];
        let candidates = candidates(&enquiries, &[expert("kim-jiwoo")], &[], &calendar, &rules);
        let options = &candidates.instance.enquiries[0].options;
        assert!(options.len() > 20, "{} options", options.len());
        for option in options {
            let layout = &candidates.layouts[option.slot];
            assert!(matches!(layout.format, Format::InPerson | Format::Virtual));
            for session in &layout.sessions {
                assert!(request.attendee.window_holds(session));
                assert!(request.attendee.lead_time_holds(session, &rules));
                let local = local_date(request.attendee.time_zone, session.start);
                assert_ne!(local, holiday);
            }
        }
    }

    /// An expert on leave, or held outside the plan, is not offered for a
    /// slot their hold would overlap.
    #[test]
    fn experts_on_leave_or_held_elsewhere_are_not_offered() {
        let rules = Rules::default();
        let request = joint(with_window(makassar(), day(2027, 3, 1), day(2027, 3, 5)));
        let mut away = expert("away-one");
        away.unavailable = vec![(day(2027, 3, 1), day(2027, 3, 31))];
        let held = expert("held-one");
        let outside = [OutsideHold {
            expert_id: "held-one".to_owned(),
            start: DateTime::parse_from_rfc3339("2027-02-25T00:00:00Z")
                .unwrap()
                .to_utc(),
            end: DateTime::parse_from_rfc3339("2027-03-10T00:00:00Z")
                .unwrap()
                .to_utc(),
            month: (2027, 2),
        }];
        let roster = [away, held, expert("free-one")];
        let candidates = candidates(
            &[open(request, false)],
            &roster,
            &outside,
            &Calendar::default(),
            &rules,
        );
        assert!(!candidates.instance.slots.is_empty());
        for slot in &candidates.instance.slots {
            assert_eq!(slot.leads, vec![2]);
        }
        assert_eq!(candidates.instance.experts[1].fixed_load, 1);
        assert_eq!(candidates.instance.experts[1].room_in(2027 * 12 + 1), 3);
    }
}
