//! The shards of a mutant check put back together: one record, as an
//! unsharded run would have written it, from records that must agree on
//! what they ran (format, series, mutants, settings, kernel cache keys) and
//! hold between them every run of the plan exactly once.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::campaign::{plan, Build, Record, FORMAT};
use crate::shard::{self, Shard};

/// A record and where it came from, for the errors.
pub struct Input {
    pub from: String,
    pub record: Record,
}

/// Fails unless `what` is the same in every input, naming the first two
/// inputs that differ.
fn agree<T: PartialEq + std::fmt::Debug>(
    inputs: &[Input],
    what: &str,
    get: impl Fn(&Record) -> T,
) -> Result<()> {
    let first = get(&inputs[0].record);
    for input in &inputs[1..] {
        let other = get(&input.record);
        if other != first {
            bail!(
                "{} and {} ran different {what}: {first:?} vs {other:?}",
                inputs[0].from,
                input.from
            );
        }
    }
    Ok(())
}

/// One record from the shards' records, or why they do not make one.
pub fn merge(inputs: Vec<Input>) -> Result<Record> {
    if inputs.is_empty() {
        bail!("no results to merge");
    }
    for input in &inputs {
        if input.record.format != FORMAT {
            bail!(
                "{}: results of format {}, this rig reads {FORMAT}",
                input.from,
                input.record.format
            );
        }
    }
    agree(&inputs, "commands", |r| r.command.clone())?;
    agree(&inputs, "series (hash of patches/)", |r| r.series.clone())?;
    agree(
        &inputs,
        "kernels or mutants (name, file hash, expected splats)",
        |r| r.kernels.clone(),
    )?;
    agree(&inputs, "settings", |r| r.settings.clone())?;
    agree(&inputs, "plans", |r| r.planned)?;
    let shards: Vec<Shard> = inputs.iter().map(|i| i.record.shard).collect();
    let count = shard::check_complete(&shards)?;
    let base = &inputs[0].record;
    let builds = merge_builds(&inputs)?;
    let planned = plan(&base.settings, base.kernels.len());
    if planned.len() != base.planned {
        bail!(
            "{}: records a plan of {} runs where its settings make {}",
            inputs[0].from,
            base.planned,
            planned.len()
        );
    }
    let mut runs = BTreeMap::new();
    for input in &inputs {
        let shard = input.record.shard;
        for run in &input.record.runs {
            let Some(want) = planned.get(run.index) else {
                bail!("{}: run {} is past the plan's end", input.from, run.index);
            };
            let spec = &base.kernels[want.kernel];
            let delays = &base.settings.race_delay_sets[want.set];
            if !shard.owns(run.index) {
                bail!(
                    "{}: shard {shard} holds run {}, which is shard {}'s",
                    input.from,
                    run.index,
                    Shard::owner(count, run.index)
                );
            }
            if run.kernel != spec.name || &run.delays != delays || run.seed != want.seed {
                bail!(
                    "{}: run {} is {}, delays {}, seed {}; the plan says {}, delays {delays}, seed {}",
                    input.from,
                    run.index,
                    run.kernel,
                    run.delays,
                    run.seed,
                    spec.name,
                    want.seed
                );
            }
            if runs.insert(run.index, run.clone()).is_some() {
                bail!("{}: run {} recorded twice", input.from, run.index);
            }
        }
    }
    // A run is missing unless its shard says its kernel did not build.
    for want in &planned {
        let owner = Shard::owner(count, want.index);
        let input = inputs
            .iter()
            .find(|i| i.record.shard == owner)
            .expect("every shard is there");
        let name = &base.kernels[want.kernel].name;
        let failed = input
            .record
            .builds
            .iter()
            .any(|b| &b.kernel == name && b.error.is_some());
        if !runs.contains_key(&want.index) && !failed {
            bail!(
                "{}: shard {owner} lacks run {} ({name}, delays {}, seed {}): it stopped early?",
                input.from,
                want.index,
                base.settings.race_delay_sets[want.set],
                want.seed
            );
        }
    }
    let failed: Vec<String> = builds
        .iter()
        .filter(|b| b.error.is_some())
        .map(|b| b.kernel.clone())
        .collect();
    Ok(Record {
        shard: Shard::WHOLE,
        builds,
        runs: runs
            .into_values()
            .filter(|r| !failed.contains(&r.kernel))
            .collect(),
        ktap: vec![],
        ..base.clone()
    })
}

/// Each kernel once, in the plan's order: built under the one cache key
/// every shard that built it agrees on, or failed if any shard failed it.
fn merge_builds(inputs: &[Input]) -> Result<Vec<Build>> {
    let mut merged: Vec<Build> = vec![];
    for spec in &inputs[0].record.kernels {
        let mut key: Option<(&str, &str)> = None;
        let mut error = None;
        for input in inputs {
            for build in input.record.builds.iter().filter(|b| b.kernel == spec.name) {
                if let Some(k) = &build.cache_key {
                    match key {
                        Some((seen, from)) if seen != k => bail!(
                            "kernel {} was built under different cache keys: {seen} ({from}) vs {k} ({})",
                            spec.name,
                            input.from
                        ),
                        _ => key = Some((k, &input.from)),
                    }
                }
                if error.is_none() {
                    error = build.error.clone();
                }
            }
        }
        if key.is_none() && error.is_none() {
            continue;
        }
        merged.push(Build {
            kernel: spec.name.clone(),
            cache_key: if error.is_some() {
                None
            } else {
                key.map(|(k, _)| k.to_string())
            },
            error,
        });
    }
    Ok(merged)
}
