//! A workshop or mission already planned ([`PlannedWorkshop`]), who may
//! still join it ([`PlannedWorkshop::can_accept`], rule 3, with the reason
//! when not: [`JoinRefusal`]) and the languages it is held in
//! ([`workshop_languages`]).

use chrono::NaiveDate;
use chrono_tz::Tz;
use contract::proto::common::v1::{EnquiryKind, Format, Topic};
use std::collections::BTreeSet;

use super::attendee::{Attendee, Request};
use super::calendar::{Busy, Calendar};
use super::days::{DaySpan, Session, span_of};
use super::rules::Rules;

/// An active workshop or mission as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedWorkshop {
    pub id: String,
    /// Starts at 1; every change of cities or dates is a new version.
    pub version: u32,
    pub kind: EnquiryKind,
    /// The first is the primary topic.
    pub topics: Vec<Topic>,
    /// As chosen: `IN_PERSON` or `VIRTUAL`, never `EITHER`.
    pub format: Format,
    /// The host city's code; `None` when virtual.
    pub host_city: Option<String>,
    /// The host's zone; the experts' zone when virtual.
    pub time_zone: Tz,
    /// In order, at least one.
    pub sessions: Vec<Session>,
    pub attendees: Vec<Attendee>,
    /// See [`workshop_languages`].
    pub languages: BTreeSet<String>,
}

/// Why a city cannot join a planned workshop; the first reason found, in the
/// order listed here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinRefusal {
    #[error("only joint workshops take further cities")]
    NotAJointWorkshop,
    #[error("the workshop's primary topic is another")]
    OtherPrimaryTopic,
    #[error("the workshop is held in a format the city did not ask for")]
    FormatMismatch,
    #[error("the city and the workshop share no language")]
    NoSharedLanguage,
    #[error("the city already takes part")]
    AlreadyAttending,
    #[error("{total} participants would exceed the limit of {max}")]
    TooManyParticipants { total: u32, max: u32 },
    #[error("{total} cities would exceed the limit of {max}")]
    TooManyCities { total: u32, max: u32 },
    #[error("the workshop has no sessions")]
    NoSessions,
    #[error("the workshop starts before the lead time after the enquiry")]
    TooSoon,
    #[error("the workshop's dates are outside the city's window")]
    OutsideWindow,
    #[error("a session is outside the city's working hours or on its weekend")]
    OutsideWorkingHours,
    #[error("the city has another workshop or mission on those days")]
    CityEngaged,
    #[error("a session falls on {day}, a public holiday in {country}")]
    Holiday { day: NaiveDate, country: String },
}

impl PlannedWorkshop {
    /// All participants of all cities taking part.
    pub fn participants(&self) -> u32 {
        self.attendees
            .iter()
            .fold(0u32, |sum, a| sum.saturating_add(a.participants))
    }

    /// The distinct cities taking part.
    pub fn cities(&self) -> BTreeSet<&str> {
        self.attendees.iter().map(|a| a.city.as_str()).collect()
    }

    /// The programme days it occupies ([`span_of`] its sessions).
    pub fn span(&self) -> Option<DaySpan> {
        span_of(&self.sessions)
    }

    pub fn primary_topic(&self) -> Option<Topic> {
        self.topics.first().copied()
    }

    pub fn first_session(&self) -> Option<&Session> {
        self.sessions.first()
    }

    /// Whether `request`'s city may join, by rule 3 and by rules 1, 2 and 4
    /// for the newcomer (the workshop's dates stay as they are, so rule 5 is
    /// not concerned). `calendar` supplies the city's other engagements.
    pub fn can_accept(
        &self,
        request: &Request,
        calendar: &Calendar,
        rules: &Rules,
    ) -> Result<(), JoinRefusal> {
        let busy = Busy::of(calendar, [request.attendee.city.as_str()]);
        self.check_join(request, calendar, &busy, rules)
    }

    /// [`Self::can_accept`] with the city's engagements already indexed
    /// (`busy`); `calendar` gives the public holidays.
    pub(crate) fn check_join(
        &self,
        request: &Request,
        calendar: &Calendar,
        busy: &Busy,
        rules: &Rules,
    ) -> Result<(), JoinRefusal> {
        let newcomer = &request.attendee;
        if self.kind != EnquiryKind::JointWorkshop || request.kind != EnquiryKind::JointWorkshop {
            return Err(JoinRefusal::NotAJointWorkshop);
        }
        if self.primary_topic().is_none() || self.primary_topic() != request.primary_topic() {
            return Err(JoinRefusal::OtherPrimaryTopic);
        }
        if !newcomer.accepts_format(self.format) {
            return Err(JoinRefusal::FormatMismatch);
        }
        if !share_language(&self.languages, &newcomer.languages, rules) {
            return Err(JoinRefusal::NoSharedLanguage);
        }
        let mut cities = self.cities();
        if !cities.insert(newcomer.city.as_str()) {
            return Err(JoinRefusal::AlreadyAttending);
        }
        let participants = self.participants().saturating_add(newcomer.participants);
        if participants > rules.max_participants {
            return Err(JoinRefusal::TooManyParticipants {
                total: participants,
                max: rules.max_participants,
            });
        }
        let city_count = u32::try_from(cities.len()).unwrap_or(u32::MAX);
        if city_count > rules.max_cities {
            return Err(JoinRefusal::TooManyCities {
                total: city_count,
                max: rules.max_cities,
            });
        }
        let (Some(first), Some(span)) = (self.first_session(), self.span()) else {
            return Err(JoinRefusal::NoSessions);
        };
        if !newcomer.lead_time_holds(first, rules) {
            return Err(JoinRefusal::TooSoon);
        }
        if !self.sessions.iter().all(|s| newcomer.window_holds(s)) {
            return Err(JoinRefusal::OutsideWindow);
        }
        if self.format == Format::Virtual
            && !self
                .sessions
                .iter()
                .all(|s| newcomer.working_hours_hold(s, rules))
        {
            return Err(JoinRefusal::OutsideWorkingHours);
        }
        // Rule 8 for the newcomer: the workshop's own and Korea's holidays
        // were kept when it was planned; the newcomer's country's were not.
        let host_zone = (self.format == Format::InPerson).then_some(self.time_zone);
        if let Some(day) = self
            .sessions
            .iter()
            .find_map(|s| newcomer.holiday_during(s, host_zone, calendar))
        {
            return Err(JoinRefusal::Holiday {
                day,
                country: newcomer.country.clone(),
            });
        }
        if busy.overlaps(&span) {
            return Err(JoinRefusal::CityEngaged);
        }
        Ok(())
    }

