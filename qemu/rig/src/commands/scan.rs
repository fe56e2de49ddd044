//! `scan`: console logs searched for kernel splats.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::guest::read_lossy;
use crate::{splat, verdict};

/// Names the first splat of each log; fails if any log has one.
pub fn scan(logs: &[PathBuf]) -> Result<ExitCode> {
    let mut found = 0;
    for log in logs {
        let text = read_lossy(log)?;
        let splats = splat::scan(&text);
        found += splats.len();
        println!("{}: {}", log.display(), verdict::describe(&splats));
    }
    Ok(if found == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
