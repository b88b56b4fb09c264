//! What the benchmarks report: min / median / max of repeated timings, in
//! milliseconds.

use std::time::Duration;

/// The spread of repeated timings.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// The fastest.
    pub min: Duration,
    /// The median (the upper one for an even count).
    pub median: Duration,
    /// The slowest.
    pub max: Duration,
}

impl Stats {
    /// The spread of `times`; panics when there are none.
    pub fn of(mut times: Vec<Duration>) -> Self {
        assert!(!times.is_empty(), "no timings to summarise");
        times.sort();
        Self {
            min: times[0],
            median: times[times.len() / 2],
            max: times[times.len() - 1],
        }
    }

    /// `min | median | max`, for a Markdown table row.
    pub fn row(&self) -> String {
        format!("{} | {} | {}", ms(self.min), ms(self.median), ms(self.max))
    }
}

/// `12.3 ms`.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
