//! The benchmark's record on disk, written boot by boot: a run that dies
//! keeps what it measured, and a re-run into the same directory resumes,
//! skipping the boots already done and retrying the ones that failed.

use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use shrinkfs_bench::{Mode, Sample};

/// Every sample, one JSON object a line, appended as each boot finishes.
pub const SAMPLES: &str = "samples.jsonl";
/// One line per finished boot: what it was, how many samples it gave, or
/// why it failed.
const BOOTS: &str = "boots.jsonl";
/// What the samples were measured on and with; a run with other settings
/// starts afresh instead of mixing its samples with these.
const RUN: &str = "run.json";

/// One boot: which kernel, mode and repetition.
pub type BootKey = (String, Mode, u32);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootRecord {
    pub kernel: String,
    pub mode: Mode,
    pub rep: u32,
    pub samples: usize,
    pub error: Option<String>,
}

impl BootRecord {
    pub fn key(&self) -> BootKey {
        (self.kernel.clone(), self.mode, self.rep)
    }
}

/// What an earlier run into the same directory left.
#[derive(Debug, Default)]
pub struct Resumed {
    pub done: HashSet<BootKey>,
    pub samples: Vec<Sample>,
}

pub struct Log {
    dir: PathBuf,
}

impl Log {
    /// Opens the record in `dir` for a run described by `run`, resuming an
    /// earlier one with the same description, else starting afresh.
    pub fn open(dir: &Path, run: &str) -> Result<(Log, Resumed)> {
        fs::create_dir_all(dir)?;
        let log = Log {
            dir: dir.to_path_buf(),
        };
        if fs::read_to_string(dir.join(RUN)).ok().as_deref() != Some(run) {
            for file in [SAMPLES, BOOTS] {
                let _ = fs::remove_file(dir.join(file));
            }
            fs::write(dir.join(RUN), run)?;
            return Ok((log, Resumed::default()));
        }
        let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap_or_default();
        let resumed = resume(&read(BOOTS), &read(SAMPLES))?;
        // Samples of a boot cut off before its record are dropped now,
        // before new ones follow them.
        fs::write(dir.join(SAMPLES), jsonl(&resumed.samples)?)?;
        Ok((log, resumed))
    }

    /// Appends a finished boot's samples, then its record: a boot counts as
    /// done only once both are on disk.
    pub fn record(&self, boot: &BootRecord, samples: &[Sample]) -> Result<()> {
        append(&self.dir.join(SAMPLES), &jsonl(samples)?)?;
        append(
            &self.dir.join(BOOTS),
            &format!("{}\n", serde_json::to_string(boot)?),
        )
    }
}

pub fn jsonl(samples: &[Sample]) -> Result<String> {
    let mut text = String::new();
    for sample in samples {
        text.push_str(&serde_json::to_string(sample)?);
        text.push('\n');
    }
    Ok(text)
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_data()?;
    Ok(())
}

/// The boots done and their samples: of each done boot, the last as many
/// samples as its record counts (an attempt cut off before its record may
/// have left some before them); nothing of failed or unrecorded boots.
fn resume(boots: &str, samples: &str) -> Result<Resumed> {
    let mut wanted: HashMap<BootKey, usize> = HashMap::new();
    for line in boots.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(record) = serde_json::from_str::<BootRecord>(line) else {
            continue; // a line cut off mid-write: that boot runs again
        };
        if record.error.is_none() {
            wanted.insert(record.key(), record.samples);
        }
    }
    let done: HashSet<BootKey> = wanted.keys().cloned().collect();
    let mut kept = vec![];
    for line in samples.lines().rev().filter(|l| !l.trim().is_empty()) {
        let Ok(sample) = serde_json::from_str::<Sample>(line) else {
            continue;
        };
        if let Some(left) = wanted.get_mut(&(sample.kernel.clone(), sample.mode, sample.rep)) {
            if *left > 0 {
                *left -= 1;
                kept.push(sample);
            }
        }
    }
    kept.reverse();
    Ok(Resumed {
        done,
        samples: kept,
    })
}

/// An icount `umount` sample of 1000 flat dentries, for the tests of the
/// modules that log and merge samples.
#[cfg(test)]
pub fn test_sample(kernel: &str, rep: u32, value: u64) -> Sample {
    Sample {
        kernel: kernel.into(),
        mode: Mode::Icount,
        rep,
        metric: "umount".into(),
        shape: "flat".into(),
        n: 1000,
        dentries: 1000,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::test_sample as sample;
    use super::*;

    fn boot(kernel: &str, rep: u32, samples: usize, error: Option<&str>) -> BootRecord {
        BootRecord {
            kernel: kernel.into(),
            mode: Mode::Icount,
            rep,
            samples,
            error: error.map(String::from),
        }
    }

    #[test]
    fn a_rerun_resumes_done_boots_and_retries_the_rest() {
        let dir = std::env::temp_dir().join(format!("shrinkfs-bench-log-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (log, fresh) = Log::open(&dir, "run A").unwrap();
        assert!(fresh.done.is_empty());
        log.record(&boot("stock", 1, 1, None), &[sample("stock", 1, 10)])
            .unwrap();
        log.record(&boot("patched", 1, 0, Some("timed out")), &[])
            .unwrap();
        // A boot whose samples reached the disk but its record did not.
        append(
            &dir.join(SAMPLES),
            &jsonl(&[sample("stock", 2, 99)]).unwrap(),
        )
        .unwrap();

        let (log, resumed) = Log::open(&dir, "run A").unwrap();
        assert_eq!(
            resumed.done,
            HashSet::from([("stock".to_string(), Mode::Icount, 1)])
        );
        assert_eq!(resumed.samples, vec![sample("stock", 1, 10)]);
        // The retried boot's samples follow; the stray one is gone.
        log.record(&boot("stock", 2, 1, None), &[sample("stock", 2, 20)])
            .unwrap();
        let (_, again) = Log::open(&dir, "run A").unwrap();
        let (_, other) = Log::open(&dir, "run B").unwrap();
        let left = fs::read_to_string(dir.join(SAMPLES)).unwrap_or_default();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            again.samples,
            vec![sample("stock", 1, 10), sample("stock", 2, 20)]
        );
        assert!(other.done.is_empty() && other.samples.is_empty());
        assert!(left.is_empty(), "other settings start afresh: {left}");
    }

    #[test]
    fn a_retried_boot_keeps_only_its_last_attempts_samples() {
        let boots = [boot("stock", 1, 1, None), boot("stock", 3, 0, Some("x"))]
            .iter()
            .map(|b| serde_json::to_string(b).unwrap() + "\n")
            .collect::<String>()
            + "{\"kernel\": \"cut off";
        let samples = jsonl(&[
            sample("stock", 1, 1),
            sample("stock", 1, 2),
            sample("stock", 3, 3),
        ])
        .unwrap();
        let resumed = resume(&boots, &samples).unwrap();
        assert_eq!(resumed.samples, vec![sample("stock", 1, 2)]);
        assert_eq!(resumed.done.len(), 1);
    }
}
