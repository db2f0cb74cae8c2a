//! A [`Plan`]: where each enquiry is served and who staffs each workshop;
//! read from a solver's values, or turned into values to start one from.

use std::collections::BTreeMap;

use crate::instance::Instance;
use crate::model::Model;

/// Who staffs a workshop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Team {
    pub lead: usize,
    pub support: Option<usize>,
}

/// The optimiser's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Per enquiry: the slot it is served in, if any.
    pub served_in: Vec<Option<usize>>,
    /// Every open slot and its team.
    pub workshops: BTreeMap<usize, Team>,
}

impl Plan {
    /// The enquiries served in `slot`, in index order.
    pub fn attendees(&self, slot: usize) -> Vec<usize> {
        (0..self.served_in.len())
            .filter(|e| self.served_in[*e] == Some(slot))
            .collect()
    }

    pub fn served(&self) -> usize {
        self.served_in.iter().flatten().count()
    }
}

impl Model {
    /// The plan a solver's values describe.
    pub fn plan_of(&self, values: &[i64]) -> Plan {
        let on = |v: crate::ilp::Var| values[v.index()] > 0;
        let served_in = self
            .attend
            .iter()
            .enumerate()
            .map(|(e, vars)| {
                vars.iter()
                    .position(|v| on(*v))
                    .map(|k| self.option_slot(e, k))
            })
            .collect();
        let workshops = self
            .open
            .iter()
            .enumerate()
            .filter(|(_, v)| on(**v))
            .filter_map(|(s, _)| {
                let lead = self.lead[s].iter().find(|(_, v)| on(*v))?.0;
                let support = self.support[s]
                    .iter()
                    .find(|(_, v)| on(*v))
                    .map(|(x, _)| *x);
                Some((s, Team { lead, support }))
            })
            .collect();
        Plan {
            served_in,
            workshops,
        }
    }

    /// Every variable's value for `plan`, auxiliaries included: a starting
    /// point for the solver. Options or experts the model does not have are
    /// left out, so the values may break a row; the solver then ignores them.
    pub fn values_of(&self, instance: &Instance, plan: &Plan) -> Vec<i64> {
        let mut values = vec![0i64; self.ilp.num_vars()];
        for (e, slot) in plan.served_in.iter().enumerate() {
            let Some(slot) = slot else { continue };
            if let Some(k) = instance.enquiries[e]
                .options
                .iter()
                .position(|o| o.slot == *slot)
            {
                values[self.attend[e][k].index()] = 1;
            }
        }
        for (s, team) in &plan.workshops {
            values[self.open[*s].index()] = 1;
            if let Some((_, v)) = self.lead[*s].iter().find(|(x, _)| *x == team.lead) {
                values[v.index()] = 1;
            }
            if let Some(support) = team.support
                && let Some((_, v)) = self.support[*s].iter().find(|(x, _)| *x == support)
            {
                values[v.index()] = 1;
            }
        }
        self.complete(instance, plan, &mut values);
        values
    }

    fn option_slot(&self, e: usize, k: usize) -> usize {
        self.slot_of[e][k]
    }
}
