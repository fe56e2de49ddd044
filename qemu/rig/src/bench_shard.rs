//! The benchmark split by repetition: `--shard i/N` boots the reps whose
//! number, counted from 0, is i modulo N (each rep is a stock and a patched
//! boot per mode, in the order the seed gives that rep unsharded), and
//! writes `bench/runs.json`: its samples and what they were measured on.
//! The merge feeds the union of the shards' samples to the report and the
//! gate as if one machine had booted them all.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use shrinkfs_bench::{Meta, Mode, Sample};

use crate::bench_log::BootRecord;
use crate::shard::{self, Shard};

pub const RECORD: &str = "runs.json";
pub const FORMAT: u32 = 1;
pub const COMMAND: &str = "bench";

/// What every shard of one benchmark must share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub reps: u32,
    pub sizes: Vec<u64>,
    pub shapes: Vec<String>,
    pub tmpfs_max: u64,
    pub seed: u64,
    pub memory_mib: u32,
    pub cpus: u32,
    pub modes: Vec<Mode>,
}

/// One benchmark kernel: its cache key, `uname -r` and `.config` hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelId {
    pub cache_key: String,
    pub version: String,
    pub config_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub format: u32,
    pub command: String,
    pub shard: Shard,
    /// `identity::series` of the checkout.
    pub series: String,
    /// Extra patches on the patched kernel: file name and SHA-256.
    pub patches: Vec<(String, String)>,
    pub settings: Settings,
    pub kernels: BTreeMap<String, KernelId>,
    /// The reps this shard booted.
    pub reps: Vec<u32>,
    /// Boots that gave no samples.
    pub failures: Vec<BootRecord>,
    pub meta: Meta,
    pub samples: Vec<Sample>,
}

/// The reps (1-based) of `reps` that `shard` boots.
pub fn reps_of(shard: Shard, reps: u32) -> Vec<u32> {
    (1..=reps).filter(|&r| shard.owns(r as usize - 1)).collect()
}

