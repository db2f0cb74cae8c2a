//! Contested instances from a seed, for the optimiser's tests, its
//! comparison with other solvers and the planning bench: cities across
//! time zones (beneficiaries among them), a roster with leave and monthly
//! limits, public holidays, and more demand than the programme can serve.
//!
//! The calendar here is simplified (day 0 is a Monday, months are 30 days,
//! a city's zone only decides whom it can meet virtually); the real one is
//! scheduling's. The randomness is a SplitMix64 written here, so a seed
//! gives the same instance whatever version of a random crate is around.

use std::collections::{BTreeMap, BTreeSet};

use crate::instance::{Candidate, Day, Days, Enquiry, Expert, Instance, Limits, Slot, SupportRule};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub seed: u64,
    pub enquiries: usize,
    pub cities: usize,
    /// The first this many cities are beneficiaries.
    pub beneficiaries: usize,
    pub experts: usize,
    /// Days in the planning horizon.
    pub days: i32,
    pub topics: u32,
}

impl Shape {
    /// The contested instance: 150 enquiries from 16 cities (three
    /// beneficiaries) over five months, 17 experts.
    pub fn contested(seed: u64) -> Self {
        Self {
            seed,
            enquiries: 150,
            cities: 16,
            beneficiaries: 3,
            experts: 17,
            days: 150,
            topics: 12,
        }
    }
}

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Joint,
    Consultation,
    Pilot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Format {
    InPerson,
    Virtual,
}

struct City {
    code: String,
    /// Hours ahead of UTC, in quarter hours.
    zone: i32,
    languages: BTreeSet<String>,
    holidays: BTreeSet<Day>,
}

fn is_working(day: Day) -> bool {
    day.rem_euclid(7) < 5
}

/// `n` consecutive working days from `first`, as the days they span.
fn working_span(first: Day, n: u32) -> Days {
    let mut last = first;
    let mut left = n.saturating_sub(1);
    while left > 0 {
        last += 1;
        if is_working(last) {
            left -= 1;
        }
    }
    Days::new(first, last)
}

/// Whether two cities share three working hours with the experts' day
/// (09:00–18:00 UTC+9): each city's 09:00–17:00, in quarter hours after
/// midnight UTC.
fn meet_virtually(a: i32, b: i32) -> bool {
    const SEOUL: i32 = 36;
    let window = |zone: i32| (9 * 4 - zone, 17 * 4 - zone);
    let experts = (9 * 4 - SEOUL, 18 * 4 - SEOUL);
    let (a0, a1) = window(a);
    let (b0, b1) = window(b);
    let from = a0.max(b0).max(experts.0);
    let to = a1.min(b1).min(experts.1);
    to - from >= 12
}

