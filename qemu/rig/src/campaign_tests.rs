//! The planner, the shards and the merge, with made-up verdicts: a check
//! split four ways and merged must say what the unsharded check says.

use super::*;
use crate::merge::{merge, Input};

fn settings() -> Settings {
    Settings {
        seeds: (1..=5).collect(),
        duration: 60,
        round: 15,
        race_delay_sets: vec!["0,10,50,200".into(), "0".into()],
        cpus: 2,
        append: String::new(),
    }
}

fn kernel(name: &str, mutant: bool) -> KernelSpec {
    KernelSpec {
        name: name.into(),
        mutant: mutant.then(|| format!("{name}.patch")),
        mutant_sha256: mutant.then(|| crate::identity::sha256_hex(name.as_bytes())),
        expected: if mutant { vec!["KASAN".into()] } else { vec![] },
    }
}

fn empty_record(shard: Shard, kernels: Vec<KernelSpec>) -> Record {
    Record {
        format: FORMAT,
        command: COMMAND.into(),
        shard,
        series: "series-hash".into(),
        settings: settings(),
        kernels,
        planned: 0,
        builds: vec![],
        runs: vec![],
        ktap: vec![],
    }
}

/// A deterministic torture: which seeds catch which mutant is a function of
/// the kernel, the delays and the seed; `broken` never builds.
struct Fake {
    broken: Option<&'static str>,
    runs: usize,
}

impl Executor for Fake {
    type Guest = String;

    fn build(&mut self, kernel: &KernelSpec) -> Result<(String, String)> {
        if self.broken == Some(kernel.name.as_str()) {
            anyhow::bail!("patch does not apply");
        }
        Ok((kernel.name.clone(), format!("patched+{}-0123", kernel.name)))
    }

    fn run(
        &mut self,
        guest: &String,
        kernel: &KernelSpec,
        delays: &str,
        seed: u32,
    ) -> Result<RunResult> {
        self.runs += 1;
        let h = guest.len() as u32 * 7 + delays.len() as u32 * 3 + seed * 5;
        let verdict = match (&kernel.mutant, h % 4) {
            (None, 0) if seed == 4 => SeedVerdict::Other {
                check: "kmemleak".into(),
            },
            (None, _) => SeedVerdict::Clean,
            (Some(_), 0) => SeedVerdict::Clean,
            (Some(_), 1) => SeedVerdict::Other {
                check: "timeout".into(),
            },
            (Some(_), n) => SeedVerdict::Caught {
                kind: "KASAN".into(),
                seconds: Some(f64::from(n + seed) / 2.0),
            },
        };
        Ok(RunResult {
            verdict,
            report: format!("mutants/{}/seed-{seed}/report.txt", kernel.name),
            seconds: 1.0,
        })
    }
}

fn kernels() -> Vec<KernelSpec> {
    vec![
        kernel("unmutated", false),
        kernel("frees", true),
        kernel("no-wait", true),
    ]
}

fn run(shard: Shard, broken: Option<&'static str>) -> (Record, Vec<String>) {
    let mut lines = vec![];
    let mut fake = Fake { broken, runs: 0 };
    let record = execute(empty_record(shard, kernels()), &mut fake, &mut |l| {
        lines.push(l.to_string())
    })
    .unwrap();
    assert_eq!(fake.runs, record.runs.len());
    (record, lines)
}

/// The record as it goes to disk and comes back.
fn round_trip(record: &Record) -> Record {
    serde_json::from_str(&serde_json::to_string_pretty(record).unwrap()).unwrap()
}

fn inputs(records: Vec<Record>) -> Vec<Input> {
    records
        .into_iter()
        .enumerate()
        .map(|(i, record)| Input {
            from: format!("dir{i}"),
            record: round_trip(&record),
        })
        .collect()
}

fn shards(count: u32, broken: Option<&'static str>) -> Vec<Record> {
    (0..count)
        .map(|index| run(Shard { index, count }, broken).0)
        .collect()
}

#[test]
fn the_plan_is_kernel_then_set_then_seed() {
    let runs = plan(&settings(), 3);
    assert_eq!(runs.len(), 3 * 2 * 5);
    assert_eq!(
        runs[11],
        PlannedRun {
            index: 11,
            kernel: 1,
            set: 0,
            seed: 2
        }
    );
    assert!(runs.iter().enumerate().all(|(i, r)| r.index == i));
}

