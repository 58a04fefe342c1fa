//! Hashrate windows (10 s, 60 s, 15 min) over a device's monotonic hash counter: samples of
//! the counter, never a counter reset, so every reader sees the same totals.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The windows every snapshot reports.
pub const WINDOW_10S: Duration = Duration::from_secs(10);
pub const WINDOW_60S: Duration = Duration::from_secs(60);
pub const WINDOW_15M: Duration = Duration::from_secs(15 * 60);

/// How often the pool samples each counter; the windows' resolution.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Samples of one monotonic counter, kept for the longest window.
#[derive(Debug, Default)]
pub struct RateWindows {
    /// (when, counter value), oldest first.
    samples: VecDeque<(Instant, u64)>,
}

impl RateWindows {
    /// Records the counter's value at `at` and forgets samples older than the longest window
    /// (keeping one at or beyond it, so a full window always has a start).
    pub fn record(&mut self, at: Instant, hashes: u64) {
        self.samples.push_back((at, hashes));
        while self.samples.len() > 2 && self.samples.get(1).is_some_and(|(t, _)| at.saturating_duration_since(*t) >= WINDOW_15M) {
            self.samples.pop_front();
        }
    }

    /// Hashes per second over the last `window` up to `now`, when the counter reads `hashes`:
    /// measured from the newest sample at least `window` old, or from the oldest sample while
    /// the history is shorter than the window. 0 without history.
    pub fn rate(&self, window: Duration, now: Instant, hashes: u64) -> f64 {
        let start = self.samples.iter().rev().find(|(t, _)| now.saturating_duration_since(*t) >= window).or(self.samples.front());
        match start {
            Some(&(t, h)) => {
                let seconds = now.saturating_duration_since(t).as_secs_f64();
                if seconds <= 0.0 {
                    0.0
                } else {
                    hashes.saturating_sub(h) as f64 / seconds
                }
            }
            None => 0.0,
        }
    }
}

/// A rate for people: `2.63 G`, `14.42 M`, `500` (append the unit, e.g. `/s`).
pub fn format_rate(rate: f64) -> String {
    match rate {
        // Also -0.0, the sum of no rates (`Iterator::sum` of f64 starts there).
        r if r <= 0.0 => "0".into(),
        r if r >= 1e9 => format!("{:.2} G", r / 1e9),
        r if r >= 1e6 => format!("{:.2} M", r / 1e6),
        r if r >= 1e3 => format!("{:.2} k", r / 1e3),
        r => format!("{r:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_measure_from_the_sample_at_their_start() {
        let t0 = Instant::now();
        let mut w = RateWindows::default();
        // 1000 hashes/s for 100 s, then 3000 hashes/s for 20 s.
        for s in 0..=100u64 {
            w.record(t0 + Duration::from_secs(s), s * 1000);
        }
        for s in 101..=120u64 {
            w.record(t0 + Duration::from_secs(s), 100_000 + (s - 100) * 3000);
        }
        let now = t0 + Duration::from_secs(120);
        let hashes = 160_000;
        assert_eq!(w.rate(WINDOW_10S, now, hashes), 3000.0);
        // 60 s: 40 s at 1000 and 20 s at 3000.
        assert!((w.rate(WINDOW_60S, now, hashes) - (40_000.0 + 60_000.0) / 60.0).abs() < 1e-9);
        // 15 min with 120 s of history: the whole history.
        assert!((w.rate(WINDOW_15M, now, hashes) - 160_000.0 / 120.0).abs() < 1e-9);
        assert_eq!(RateWindows::default().rate(WINDOW_10S, now, 5), 0.0);
    }

    #[test]
    fn history_is_bounded_by_the_longest_window() {
        let t0 = Instant::now();
        let mut w = RateWindows::default();
        for s in 0..3000u64 {
            w.record(t0 + Duration::from_secs(s), s);
        }
        assert!(w.samples.len() <= 15 * 60 + 2, "{}", w.samples.len());
        let now = t0 + Duration::from_secs(2999);
        assert_eq!(w.rate(WINDOW_15M, now, 2999), 1.0);
    }

    #[test]
    fn rates_read_for_people() {
        assert_eq!(format_rate(2.0e9), "2.00 G");
        assert_eq!(format_rate(1.0e6), "1.00 M");
        assert_eq!(format_rate(1500.0), "1.50 k");
        assert_eq!(format_rate(500.0), "500");
    }
}
