//! When a failed delivery is tried again (DOMAIN.md Notifications rule 6):
//! exponential backoff with jitter, a fixed number of attempts, then give up.
//!
//! The wait before attempt `n + 1` (after `n` attempts made) is
//! `base · 2^(n-1)`, capped at `max_delay`, then multiplied by a jitter factor
//! in `[1 - JITTER, 1 + JITTER)` and capped again. Jitter is symmetric (±20%)
//! rather than "equal" or "full" jitter so that the *expected* wait stays the
//! nominal one: the default policy then spreads its attempts over about a day
//! on average, while many deliveries that failed together (an SMTP server
//! down for an hour) are still spread out instead of retrying in lockstep.

use std::time::Duration;

/// How far a wait may stray from its nominal value, as a fraction (±20%).
pub const JITTER: f64 = 0.2;

/// How often and when a failed delivery is tried again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 8).
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each.
    pub base: Duration,
    /// No wait is longer than this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts; the 7 waits between them are nominally
    /// 680 s · (1 + 2 + … + 64) = 680 s · 127 ≈ 23 h 59 min, so a recipient
    /// that is down for most of a day still gets the message. The longest
    /// nominal wait is about 12 h; `max_delay` (16 h) leaves room for its
    /// jitter, so the default never truncates.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base: Duration::from_secs(680),
            max_delay: Duration::from_secs(16 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts_made + 1`, with jitter from `random`
    /// (a number in [0, 1); anything outside is clamped, NaN counts as 0.5);
    /// `None` when no attempt is left. With no attempt made yet there is
    /// nothing to wait for: `Some(Duration::ZERO)`.
    pub fn next_delay(&self, attempts_made: u32, random: f64) -> Option<Duration> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        if attempts_made == 0 {
            return Some(Duration::ZERO);
        }
        let nominal = self.nominal_delay(attempts_made);
        let factor = 1.0 - JITTER + 2.0 * JITTER * unit(random);
        let jittered =
            Duration::try_from_secs_f64(nominal.as_secs_f64() * factor).unwrap_or(self.max_delay);
        Some(jittered.min(self.max_delay))
    }

    /// The wait after `attempts_made` attempts before jitter:
    /// `base · 2^(attempts_made - 1)`, capped at `max_delay` (and saturating
    /// rather than overflowing for absurd attempt counts).
    pub fn nominal_delay(&self, attempts_made: u32) -> Duration {
        if attempts_made == 0 {
            return Duration::ZERO;
        }
        let doubled = 1u32
            .checked_shl(attempts_made - 1)
            .and_then(|factor| self.base.checked_mul(factor))
            .unwrap_or(self.max_delay);
        doubled.min(self.max_delay)
    }

    /// The sum of all nominal waits: how long after the first attempt the last
    /// one is made, on average.
    pub fn total_span(&self) -> Duration {
        let mut total = Duration::ZERO;
        for n in 1..self.max_attempts {
            let delay = self.nominal_delay(n);
            if delay == self.max_delay {
                // Every later wait is capped too: add them all at once
                // rather than counting up to a huge `max_attempts`.
                let capped_waits = self.max_attempts - n;
                return total.saturating_add(delay.saturating_mul(capped_waits));
            }
            total = total.saturating_add(delay);
        }
        total
    }

    /// Whether no attempt is left after `attempts_made`.
    pub fn is_exhausted(&self, attempts_made: u32) -> bool {
        attempts_made >= self.max_attempts
    }
}

/// `random` as a number in [0, 1], whatever the caller gave.
fn unit(random: f64) -> f64 {
    if random.is_nan() {
        0.5
    } else {
        random.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn the_default_makes_eight_attempts_over_about_a_day() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_attempts, 8);
        let span = policy.total_span();
        assert!(span > 23 * HOUR && span < 25 * HOUR, "{span:?}");
    }

    #[test]
    fn the_default_base_is_about_eleven_minutes_and_doubles() {
        let policy = RetryPolicy::default();
        assert!(policy.base > 11 * MIN && policy.base < 12 * MIN);
        assert_eq!(policy.nominal_delay(2), 2 * policy.base);
        assert_eq!(policy.nominal_delay(7), 64 * policy.base);
    }

    #[test]
    fn the_default_never_truncates_a_jittered_wait() {
        let policy = RetryPolicy::default();
        let longest = policy.next_delay(7, 0.999_999).unwrap();
        assert!(longest < policy.max_delay);
        assert!(longest > policy.nominal_delay(7));
    }

    #[test]
    fn no_attempt_made_means_no_wait() {
        assert_eq!(
            RetryPolicy::default().next_delay(0, 0.7),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn there_is_no_wait_once_every_attempt_was_made() {
        let policy = RetryPolicy::default();
        assert!(policy.next_delay(7, 0.5).is_some());
        assert_eq!(policy.next_delay(8, 0.5), None);
        assert_eq!(policy.next_delay(9, 0.5), None);
        assert!(policy.is_exhausted(8));
        assert!(!policy.is_exhausted(7));
    }

    #[test]
    fn jitter_spans_twenty_percent_either_side() {
        let policy = RetryPolicy::default();
        let nominal = policy.nominal_delay(3);
        assert_eq!(policy.next_delay(3, 0.0), Some(nominal.mul_f64(0.8)));
        assert_eq!(policy.next_delay(3, 0.5), Some(nominal));
        let high = policy.next_delay(3, 0.999_999).unwrap();
        assert!(high <= nominal.mul_f64(1.2) && high > nominal.mul_f64(1.19));
    }

    #[test]
    fn a_random_number_out_of_range_is_clamped() {
        let policy = RetryPolicy::default();
        let nominal = policy.nominal_delay(2);
        assert_eq!(policy.next_delay(2, -3.0), Some(nominal.mul_f64(0.8)));
        assert_eq!(policy.next_delay(2, 7.0), policy.next_delay(2, 1.0));
        let high = policy.next_delay(2, 7.0).unwrap().as_secs_f64();
        assert!((high - nominal.as_secs_f64() * 1.2).abs() < 1e-6);
        assert_eq!(policy.next_delay(2, f64::NAN), Some(nominal));
    }

    #[test]
    fn a_small_cap_bounds_every_wait() {
        let policy = RetryPolicy {
            max_attempts: 20,
            base: MIN,
            max_delay: HOUR,
        };
        assert_eq!(policy.nominal_delay(19), HOUR);
        assert_eq!(policy.next_delay(19, 0.99), Some(HOUR));
    }

    #[test]
    fn the_total_span_counts_capped_waits_at_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 6,
            base: MIN,
            max_delay: 3 * MIN,
        };
        // Waits after attempts 1-5: 1, 2, 3, 3, 3 minutes.
        assert_eq!(policy.total_span(), 12 * MIN);
        let many = RetryPolicy {
            max_attempts: 1_000_000,
            ..policy
        };
        assert_eq!(many.total_span(), MIN * (3 + 3 * 999_997));
    }

    #[test]
    fn huge_attempt_counts_saturate_instead_of_overflowing() {
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            base: Duration::MAX,
            max_delay: Duration::MAX,
        };
        assert_eq!(policy.nominal_delay(200), Duration::MAX);
        assert_eq!(policy.next_delay(200, 0.99), Some(Duration::MAX));
        assert_eq!(policy.total_span(), Duration::MAX);
    }

    fn policies() -> impl Strategy<Value = RetryPolicy> {
        (1u32..40, 1u64..100_000, 1u64..10_000_000).prop_map(|(max_attempts, base, max)| {
            RetryPolicy {
                max_attempts,
                base: Duration::from_millis(base),
                max_delay: Duration::from_millis(max),
            }
        })
    }

    proptest! {
        #[test]
        fn every_wait_lies_within_the_jitter_band_and_the_cap(
            policy in policies(),
            attempts in 1u32..60,
            random in 0.0f64..1.0,
        ) {
            match policy.next_delay(attempts, random) {
                None => prop_assert!(attempts >= policy.max_attempts),
                Some(delay) => {
                    prop_assert!(attempts < policy.max_attempts);
                    let nominal = policy.nominal_delay(attempts).as_secs_f64();
                    let secs = delay.as_secs_f64();
                    prop_assert!(delay <= policy.max_delay);
                    prop_assert!(secs >= nominal * (1.0 - JITTER) - 1e-6);
                    prop_assert!(secs <= nominal * (1.0 + JITTER) + 1e-6);
                }
            }
        }

        #[test]
        fn nominal_waits_never_shrink_from_one_attempt_to_the_next(
            policy in policies(),
            attempts in 1u32..60,
        ) {
            let this = policy.nominal_delay(attempts);
            let next = policy.nominal_delay(attempts + 1);
            prop_assert!(next >= this);
            prop_assert!(next <= policy.max_delay);
        }

        #[test]
        fn the_total_span_is_the_sum_of_the_nominal_waits(policy in policies()) {
            let sum = (1..policy.max_attempts)
                .map(|n| policy.nominal_delay(n))
                .fold(Duration::ZERO, |a, b| a + b);
            prop_assert_eq!(policy.total_span(), sum);
        }

        #[test]
        fn the_lowest_wait_never_shrinks_either(
            policy in policies(),
            attempts in 1u32..60,
        ) {
            let (this, next) = (policy.next_delay(attempts, 0.0), policy.next_delay(attempts + 1, 0.0));
            if let (Some(this), Some(next)) = (this, next) {
                prop_assert!(next >= this);
            }
        }
    }
}