/// An instance of `shape`.
pub fn instance(shape: Shape) -> Instance {
    let mut rng = Rng::new(shape.seed);
    // Zones of the region, in quarter hours: UTC+5 to +9 with the odd ones,
    // and a Pacific city at +12 that few others can meet virtually.
    const ZONES: [i32; 9] = [20, 22, 23, 24, 26, 28, 32, 36, 48];
    let korea: BTreeSet<Day> = (0..shape.days).filter(|_| rng.chance(2)).collect();
    let cities: Vec<City> = (0..shape.cities)
        .map(|c| City {
            code: format!("city-{c:02}"),
            zone: ZONES[rng.below(ZONES.len() as u64) as usize],
            languages: std::iter::once(format!("l{}", c % 5)).collect(),
            holidays: (0..shape.days).filter(|_| rng.chance(3)).collect(),
        })
        .collect();

    let experts: Vec<Expert> = (0..shape.experts)
        .map(|x| {
            let mut topics = BTreeSet::new();
            while topics.len() < 2 + (x % 2) {
                topics.insert(rng.below(u64::from(shape.topics)) as u32);
            }
            let mut languages: BTreeSet<String> = ["ko".to_owned()].into();
            // Most speak English; two work only in Korean and one local language.
            if x % 8 != 7 {
                languages.insert("en".to_owned());
            }
            languages.insert(format!("l{}", x % 5));
            Expert {
                id: format!("expert-{x:02}"),
                topics,
                languages,
                month_room: BTreeMap::new(),
                monthly_limit: 4,
                fixed_load: 0,
            }
        })
        .collect();
    // Leave: a week or two for some experts.
    let leave: Vec<Option<Days>> = (0..shape.experts)
        .map(|_| {
            rng.chance(40).then(|| {
                let first = rng.below(shape.days as u64) as i32;
                Days::new(first, first + 6 + 7 * rng.below(2) as i32)
            })
        })
        .collect();

    let mut slots: Vec<Slot> = Vec::new();
    let mut shared: BTreeMap<(u32, Format, Day), usize> = BTreeMap::new();
    let mut enquiries = Vec::new();
    let topic_weights: Vec<u64> = (0..shape.topics)
        .map(|t| u64::from(shape.topics - t))
        .collect();
    let weight_sum: u64 = topic_weights.iter().sum();
    for e in 0..shape.enquiries {
        let c = rng.below(shape.cities as u64) as usize;
        let city = &cities[c];
        let kind = match rng.below(100) {
            0..55 => Kind::Joint,
            55..85 => Kind::Consultation,
            _ => Kind::Pilot,
        };
        let formats: Vec<Format> = match kind {
            Kind::Consultation => vec![Format::Virtual],
            Kind::Pilot => vec![Format::InPerson],
            Kind::Joint => match rng.below(3) {
                0 => vec![Format::InPerson],
                1 => vec![Format::Virtual],
                _ => vec![Format::InPerson, Format::Virtual],
            },
        };
        let mut pick = rng.below(weight_sum);
        let primary = topic_weights
            .iter()
            .position(|w| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .unwrap_or(0) as u32;
        let mut topics = vec![primary];
        for _ in 0..rng.below(3) {
            let t = rng.below(u64::from(shape.topics)) as u32;
            if !topics.contains(&t) {
                topics.push(t);
            }
        }
        let length = 14 + rng.below(50) as i32;
        let start = rng.below((shape.days - length).max(1) as u64) as i32;
        let window = Days::new(start, start + length);
        let participants = match kind {
            Kind::Joint => 4 + rng.below(18) as u32,
            _ => 3 + rng.below(10) as u32,
        };
        let mut options = Vec::new();
        for format in &formats {
            for first in window.iter().filter(|d| is_working(*d)) {
                let days = match kind {
                    Kind::Joint => 2,
                    Kind::Consultation => 1,
                    Kind::Pilot => 5,
                };
                let span = working_span(first, days);
                if span.last > window.last
                    || span.iter().any(|d| {
                        is_working(d) && (korea.contains(&d) || city.holidays.contains(&d))
                    })
                {
                    continue;
                }
                let hold = if *format == Format::InPerson {
                    Days::new(span.first - 1, span.last + 1)
                } else {
                    span
                };
                let free = |x: usize| leave[x].is_none_or(|l| !l.overlaps(&hold));
                let new_slot = |slots: &mut Vec<Slot>, shared_slot: bool, support| {
                    slots.push(Slot {
                        shared: shared_slot,
                        support,
                        span,
                        hold,
                        month: span.first / 30,
                        primary_topic: primary,
                        leads: (0..experts.len())
                            .filter(|x| experts[*x].topics.contains(&primary) && free(*x))
                            .collect(),
                        supports: (0..experts.len()).filter(|x| free(*x)).collect(),
                        incompatible: Vec::new(),
                    });
                    slots.len() - 1
                };
                let slot = match kind {
                    Kind::Joint => *shared
                        .entry((primary, *format, first))
                        .or_insert_with(|| new_slot(&mut slots, true, SupportRule::BySize)),
                    _ => new_slot(&mut slots, false, SupportRule::Never),
                };
                options.push(Candidate { slot, lateness: 0 });
            }
        }
        if let Some(earliest) = options.iter().map(|o| slots[o.slot].span.first).min() {
            for option in &mut options {
                option.lateness = (slots[option.slot].span.first - earliest) as u32;
            }
        }
        enquiries.push((
            c,
            Enquiry {
                id: format!("enquiry-{e:03}"),
                city: city.code.clone(),
                beneficiary: c < shape.beneficiaries,
                participants,
                languages: city.languages.clone(),
                topics,
                options,
            },
        ));
    }
    // Cities that cannot meet virtually never share a virtual slot.
    let virtual_slots: BTreeSet<usize> = shared
        .iter()
        .filter(|((_, format, _), _)| *format == Format::Virtual)
        .map(|(_, s)| *s)
        .collect();
    let mut attending: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (e, (_, enquiry)) in enquiries.iter().enumerate() {
        for option in &enquiry.options {
            if virtual_slots.contains(&option.slot) {
                attending.entry(option.slot).or_default().push(e);
            }
        }
    }
    for (s, who) in attending {
        for (i, a) in who.iter().enumerate() {
            for b in &who[i + 1..] {
                if !meet_virtually(cities[enquiries[*a].0].zone, cities[enquiries[*b].0].zone) {
                    slots[s].incompatible.push((*a, *b));
                }
            }
        }
    }
    Instance {
        limits: Limits::default(),
        enquiries: enquiries.into_iter().map(|(_, e)| e).collect(),
        slots,
        experts,
        current: Vec::new(),
        fixed: Default::default(),
    }
}
