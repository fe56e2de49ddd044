//! `shrinkfs-bench`: the library's report and gate from the command line,
//! so stored samples can be re-reported and results re-gated by hand.
//!
//! Exit status: 0 pass, 1 gate violations (`check`), 2 unusable input.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use shrinkfs_bench::gate::verdict_line;
use shrinkfs_bench::{check, read_meta, read_samples, write_all, Results, Thresholds};

#[derive(Parser)]
#[command(
    version,
    about = "shrinkfs benchmark statistics, report, plots and gate"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute statistics from samples and write results.json, report.md and plots.
    Report {
        /// Samples, one JSON object per line.
        #[arg(long)]
        samples: PathBuf,
        /// Run metadata (JSON).
        #[arg(long)]
        meta: PathBuf,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Gate a results.json: exit 1 if any threshold is violated.
    Check {
        /// results.json written by `report`.
        results: PathBuf,
        /// Largest tolerated patched/stock ratio in icount mode.
        #[arg(long, default_value_t = Thresholds::default().icount_ratio)]
        icount_ratio: f64,
        /// Largest tolerated patched/stock ratio in wall mode.
        #[arg(long, default_value_t = Thresholds::default().wall_ratio)]
        wall_ratio: f64,
        /// Largest tolerated scaling exponent.
        #[arg(long, default_value_t = Thresholds::default().exponent)]
        exponent: f64,
    },
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Report { samples, meta, out } => {
            let results = Results::compute(read_meta(&meta)?, read_samples(&samples)?)?;
            write_all(&results, &out)?;
            println!("{}", out.join("report.md").display());
            println!("{}", verdict_line(&results.violations()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            results,
            icount_ratio,
            wall_ratio,
            exponent,
        } => {
            let thresholds = Thresholds {
                icount_ratio,
                wall_ratio,
                exponent,
            };
            let violations = check(&Results::load(&results)?, &thresholds);
            for v in &violations {
                println!("{v}");
            }
            println!("{}", verdict_line(&violations));
            Ok(if violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn main() -> ExitCode {
    run(Cli::parse()).unwrap_or_else(|e| {
        eprintln!("shrinkfs-bench: {e:#}");
        ExitCode::from(2)
    })
}
