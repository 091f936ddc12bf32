//! When a failed delivery is tried again.

use std::time::Duration;

use rand::Rng;

/// Waits after the 1st, 2nd, ... failed attempt, in units: 5 s, 5 min, 30 min, 2 h, 5 h, then
/// 10 h until about three days have passed (DESIGN.md, "Webhooks").
const DELAYS: [u64; 11] = [
    5, 300, 1_800, 7_200, 18_000, 36_000, 36_000, 36_000, 36_000, 36_000, 36_000,
];

/// The retry schedule. `unit` is one second in production; tests shrink it to a millisecond
/// so the whole schedule runs in moments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookSchedule {
    pub unit: Duration,
}

impl Default for WebhookSchedule {
    fn default() -> Self {
        Self {
            unit: Duration::from_secs(1),
        }
    }
}

impl WebhookSchedule {
    /// How long to wait after `attempts` failed attempts, or `None` to give up.
    /// Up to 10% jitter spreads retries of many endpoints that failed together.
    pub fn delay_after(&self, attempts: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
        let base = self
            .unit
            .saturating_mul(u32::try_from(*DELAYS.get(index)?).ok()?);
        let jitter = base.mul_f64(rand::thread_rng().gen_range(0.0..0.1));
        let scheduled = base + jitter;
        // A receiver that asks for more time gets it (capped: it cannot park a message forever).
        let asked = retry_after
            .map(|d| d.min(Duration::from_secs(24 * 3600)))
            .unwrap_or_default();
        Some(scheduled.max(asked))
    }

    pub fn max_attempts(&self) -> u32 {
        DELAYS.len() as u32 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_documented_schedule_for_about_three_days() {
        let s = WebhookSchedule::default();
        let first = s.delay_after(1, None).unwrap();
        assert!(first >= Duration::from_secs(5) && first < Duration::from_millis(5_500));
        let second = s.delay_after(2, None).unwrap();
        assert!(second >= Duration::from_secs(300) && second < Duration::from_secs(330));
        let total: Duration = (1..s.max_attempts())
            .map(|n| s.delay_after(n, None).unwrap())
            .sum();
        assert!(
            total > Duration::from_secs(60 * 3600) && total < Duration::from_secs(80 * 3600),
            "{total:?}"
        );
        assert_eq!(s.delay_after(s.max_attempts(), None), None);
    }

    #[test]
    fn a_longer_retry_after_wins_and_a_shorter_one_does_not() {
        let s = WebhookSchedule::default();
        assert_eq!(
            s.delay_after(1, Some(Duration::from_secs(120))),
            Some(Duration::from_secs(120))
        );
        assert!(
            s.delay_after(2, Some(Duration::from_secs(1))).unwrap() >= Duration::from_secs(300)
        );
    }
}