/// The shards' samples and meta as one unsharded run's, or why not.
pub fn merge(inputs: &[(String, Record)]) -> Result<(Meta, Vec<Sample>)> {
    let Some((first_from, first)) = inputs.first() else {
        bail!("no results to merge");
    };
    for (from, record) in inputs {
        if record.format != FORMAT || record.command != COMMAND {
            bail!("{from}: not a benchmark record of format {FORMAT}");
        }
        let differs = if record.series != first.series {
            Some("series (hash of patches/)")
        } else if record.patches != first.patches {
            Some("extra patches")
        } else if record.settings != first.settings {
            Some("settings")
        } else if record.kernels != first.kernels {
            Some("kernels (cache key, version, config)")
        } else {
            None
        };
        if let Some(what) = differs {
            bail!("{first_from} and {from} measured different {what}");
        }
    }
    let shards: Vec<Shard> = inputs.iter().map(|(_, r)| r.shard).collect();
    shard::check_complete(&shards)?;
    let mut samples = vec![];
    let mut accelerators = BTreeSet::new();
    let mut hosts = vec![];
    for (from, record) in inputs {
        let want = reps_of(record.shard, first.settings.reps);
        if record.reps != want {
            bail!(
                "{from}: shard {} booted reps {:?}, its share is {want:?}",
                record.shard,
                record.reps
            );
        }
        if let Some(f) = record.failures.first() {
            bail!(
                "{from}: shard {} has {} failed boots (rep {} {} {}: {}): run it again, it resumes",
                record.shard,
                record.failures.len(),
                f.rep,
                f.kernel,
                f.mode,
                f.error.as_deref().unwrap_or("no samples")
            );
        }
        if let Some(s) = record.samples.iter().find(|s| !want.contains(&s.rep)) {
            bail!(
                "{from}: a sample of rep {}, not shard {}'s",
                s.rep,
                record.shard
            );
        }
        samples.extend(record.samples.iter().cloned());
        accelerators.extend(
            record
                .meta
                .accelerator
                .split(", ")
                .filter(|a| !a.is_empty())
                .map(String::from),
        );
        if !hosts.contains(&record.meta.host) {
            hosts.push(record.meta.host.clone());
        }
    }
    // Rep by rep, as one machine boots them; within a rep, as booted.
    samples.sort_by_key(|s| s.rep);
    let meta = Meta {
        accelerator: accelerators.into_iter().collect::<Vec<_>>().join(", "),
        host: hosts.join("; "),
        reps: first.settings.reps,
        ..first.meta.clone()
    };
    Ok((meta, samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::bench_log::test_sample as sample;

    /// The samples of `reps`, two kernels each, values a function of both.
    fn samples(reps: &[u32]) -> Vec<Sample> {
        reps.iter()
            .flat_map(|&r| {
                [
                    sample("stock", r, 1000 + u64::from(r)),
                    sample("patched", r, 1003 + u64::from(r)),
                ]
            })
            .collect()
    }

    fn record(shard: Shard, reps: u32) -> Record {
        let mine = reps_of(shard, reps);
        Record {
            format: FORMAT,
            command: COMMAND.into(),
            shard,
            series: "s".into(),
            patches: vec![],
            settings: Settings {
                reps,
                sizes: vec![1000],
                shapes: vec!["flat".into()],
                tmpfs_max: 10000,
                seed: 1,
                memory_mib: 4096,
                cpus: 2,
                modes: vec![Mode::Icount],
            },
            kernels: BTreeMap::from([(
                "stock".to_string(),
                KernelId {
                    cache_key: "stock-perf-01".into(),
                    version: "6.12".into(),
                    config_hash: "c".into(),
                },
            )]),
            samples: samples(&mine),
            reps: mine,
            failures: vec![],
            meta: Meta {
                accelerator: "icount: tcg".into(),
                host: format!("{} CPUs", shard.index + 2),
                reps,
                ..Meta::default()
            },
        }
    }

    fn named(records: Vec<Record>) -> Vec<(String, Record)> {
        records
            .into_iter()
            .enumerate()
            .map(|(i, r)| (format!("dir{i}"), r))
            .collect()
    }

    #[test]
    fn shards_share_the_reps_and_merge_to_the_whole() {
        assert_eq!(reps_of(Shard { index: 1, count: 3 }, 7), vec![2, 5]);
        let whole = record(Shard::WHOLE, 7);
        let parts: Vec<Record> = (0..3)
            .map(|index| record(Shard { index, count: 3 }, 7))
            .collect();
        let (meta, merged) = merge(&named(parts)).unwrap();
        assert_eq!(merged, whole.samples);
        assert_eq!(meta.reps, 7);
        assert_eq!(meta.host, "2 CPUs; 3 CPUs; 4 CPUs");
        let (_, alone) = merge(&named(vec![whole.clone()])).unwrap();
        assert_eq!(alone, whole.samples);
        let a = shrinkfs_bench::Results::compute(meta, merged).unwrap();
        let b = shrinkfs_bench::Results::compute(whole.meta, whole.samples).unwrap();
        assert_eq!(a.violations().len(), b.violations().len());
        assert_eq!(
            serde_json::to_value(&a.ratios).unwrap(),
            serde_json::to_value(&b.ratios).unwrap()
        );
    }

    #[test]
    fn a_bench_merge_refuses_what_does_not_fit() {
        let parts = || {
            (0..2)
                .map(|index| record(Shard { index, count: 2 }, 4))
                .collect::<Vec<_>>()
        };
        let error = |records: Vec<Record>| format!("{:#}", merge(&named(records)).unwrap_err());
        assert!(error(vec![parts().remove(0)]).contains("shard 1/2 not given"));
        let mut key = parts();
        key[1].kernels.get_mut("stock").unwrap().cache_key = "stock-perf-02".into();
        assert!(error(key).contains("different kernels"));
        let mut failed = parts();
        failed[0].failures.push(BootRecord {
            kernel: "patched".into(),
            mode: Mode::Icount,
            rep: 3,
            samples: 0,
            error: Some("timed out".into()),
        });
        assert!(error(failed).contains("failed boots (rep 3 patched icount: timed out)"));
        let mut stray = parts();
        stray[1].samples.push(sample("stock", 1, 1));
        assert!(error(stray).contains("a sample of rep 1, not shard 1/2's"));
        let mut series = parts();
        series[0].series = "t".into();
        assert!(error(series).contains("different series"));
    }
}
