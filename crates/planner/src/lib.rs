//! The programme's planning problem as an optimisation, not first-fit:
//! given every open enquiry, the candidate workshops each could attend, the
//! roster and what is already planned, choose who is served, in which
//! workshop (new or shared with other cities), and who leads and supports
//! it, best first by DOMAIN.md's planning objective.
//!
//! - [`instance`]: the problem, with the calendar already worked out by the
//!   caller (scheduling): [`Instance`], [`Slot`], [`Enquiry`], [`Expert`].
//! - [`model`]: the problem as a 0-1 program ([`Model`]), every rule a row.
//! - [`ilp`]: that program, independent of any solver.
//! - [`solve`]: HiGHS, level by level, on a budget counted in nodes.
//! - [`plan`]: the answer ([`Plan`]) and a plan as a solver's start.
//! - [`check`]: an independent check of a plan and its [`Score`].
//! - [`balance`]: the plan's experts swapped for less busy ones where the
//!   objective cannot tell the difference.
//! - [`bound`]: when a plan is optimal without a search to prove it.
//! - [`relax`]: the optimum searched for without the workshops nobody
//!   could join.
//!
//! Why HiGHS, and how it was measured against Pumpkin: docs/planning.md.

pub mod balance;
pub mod bound;
pub mod check;
pub mod generate;
pub mod ilp;
pub mod instance;
pub mod model;
pub mod plan;
pub mod relax;
pub mod solve;

pub use balance::even_the_load;
pub use bound::one_move_is_optimal;
pub use check::{Score, loads, score, violations};
pub use instance::{
    Candidate, Current, Day, Days, Enquiry, Expert, Fixed, Instance, Limits, Month, Slot,
    SupportRule, Topic,
};
pub use model::Model;
pub use plan::{Plan, Team};
pub use solve::{Budget, Solution, SolveError, SolveOptions};

/// The best plan `budget` finds, starting from `start` (the plan as it
/// stands, if any: kept when nothing better is found).
pub fn optimise(
    instance: &Instance,
    budget: Budget,
    start: Option<&Plan>,
) -> Result<Outcome, SolveError> {
    optimise_with(instance, budget, start, SolveOptions::default())
}

/// [`optimise`], with the solver run as `options` say.
pub fn optimise_with(
    instance: &Instance,
    budget: Budget,
    start: Option<&Plan>,
    options: SolveOptions,
) -> Result<Outcome, SolveError> {
    let model = Model::build(instance);
    let hint = start.map(|plan| model.values_of(instance, plan));
    let solution = solve::solve_with(&model.ilp, budget, hint.as_deref(), options)?;
    let plan = model.plan_of(&solution.values);
    Ok(Outcome {
        score: score(instance, &plan),
        plan,
        proven: solution.proven.iter().all(|p| *p),
        proven_levels: solution.proven,
        variables: model.ilp.num_vars(),
        rows: model.ilp.rows.len(),
    })
}

/// A plan and what is known of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub plan: Plan,
    pub score: Score,
    /// Every level proven optimal within the budget.
    pub proven: bool,
    /// Per objective level: proven optimal, given the levels before it.
    pub proven_levels: Vec<bool>,
    /// The model's size.
    pub variables: usize,
    pub rows: usize,
}
