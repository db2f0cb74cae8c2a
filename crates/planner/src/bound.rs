//! What is known of the optimum without searching for it: a plan that
//! reaches a bound no plan can beat is optimal on those levels, and the
//! caller can skip the search that would only prove it.

use std::collections::BTreeSet;

use crate::{Instance, Outcome, Plan, score};

/// Whether `found`, a plan of `instance` that keeps every rule, is the
/// optimum of the objective's first two levels (served; workshops, moves,
/// experts changed), given `without_moves`: the optimum of the same
/// instance with every planned workshop kept where it is, proven on those
/// levels.
///
/// It is when `found` serves every open enquiry, opens no more workshops
/// than [`fewest_workshops`], moves one and changes no expert, and
/// `without_moves` did worse on served or workshops:
/// - nothing serves more than everyone;
/// - no plan that serves everyone has fewer workshops;
/// - a plan as good on both without a move would be a plan of the model
///   where nothing moves, whose proven optimum is worse: so one move is
///   the fewest;
/// - and no expert changed is the fewest.
///
/// Re-planning uses it to settle the usual moves (a planned workshop moved
/// so that a new enquiry joins it, or out of its way) in a model where
/// only the workshops concerned may move (docs/planning.md).
pub fn one_move_is_optimal(instance: &Instance, without_moves: &Outcome, found: &Plan) -> bool {
    let everyone = instance.enquiries.len();
    let fewest = fewest_workshops(instance);
    let proven = without_moves.proven_levels.iter().take(2).all(|p| *p);
    let without_moves_worse =
        without_moves.plan.served() < everyone || without_moves.score.workshops > fewest;
    if !(proven && without_moves_worse && found.served() == everyone) {
        return false;
    }
    let found = score(instance, found);
    found.workshops == fewest && found.moves == 1 && found.experts_changed == 0
}

/// A lower bound on the workshops of any plan that serves every open
/// enquiry: the planned workshops, which stay served, each in a slot of its
/// own (two confirmed workshops never merge), and one more when some
/// enquiry of none of them can join none of them anywhere
/// ([`could_join`]). Only confirmed workshops count: one that is not may
/// dissolve.
pub fn fewest_workshops(instance: &Instance) -> usize {
    let confirmed: Vec<&crate::Current> = instance.current.iter().filter(|c| c.confirmed).collect();
    let planned: BTreeSet<usize> = confirmed
        .iter()
        .flat_map(|c| c.enquiries.iter().copied())
        .collect();
    let alone = (0..instance.enquiries.len())
        .filter(|e| !planned.contains(e))
        .any(|e| {
            !confirmed
                .iter()
                .any(|workshop| could_join(instance, workshop, e))
        });
    confirmed.len() + usize::from(alone)
}

/// Whether enquiry `e` could join planned `workshop` in some plan
/// ([`join_slots`] has one).
pub fn could_join(instance: &Instance, workshop: &crate::Current, e: usize) -> bool {
    !join_slots(instance, workshop, e).is_empty()
}

/// Where enquiry `e` could join planned `workshop`: its slot or an
/// alternative that `e` lists too and that is shared, with the joint limits
/// kept and nobody there who cannot meet `e` at one time. A necessary
/// condition only (days, experts and the rest may still forbid it), which
/// is what a lower bound needs.
pub fn join_slots(instance: &Instance, workshop: &crate::Current, e: usize) -> Vec<usize> {
    let joiner = &instance.enquiries[e];
    let participants: u64 = workshop
        .enquiries
        .iter()
        .chain([&e])
        .map(|&i| u64::from(instance.enquiries[i].participants))
        .sum();
    let cities: BTreeSet<&str> = workshop
        .enquiries
        .iter()
        .chain([&e])
        .map(|&i| instance.enquiries[i].city.as_str())
        .collect();
    let limits = &instance.limits;
    if participants > u64::from(limits.max_participants)
        || cities.len() > limits.max_cities as usize
    {
        return Vec::new();
    }
    let listed: BTreeSet<usize> = joiner.options.iter().map(|o| o.slot).collect();
    std::iter::once(workshop.slot)
        .chain(workshop.alternatives.iter().copied())
        .filter(|&s| {
            let slot = &instance.slots[s];
            listed.contains(&s)
                && slot.shared
                && !slot.incompatible.iter().any(|&(a, b)| {
                    (a == e && workshop.enquiries.contains(&b))
                        || (b == e && workshop.enquiries.contains(&a))
                })
        })
        .collect()
}

/// The [`join_slots`] of enquiry `e` and planned `workshop` where what
/// lies outside the model leaves room for them together
/// ([`room_outside_the_model`]): still a necessary condition only.
pub fn join_slots_with_room(
    instance: &Instance,
    workshop: &crate::Current,
    e: usize,
) -> Vec<usize> {
    let group: Vec<usize> = workshop.enquiries.iter().copied().chain([e]).collect();
    join_slots(instance, workshop, e)
        .into_iter()
        .filter(|&s| room_outside_the_model(instance, s, &group))
        .collect()
}

/// Whether what the model does not decide leaves room for enquiries
/// `group` together in `slot`: every day of it below the daily limit
/// ([`crate::Fixed::day_load`]), none of their cities engaged on those
/// days, and an expert who may lead it with room left in its month, plus a
/// second who may support it when the group needs one. Necessary, never
/// sufficient: the model's own workshops may take that room.
pub fn room_outside_the_model(instance: &Instance, slot: usize, group: &[usize]) -> bool {
    let at = &instance.slots[slot];
    let fixed = &instance.fixed;
    let days_free = at.span.iter().all(|day| {
        fixed.day_load.get(&day).copied().unwrap_or(0) < instance.limits.workshops_per_day
    });
    let cities_free = group.iter().all(|&e| {
        fixed
            .city_days
            .get(&instance.enquiries[e].city)
            .is_none_or(|engaged| !at.span.iter().any(|day| engaged.contains(&day)))
    });
    let with_room = |x: &usize| instance.experts[*x].room_in(at.month) > 0;
    let leads: Vec<usize> = at.leads.iter().copied().filter(with_room).collect();
    let participants: u64 = group
        .iter()
        .map(|&e| u64::from(instance.enquiries[e].participants))
        .sum();
    let cities: BTreeSet<&str> = group
        .iter()
        .map(|&e| instance.enquiries[e].city.as_str())
        .collect();
    let needs_support = at.support == crate::SupportRule::BySize
        && (cities.len() > instance.limits.support_over_cities as usize
            || participants > u64::from(instance.limits.support_over_participants));
    let staffed = match leads.as_slice() {
        [] => false,
        [only] if needs_support => at.supports.iter().any(|x| x != only && with_room(x)),
        _ if needs_support => at.supports.iter().any(with_room),
        _ => true,
    };
    days_free && cities_free && staffed
}
