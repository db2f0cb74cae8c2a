//! Assignment's pure rules: which experts staff a workshop version. Owns
//! DOMAIN.md "Expert assignment" rules 1-7 as [`staff`], a function of the
//! need, the workshop's current experts, the roster, the other workshops'
//! holds and the experts' history. No I/O, no clock, no randomness: the same
//! input gives the same [`Staffing`].
//!
//! # Layout
//!
//! - [`expert`]: [`ExpertId`] and [`Expert`] (no contact details).
//! - [`period`]: [`Period`], half-open like the database's `tstzrange '[)'`.
//! - [`need`]: [`Need`], [`Rules`], and what follows from a need alone:
//!   [`period_of`], [`month_of`], [`roles_needed`].
//! - [`staffing`]: the store's inputs ([`Commitment`], [`Current`]) and the
//!   answer ([`Staffing`], [`Outcome`], [`UnfilledCode`]).
//! - `eligibility`: rules 1-5 and 7 for one role.
//! - [`staff`] (in `staff.rs`): rule 6, putting the roles together;
//!   [`staff_proposed`], the same with scheduling's proposed team.
//!
//! # Decisions
//!
//! 1. **Topics.** A LEAD covers the primary (first) topic. A SUPPORT is
//!    another expert covering any topic of the workshop; one covering a
//!    topic other than the primary is preferred over one covering only the
//!    primary, before any other preference. SUPPORT is needed only by a
//!    `JOINT_WORKSHOP` with more than 2 distinct cities or more than 25
//!    participants (DOMAIN.md asks it of joint workshops; consultations and
//!    missions serve one city). An expert holds one role on a workshop.
//! 2. **Language.** The workshop's languages are its cities' plus English
//!    ([`Rules::always_shared_language`]); the expert must speak one of
//!    them. Tags compare by primary subtag, case-insensitively (`en-GB`
//!    speaks `en`). English counts only when the expert lists it.
//! 3. **Double booking.** A need holds its expert from the first session's
//!    start to the last session's end, plus a travel day (24 h) before and
//!    after unless it is `VIRTUAL` ([`period_of`]); `EITHER` or unspecified
//!    count as in person. Another workshop's [`Commitment`] (its own period,
//!    stored with its own travel days) must not overlap it, nor may any
//!    unavailable day range, read as whole days in the expert's own zone.
//!    Periods are half-open, so back-to-back holds are fine.
//! 4. **Monthly limit.** The month is the UTC calendar month of the first
//!    session ([`month_of`]); a hold counts in that month only. The expert
//!    qualifies while their holds in that month are fewer than the limit
//!    (a limit of 0 means never). This workshop's own holds never count:
//!    commitments with its `workshop_id` are ignored.
//! 5. **Ranking.** Among those who qualify: (support only: covers a
//!    non-primary topic), then continuity (has worked with one of the
//!    need's cities), then fewest holds in the month, then id ascending.
//!    Nothing depends on the order of `experts` or `commitments`; if the
//!    roster lists an id twice, its first entry is used.
//! 6. **Re-check.** Each current expert is kept when they still qualify for
//!    their role on the new version (roster entry still there, topic,
//!    language, no overlap with the new period, under the limit for the new
//!    month). A SUPPORT the new size no longer calls for is released; an
//!    expert listed twice is judged by their first entry; an entry in a
//!    role other than LEAD or SUPPORT is never kept. A kept expert is never
//!    swapped for a better-ranked one: stability beats ranking. Vacant
//!    roles are then filled, LEAD first: a new lead is chosen from everyone
//!    but a kept support; only if nobody else can lead is the kept support
//!    promoted (it appears in `add` as LEAD, not in `release`), and the
//!    support role is filled again.
//! 7. **Unfilled.** A workshop is staffed whole or gets no new holds: when
//!    a role cannot be filled, `add` is empty, `keep` lists the current
//!    experts that still fit their role (a promotion is undone) and
//!    `release` the rest. The code is the rule that removed the last
//!    candidate for the LEAD, checked in order topic, language, busy,
//!    monthly limit ([`UnfilledCode::NoExpertForTopic`] ..
//!    [`UnfilledCode::MonthlyLimitReached`]); a missing support is always
//!    [`UnfilledCode::NoSupportExpert`], its detail naming the rule. Details
//!    are English sentences naming topics, languages, the period or the
//!    month, never a person.
//! 8. **Proposals.** Scheduling may send the team it proposes for a
//!    version (`proposedTeam`); [`staff_proposed`] judges it, and
//!    assignment stays the authority. Rule 6 comes first: an expert kept
//!    in a role keeps it, whoever is proposed for it. For each role left
//!    vacant, the first proposed entry for that role is taken when the
//!    expert qualifies for it by rules 1-4 exactly as above (topic,
//!    language, free for the new period, under the limit), is not kept
//!    in the other role and was not proposed earlier in another role;
//!    entries for a role the version does not need (a SUPPORT for a small
//!    workshop, an unspecified role) are ignored. Ranking (rule 5) plays no
//!    part: a qualifying proposal beats a better-ranked expert. A role the
//!    proposal leaves open is filled by the ranking, never with a proposed
//!    expert of the other role. When that leaves a role unfilled, or
//!    nothing of the proposal qualifies, the answer is exactly [`staff`]'s,
//!    as if nothing had been proposed: a proposal never makes a workshop
//!    unfilled that the matcher alone would staff. The database's
//!    exclusion constraint still has the last word on every hold.
//!
//! # For the store
//!
//! - `add` may name an expert already on the workshop in another role (a
//!   promotion, or an entry whose role was neither LEAD nor SUPPORT): write
//!   assignments keyed by (workshop, expert), upserting the role.
//! - Every kept or added expert holds [`Commitment::for_need`] of the new
//!   version: update the kept rows' period and month too, or the next
//!   check (and the exclusion constraint) compares against the old dates.
//! - `commitments` are the other workshops' holds; passing this workshop's
//!   own rows is harmless (they are skipped by `workshop_id`).
//!
//! Inputs scheduling never sends are still answered: a need without topics
//! is `NO_EXPERT_FOR_TOPIC`; one without sessions holds the empty period at
//! the Unix epoch.

mod eligibility;
pub mod expert;
pub mod need;
pub mod period;
mod staff;
pub mod staffing;

#[cfg(test)]
mod proposal_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use expert::{Expert, ExpertId, InvalidExpertId};
pub use need::{Need, Rules, month_of, period_of, roles_needed};
pub use period::{InvalidPeriod, Period};
pub use staff::{staff, staff_proposed};
pub use staffing::{Commitment, Current, Outcome, Staffing, UnfilledCode};