    /// Whether its size calls for a SUPPORT expert besides the LEAD, as
    /// assignment counts it (its rule 1): a joint workshop with more
    /// distinct cities or more participants than the rules allow a lead alone.
    pub fn needs_support(&self, rules: &Rules) -> bool {
        let cities: BTreeSet<&str> = self.attendees.iter().map(|a| a.city.as_str()).collect();
        let participants: u32 = self.attendees.iter().map(|a| a.participants).sum();
        self.kind == EnquiryKind::JointWorkshop
            && (cities.len() > rules.support_over_cities as usize
                || participants > rules.support_over_participants)
    }

    /// Takes a city in (after [`Self::can_accept`]): a new version, and the
    /// languages recomputed for the new set of cities.
    pub fn admit(&mut self, attendee: Attendee, rules: &Rules) {
        self.attendees.push(attendee);
        self.version = self.version.saturating_add(1);
        self.languages = workshop_languages(&self.attendees, rules);
    }

    /// Adds the topics a joining city asked for that the workshop does not
    /// list yet, after those it lists (the primary stays first: every city
    /// of a joint workshop shares it). Assignment staffs a SUPPORT who
    /// covers any of the workshop's topics (its rule 1), and the planner
    /// proposes one covering a topic of any attending city: the workshop's
    /// topics must be all of theirs for the two to agree.
    pub fn cover_topics(&mut self, asked: &[Topic]) {
        for topic in asked {
            if !self.topics.contains(topic) {
                self.topics.push(*topic);
            }
        }
    }

    /// Keeps, of its topics, the primary and those some remaining city
    /// asked for (`asked`, one list per attending city): after a
    /// withdrawal, a topic nobody left asked for no longer qualifies a
    /// SUPPORT.
    pub fn keep_topics_of(&mut self, asked: &[Vec<Topic>]) {
        let primary = self.primary_topic();
        self.topics
            .retain(|t| Some(*t) == primary || asked.iter().any(|topics| topics.contains(t)));
    }

    /// Lets a city's enquiry go (a withdrawal): a new version and the
    /// languages recomputed. `None` when the enquiry was not in it; a
    /// workshop left without attendees is the caller's to cancel.
    pub fn remove_attendee(&mut self, enquiry_id: &str, rules: &Rules) -> Option<Attendee> {
        let at = self
            .attendees
            .iter()
            .position(|a| a.enquiry_id == enquiry_id)?;
        let gone = self.attendees.remove(at);
        self.version = self.version.saturating_add(1);
        self.languages = workshop_languages(&self.attendees, rules);
        Some(gone)
    }
}

/// The languages a workshop is held in: those every attending city listed,
/// plus [`Rules::always_shared_language`], which every city is assumed to
/// speak. The intersection, not the union, because an expert matched on one
/// of these (assignment's rule 2) must be able to talk to every city. For a
/// new workshop that is its city's languages plus English; as cities join it
/// can only shrink, never below English. Tags compare exactly as intake
/// normalised them (`en-GB` is not `en`).
pub fn workshop_languages(attendees: &[Attendee], rules: &Rules) -> BTreeSet<String> {
    let mut common: Option<BTreeSet<String>> = None;
    for attendee in attendees {
        let spoken = with_shared(&attendee.languages, rules);
        common = Some(match common {
            None => spoken,
            Some(so_far) => so_far.intersection(&spoken).cloned().collect(),
        });
    }
    common.unwrap_or_else(|| BTreeSet::from([rules.always_shared_language.clone()]))
}

/// Whether two sets of languages meet, [`Rules::always_shared_language`]
/// counting as in both (so with the defaults, any two do).
pub fn share_language(a: &BTreeSet<String>, b: &BTreeSet<String>, rules: &Rules) -> bool {
    with_shared(a, rules)
        .intersection(&with_shared(b, rules))
        .next()
        .is_some()
}

fn with_shared(languages: &BTreeSet<String>, rules: &Rules) -> BTreeSet<String> {
    let mut all = languages.clone();
    if !rules.always_shared_language.is_empty() {
        all.insert(rules.always_shared_language.clone());
    }
    all
}
