//! `mutant-check`: the torture on every mutant kernel and on the unmutated
//! one, for every seed and set of race delays; the detection table. With
//! `--shard i/N`, only every N-th run of the plan; `merge` puts the shards'
//! records together.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::torture::{run_torture, TortureSpec};
use super::{begin_ktap, exit_code, verdict_lines};
use crate::campaign::{self, Executor, KernelSpec, Record, RunResult, Settings, Summary};
use crate::guest::{build_module, GuestArgs, KernelsAndGuests};
use crate::mutant::{Mutant, Target};
use crate::shard::{self, Shard};
use crate::verdict::Check;
use crate::{accel, identity, kernel, ktap, torture};

#[derive(Args)]
pub struct MutantCheckArgs {
    /// Patches applied after the series, one mutant kernel each; none: a
    /// torture campaign of the unmutated kernel alone.
    #[arg(long = "mutant")]
    mutants: Vec<PathBuf>,
    /// Seeds per kernel: `first_seed`, `first_seed + 1`, ...
    #[arg(long, default_value_t = 10)]
    seeds: u32,
    #[arg(long, default_value_t = 1)]
    first_seed: u32,
    /// Torture seconds per seed (a caught mutant ends its run early).
    #[arg(long, default_value_t = 120)]
    duration: u64,
    #[arg(long, default_value_t = 15)]
    round: u64,
    /// Sets of `race_delay_us` values, one column of the table each; the
    /// first set is the one each mutant must be caught with.
    #[arg(long = "race-delays", default_values_t = [torture::RACE_DELAYS_ON.to_string(), "0".to_string()],
          value_parser = torture::parse_race_delays)]
    race_delay_sets: Vec<String>,
    /// Skip the unmutated kernel's runs.
    #[arg(long)]
    no_baseline: bool,
    /// Extra kernel parameters for every boot, e.g. `preempt=none`.
    #[arg(long, default_value = "")]
    append: String,
    /// Run only shard i of N (0-based): the runs whose index in the plan
    /// is i modulo N; judge the whole with `merge`.
    #[arg(long, value_parser = shard::parse)]
    shard: Option<Shard>,
    #[command(flatten)]
    rig: KernelsAndGuests,
}

/// Builds each mutant kernel and the module against it, runs the torture
/// with every seed and every set of race delays on it and on the unmutated
/// kernel; passes if every mutant is caught on at least 90% of the seeds
/// with the first set of delays, and the unmutated kernel on none with any.
pub fn mutant_check(args: MutantCheckArgs) -> Result<ExitCode> {
    // Every mutant is read (and its expectations checked) before any build.
    let mutants = args
        .mutants
        .iter()
        .map(|path| Mutant::read(path))
        .collect::<Result<Vec<_>>>()?;
    // The torture judges by splats; a mutant only a selftest's failure
    // catches is `make check`'s.
    if let Some(m) = mutants.iter().find(|m| m.expected.is_empty()) {
        bail!(
            "mutant {}: caught by a failing selftest ({}), not by a splat: \
             `make check MUTANT={}`",
            m.name,
            m.failing_tests.join(", "),
            m.path.display()
        );
    }
    // A module mutant that does not apply is refused before any build, as
    // a kernel mutant is before its tree is copied.
    for m in mutants.iter().filter(|m| m.target == Target::Module) {
        kernel::patch_tree(&args.rig.repo, &m.path, true)
            .with_context(|| format!("mutant {}", m.name))?;
    }
    if mutants.is_empty() && args.no_baseline {
        bail!("nothing to run: no mutant, and the unmutated kernel skipped");
    }
    accel::require_usable(args.rig.accel)?;
    let mut kernels = vec![];
    if !args.no_baseline {
        kernels.push(KernelSpec {
            name: "unmutated".to_string(),
            mutant: None,
            mutant_sha256: None,
            expected: vec![],
        });
    }
    for m in &mutants {
        kernels.push(KernelSpec {
            name: m.name.clone(),
            mutant: Some(identity::file_name(&m.path)),
            mutant_sha256: Some(identity::file_hash(&m.path)?),
            expected: m.expected.iter().map(ToString::to_string).collect(),
        });
    }
    let record = Record {
        format: campaign::FORMAT,
        command: campaign::COMMAND.to_string(),
        shard: args.shard.unwrap_or(Shard::WHOLE),
        series: identity::series(&args.rig.repo)?,
        settings: Settings {
            seeds: (0..args.seeds).map(|i| args.first_seed + i).collect(),
            duration: args.duration,
            round: args.round,
            race_delay_sets: args.race_delay_sets.clone(),
            cpus: args.rig.cpus,
            append: args.append.clone(),
        },
        kernels,
        planned: 0,
        builds: vec![],
        runs: vec![],
        ktap: vec![],
    };
    begin_ktap();
    let mut lines = vec![ktap::VERSION_LINE.to_string()];
    let mut rig = Rig {
        args: &args,
        mutants: &mutants,
    };
    let record = campaign::execute(record, &mut rig, &mut |line| {
        let line = ktap::diagnostic(line);
        println!("{line}");
        lines.push(line);
    })?;
    let mut summary = campaign::summarise(&record);
    if let Some(shard) = args.shard {
        // A shard's share proves nothing; the merge judges the whole.
        summary.checks = vec![Check::new(
            format!(
                "shard {shard} recorded: {} of the {} runs",
                record.runs.len(),
                record.planned
            ),
            true,
            "",
        )];
    }
    conclude(record, &summary, lines, &args.rig.out)
}