#[test]
fn four_shards_merged_say_what_the_unsharded_check_says() {
    let (whole, live) = run(Shard::WHOLE, None);
    let whole_summary = summarise(&whole);
    // What the check printed as it ran is its summary's lines.
    assert_eq!(live, whole_summary.lines);
    let parts = shards(4, None);
    assert!(parts.iter().all(|p| !p.runs.is_empty()));
    let total: usize = parts.iter().map(|p| p.runs.len()).sum();
    assert_eq!(total, whole.runs.len());
    let merged = merge(inputs(parts)).unwrap();
    assert_eq!(merged.runs, whole.runs, "same verdict for every run");
    assert_eq!(merged.builds, whole.builds);
    let summary = summarise(&merged);
    assert_eq!(summary.lines, whole_summary.lines);
    assert_eq!(summary.table, whole_summary.table);
    assert_eq!(summary.checks, whole_summary.checks);
    // Something to compare: the fake catches some, misses others.
    assert!(summary
        .checks
        .iter()
        .any(|c| c.status == crate::verdict::Status::Passed));
    assert!(summary
        .checks
        .iter()
        .any(|c| c.status == crate::verdict::Status::Failed));
    // One unsharded record merges into itself.
    let alone = merge(inputs(vec![whole.clone()])).unwrap();
    assert_eq!(summarise(&alone).checks, whole_summary.checks);
    assert_eq!(alone.runs, whole.runs);
}

#[test]
fn a_kernel_that_does_not_build_fails_alike_split_or_not() {
    let (whole, _) = run(Shard::WHOLE, Some("frees"));
    let merged = merge(inputs(shards(3, Some("frees")))).unwrap();
    let (a, b) = (summarise(&whole), summarise(&merged));
    assert_eq!(a.checks, b.checks);
    assert_eq!(a.table, b.table);
    assert_eq!(b.checks[0].name, "kernel builds: frees");
    assert!(!b.table.contains("| frees |"));
}

#[test]
fn a_shards_own_summary_covers_its_share() {
    let record = &shards(4, None)[1];
    assert!(record.runs.iter().all(|r| r.index % 4 == 1));
    let summary = summarise(record);
    assert!(summary
        .lines
        .iter()
        .any(|l| l.contains("vCPUs: ") && l.contains("/2 (")));
}

fn merge_error(records: Vec<Record>) -> String {
    format!("{:#}", merge(inputs(records)).unwrap_err())
}

#[test]
fn merge_refuses_missing_doubled_or_foreign_results() {
    let parts = shards(4, None);
    let missing = merge_error(vec![parts[0].clone(), parts[1].clone(), parts[3].clone()]);
    assert!(missing.contains("shard 2/4 not given"), "{missing}");
    let doubled = merge_error(vec![
        parts[0].clone(),
        parts[1].clone(),
        parts[1].clone(),
        parts[2].clone(),
        parts[3].clone(),
    ]);
    assert!(doubled.contains("1/4 given more than once"), "{doubled}");

    let mut series = parts.clone();
    series[2].series = "other".into();
    assert!(merge_error(series).contains("different series"));

    let mut mutant = parts.clone();
    mutant[3].kernels[1].mutant_sha256 = Some("edited".into());
    assert!(merge_error(mutant).contains("different kernels or mutants"));

    let mut key = parts.clone();
    key[1].builds[0].cache_key = Some("patched-ffff".into());
    let key = merge_error(key);
    assert!(key.contains("different cache keys"), "{key}");

    let mut seeds = parts.clone();
    seeds[0].settings.duration = 120;
    assert!(merge_error(seeds).contains("different settings"));

    let mut short = parts.clone();
    short[2].runs.pop();
    let short = merge_error(short);
    assert!(short.contains("shard 2/4 lacks run"), "{short}");

    let mut stray = parts.clone();
    let taken = stray[1].runs[0].clone();
    stray[0].runs.push(taken);
    assert!(merge_error(stray).contains("which is shard 1/4's"));

    let mut lying = parts;
    lying[3].runs[0].seed += 1;
    assert!(merge_error(lying).contains("the plan says"));

    let (whole, _) = run(Shard::WHOLE, None);
    let mixed = merge_error(vec![whole, shards(2, None)[1].clone()]);
    assert!(mixed.contains("different splits"), "{mixed}");
}
