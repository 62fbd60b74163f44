//! Smooth weighted round robin, shared by the `loadBalancer` (over servers) and `weighted`
//! (over services) kinds.
//!
//! The smooth WRR order (nginx's algorithm: each pick adds every weight to its member's
//! current value, takes the largest, subtracts the total) is computed once when the
//! service is built; requests then take the next slot of that schedule with one atomic
//! increment, so no lock is taken on the request path. Members that cannot take a request
//! are skipped by walking on along the schedule.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The longest schedule precomputed; beyond it weights are scaled down proportionally.
pub const MAX_SCHEDULE: u64 = 4096;

/// Smooth weighted round robin over `weights`: the order of picks for one full cycle.
/// Members of weight 0 never appear.
pub fn smooth_wrr_schedule(weights: &[u32]) -> Vec<u16> {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return Vec::new();
    }
    // Keep the cycle short: scale weights down (keeping every positive weight positive).
    let scale = total.div_ceil(MAX_SCHEDULE).max(1);
    let weights: Vec<i64> = weights
        .iter()
        .map(|w| {
            if *w == 0 {
                0
            } else {
                i64::try_from((u64::from(*w) / scale).max(1)).unwrap_or(i64::MAX)
            }
        })
        .collect();
    let total: i64 = weights.iter().sum();
    let mut current = vec![0i64; weights.len()];
    let mut schedule = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for _ in 0..total {
        let mut best = 0;
        for (i, w) in weights.iter().enumerate() {
            current[i] += w;
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total;
        schedule.push(u16::try_from(best).unwrap_or(u16::MAX));
    }
    schedule
}

/// A precomputed WRR cycle and the position of the next pick.
#[derive(Debug)]
pub struct Rotation {
    schedule: Vec<u16>,
    next: AtomicUsize,
}

impl Rotation {
    /// A rotation over members of these weights. It starts at a random point of the cycle
    /// so that proxies (and reloads) do not all send their first requests to the same member,
    /// which is what Traefik's shuffling of servers achieves.
    pub fn new(weights: &[u32]) -> Self {
        let schedule = smooth_wrr_schedule(weights);
        let start = if schedule.is_empty() {
            0
        } else {
            rand::random_range(0..schedule.len())
        };
        Self::starting_at(schedule, start)
    }

    /// A rotation starting at slot `start` of its schedule (tests need a fixed start).
    pub fn starting_at(schedule: Vec<u16>, start: usize) -> Self {
        Self {
            schedule,
            next: AtomicUsize::new(start),
        }
    }

    /// The next member in the cycle for which `usable` holds, or `None` when none does.
    pub fn pick(&self, usable: impl Fn(usize) -> bool) -> Option<usize> {
        let len = self.schedule.len();
        if len == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let (skipped, member) = (0..len)
            .map(|k| (k, usize::from(self.schedule[start.wrapping_add(k) % len])))
            .find(|(_, i)| usable(*i))?;
        if skipped > 0 {
            // Consume the skipped slots too, as Traefik's EDF heap does: otherwise the
            // member after an unusable one would inherit all of its turns.
            self.next.fetch_add(skipped, Ordering::Relaxed);
        }
        Some(member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_wrr_interleaves_by_weight() {
        let cases: [(&str, &[u32], &[u16]); 5] = [
            ("equal", &[1, 1, 1], &[0, 1, 2]),
            ("nginx example 5,1,1", &[5, 1, 1], &[0, 0, 1, 0, 2, 0, 0]),
            ("zero weight never picked", &[1, 0, 1], &[0, 2]),
            ("single", &[3], &[0, 0, 0]),
            ("all zero", &[0, 0], &[]),
        ];
        for (case, weights, expected) in cases {
            assert_eq!(smooth_wrr_schedule(weights), expected, "{case}");
        }
    }

    #[test]
    fn long_schedules_are_scaled_but_keep_proportions() {
        let s = smooth_wrr_schedule(&[100_000, 50_000, 1]);
        assert!(s.len() as u64 <= MAX_SCHEDULE + 3);
        let count = |i| s.iter().filter(|x| **x == i).count();
        assert!(count(2) >= 1);
        let ratio = count(0) as f64 / count(1) as f64;
        assert!((ratio - 2.0).abs() < 0.05, "{ratio}");
    }

    #[test]
    fn picks_follow_the_schedule_and_skip_unusable_members() {
        // weights 2,1,1: schedule 0,1,2,0 (ties go to the lowest index)
        type Case<'a> = (&'a str, &'a [bool], &'a [Option<usize>]);
        let cases: [Case; 4] = [
            (
                "all usable",
                &[true, true, true],
                &[Some(0), Some(1), Some(2), Some(0), Some(0)],
            ),
            (
                "first down",
                &[false, true, true],
                &[Some(1), Some(2), Some(1), Some(2), Some(1)],
            ),
            (
                "only last",
                &[false, false, true],
                &[Some(2), Some(2), Some(2), Some(2), Some(2)],
            ),
            ("none", &[false, false, false], &[None, None]),
        ];
        for (case, usable, expected) in cases {
            let rotation = Rotation::starting_at(smooth_wrr_schedule(&[2, 1, 1]), 0);
            let got: Vec<_> = expected
                .iter()
                .map(|_| rotation.pick(|i| usable[i]))
                .collect();
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn random_start_keeps_the_cycle() {
        let rotation = Rotation::new(&[3, 1]);
        let picks: Vec<_> = (0..400).filter_map(|_| rotation.pick(|_| true)).collect();
        assert_eq!(picks.iter().filter(|i| **i == 0).count(), 300);
        assert_eq!(Rotation::new(&[0, 0]).pick(|_| true), None);
        assert_eq!(Rotation::new(&[]).pick(|_| true), None);
    }
}
