//! Long commands with their output in a log file and a live status line.

use std::fs::{self, File, OpenOptions};
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How often a non-interactive run (CI) prints a status line.
const QUIET_INTERVAL: Duration = Duration::from_secs(30);

/// A one-line status that redraws itself on a terminal and prints now and then
/// elsewhere, so a CI log shows progress without drowning in it.
pub struct StatusLine {
    interactive: bool,
    last_print: Option<Instant>,
    drawn: bool,
}

impl StatusLine {
    pub fn new() -> Self {
        StatusLine {
            interactive: std::io::stderr().is_terminal(),
            last_print: None,
            drawn: false,
        }
    }

    pub fn show(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.interactive {
            let width = 120;
            let text: String = text.chars().take(width).collect();
            let _ = write!(err, "\r\x1b[2K{text}");
            self.drawn = true;
        } else if self
            .last_print
            .is_none_or(|t| t.elapsed() >= QUIET_INTERVAL)
        {
            let _ = writeln!(err, "{text}");
            self.last_print = Some(Instant::now());
        }
        let _ = err.flush();
    }

    /// Ends the redrawn line so that ordinary output can follow.
    pub fn finish(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[2K");
            self.drawn = false;
        }
    }
}

pub fn elapsed(start: Instant) -> String {
    let s = start.elapsed().as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// Runs `cmd` with its output appended to `log`, showing elapsed time and the
/// log's last line; on failure prints the log's tail and fails.
pub fn run_with_progress(label: &str, cmd: &mut Command, log: &Path) -> Result<()> {
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let start = Instant::now();
    let mut status_line = StatusLine::new();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        status_line.show(&format!(
            "{label} [{}] {}",
            elapsed(start),
            last_line(log).unwrap_or_default()
        ));
        thread::sleep(Duration::from_millis(500));
    };
    status_line.finish();
    if !status.success() {
        let text = fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        for line in tail.iter().rev() {
            eprintln!("  {line}");
        }
        bail!("{label} failed ({status}); full log: {}", log.display());
    }
    eprintln!("{label}: done in {}", elapsed(start));
    Ok(())
}

/// The last non-empty line of a growing file.
fn last_line(path: &Path) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(2048))).ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    String::from_utf8_lossy(&tail)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}
