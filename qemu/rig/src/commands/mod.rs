//! The rig's commands, one module each: its arguments and what it runs.

pub mod bench;
pub mod boot_time;
pub mod check;
pub mod kernel;
pub mod mutant_check;
pub mod scan;
pub mod torture;
pub mod vm;

use std::process::ExitCode;

use crate::verdict::{self, Check};

/// Prints the closing line and turns the checks into an exit code.
pub fn summarise(checks: &[Check]) -> ExitCode {
    println!("{}", verdict::summary(checks));
    if verdict::tally(checks).1 == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
