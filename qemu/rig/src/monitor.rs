//! QEMU's machine protocol (QMP) on a Unix socket: how the rig presses
//! SysRq keys in a guest that stopped making progress, so that the console
//! shows who waits and who spins before QEMU is killed, and how it reads
//! the vCPUs' registers for a profile.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// SysRq keys pressed on a hang: blocked tasks, every task, every CPU's
/// backtrace.
pub const HANG_SYSRQ: [char; 3] = ['w', 't', 'l'];

/// How long one QMP reply may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// A fresh socket path per boot. Unix socket paths are short (108 bytes),
/// so it lives in the temporary directory, not under a deep run directory.
pub fn socket_path() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "shrinkfs-qmp-{}-{}.sock",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// QEMU's `-qmp` argument for a socket at `path` that QEMU serves.
pub fn qmp_arg(path: &Path) -> String {
    format!("unix:{},server=on,wait=off", path.display())
}

pub struct Monitor {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Monitor {
    /// Connects and leaves QMP's capabilities negotiation mode.
    pub fn connect(path: &Path) -> Result<Self> {
        let stream = UnixStream::connect(path)
            .with_context(|| format!("connecting to QEMU's monitor at {}", path.display()))?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        let mut monitor = Monitor {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        };
        let greeting = monitor.next_message()?;
        if greeting.get("QMP").is_none() {
            bail!("QEMU's monitor did not greet with QMP: {greeting}");
        }
        monitor.execute(json!({ "execute": "qmp_capabilities" }))?;
        Ok(monitor)
    }

    /// Presses Alt+SysRq+`key` on the guest's keyboard.
    pub fn sysrq(&mut self, key: char) -> Result<()> {
        let keys: Vec<Value> = ["alt", "sysrq", &key.to_string()]
            .iter()
            .map(|k| json!({ "type": "qcode", "data": k }))
            .collect();
        self.execute(json!({ "execute": "send-key", "arguments": { "keys": keys } }))
            .map(drop)
    }

    /// What the human monitor's `command_line` prints.
    pub fn human(&mut self, command_line: &str) -> Result<String> {
        let reply = self.execute(json!({
            "execute": "human-monitor-command",
            "arguments": { "command-line": command_line }
        }))?;
        match reply.as_str() {
            Some(text) => Ok(text.to_string()),
            None => bail!("QEMU answered `{command_line}` with {reply}, not text"),
        }
    }

    fn execute(&mut self, command: Value) -> Result<Value> {
        writeln!(self.writer, "{command}")?;
        loop {
            let mut reply = self.next_message()?;
            if let Some(error) = reply.get("error") {
                bail!("QEMU refused {command}: {error}");
            }
            // Events may come before the reply.
            if let Some(answer) = reply.get_mut("return") {
                return Ok(answer.take());
            }
        }
    }

    fn next_message(&mut self) -> Result<Value> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            bail!("QEMU closed its monitor");
        }
        serde_json::from_str(&line).with_context(|| format!("a QMP message: {line}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::thread;

    /// A QMP server that answers like QEMU and records what it was sent.
    fn fake_qemu(path: &Path, refuse: bool) -> thread::JoinHandle<Vec<Value>> {
        let listener = UnixListener::bind(path).unwrap();
        thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut writer = stream.try_clone().unwrap();
            writeln!(
                writer,
                r#"{{"QMP": {{"version": {{}}, "capabilities": []}}}}"#
            )
            .unwrap();
            let mut seen = vec![];
            for line in BufReader::new(stream).lines() {
                let command: Value = serde_json::from_str(&line.unwrap()).unwrap();
                let is_key = command["execute"] == "send-key";
                let is_human = command["execute"] == "human-monitor-command";
                seen.push(command);
                writeln!(writer, r#"{{"event": "X", "timestamp": {{}}}}"#).unwrap();
                if refuse && is_key {
                    writeln!(writer, r#"{{"error": {{"class": "GenericError"}}}}"#).unwrap();
                } else if is_human {
                    writeln!(writer, r#"{{"return": "RIP=ffffffff81000000\r\n"}}"#).unwrap();
                } else {
                    writeln!(writer, r#"{{"return": {{}}}}"#).unwrap();
                }
            }
            seen
        })
    }

    #[test]
    fn sysrq_presses_alt_sysrq_and_the_key() {
        let path = socket_path();
        let server = fake_qemu(&path, false);
        let mut monitor = Monitor::connect(&path).unwrap();
        monitor.sysrq('t').unwrap();
        drop(monitor);
        let seen = server.join().unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(seen[0], json!({ "execute": "qmp_capabilities" }));
        let keys: Vec<&str> = seen[1]["arguments"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["data"].as_str().unwrap())
            .collect();
        assert_eq!(vec!["alt", "sysrq", "t"], keys);
    }

    #[test]
    fn human_returns_what_the_monitor_printed() {
        let path = socket_path();
        let server = fake_qemu(&path, false);
        let mut monitor = Monitor::connect(&path).unwrap();
        assert_eq!(
            "RIP=ffffffff81000000\r\n",
            monitor.human("info registers -a").unwrap()
        );
        drop(monitor);
        let seen = server.join().unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            json!({
                "execute": "human-monitor-command",
                "arguments": { "command-line": "info registers -a" }
            }),
            seen[1]
        );
    }

    #[test]
    fn a_refused_command_is_an_error() {
        let path = socket_path();
        let server = fake_qemu(&path, true);
        let mut monitor = Monitor::connect(&path).unwrap();
        let err = monitor.sysrq('w').unwrap_err();
        assert!(format!("{err:#}").contains("refused"), "{err:#}");
        drop(monitor);
        server.join().unwrap();
        let _ = std::fs::remove_file(&path);
    }
}
