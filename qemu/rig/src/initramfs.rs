//! The guest's initramfs: busybox-static, the guest init, the module, the
//! selftest programs and an optional script, packed as a newc cpio archive.

use std::fs::{self, File};
use std::io::{BufWriter, Cursor};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cpio::newc::{Builder, ModeFileType};

use crate::protocol::path;

/// Debian's busybox-static installs its binary here.
pub const BUSYBOX: &str = "/bin/busybox";

enum Body {
    Directory,
    File { data: Vec<u8>, mode: u32 },
    CharDevice { major: u32, minor: u32 },
}

/// An archive being assembled in memory (a few MiB at most).
#[derive(Default)]
pub struct Initramfs {
    entries: Vec<(String, Body)>,
}

impl Initramfs {
    /// The skeleton every guest has: directories, `/dev/console` for the
    /// first process, busybox and the guest init.
    pub fn new(init_script: &Path) -> Result<Self> {
        let mut fs = Initramfs::default();
        for dir in [
            "bin",
            "sbin",
            "dev",
            "proc",
            "sys",
            "tmp",
            "mnt",
            "root",
            "etc",
            "usr",
            "usr/bin",
            "usr/sbin",
            "shrinkfs",
            "bench",
            path::SELFTESTS,
        ] {
            fs.entries.push((dir.to_string(), Body::Directory));
        }
        fs.entries.push((
            "dev/console".to_string(),
            Body::CharDevice { major: 5, minor: 1 },
        ));
        fs.add_host_file("bin/busybox", Path::new(BUSYBOX))
            .context("busybox-static is missing: run `make setup`")?;
        fs.add_host_file("init", init_script)?;
        Ok(fs)
    }

    pub fn add_file(&mut self, guest_path: &str, data: Vec<u8>, mode: u32) {
        self.entries
            .push((guest_path.to_string(), Body::File { data, mode }));
    }

    pub fn add_host_file(&mut self, guest_path: &str, host: &Path) -> Result<()> {
        let data = fs::read(host).with_context(|| format!("reading {}", host.display()))?;
        let mode = fs::metadata(host)?.permissions().mode() & 0o7777;
        self.add_file(guest_path, data, mode);
        Ok(())
    }

    /// Adds every executable regular file of `dir` under `/selftests`.
    pub fn add_selftests(&mut self, dir: &Path) -> Result<usize> {
        let mut programs: Vec<PathBuf> = fs::read_dir(dir)
            .with_context(|| format!("reading selftest directory {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                fs::metadata(p)
                    .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                    .unwrap_or(false)
            })
            .collect();
        programs.sort();
        if programs.is_empty() {
            bail!("no selftest programs in {}", dir.display());
        }
        for program in &programs {
            let name = program.file_name().unwrap_or_default().to_string_lossy();
            self.add_host_file(&format!("{}/{name}", path::SELFTESTS), program)?;
        }
        Ok(programs.len())
    }

    pub fn write(self, path: &Path) -> Result<()> {
        let inputs = self.entries.into_iter().map(|(name, body)| {
            let builder = Builder::new(&name).uid(0).gid(0).nlink(1);
            match body {
                Body::Directory => (
                    builder
                        .mode(0o755)
                        .set_mode_file_type(ModeFileType::Directory)
                        .nlink(2),
                    Cursor::new(Vec::new()),
                ),
                Body::File { data, mode } => (
                    builder.mode(mode).set_mode_file_type(ModeFileType::Regular),
                    Cursor::new(data),
                ),
                Body::CharDevice { major, minor } => (
                    builder
                        .mode(0o600)
                        .set_mode_file_type(ModeFileType::Char)
                        .rdev_major(major)
                        .rdev_minor(minor),
                    Cursor::new(Vec::new()),
                ),
            }
        });
        let out = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        cpio::write_cpio(inputs, BufWriter::new(out))
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpio::NewcReader;

    #[test]
    fn archive_round_trips_through_a_cpio_reader() {
        let dir = std::env::temp_dir().join(format!("rig-initramfs-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let mut fs_image = Initramfs::default();
        fs_image.entries.push(("bin".into(), Body::Directory));
        fs_image.add_file("init", b"#!/bin/sh\n".to_vec(), 0o755);
        let path = dir.join("initramfs.cpio");
        fs_image.write(&path).unwrap();

        let mut reader = File::open(&path).unwrap();
        let mut names = Vec::new();
        loop {
            let entry = NewcReader::new(reader).unwrap();
            if entry.entry().is_trailer() {
                break;
            }
            names.push((entry.entry().name().to_string(), entry.entry().mode()));
            reader = entry.finish().unwrap();
        }
        assert_eq!(
            names,
            vec![
                ("bin".to_string(), 0o040755),
                ("init".to_string(), 0o100755)
            ]
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
