//! Solving an [`Ilp`] level by level with HiGHS: each objective level is
//! minimised among the optima (or the best found) of the levels before it.
//!
//! # Deterministic
//!
//! HiGHS runs on one thread with a fixed seed, and its budget is counted in
//! branch-and-bound nodes ([`Budget`]), never in seconds: the same program
//! and hint give the same answer on any machine, at any load (DOMAIN.md rule
//! 7). Where the budget runs out, the best solution found so far stands, and
//! [`Solution::proven`] says so.
//!
//! # Always an answer
//!
//! Each level starts from the previous level's solution (the first from the
//! caller's hint, which must be feasible when given: the plan as it stands),
//! and keeps it when HiGHS finds nothing better within its budget.

use highs::{HighsModelStatus, Model, RowProblem, Sense};

use crate::ilp::{FREE, Ilp, Objective};

/// How much search each objective level may spend, in HiGHS
/// branch-and-bound nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub nodes: [u64; crate::model::LEVELS],
}

impl Budget {
    /// Enough to prove every level optimal on small instances; for tests
    /// and offline solves.
    pub const GENEROUS: Self = Self {
        nodes: [1_000_000; crate::model::LEVELS],
    };

    /// The same budget for every level.
    pub const fn uniform(nodes: u64) -> Self {
        Self {
            nodes: [nodes; crate::model::LEVELS],
        }
    }
}

/// How HiGHS is run, beyond the budget. The default is what planning in
/// the service uses; an offline bound may trade caution for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SolveOptions {
    /// HiGHS's presolve. Off by default: see [`configure`] for why.
    pub presolve: bool,
    /// How many objective levels to optimise, from the first; the levels
    /// after them keep whatever the last solved level's answer has.
    pub levels: usize,
    /// Levels before this one are not searched: the start plan's values
    /// stand for them, as the caller has already optimised them (reported
    /// proven; the caller knows better). Needs a start.
    pub from_level: usize,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            presolve: false,
            levels: crate::model::LEVELS,
            from_level: 0,
        }
    }
}

/// What the solver returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    /// One value per variable.
    pub values: Vec<i64>,
    /// Each objective level's value.
    pub objective: Vec<i64>,
    /// Per level: whether HiGHS proved it optimal (given the levels before).
    pub proven: Vec<bool>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SolveError {
    #[error("the planning model is infeasible: {0}")]
    Infeasible(String),
    #[error("the solver failed: {0}")]
    Solver(String),
    #[error("the solver's answer breaks row {0} of the model")]
    Unsound(usize),
}

/// Solves `ilp` lexicographically within `budget`, starting from `hint`.
pub fn solve(ilp: &Ilp, budget: Budget, hint: Option<&[i64]>) -> Result<Solution, SolveError> {
    solve_with(ilp, budget, hint, SolveOptions::default())
}

/// [`solve`], run as `options` say.
pub fn solve_with(
    ilp: &Ilp,
    budget: Budget,
    hint: Option<&[i64]>,
    options: SolveOptions,
) -> Result<Solution, SolveError> {
    let mut best: Option<Vec<i64>> = hint
        .filter(|values| ilp.violated_row(values).is_none())
        .map(<[i64]>::to_vec);
    let mut proven = Vec::new();
    // The levels already settled: (objective, the value it must keep).
    let mut settled: Vec<(&Objective, i64)> = Vec::new();
    for (level, objective) in ilp.objectives.iter().enumerate().take(options.levels) {
        // Levels the caller settled, and a start that reaches the level's
        // known bound: nothing can do better, HiGHS would only prove it.
        let bound = ilp.bounds.get(level).copied().flatten();
        let reached = |values: &[i64]| bound.is_some_and(|b| value(objective, values) <= b);
        if let Some(values) = &best
            && (level < options.from_level || reached(values))
        {
            proven.push(true);
            settled.push((objective, value(objective, values)));
            continue;
        }
        let mut model = program(ilp, objective, &settled, options);
        let nodes = budget.nodes.get(level).copied().unwrap_or(0);
        model.set_option("mip_max_nodes", i32::try_from(nodes).unwrap_or(i32::MAX));
        if let Some(values) = &best {
            let as_float: Vec<f64> = values.iter().map(|v| *v as f64).collect();
            // A rejected start only costs HiGHS the head start.
            let _ = model.try_set_solution(Some(&as_float), None, None, None);
        }
        let searching = std::time::Instant::now();
        let solved = model.solve();
        let status = solved.status();
        // Not `level`: JSON logs already use that key for the severity.
        tracing::debug!(
            objective_level = level,
            ms = u64::try_from(searching.elapsed().as_millis()).unwrap_or(u64::MAX),
            status = ?status,
            simplex_iterations = solved.simplex_iteration_count(),
            gap = solved.mip_gap(),
            "level searched"
        );
        let found = matches!(
            solved.primal_solution_status(),
            highs::HighsSolutionStatus::Feasible
        );
        let candidate: Option<Vec<i64>> = found.then(|| {
            solved
                .get_solution()
                .columns()
                .iter()
                .map(|v| v.round() as i64)
                .collect()
        });
        let candidate = candidate.filter(|values| ilp.violated_row(values).is_none());
        let value_of = |values: &[i64]| value(objective, values);
        // Between HiGHS's answer and the plan it started from, keep the
        // better on this level and, on a tie, on the levels after it: an
        // answer that only ties here must not throw away a start that is
        // better further down (HiGHS returns any optimum of this level).
        let rest = |values: &[i64]| -> Vec<i64> {
            ilp.objectives[level..]
                .iter()
                .map(|o| value(o, values))
                .collect()
        };
        best = match (best.take(), candidate) {
            (Some(old), Some(new)) => Some(if rest(&new) <= rest(&old) { new } else { old }),
            (old, new) => new.or(old),
        };
        let Some(values) = &best else {
            return Err(match status {
                HighsModelStatus::Infeasible => SolveError::Infeasible(format!("level {level}")),
                other => SolveError::Solver(format!("level {level}: {other:?}, no solution")),
            });
        };
        proven.push(status == HighsModelStatus::Optimal);
        settled.push((objective, value_of(values)));
    }
    let values = best.unwrap_or_else(|| vec![0; ilp.num_vars()]);
    if let Some(row) = ilp.violated_row(&values) {
        return Err(SolveError::Unsound(row));
    }
    Ok(Solution {
        objective: ilp.objective_values(&values),
        values,
        proven,
    })
}

