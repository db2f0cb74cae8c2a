//! A small integer linear program: bounded integer variables, linear rows and
//! a lexicographic objective. The model ([`crate::model`]) is written against
//! this, not against a solver's API, so that the solver behind it can be
//! measured against another one on the same model (docs/planning.md).

/// A variable of an [`Ilp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Var(pub(crate) u32);

impl Var {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// `lower <= Σ coefficient × variable <= upper`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub terms: Vec<(Var, i64)>,
    pub lower: i64,
    pub upper: i64,
}

/// Terms to minimise.
pub type Objective = Vec<(Var, i64)>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ilp {
    /// Each variable is an integer in `0..=upper`.
    pub upper: Vec<i64>,
    pub rows: Vec<Row>,
    /// Minimised in order: each level only among the optima of the ones
    /// before it.
    pub objectives: Vec<Objective>,
    /// Per level, where the model knows one: a value no solution can go
    /// below. A start that reaches it is optimal on that level without a
    /// search.
    pub bounds: Vec<Option<i64>>,
}

/// Unbounded below or above, as far as a row is concerned.
pub const FREE: i64 = i64::MAX / 4;

impl Ilp {
    pub fn binary(&mut self) -> Var {
        self.integer(1)
    }

    pub fn integer(&mut self, upper: i64) -> Var {
        let var = Var(u32::try_from(self.upper.len()).expect("fewer than 2^32 variables"));
        self.upper.push(upper);
        var
    }

    pub fn num_vars(&self) -> usize {
        self.upper.len()
    }

    /// `Σ terms <= upper`. A row without terms is kept only when it is
    /// violated, so that an infeasible model stays infeasible.
    pub fn at_most(&mut self, terms: Vec<(Var, i64)>, upper: i64) {
        self.range(terms, -FREE, upper);
    }

    /// `Σ terms >= lower`.
    pub fn at_least(&mut self, terms: Vec<(Var, i64)>, lower: i64) {
        self.range(terms, lower, FREE);
    }

    /// `Σ terms == value`.
    pub fn equal(&mut self, terms: Vec<(Var, i64)>, value: i64) {
        self.range(terms, value, value);
    }

    pub fn range(&mut self, terms: Vec<(Var, i64)>, lower: i64, upper: i64) {
        if terms.is_empty() && lower <= 0 && 0 <= upper {
            return;
        }
        self.rows.push(Row {
            terms,
            lower,
            upper,
        });
    }

    /// The value of every objective level at `values`.
    pub fn objective_values(&self, values: &[i64]) -> Vec<i64> {
        self.objectives
            .iter()
            .map(|terms| terms.iter().map(|(v, c)| c * values[v.index()]).sum())
            .collect()
    }

    /// The first row `values` violates, if any (bounds included): a check on
    /// what a solver returned.
    pub fn violated_row(&self, values: &[i64]) -> Option<usize> {
        if values.len() != self.upper.len()
            || values
                .iter()
                .zip(&self.upper)
                .any(|(v, upper)| *v < 0 || v > upper)
        {
            return Some(usize::MAX);
        }
        self.rows.iter().position(|row| {
            let sum: i64 = row.terms.iter().map(|(v, c)| c * values[v.index()]).sum();
            sum < row.lower || sum > row.upper
        })
    }
}
