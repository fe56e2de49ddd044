//! `mutant-check`: the torture on every mutant kernel and on the unmutated
//! one, for every seed and set of race delays; the detection table.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::torture::{run_torture, TortureSpec};
use super::{begin_ktap, summarise};
use crate::detection::{Detection, DetectionTable};
use crate::guest::{build_module, GuestArgs, KernelsAndGuests};
use crate::mutant::Mutant;
use crate::verdict::Check;
use crate::{accel, kernel, ktap, torture};

#[derive(Args)]
pub struct MutantCheckArgs {
    /// Patches applied after the series, one mutant kernel each.
    #[arg(long = "mutant", required = true)]
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
    #[command(flatten)]
    rig: KernelsAndGuests,
}

/// Share of seeds on which a mutant must be caught.
const MUTANT_DETECTION_SHARE: f64 = 0.9;

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
    accel::require_usable(args.rig.accel)?;
    begin_ktap();
    let seeds: Vec<u32> = (0..args.seeds).map(|i| args.first_seed + i).collect();
    let mut kernels: Vec<(String, Option<&Mutant>)> = vec![];
    if !args.no_baseline {
        kernels.push(("unmutated".to_string(), None));
    }
    kernels.extend(mutants.iter().map(|m| (m.name.clone(), Some(m))));
    let cpus = args.rig.cpus;
    let mut checks = vec![];
    // All kernels first: a mutant that does not apply or build fails its
    // own line at once, not hours into the runs of the others.
    let mut guests = vec![];
    for (name, mutant) in kernels {
        match mutant_guest(&args, &name, mutant.map(|m| m.path.as_path())) {
            Ok(guest) => guests.push((name, mutant, guest)),
            Err(e) => {
                eprintln!("mutant-check: {name}: {e:#}");
                checks.push(Check::new(
                    format!("kernel builds: {name}"),
                    false,
                    format!("{e:#}"),
                ));
            }
        }
    }
    let mut table = DetectionTable::new(&args.race_delay_sets);
    for (name, mutant, guest) in guests {
        let mut knobs = match mutant {
            Some(m) => format!(" MUTANT={}", m.path.display()),
            None => String::new(),
        };
        if !args.append.trim().is_empty() {
            knobs.push_str(&format!(" APPEND='{}'", args.append.trim()));
        }
        let mut row = vec![];
        for (set, delays) in args.race_delay_sets.iter().enumerate() {
            let mut detection = Detection::default();
            for &seed in &seeds {
                let outcome = run_torture(
                    &guest,
                    &TortureSpec {
                        name: &format!("{name}/delays-{}/seed-{seed}", delays.replace(',', "-")),
                        seed,
                        duration: args.duration,
                        round: args.round,
                        race_delays: delays,
                        repeat: format!(
                            "make torture SEED={seed} DURATION={} CPUS={cpus} RACE_DELAYS={delays} \
                             KERNEL=patched{knobs}",
                            args.duration
                        ),
                        load: None,
                        stop_at_splat: true,
                    },
                )?;
                let verdict = outcome.verdict(mutant);
                println!(
                    "{}",
                    ktap::diagnostic(&format!(
                        "{name}, race_delay_us {delays}, seed {seed}: {verdict} ({})",
                        outcome.report_path.display()
                    ))
                );
                detection.add(&verdict);
            }
            let line = format!(
                "{name}, race_delay_us {delays}, {cpus} vCPUs: {}",
                detection.describe(seeds.len())
            );
            println!("{}", ktap::diagnostic(&line));
            // The unmutated kernel must be clean with every set; a mutant
            // is held to the first one, the others are reported.
            match (mutant, set) {
                (None, _) => checks.push(Check::new(
                    format!("clean: {name}, race_delay_us {delays}"),
                    detection.caught == 0 && detection.others == 0,
                    line,
                )),
                (Some(m), 0) => checks.push(Check::new(
                    format!("mutant caught: {name}, race_delay_us {delays}"),
                    detection.caught as f64 >= MUTANT_DETECTION_SHARE * seeds.len() as f64,
                    format!(
                        "{line}; expected: {}",
                        m.expected
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" | ")
                    ),
                )),
                (Some(_), _) => {}
            }
            row.push(detection);
        }
        table.push(&name, row);
    }
    let summary = args.rig.out.join("mutants/summary.txt");
    fs::create_dir_all(args.rig.out.join("mutants"))?;
    let text = table.render(seeds.len(), args.duration, cpus);
    fs::write(&summary, &text)?;
    for line in text.lines() {
        println!("{}", ktap::diagnostic(line));
    }
    eprintln!("mutant-check: summary in {}", summary.display());
    Ok(summarise(&checks))
}

/// The guest for one kernel of a mutant check: the kernel (mutated or
/// not) and the module built against it.
fn mutant_guest(args: &MutantCheckArgs, name: &str, mutant: Option<&Path>) -> Result<GuestArgs> {
    let rig = &args.rig;
    let built = rig.kernel(
        kernel::Variant::Patched,
        mutant.map(Path::to_path_buf).into_iter().collect(),
    )?;
    let module = build_module(
        &rig.repo,
        &built.build_dir,
        &rig.out.join("mutants").join(name),
    )?;
    Ok(GuestArgs {
        append: format!("kmemleak=on {}", args.append),
        ..rig.guest(&built, module, rig.out.join("mutants"))
    })
}