fn value(objective: &Objective, values: &[i64]) -> i64 {
    objective.iter().map(|(v, c)| c * values[v.index()]).sum()
}

/// The program with `objective` to minimise, and every settled level kept
/// at its value. Built anew for each level, so that no level inherits cuts,
/// bounds or reductions HiGHS derived for the previous objective; building
/// costs milliseconds, solving seconds.
fn program(
    ilp: &Ilp,
    objective: &Objective,
    settled: &[(&Objective, i64)],
    options: SolveOptions,
) -> Model {
    let mut problem = RowProblem::default();
    let mut cost = vec![0.0; ilp.num_vars()];
    for (var, c) in objective {
        cost[var.index()] += *c as f64;
    }
    let columns: Vec<_> = ilp
        .upper
        .iter()
        .zip(&cost)
        .map(|(upper, c)| problem.add_integer_column(*c, 0.0..=(*upper as f64)))
        .collect();
    let factors_of = |terms: &[(crate::ilp::Var, i64)]| -> Vec<_> {
        terms
            .iter()
            .map(|(v, c)| (columns[v.index()], *c as f64))
            .collect()
    };
    for row in &ilp.rows {
        let factors = factors_of(&row.terms);
        match (row.lower <= -FREE, row.upper >= FREE) {
            (true, true) => {}
            (true, false) => problem.add_row(..=(row.upper as f64), &factors),
            (false, true) => problem.add_row((row.lower as f64).., &factors),
            (false, false) => problem.add_row((row.lower as f64)..=(row.upper as f64), &factors),
        }
    }
    for (level, reached) in settled {
        problem.add_row(..=(*reached as f64), factors_of(level));
    }
    let mut model = problem.optimise(Sense::Minimise);
    configure(&mut model, options);
    model
}

fn configure(model: &mut Model, options: SolveOptions) {
    model.make_quiet();
    model.set_option("threads", 1);
    model.set_option("random_seed", 0);
    model.set_option("mip_rel_gap", 0.0);
    // Objectives are integers: a gap under 1 is optimal.
    model.set_option("mip_abs_gap", 0.999);
    // HiGHS 1.16.0's presolve, as highs-sys builds it, returned plans it
    // called optimal that a brute-force search beats: 2 of 300 small random
    // instances (crates/planner/tests/optimum.rs), 0 of 300 without it. The
    // price is about twice the time on the 60-enquiry instance (docs/planning.md).
    if !options.presolve {
        model.set_option("presolve", "off");
    }
    // Every level but the very first starts from a feasible plan (the
    // plan as it stands, or the level before's answer), so the
    // feasibility-jump heuristic, which only looks for a first feasible
    // plan, cost about 100 ms a level for nothing; symmetry detection
    // found nothing to use. Off, the 23 slowest levels of a bench run,
    // re-solved alone, reached the same optimal values sooner, and over five
    // bench seeds the solver's time per re-plan fell from p50 73 / p99 504
    // to p50 19 / p99 417 ms (docs/planning.md, sessions 7 and 8).
    model.set_option("mip_heuristic_run_feasibility_jump", false);
    model.set_option("mip_detect_symmetry", false);
}