/// Writes the summary table and the record under `out/mutants`, prints the
/// table and the verdict; `lines` are the KTAP lines printed so far.
pub fn conclude(
    mut record: Record,
    summary: &Summary,
    mut lines: Vec<String>,
    out: &Path,
) -> Result<ExitCode> {
    let dir = out.join("mutants");
    fs::create_dir_all(&dir)?;
    let summary_path = dir.join("summary.txt");
    fs::write(&summary_path, &summary.table)?;
    let mut closing: Vec<String> = summary.table.lines().map(ktap::diagnostic).collect();
    closing.extend(verdict_lines(&summary.checks));
    lines.extend(closing.iter().cloned());
    record.ktap = lines;
    let record_path = dir.join(campaign::RECORD);
    fs::write(&record_path, serde_json::to_string_pretty(&record)?)
        .with_context(|| format!("writing {}", record_path.display()))?;
    let (table, verdict) = closing.split_at(summary.table.lines().count());
    for line in table {
        println!("{line}");
    }
    eprintln!(
        "mutant-check: summary in {}, every run in {}",
        summary_path.display(),
        record_path.display()
    );
    for line in verdict {
        println!("{line}");
    }
    Ok(exit_code(&summary.checks))
}

/// The real executor: kernels from the cache, runs in QEMU.
struct Rig<'a> {
    args: &'a MutantCheckArgs,
    mutants: &'a [Mutant],
}

impl Executor for Rig<'_> {
    type Guest = GuestArgs;

    fn build(&mut self, spec: &KernelSpec) -> Result<(GuestArgs, String)> {
        let mutant = self.mutants.iter().find(|m| m.name == spec.name);
        mutant_guest(self.args, &spec.name, mutant)
    }

    fn run(
        &mut self,
        guest: &GuestArgs,
        spec: &KernelSpec,
        delays: &str,
        seed: u32,
    ) -> Result<RunResult> {
        let args = self.args;
        let mutant = self.mutants.iter().find(|m| m.name == spec.name);
        let mut knobs = match mutant {
            Some(m) => format!(" MUTANT={}", m.path.display()),
            None => String::new(),
        };
        knobs.push_str(&format!(" ACCEL={}", args.rig.accel.name()));
        if let Some(ksrc) = &args.rig.ksrc {
            knobs.push_str(&format!(" KSRC={}", ksrc.display()));
        }
        if !args.append.trim().is_empty() {
            knobs.push_str(&format!(" APPEND='{}'", args.append.trim()));
        }
        let start = Instant::now();
        let outcome = run_torture(
            guest,
            &TortureSpec {
                name: &format!(
                    "{}/delays-{}/seed-{seed}",
                    spec.name,
                    delays.replace(',', "-")
                ),
                seed,
                duration: args.duration,
                round: args.round,
                race_delays: delays,
                repeat: format!(
                    "make torture SEED={seed} DURATION={} CPUS={} RACE_DELAYS={delays} \
                     KERNEL=patched{knobs}",
                    args.duration, args.rig.cpus
                ),
                load: None,
                stop_at_splat: true,
                faults: false,
                fuzz: false,
            },
        )?;
        Ok(RunResult {
            verdict: outcome.verdict(mutant),
            report: outcome.report_path.display().to_string(),
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

/// The guest for one kernel of a mutant check (the kernel, mutated or not,
/// and the module built against it), and the kernel's cache key.
fn mutant_guest(
    args: &MutantCheckArgs,
    name: &str,
    mutant: Option<&Mutant>,
) -> Result<(GuestArgs, String)> {
    let rig = &args.rig;
    let (kernel_patch, module_patch) = match mutant {
        Some(m) if m.target == Target::Module => (None, Some(m.path.as_path())),
        Some(m) => (Some(m.path.clone()), None),
        None => (None, None),
    };
    let built = rig.kernel(kernel::Variant::Patched, kernel_patch.into_iter().collect())?;
    let module = build_module(
        &rig.repo,
        &built.build_dir,
        &rig.out.join("mutants").join(name),
        module_patch,
    )?;
    let guest = GuestArgs {
        append: format!("kmemleak=on {}", args.append),
        ..rig.guest(&built, module, rig.out.join("mutants"))
    };
    Ok((guest, identity::cache_key(&built)))
}
