//! `merge`: the records of a sharded mutant check or benchmark, one output
//! directory each, judged as one run: the same summary, checks and gate an
//! unsharded run gives.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::begin_ktap;
use super::mutant_check::conclude;
use crate::merge::{self, Input};
use crate::{bench, bench_shard, campaign, ktap};

#[derive(Args)]
pub struct MergeArgs {
    /// Output directories of the shards (each as its `OUT=`), or their
    /// `mutants/` or `bench/` directories.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Where the merged summary goes (`mutants/` or `bench/` under it).
    #[arg(long, default_value = "out/merged")]
    out: PathBuf,
}

/// Which record a directory holds.
#[derive(Debug, PartialEq)]
enum Found {
    Mutants(PathBuf),
    Bench(PathBuf),
}

/// The record in `dir`: `dir/mutants/runs.json`, `dir/bench/runs.json`, or
/// `dir/runs.json` of either kind; refuses a directory with both.
fn find(dir: &Path) -> Result<Found> {
    let mutants = dir.join("mutants").join(campaign::RECORD);
    let bench = dir.join("bench").join(bench_shard::RECORD);
    match (mutants.is_file(), bench.is_file()) {
        (true, true) => bail!(
            "{} holds both a mutant check's and a benchmark's results: name its mutants/ or bench/",
            dir.display()
        ),
        (true, false) => return Ok(Found::Mutants(mutants)),
        (false, true) => return Ok(Found::Bench(bench)),
        (false, false) => {}
    }
    let own = dir.join(campaign::RECORD);
    let text = fs::read_to_string(&own).with_context(|| {
        format!(
            "{}: no mutants/{} or bench/{} (did that shard finish?)",
            dir.display(),
            campaign::RECORD,
            bench_shard::RECORD
        )
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", own.display()))?;
    match value.get("command").and_then(|c| c.as_str()) {
        Some(campaign::COMMAND) => Ok(Found::Mutants(own)),
        Some(bench_shard::COMMAND) => Ok(Found::Bench(own)),
        other => bail!(
            "{}: results of no command merge knows ({other:?})",
            own.display()
        ),
    }
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

pub fn merge(args: &MergeArgs) -> Result<ExitCode> {
    let found = args
        .dirs
        .iter()
        .map(|d| find(d))
        .collect::<Result<Vec<_>>>()?;
    let output = match found[0] {
        Found::Mutants(_) => args.out.join("mutants").join(campaign::RECORD),
        Found::Bench(_) => args.out.join("bench").join(bench_shard::RECORD),
    };
    let mut mutants = vec![];
    let mut benches = vec![];
    for f in found {
        let path = match &f {
            Found::Mutants(p) | Found::Bench(p) => p.clone(),
        };
        if output.exists() && fs::canonicalize(&output)? == fs::canonicalize(&path)? {
            bail!(
                "{} is both an input and the merge's output: give another --out",
                path.display()
            );
        }
        let from = path.display().to_string();
        match f {
            Found::Mutants(p) => mutants.push(Input {
                from,
                record: read(&p)?,
            }),
            Found::Bench(p) => benches.push((from, read::<bench_shard::Record>(&p)?)),
        }
    }
    if !mutants.is_empty() && !benches.is_empty() {
        bail!("a mutant check's results and a benchmark's do not merge");
    }
    if benches.is_empty() {
        merge_mutants(mutants, &args.out)
    } else {
        merge_bench(&benches, &args.out)
    }
}

/// The merged record judged as `mutant-check` judges its own.
fn merge_mutants(inputs: Vec<Input>, out: &Path) -> Result<ExitCode> {
    let shards = inputs.len();
    let record = merge::merge(inputs)?;
    begin_ktap();
    let mut lines = vec![ktap::VERSION_LINE.to_string()];
    let summary = campaign::summarise(&record);
    for line in &summary.lines {
        let line = ktap::diagnostic(line);
        println!("{line}");
        lines.push(line);
    }
    eprintln!("merge: {} runs from {shards} shards", record.runs.len());
    conclude(record, &summary, lines, out)
}

/// The shards' samples through the benchmark's report and gate.
fn merge_bench(inputs: &[(String, bench_shard::Record)], out: &Path) -> Result<ExitCode> {
    let (meta, samples) = bench_shard::merge(inputs)?;
    let dir = out.join("bench");
    fs::create_dir_all(&dir)?;
    let mut record = inputs[0].1.clone();
    record.shard = crate::shard::Shard::WHOLE;
    record.reps = (1..=record.settings.reps).collect();
    record.meta = meta.clone();
    record.samples = samples.clone();
    fs::write(
        dir.join(bench_shard::RECORD),
        serde_json::to_string_pretty(&record)?,
    )?;
    let results = bench::finish(meta, samples, &dir)?;
    let violations = results.violations();
    for v in &violations {
        println!("bench-check: {v}");
    }
    println!("{}", shrinkfs_bench::gate::verdict_line(&violations));
    eprintln!("bench: report in {}", dir.join("report.md").display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_record_of_an_out_dir_or_of_its_subdirectory() {
        let dir = std::env::temp_dir().join(format!("shrinkfs-merge-find-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("a/mutants")).unwrap();
        fs::create_dir_all(dir.join("b/bench")).unwrap();
        fs::write(dir.join("a/mutants/runs.json"), "{}").unwrap();
        fs::write(dir.join("b/bench/runs.json"), r#"{"command": "bench"}"#).unwrap();
        let a = find(&dir.join("a"));
        let b = find(&dir.join("b/bench"));
        let none = find(&dir.join("c"));
        fs::create_dir_all(dir.join("a/bench")).unwrap();
        fs::write(dir.join("a/bench/runs.json"), "{}").unwrap();
        let both = find(&dir.join("a"));
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(a.unwrap(), Found::Mutants(dir.join("a/mutants/runs.json")));
        assert_eq!(b.unwrap(), Found::Bench(dir.join("b/bench/runs.json")));
        assert!(format!("{:#}", none.unwrap_err()).contains("did that shard finish?"));
        assert!(format!("{:#}", both.unwrap_err()).contains("holds both"));
    }
}
