//! Times of whole rotations and of their four steps, so a report can say
//! which step a difference lives in.

use std::time::Duration;

use rotation_testing::measure::{ms, Stats};

/// Per-step times of any number of rotations, in step order
/// (createSecret, setSecret, testSecret, finishSecret).
#[derive(Default, Clone)]
pub struct StepTimes {
    steps: [Vec<Duration>; 4],
}

impl StepTimes {
    /// Records step `index` of the rotation under way.
    pub fn record(&mut self, index: usize, took: Duration) {
        self.steps[index].push(took);
    }

    /// Adds another set's times (whole rotations).
    pub fn extend(&mut self, other: &StepTimes) {
        for (mine, theirs) in self.steps.iter_mut().zip(&other.steps) {
            mine.extend_from_slice(theirs);
        }
    }

    /// The spread of whole rotations: each the sum of its four steps.
    pub fn total(&self) -> Stats {
        let rotations = self.steps.iter().map(Vec::len).min().unwrap_or(0);
        Stats::of(
            (0..rotations)
                .map(|i| self.steps.iter().map(|s| s[i]).sum())
                .collect(),
        )
    }

    /// Each step's median, in step order.
    pub fn medians(&self) -> [Duration; 4] {
        std::array::from_fn(|i| Stats::of(self.steps[i].clone()).median)
    }

    /// `a / b / c / d`: the steps' medians, for a table cell.
    pub fn medians_cell(&self) -> String {
        self.medians().map(ms).join(" / ")
    }
}
