//! The mutant check's tally: how often each kernel was caught over its
//! seeds, and how soon.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// `min / median / max` of detection times, or `-`.
pub fn distribution(times: &mut [f64]) -> String {
    if times.is_empty() {
        return "-".to_string();
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    format!(
        "min {:.1} s, median {median:.1} s, max {:.1} s",
        times[0],
        times[times.len() - 1]
    )
}

/// How often one kernel was caught over a set of seeds, and how soon.
#[derive(Debug, Default)]
pub struct Detection {
    /// Runs added.
    pub runs: usize,
    pub caught: usize,
    /// Runs that failed without the splat the mutant expects.
    pub others: usize,
    /// Seconds into the torture of each caught run's catching splat.
    pub times: Vec<f64>,
}

/// How one seed of a mutant check ended; in a campaign's record,
/// `"verdict": "clean" | "caught" | "other"` beside the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum SeedVerdict {
    Clean,
    /// A splat the mutant expects (any splat, for the unmutated kernel).
    Caught {
        /// The splat's kind, as the scanner names it.
        #[serde(rename = "splat")]
        kind: String,
        /// Seconds into the torture.
        seconds: Option<f64>,
    },
    /// Failed, but not with an expected splat: the check that failed first.
    Other {
        check: String,
    },
}

impl std::fmt::Display for SeedVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SeedVerdict::Clean => f.write_str("clean"),
            SeedVerdict::Caught {
                kind,
                seconds: Some(s),
            } => write!(f, "caught: {kind} splat {s:.1} s into the torture"),
            SeedVerdict::Caught {
                kind,
                seconds: None,
            } => write!(f, "caught: {kind} splat"),
            SeedVerdict::Other { check } => {
                write!(f, "not caught, failed otherwise: {check}")
            }
        }
    }
}

impl Detection {
    pub fn add(&mut self, verdict: &SeedVerdict) {
        self.runs += 1;
        match verdict {
            SeedVerdict::Clean => {}
            SeedVerdict::Caught { seconds, .. } => {
                self.caught += 1;
                self.times.extend(seconds);
            }
            SeedVerdict::Other { .. } => self.others += 1,
        }
    }

    /// `3/10 (min 1.0 s, median 2.0 s, max 9.0 s)` (caught of the runs
    /// added), and `; 1 other failure` when some runs failed without the
    /// expected splat.
    pub fn describe(&self) -> String {
        let mut times = self.times.clone();
        let mut text = format!(
            "{}/{} ({})",
            self.caught,
            self.runs,
            distribution(&mut times)
        );
        match self.others {
            0 => {}
            1 => text.push_str("; 1 other failure"),
            n => text.push_str(&format!("; {n} other failures")),
        }
        text
    }
}

/// The mutant check's summary: a row per kernel, a column per set of race
/// delays.
pub struct DetectionTable {
    delay_sets: Vec<String>,
    rows: Vec<(String, Vec<Detection>)>,
}

impl DetectionTable {
    pub fn new(delay_sets: &[String]) -> Self {
        DetectionTable {
            delay_sets: delay_sets.to_vec(),
            rows: vec![],
        }
    }

    pub fn push(&mut self, kernel: &str, row: Vec<Detection>) {
        self.rows.push((kernel.to_string(), row));
    }

    /// A Markdown table, caught runs over seeds with time to first splat.
    pub fn render(&self, seeds: usize, duration: u64, cpus: u32) -> String {
        let mut out = format!(
            "Caught (by a splat the mutant expects) on how many of {seeds} seeds \
             ({duration} s each, {cpus} vCPUs), with the time to that splat:\n\n| kernel |"
        );
        for set in &self.delay_sets {
            let _ = write!(out, " race_delay_us {set} |");
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(self.delay_sets.len()));
        out.push('\n');
        for (kernel, row) in &self.rows {
            let _ = write!(out, "| {kernel} |");
            for detection in row {
                let _ = write!(out, " {} |", detection.describe());
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detection_table_has_a_column_per_delay_set() {
        let mut table = DetectionTable::new(&["0,10".to_string(), "0".to_string()]);
        let mut on = Detection::default();
        on.add(&SeedVerdict::Caught {
            kind: "KASAN".into(),
            seconds: Some(3.0),
        });
        on.add(&SeedVerdict::Caught {
            kind: "hung task".into(),
            seconds: None,
        });
        on.add(&SeedVerdict::Clean);
        let mut off = Detection::default();
        off.add(&SeedVerdict::Other {
            check: "guest ran to its end".into(),
        });
        off.add(&SeedVerdict::Clean);
        off.add(&SeedVerdict::Clean);
        table.push("m", vec![on, off]);
        assert_eq!(
            "Caught (by a splat the mutant expects) on how many of 3 seeds (60 s each, 2 vCPUs), \
             with the time to that splat:\n\n\
             | kernel | race_delay_us 0,10 | race_delay_us 0 |\n\
             |---|---|---|\n\
             | m | 2/3 (min 3.0 s, median 3.0 s, max 3.0 s) | 0/3 (-); 1 other failure |\n",
            table.render(3, 60, 2)
        );
    }

    #[test]
    fn a_verdict_is_recorded_as_its_kind_splat_and_seconds() {
        let caught = SeedVerdict::Caught {
            kind: "KASAN".into(),
            seconds: Some(1.5),
        };
        let json = serde_json::to_string(&caught).unwrap();
        assert_eq!(
            json,
            r#"{"verdict":"caught","splat":"KASAN","seconds":1.5}"#
        );
        assert_eq!(serde_json::from_str::<SeedVerdict>(&json).unwrap(), caught);
        let other = r#"{"verdict":"other","check":"timeout"}"#;
        assert_eq!(
            serde_json::from_str::<SeedVerdict>(other).unwrap(),
            SeedVerdict::Other {
                check: "timeout".into()
            }
        );
        assert!(serde_json::from_str::<SeedVerdict>(r#"{"verdict":"maybe"}"#).is_err());
    }

    #[test]
    fn distribution_is_min_median_max() {
        assert_eq!("-", distribution(&mut []));
        assert_eq!(
            "min 0.5 s, median 2.0 s, max 9.0 s",
            distribution(&mut [9.0, 0.5, 2.0])
        );
    }
}
