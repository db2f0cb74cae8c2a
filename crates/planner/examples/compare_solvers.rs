//! Solves the same generated instances with HiGHS (the planner's solver)
//! and with Pumpkin (a lazy-clause-generation CP solver, pure Rust), on the
//! same 0-1 program, and prints what each reached: the measurement behind
//! the choice in docs/planning.md.
//!
//! ```sh
//! cargo run --release -p planner --example compare_solvers -- [SEEDS] [ENQUIRIES] [HIGHS_NODES] [PUMPKIN_CALLS]
//! ```
//!
//! Both get the lexicographic objective level by level. HiGHS's budget is
//! in branch-and-bound nodes (unlimited for the first level, enquiries
//! served; HIGHS_NODES for the others), Pumpkin's in calls of its
//! termination check (about one per decision), per level; each run also
//! shows its wall time and whether each level was proven optimal.

use std::ops::ControlFlow;
use std::time::Instant;

use planner::generate::{Shape, instance};
use planner::ilp::Ilp;
use planner::{Budget, Model, score, violations};
use pumpkin_solver::Solver;
use pumpkin_solver::conflict_resolvers::resolvers::ResolutionResolver;
use pumpkin_solver::core::optimisation::OptimisationDirection;
use pumpkin_solver::core::optimisation::linear_sat_unsat::LinearSatUnsat;
use pumpkin_solver::core::results::{OptimisationResult, ProblemSolution, SolutionReference};
use pumpkin_solver::core::termination::TerminationCondition;
use pumpkin_solver::core::variables::{DomainId, TransformableVariable};

fn main() {
    let mut args = std::env::args().skip(1);
    let seeds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let enquiries: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(150);
    let nodes: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let calls: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    println!(
        "| seed | solver | served (beneficiary) | workshops | max load | lateness | proven | seconds | violations |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for seed in 1..=seeds {
        let shape = Shape {
            enquiries,
            ..Shape::contested(seed)
        };
        let instance = instance(shape);
        let model = Model::build(&instance);
        eprintln!(
            "seed {seed}: {} variables, {} rows",
            model.ilp.num_vars(),
            model.ilp.rows.len()
        );
        let started = Instant::now();
        let highs = planner::solve::solve(
            &model.ilp,
            Budget {
                nodes: [u64::MAX / 2, nodes, nodes],
            },
            None,
        );
        let seconds = started.elapsed().as_secs_f64();
        match highs {
            Ok(solution) => {
                let plan = model.plan_of(&solution.values);
                report(seed, "HiGHS", &instance, &plan, &solution.proven, seconds);
            }
            Err(e) => println!("| {seed} | HiGHS | failed: {e} |"),
        }
        if calls == 0 {
            continue;
        }
        let started = Instant::now();
        let (values, proven) = pumpkin(&model.ilp, calls);
        let seconds = started.elapsed().as_secs_f64();
        match values {
            Some(values) => {
                let plan = model.plan_of(&values);
                report(seed, "Pumpkin", &instance, &plan, &proven, seconds);
            }
            None => println!(
                "| {seed} | Pumpkin | no solution within the budget | | | | | {seconds:.1} | |"
            ),
        }
    }
}

fn report(
    seed: u64,
    solver: &str,
    instance: &planner::Instance,
    plan: &planner::Plan,
    proven: &[bool],
    seconds: f64,
) {
    let score = score(instance, plan);
    println!(
        "| {seed} | {solver} | {} ({}) | {} | {} | {} | {:?} | {seconds:.1} | {} |",
        score.served.0,
        score.beneficiaries_served.0,
        score.workshops,
        score.max_load,
        score.lateness,
        proven,
        violations(instance, plan).len()
    );
}

/// Stops after `limit` checks: Pumpkin asks once per decision or conflict,
/// so this is a budget in its own units.
struct Calls {
    left: u64,
}

impl TerminationCondition for Calls {
    fn should_stop(&mut self) -> bool {
        if self.left == 0 {
            return true;
        }
        self.left -= 1;
        false
    }
}

/// The same program, level by level, in Pumpkin.
fn pumpkin(ilp: &Ilp, calls_per_level: u64) -> (Option<Vec<i64>>, Vec<bool>) {
    let mut solver = Solver::default();
    let tag = solver.new_constraint_tag();
    let vars: Vec<DomainId> = ilp
        .upper
        .iter()
        .map(|u| solver.new_bounded_integer(0, i32::try_from(*u).unwrap_or(i32::MAX)))
        .collect();
    let scaled = |terms: &[(planner::ilp::Var, i64)], sign: i32| {
        terms
            .iter()
            .map(|(v, c)| {
                vars[v.index()].scaled(sign * i32::try_from(*c).expect("small coefficients"))
            })
            .collect::<Vec<_>>()
    };
    for row in &ilp.rows {
        if row.upper < planner::ilp::FREE {
            solver
                .add_constraint(pumpkin_solver::less_than_or_equals(
                    scaled(&row.terms, 1),
                    i32::try_from(row.upper).expect("small bounds"),
                    tag,
                ))
                .post();
        }
        if row.lower > -planner::ilp::FREE {
            solver
                .add_constraint(pumpkin_solver::less_than_or_equals(
                    scaled(&row.terms, -1),
                    i32::try_from(-row.lower).expect("small bounds"),
                    tag,
                ))
                .post();
        }
    }
    let mut best: Option<Vec<i64>> = None;
    let mut proven = Vec::new();
    for objective in &ilp.objectives {
        let low: i64 = objective.iter().map(|(_, c)| (*c).min(0)).sum();
        let high: i64 = objective
            .iter()
            .map(|(v, c)| (*c).max(0) * ilp.upper[v.index()])
            .sum();
        let value = solver.new_bounded_integer(
            i32::try_from(low).expect("small objective"),
            i32::try_from(high).expect("small objective"),
        );
        let mut terms = scaled(objective, 1);
        terms.push(value.scaled(-1));
        solver
            .add_constraint(pumpkin_solver::equals(terms, 0, tag))
            .post();
        let mut brancher = solver.default_brancher();
        let mut resolver = ResolutionResolver::default();
        let mut budget = Calls {
            left: calls_per_level,
        };
        let result = solver.optimise(
            &mut brancher,
            &mut budget,
            &mut resolver,
            LinearSatUnsat::new(OptimisationDirection::Minimise, value, keep_going),
        );
        let (solution, optimal) = match result {
            OptimisationResult::Optimal(s) => (s, true),
            OptimisationResult::Satisfiable(s) | OptimisationResult::Stopped(s, _) => (s, false),
            OptimisationResult::Unsatisfiable | OptimisationResult::Unknown => {
                proven.push(false);
                return (best, proven);
            }
        };
        let values: Vec<i64> = vars
            .iter()
            .map(|v| i64::from(solution.get_integer_value(*v)))
            .collect();
        let reached = solution.get_integer_value(value);
        proven.push(optimal);
        best = Some(values);
        // Later levels keep this one's value.
        solver
            .add_constraint(pumpkin_solver::less_than_or_equals(
                vec![value],
                reached,
                tag,
            ))
            .post();
    }
    (best, proven)
}

/// Pumpkin's solution callback: every improvement is kept; nothing stops early.
fn keep_going<B, R>(_: &Solver, _: SolutionReference<'_>, _: &B, _: &R) -> ControlFlow<()> {
    ControlFlow::Continue(())
}
