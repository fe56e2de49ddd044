//! `bench`: the benchmark's kernels built, booted in turn in each mode, and
//! their samples handed to `shrinkfs_bench` for the report and the gate.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::guest::{build_module, prepare, GuestArgs, KernelsAndGuests, Outcome};
use crate::kernel;
use crate::protocol::{mode, param, path};
use crate::qemu::Boot;
use crate::shard::{self, Shard};
use crate::{accel, bench, bench_log, bench_shard, identity};

#[derive(Args)]
pub struct BenchArgs {
    /// Boots of each kernel in each mode.
    #[arg(long, default_value_t = 10)]
    reps: u32,
    /// Nominal dentry counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1000, 3000, 10000, 30000, 100000])]
    sizes: Vec<u64>,
    #[arg(long, value_delimiter = ',', default_values = ["flat", "bushy", "deep"])]
    shapes: Vec<String>,
    /// The largest size that also gets the tmpfs reference.
    #[arg(long, default_value_t = 10000)]
    tmpfs_max: u64,
    /// `icount`, `wall` or both, comma-separated.
    #[arg(long, value_delimiter = ',', default_values = ["icount", "wall"])]
    modes: Vec<BenchMode>,
    /// Which kernel of each pair boots first.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// An extra patch on the patched kernel only (e.g. one that makes a
    /// dentry kill dearer, to see the gate fail).
    #[arg(long = "patch")]
    extra_patches: Vec<PathBuf>,
    #[arg(long, default_value_t = 4096)]
    memory_mib: u32,
    /// The guest's benchmark program.
    #[arg(long)]
    program: PathBuf,
    /// Boot only shard i of N (0-based): the reps whose number, from 0, is
    /// i modulo N; `merge` puts the shards' samples together.
    #[arg(long, value_parser = shard::parse)]
    shard: Option<Shard>,
    /// `--accel` is for the wall-clock boots; icount is always TCG.
    #[command(flatten)]
    rig: KernelsAndGuests,
}

/// The benchmark's modes as the command line spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum BenchMode {
    Icount,
    Wall,
}

impl From<BenchMode> for shrinkfs_bench::Mode {
    fn from(mode: BenchMode) -> Self {
        match mode {
            BenchMode::Icount => shrinkfs_bench::Mode::Icount,
            BenchMode::Wall => shrinkfs_bench::Mode::Wall,
        }
    }
}

/// A list as the guest's parameters take it: `a,b,c`.
fn comma_list<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

