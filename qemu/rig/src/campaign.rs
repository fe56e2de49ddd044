//! A mutant check as data: the plan of its runs (kernel, set of race
//! delays, seed), the share of them one shard runs, the record it writes
//! (`mutants/runs.json`), and the summary of a record, which is the same
//! whether the record is a whole run's or the merge of its shards'.

use std::collections::BTreeSet;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::detection::{Detection, DetectionTable, SeedVerdict};
use crate::shard::Shard;
use crate::verdict::Check;

/// The record's file under the mutant check's output directory.
pub const RECORD: &str = "runs.json";
/// Bumped when the record changes shape; records of two formats do not merge.
pub const FORMAT: u32 = 1;
pub const COMMAND: &str = "mutant-check";

/// Share of seeds on which a mutant must be caught.
const MUTANT_DETECTION_SHARE: f64 = 0.9;

/// What every run of a campaign shares; shards of one campaign agree on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub seeds: Vec<u32>,
    pub duration: u64,
    pub round: u64,
    pub race_delay_sets: Vec<String>,
    pub cpus: u32,
    pub append: String,
}

/// One kernel of the campaign: the unmutated one, or a mutant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelSpec {
    pub name: String,
    /// The mutant's file name and the SHA-256 of its content.
    pub mutant: Option<String>,
    pub mutant_sha256: Option<String>,
    /// The splats that catch it, as its `Expected-Splat:` lines say.
    pub expected: Vec<String>,
}

/// A kernel a shard built, under which cache key, or why it did not build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Build {
    pub kernel: String,
    pub cache_key: Option<String>,
    pub error: Option<String>,
}

/// One run of the plan and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Its place in the plan.
    pub index: usize,
    pub kernel: String,
    pub delays: String,
    pub seed: u32,
    #[serde(flatten)]
    pub verdict: SeedVerdict,
    /// Wall-clock seconds the run took, boot included.
    pub run_seconds: f64,
    pub report: String,
}

/// What a mutant check (or one shard of it) wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub format: u32,
    pub command: String,
    pub shard: Shard,
    /// `identity::series` of the checkout.
    pub series: String,
    pub settings: Settings,
    pub kernels: Vec<KernelSpec>,
    /// Runs in the whole plan, every shard's.
    pub planned: usize,
    pub builds: Vec<Build>,
    /// This shard's runs, in plan order.
    pub runs: Vec<RunRecord>,
    /// The KTAP the command printed (its own lines, not the guests' echo).
    pub ktap: Vec<String>,
}

/// One run of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedRun {
    pub index: usize,
    pub kernel: usize,
    pub set: usize,
    pub seed: u32,
}

/// Every run: kernel by kernel, then set by set, then seed by seed, the
/// order an unsharded check runs them in.
pub fn plan(settings: &Settings, kernels: usize) -> Vec<PlannedRun> {
    let mut runs = vec![];
    for kernel in 0..kernels {
        for set in 0..settings.race_delay_sets.len() {
            for &seed in &settings.seeds {
                runs.push(PlannedRun {
                    index: runs.len(),
                    kernel,
                    set,
                    seed,
                });
            }
        }
    }
    runs
}

/// How one run ended, as the executor reports it.
pub struct RunResult {
    pub verdict: SeedVerdict,
    pub report: String,
    pub seconds: f64,
}

/// What builds kernels and runs the torture on them; the rig's boots
/// QEMU, a test's makes verdicts up.
pub trait Executor {
    type Guest;
    /// The kernel's guest and the cache key of its build.
    fn build(&mut self, kernel: &KernelSpec) -> Result<(Self::Guest, String)>;
    fn run(
        &mut self,
        guest: &Self::Guest,
        kernel: &KernelSpec,
        delays: &str,
        seed: u32,
    ) -> Result<RunResult>;
}

/// The seed's diagnostic line.
pub fn seed_line(run: &RunRecord) -> String {
    format!(
        "{}, race_delay_us {}, seed {}: {} ({})",
        run.kernel, run.delays, run.seed, run.verdict, run.report
    )
}

/// A set's diagnostic line, over the runs added to `detection`.
fn group_line(kernel: &str, delays: &str, cpus: u32, detection: &Detection) -> String {
    format!(
        "{kernel}, race_delay_us {delays}, {cpus} vCPUs: {}",
        detection.describe()
    )
}