pub fn run_bench(args: &BenchArgs) -> Result<ExitCode> {
    // Before hours of kernel builds, not after.
    accel::require_usable(args.rig.accel)?;
    let modes: Vec<shrinkfs_bench::Mode> = args.modes.iter().map(|&m| m.into()).collect();
    let sizes = args.sizes.clone();
    let shapes = args.shapes.clone();
    let sizes_param = comma_list(&sizes);
    let shapes_param = comma_list(&shapes);
    let out = args.rig.out.join("bench");
    let mut subjects = vec![];
    for (variant, label) in bench::VARIANTS {
        let extra = if variant == kernel::Variant::PatchedPerf {
            args.extra_patches.clone()
        } else {
            vec![]
        };
        let built = args.rig.kernel(variant, extra)?;
        let module = build_module(&args.rig.repo, &built.build_dir, &out.join(label), None)?;
        let config_hash = bench::config_hash(&built.build_dir)?;
        subjects.push(bench::Subject {
            label,
            kernel: built,
            module,
            config_hash,
        });
    }
    let append = format!(
        "{} {} {}={} {}={} {}={}",
        bench::KERNEL_PARAMS,
        mode::BENCH,
        param::BENCH_SIZES,
        sizes_param,
        param::BENCH_SHAPES,
        shapes_param,
        param::BENCH_TMPFS_MAX,
        args.tmpfs_max
    );
    let (log, resumed) = bench_log::Log::open(&out, &run_description(args, &subjects))?;
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let reps = bench_shard::reps_of(shard, args.reps);
    // A re-run with fewer reps or modes uses only what it asks for.
    let wanted = |mode, rep| modes.contains(&mode) && reps.contains(&rep);
    let already = resumed.done.iter().filter(|k| wanted(k.1, k.2)).count();
    if already > 0 {
        eprintln!(
            "# bench: resuming {}: {already} boots already done",
            out.display()
        );
    }
    let steps = reps.len() * modes.len() * 2 - already;
    let start = std::time::Instant::now();
    let mut samples: Vec<_> = resumed
        .samples
        .into_iter()
        .filter(|s| wanted(s.mode, s.rep))
        .collect();
    let mut failures = vec![];
    let mut done = 0;
    // What each mode really ran under: `auto` resolves per kernel build.
    let mut accelerators = std::collections::BTreeSet::new();
    for &rep in &reps {
        for &mode in &modes {
            for turn in 0..2 {
                let subject = &subjects[bench::order((rep as usize - 1) * 2 + turn, args.seed)];
                if resumed
                    .done
                    .contains(&(subject.label.to_string(), mode, rep))
                {
                    continue;
                }
                let guest = GuestArgs {
                    memory_mib: args.memory_mib,
                    no_debug: true,
                    // One sample at 10^5 dentries under icount is minutes
                    // of silence: only the time limit holds.
                    stall: 0,
                    ..args
                        .rig
                        .guest(&subject.kernel, subject.module.clone(), out.join("boots"))
                };
                let mut boot = prepare(
                    &guest,
                    &format!("{}-{mode}", subject.label),
                    &append,
                    &[(path::BENCH_PROGRAM, args.program.as_path())],
                )?;
                boot.clock = bench::clock(mode);
                accelerators.insert(format!("{mode}: {}", boot.accel_used()));
                eprintln!(
                    "# bench [{}/{steps}] rep {rep}/{}: {} kernel, {mode} mode; ETA {}",
                    done + 1,
                    args.reps,
                    subject.label,
                    bench::eta(start, done, steps)
                );
                let label = bench::step_label(rep, args.reps, subject.label, mode, start);
                let got = boot_samples(&boot, &label, subject.label, mode, rep);
                let record = bench_log::BootRecord {
                    kernel: subject.label.to_string(),
                    mode,
                    rep,
                    samples: got.as_ref().map_or(0, Vec::len),
                    error: got.as_ref().err().map(|e| format!("{e:#}")),
                };
                match got {
                    Ok(mut got) => {
                        log.record(&record, &got)?;
                        samples.append(&mut got);
                    }
                    Err(e) => {
                        eprintln!("# bench: {label} failed: {e:#}");
                        log.record(&record, &[])?;
                        failures.push(record);
                    }
                }
                done += 1;
            }
        }
    }
    let meta = shrinkfs_bench::Meta {
        kernels: subjects
            .iter()
            .map(|s| (s.label.to_string(), s.info()))
            .collect(),
        accelerator: accelerators.into_iter().collect::<Vec<_>>().join(", "),
        kernel_params: bench::KERNEL_PARAMS.to_string(),
        seed: args.seed,
        reps: args.reps,
        sizes,
        shapes,
        started: format!(
            "{} s after the Unix epoch",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs()
                - start.elapsed().as_secs()
        ),
        host: format!(
            "{} CPUs",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        ),
    };
    for f in &failures {
        eprintln!(
            "bench: rep {} {} {} failed: {}",
            f.rep,
            f.kernel,
            f.mode,
            f.error.as_deref().unwrap_or_default()
        );
    }
    let record = bench_shard::Record {
        format: bench_shard::FORMAT,
        command: bench_shard::COMMAND.to_string(),
        shard,
        series: identity::series(&args.rig.repo)?,
        patches: args
            .extra_patches
            .iter()
            .map(|p| Ok((identity::file_name(p), identity::file_hash(p)?)))
            .collect::<Result<_>>()?,
        settings: bench_shard::Settings {
            reps: args.reps,
            sizes: args.sizes.clone(),
            shapes: args.shapes.clone(),
            tmpfs_max: args.tmpfs_max,
            seed: args.seed,
            memory_mib: args.memory_mib,
            cpus: args.rig.cpus,
            modes: modes.clone(),
        },
        kernels: subjects
            .iter()
            .map(|s| {
                let id = bench_shard::KernelId {
                    cache_key: identity::cache_key(&s.kernel),
                    version: s.kernel.version.clone(),
                    config_hash: s.config_hash.clone(),
                };
                (s.label.to_string(), id)
            })
            .collect(),
        reps,
        failures: failures.clone(),
        meta: meta.clone(),
        samples: samples.clone(),
    };
    let record_path = out.join(bench_shard::RECORD);
    std::fs::create_dir_all(&out)?;
    std::fs::write(&record_path, serde_json::to_string_pretty(&record)?)?;
    eprintln!("bench: every sample in {}", record_path.display());
    let results = bench::finish(meta, samples, &out)?;
    let violations = results.violations();
    for v in &violations {
        println!("bench-check: {v}");
    }
    println!("{}", shrinkfs_bench::gate::verdict_line(&violations));
    eprintln!("bench: report in {}", out.join("report.md").display());
    if failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "bench: {} boots failed; the same command again retries them and keeps the rest",
        failures.len()
    );
    Ok(ExitCode::FAILURE)
}

/// One benchmark boot's samples, or why it gave none.
fn boot_samples(
    boot: &Boot,
    label: &str,
    kernel: &str,
    mode: shrinkfs_bench::Mode,
    rep: u32,
) -> Result<Vec<shrinkfs_bench::Sample>> {
    let finished = boot.run(label)?;
    if finished.timed_out() {
        bail!(
            "the {kernel} guest timed out; console: {}",
            finished.console_log.display()
        );
    }
    let outcome = Outcome::read(finished)?;
    let samples = bench::samples_of(
        &outcome.console,
        &outcome.report,
        &outcome.splats,
        kernel,
        mode,
        rep,
        boot.vcpus(),
    )
    .with_context(|| format!("console: {}", outcome.finished.console_log.display()))?;
    eprintln!(
        "# bench: {} figures in {:.1} s",
        samples.len(),
        outcome.finished.seconds
    );
    Ok(samples)
}

/// What makes samples comparable: the kernels (their build dirs carry the
/// key of every input) and the workload. Not reps or modes: a re-run with
/// more of them adds to what is there.
fn run_description(args: &BenchArgs, subjects: &[bench::Subject]) -> String {
    let mut text = format!(
        "sizes {}\nshapes {}\ntmpfs_max {}\nseed {}\nmemory_mib {}\ncpus {}\n",
        comma_list(&args.sizes),
        comma_list(&args.shapes),
        args.tmpfs_max,
        args.seed,
        args.memory_mib,
        args.rig.cpus
    );
    for s in subjects {
        text.push_str(&format!(
            "{} {} {} {}\n",
            s.label,
            s.kernel.build_dir.display(),
            s.kernel.version,
            s.config_hash
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn parse(extra: &[&str]) -> Result<BenchArgs, clap::Error> {
        let base = ["rig", "--program", "p", "--cache", "c", "--selftests", "s"];
        Cli::try_parse_from(base.iter().chain(extra)).map(|c| c.bench)
    }

    #[test]
    fn comma_lists_parse_as_the_makefile_spells_them() {
        let args = parse(&[
            "--sizes",
            "10,20",
            "--modes",
            "wall",
            "--shapes",
            "flat,deep",
        ])
        .unwrap();
        assert_eq!(args.sizes, vec![10, 20]);
        assert_eq!(args.modes, vec![BenchMode::Wall]);
        assert_eq!(comma_list(&args.shapes), "flat,deep");
        let defaults = parse(&[]).unwrap();
        assert_eq!(comma_list(&defaults.sizes), "1000,3000,10000,30000,100000");
        assert_eq!(defaults.modes, vec![BenchMode::Icount, BenchMode::Wall]);
        assert!(parse(&["--modes", "icount,fast"]).is_err());
        assert!(parse(&["--sizes", "10,x"]).is_err());
        assert!(parse(&["--accel", "kvm"]).is_ok() && parse(&["--accel", "xen"]).is_err());
    }
}