/// Runs `shard`'s share of the plan: builds the kernels it needs first (a
/// mutant that does not build fails its own line, not hours later), then
/// runs them in plan order; `emit` gets each diagnostic line as it comes,
/// the same lines `summarise` gives for the record afterwards.
pub fn execute<E: Executor>(
    mut record: Record,
    executor: &mut E,
    emit: &mut dyn FnMut(&str),
) -> Result<Record> {
    let runs = plan(&record.settings, record.kernels.len());
    record.planned = runs.len();
    let shard = record.shard;
    let needed: BTreeSet<usize> = runs
        .iter()
        .filter(|r| shard.owns(r.index))
        .map(|r| r.kernel)
        .collect();
    let mut guests = vec![];
    for &k in &needed {
        let spec = &record.kernels[k];
        match executor.build(spec) {
            Ok((guest, key)) => {
                record.builds.push(Build {
                    kernel: spec.name.clone(),
                    cache_key: Some(key),
                    error: None,
                });
                guests.push((k, guest));
            }
            Err(e) => {
                eprintln!("mutant-check: {}: {e:#}", spec.name);
                record.builds.push(Build {
                    kernel: spec.name.clone(),
                    cache_key: None,
                    error: Some(format!("{e:#}")),
                });
            }
        }
    }
    for (k, guest) in &guests {
        let spec = record.kernels[*k].clone();
        for (set, delays) in record.settings.race_delay_sets.clone().iter().enumerate() {
            let mut detection = Detection::default();
            for run in runs.iter().filter(|r| r.kernel == *k && r.set == set) {
                if !shard.owns(run.index) {
                    continue;
                }
                let result = executor.run(guest, &spec, delays, run.seed)?;
                let done = RunRecord {
                    index: run.index,
                    kernel: spec.name.clone(),
                    delays: delays.clone(),
                    seed: run.seed,
                    verdict: result.verdict,
                    run_seconds: result.seconds,
                    report: result.report,
                };
                emit(&seed_line(&done));
                detection.add(&done.verdict);
                record.runs.push(done);
            }
            emit(&group_line(
                &spec.name,
                delays,
                record.settings.cpus,
                &detection,
            ));
        }
    }
    Ok(record)
}

/// A record's verdict: its diagnostic lines (each run's, each set's), the
/// detection table and the checks.
pub struct Summary {
    pub lines: Vec<String>,
    pub table: String,
    pub checks: Vec<Check>,
}

/// The unmutated kernel must be clean with every set of delays; each
/// mutant must be caught on 90% of its seeds with the first set, the
/// other sets are reported, not gated. A kernel that did not build fails
/// its own check and has no row.
pub fn summarise(record: &Record) -> Summary {
    let settings = &record.settings;
    let mut checks = vec![];
    for build in &record.builds {
        if let Some(error) = &build.error {
            checks.push(Check::new(
                format!("kernel builds: {}", build.kernel),
                false,
                error.clone(),
            ));
        }
    }
    let built = |name: &str| {
        record
            .builds
            .iter()
            .any(|b| b.kernel == name && b.error.is_none())
    };
    let mut lines = vec![];
    let mut table = DetectionTable::new(&settings.race_delay_sets);
    let per_set = settings.seeds.len();
    let sets = settings.race_delay_sets.len();
    for (k, spec) in record.kernels.iter().enumerate() {
        if !built(&spec.name) {
            continue;
        }
        let mut row = vec![];
        for (set, delays) in settings.race_delay_sets.iter().enumerate() {
            let mut detection = Detection::default();
            let first = (k * sets + set) * per_set;
            for run in record
                .runs
                .iter()
                .filter(|r| (first..first + per_set).contains(&r.index))
            {
                lines.push(seed_line(run));
                detection.add(&run.verdict);
            }
            let line = group_line(&spec.name, delays, settings.cpus, &detection);
            lines.push(line.clone());
            match (&spec.mutant, set) {
                (None, _) => checks.push(Check::new(
                    format!("clean: {}, race_delay_us {delays}", spec.name),
                    detection.caught == 0 && detection.others == 0,
                    line,
                )),
                (Some(_), 0) => checks.push(Check::new(
                    format!("mutant caught: {}, race_delay_us {delays}", spec.name),
                    detection.caught as f64 >= MUTANT_DETECTION_SHARE * detection.runs as f64,
                    format!("{line}; expected: {}", spec.expected.join(" | ")),
                )),
                (Some(_), _) => {}
            }
            row.push(detection);
        }
        table.push(&spec.name, row);
    }
    Summary {
        lines,
        table: table.render(settings.seeds.len(), settings.duration, settings.cpus),
        checks,
    }
}

#[cfg(test)]
#[path = "campaign_tests.rs"]
mod tests;
