// SPDX-License-Identifier: GPL-2.0

//! The filesystem itself, in safe Rust over [`crate::vfs`]: a synthetic tree
//! (see [`crate::geometry`]) whose every dentry and inode the kernel's own
//! caches hold, counted so that a leak or a late callback shows.

use core::fmt;
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use kernel::c_str;
use kernel::ioctl::{_IO, _IOR};
use kernel::prelude::*;
use kernel::uaccess::UserSlice;

use crate::geometry::{
    Geometry, GeometryError, Node, DEFAULT_DEPTH, DEFAULT_FANOUT, DEFAULT_FILES,
};
#[cfg(any(shrinkfs_reaper, shrinkfs_expiry))]
use crate::params::Job;
use crate::params::Periodic;
use crate::vfs::{self, DirEntry, Directory, Event, FileSystem, InodeKind, NAME_LEN};

pub(crate) struct ShrinkFs;

/// `-o depth=D,fanout=F,files=N,expire_ms=E`, as given so far.
#[derive(Default)]
pub(crate) struct Options {
    depth: Option<u32>,
    fanout: Option<u32>,
    files: Option<u32>,
    expire_ms: Option<u32>,
}

/// Longest expiry time a mount may ask for: an hour.
const EXPIRE_MS_MAX: u32 = 3_600_000;

/// Why a mount's options are refused.
pub(crate) enum OptionError {
    NoValue(&'static str),
    NotANumber(&'static str),
    Geometry(GeometryError),
    /// `expire_ms` out of range.
    ExpireMs(u32),
    /// `expire_ms` on a kernel without `d_dispose_if_unused()`.
    #[cfg_attr(shrinkfs_expiry, allow(dead_code))]
    NoExpiry,
    /// A remount asked for another geometry than the mount has.
    Remount {
        key: &'static str,
        mounted: u32,
        asked: u32,
    },
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::NoValue(key) => write!(f, "{key} needs a value ({key}=N)"),
            OptionError::NotANumber(key) => write!(f, "{key} must be a decimal number"),
            OptionError::Geometry(e) => e.fmt(f),
            OptionError::ExpireMs(ms) => {
                write!(f, "expire_ms={ms} is out of range (0..={EXPIRE_MS_MAX})")
            }
            OptionError::NoExpiry => write!(
                f,
                "expire_ms needs a kernel that exports d_dispose_if_unused()"
            ),
            OptionError::Remount {
                key,
                mounted,
                asked,
            } => write!(
                f,
                "{key} cannot change on remount (mounted with {key}={mounted}, asked for {asked})"
            ),
        }
    }
}

/// What happened to one superblock's objects.
#[derive(Default)]
struct Counters {
    lookups: AtomicU64,
    dentries_alive: AtomicI64,
    dentry_releases: AtomicU64,
    inodes_alive: AtomicI64,
    evictions: AtomicU64,
    shrink_requests: AtomicU64,
    generation_bumps: AtomicU64,
    stale_dentries: AtomicU64,
    reaped: AtomicU64,
    shrinker_calls: AtomicU64,
    expired: AtomicU64,
    expiry_passes: AtomicU64,
    expiry_disposed: AtomicU64,
    expiry_busy: AtomicU64,
    expiry_unindexed: AtomicU64,
}

impl Counters {
    /// Every counter with its name, in the order of `struct shrinkfs_stats`
    /// (rust/shrinkfs_uapi.h); the alive counts as two's complement.
    fn fields(&self) -> [(&'static str, u64); STATS_FIELDS] {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let alive = |c: &AtomicI64| c.load(Ordering::Relaxed) as u64;
        [
            ("lookups", load(&self.lookups)),
            ("dentries_alive", alive(&self.dentries_alive)),
            ("dentry_releases", load(&self.dentry_releases)),
            ("inodes_alive", alive(&self.inodes_alive)),
            ("evictions", load(&self.evictions)),
            ("shrink_requests", load(&self.shrink_requests)),
            ("generation_bumps", load(&self.generation_bumps)),
            ("stale_dentries", load(&self.stale_dentries)),
            ("reaped", load(&self.reaped)),
            ("shrinker_calls", load(&self.shrinker_calls)),
            ("expired", load(&self.expired)),
            ("expiry_passes", load(&self.expiry_passes)),
            ("expiry_disposed", load(&self.expiry_disposed)),
            ("expiry_busy", load(&self.expiry_busy)),
            ("expiry_unindexed", load(&self.expiry_unindexed)),
        ]
    }

    /// `struct shrinkfs_stats`: 64-bit fields.
    fn to_uapi(&self) -> [u8; STATS_SIZE] {
        let mut bytes = [0u8; STATS_SIZE];
        for (chunk, (_, value)) in bytes.chunks_exact_mut(8).zip(self.fields()) {
            chunk.copy_from_slice(&value.to_ne_bytes());
        }
        bytes
    }

    /// One `name value` line per counter; alive counts signed.
    fn write_text(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        for (name, value) in self.fields() {
            match name {
                "dentries_alive" | "inodes_alive" => writeln!(out, "{name} {}", value as i64)?,
                _ => writeln!(out, "{name} {value}")?,
            }
        }
        Ok(())
    }
}

// The ioctls of rust/shrinkfs_uapi.h.
const STATS_FIELDS: usize = 15;
const STATS_SIZE: usize = STATS_FIELDS * 8;
const IOC_MAGIC: u32 = 0xb7;
const IOC_SHRINK: u32 = _IO(IOC_MAGIC, 1);
const IOC_STATS: u32 = _IOR::<[u64; STATS_FIELDS]>(IOC_MAGIC, 2);
const IOC_BUMP_GENERATION: u32 = _IO(IOC_MAGIC, 3);
const IOC_REAP: u32 = _IO(IOC_MAGIC, 4);
const IOC_EXPIRE: u32 = _IO(IOC_MAGIC, 5);
const IOCTLS: [u32; 5] = [
    IOC_SHRINK,
    IOC_STATS,
    IOC_BUMP_GENERATION,
    IOC_REAP,
    IOC_EXPIRE,
];

/// Longest a reaper pass may hold its dentries, in milliseconds.
const REAP_HOLD_MAX_MS: usize = 1000;
/// Dentries a reaper pass takes from each superblock, at most.
#[cfg(shrinkfs_reaper)]
const REAP_PER_SUPER: usize = 256;

/// One pass of the cross-superblock reaper, holding for `hold_ms`.
#[cfg(shrinkfs_reaper)]
fn reap(hold_ms: usize) -> Result<i64> {
    let taken = vfs::reap(&crate::SHRINKFS_TYPE, REAP_PER_SUPER, hold_ms as u32);
    Ok(taken as i64)
}

#[cfg(not(shrinkfs_reaper))]
fn reap(_hold_ms: usize) -> Result<i64> {
    // Built against a kernel without the series: no dput_to_list() to use.
    Err(Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32)))
}

/// The periodic reaper (module parameter `reap_interval_ms`), when there is
/// a reaper to run.
pub(crate) fn periodic_reaper() -> Option<Periodic> {
    #[cfg(shrinkfs_reaper)]
    {
        extern "C" fn pass() {
            // Built with the reaper, a pass cannot fail.
            let _ = reap(0);
        }
        Some(Periodic::start(Job::Reaper, pass))
    }
    #[cfg(not(shrinkfs_reaper))]
    None
}

/// One expiry pass over every mount with `expire_ms`: how many expired,
/// unused dentries it disposed of.
#[cfg(shrinkfs_expiry)]
fn expire() -> Result<i64> {
    Ok(vfs::expire(&crate::SHRINKFS_TYPE).disposed as i64)
}

#[cfg(not(shrinkfs_expiry))]
fn expire() -> Result<i64> {
    // Built against a kernel without d_dispose_if_unused().
    Err(Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32)))
}

/// The periodic expiry pass (module parameter `expiry_interval_ms`), when
/// the kernel has what it needs.
pub(crate) fn periodic_expiry() -> Option<Periodic> {
    #[cfg(shrinkfs_expiry)]
    {
        extern "C" fn pass() {
            // Built with expiry, a pass cannot fail.
            let _ = expire();
        }
        Some(Periodic::start(Job::Expiry, pass))
    }
    #[cfg(not(shrinkfs_expiry))]
    None
}

/// One mounted shrinkfs.
pub(crate) struct Mount {
    geometry: Geometry,
    /// How long a dentry lives after its lookup; 0: for ever.
    expire_ms: u32,
    counters: Counters,
}

impl Drop for Mount {
    fn drop(&mut self) {
        // `kill_sb` drops the mount after the VFS released everything of it.
        let c = &self.counters;
        let dentries = c.dentries_alive.load(Ordering::Relaxed);
        let inodes = c.inodes_alive.load(Ordering::Relaxed);
        if dentries != 0 || inodes != 0 {
            vfs::warn(format_args!(
                "kill_sb with {dentries} dentries and {inodes} inodes alive \
                 ({} lookups, {} releases, {} evictions)",
                c.lookups.load(Ordering::Relaxed),
                c.dentry_releases.load(Ordering::Relaxed),
                c.evictions.load(Ordering::Relaxed)
            ));
        }
    }
}

fn parse_u32(key: &'static str, value: Option<&[u8]>) -> Result<u32, OptionError> {
    let value = value.ok_or(OptionError::NoValue(key))?;
    core::str::from_utf8(value)
        .ok()
        .filter(|v| v.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .ok_or(OptionError::NotANumber(key))
}

#[vtable]
impl FileSystem for ShrinkFs {
    const NAME: &'static CStr = c_str!("shrinkfs");
    // "shrk"
    const MAGIC: u64 = 0x7368_726b;

    type Options = Options;
    type Data = Mount;
    type OptionError = OptionError;

    fn parse_option(
        options: &mut Options,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<bool, OptionError> {
        let (key, slot) = match key {
            b"depth" => ("depth", &mut options.depth),
            b"fanout" => ("fanout", &mut options.fanout),
            b"files" => ("files", &mut options.files),
            b"expire_ms" => ("expire_ms", &mut options.expire_ms),
            _ => return Ok(false),
        };
        let n = parse_u32(key, value)?;
        if key == "expire_ms" {
            if n > EXPIRE_MS_MAX {
                return Err(OptionError::ExpireMs(n));
            }
            if n > 0 && cfg!(not(shrinkfs_expiry)) {
                return Err(OptionError::NoExpiry);
            }
        }
        *slot = Some(n);
        Ok(true)
    }

    fn new_super(options: &Options) -> Result<Mount, OptionError> {
        let geometry = Geometry::new(
            options.depth.unwrap_or(DEFAULT_DEPTH),
            options.fanout.unwrap_or(DEFAULT_FANOUT),
            options.files.unwrap_or(DEFAULT_FILES),
        )
        .map_err(OptionError::Geometry)?;
        Ok(Mount {
            geometry,
            expire_ms: options.expire_ms.unwrap_or(0),
            counters: Counters::default(),
        })
    }

    fn reconfigure(mount: &Mount, options: &Options) -> Result<(), OptionError> {
        let (depth, fanout, files) = mount.geometry.shape();
        for (key, asked, mounted) in [
            ("depth", options.depth, depth),
            ("fanout", options.fanout, fanout),
            ("files", options.files, files),
            ("expire_ms", options.expire_ms, mount.expire_ms),
        ] {
            match asked {
                Some(asked) if asked != mounted => {
                    return Err(OptionError::Remount {
                        key,
                        mounted,
                        asked,
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn expire_ms(mount: &Mount) -> u32 {
        mount.expire_ms
    }

    fn root_ino(mount: &Mount) -> u64 {
        mount.geometry.root_ino()
    }

    fn inode_kind(mount: &Mount, ino: u64) -> Option<InodeKind> {
        let g = &mount.geometry;
        Some(match g.node(ino)? {
            Node::Dir(d) => InodeKind::Dir {
                nlink: 2 + g.subdirs(d),
            },
            file => InodeKind::File {
                size: g.content_len(file) as u64,
            },
        })
    }

    fn lookup(mount: &Mount, dir: u64, name: &[u8]) -> Option<u64> {
        let g = &mount.geometry;
        let Node::Dir(d) = g.node(dir)? else {
            return None;
        };
        g.lookup(d, name).map(|entry| entry.ino)
    }

    fn dir_entry(mount: &Mount, dir: u64, index: u64) -> Option<DirEntry> {
        let g = &mount.geometry;
        let Node::Dir(d) = g.node(dir)? else {
            return None;
        };
        let entry = g.entry(d, index)?;
        let mut name = [0u8; NAME_LEN];
        let name_len = entry.name(g).write(&mut name).len();
        Some(DirEntry {
            name,
            name_len,
            ino: entry.ino,
            is_dir: matches!(entry.node, Node::Dir(_)),
        })
    }

    fn write_content(mount: &Mount, ino: u64, out: &mut dyn fmt::Write) -> fmt::Result {
        match mount.geometry.node(ino) {
            Some(file @ Node::File { .. }) => mount.geometry.write_content(file, &mut Adapter(out)),
            _ => Err(fmt::Error),
        }
    }

    fn ioctl(mount: &Mount, dir: &Directory<'_>, cmd: u32, arg: usize) -> Result<i64> {
        if !IOCTLS.contains(&cmd) {
            return Err(ENOTTY);
        }
        if !vfs::capable_sys_admin() {
            return Err(EPERM);
        }
        let c = &mount.counters;
        match cmd {
            IOC_STATS => {
                let stats = c.to_uapi();
                UserSlice::new(arg, stats.len())
                    .writer()
                    .write_slice(&stats)?;
            }
            IOC_REAP if arg > REAP_HOLD_MAX_MS => return Err(EINVAL),
            IOC_REAP => return reap(arg),
            IOC_EXPIRE if arg != 0 => return Err(EINVAL),
            IOC_EXPIRE => return expire(),
            // The others take no argument.
            _ if arg != 0 => return Err(EINVAL),
            IOC_SHRINK => {
                c.shrink_requests.fetch_add(1, Ordering::Relaxed);
                dir.shrink_subtree();
            }
            _ => {
                c.generation_bumps.fetch_add(1, Ordering::Relaxed);
                dir.bump_generation();
            }
        }
        Ok(0)
    }

    fn write_stats(mount: &Mount, out: &mut dyn fmt::Write) -> fmt::Result {
        mount.counters.write_text(out)
    }

    fn race_window() {
        crate::params::race_window();
    }

    fn evict_delay() {
        crate::params::evict_delay();
    }

    fn event(mount: &Mount, event: Event) {
        let c = &mount.counters;
        match event {
            Event::Lookup => c.lookups.fetch_add(1, Ordering::Relaxed),
            Event::DentryInit => c.dentries_alive.fetch_add(1, Ordering::Relaxed) as u64,
            Event::DentryRelease => {
                c.dentries_alive.fetch_sub(1, Ordering::Relaxed);
                c.dentry_releases.fetch_add(1, Ordering::Relaxed)
            }
            Event::InodeNew => c.inodes_alive.fetch_add(1, Ordering::Relaxed) as u64,
            Event::InodeEvict => {
                c.inodes_alive.fetch_sub(1, Ordering::Relaxed);
                c.evictions.fetch_add(1, Ordering::Relaxed)
            }
            Event::Stale => c.stale_dentries.fetch_add(1, Ordering::Relaxed),
            Event::Reaped => c.reaped.fetch_add(1, Ordering::Relaxed),
            Event::ShrinkerCall => c.shrinker_calls.fetch_add(1, Ordering::Relaxed),
            Event::Expired => c.expired.fetch_add(1, Ordering::Relaxed),
            Event::ExpiryUnindexed => c.expiry_unindexed.fetch_add(1, Ordering::Relaxed),
            Event::ExpiryPass => c.expiry_passes.fetch_add(1, Ordering::Relaxed),
            Event::ExpiryDisposed => c.expiry_disposed.fetch_add(1, Ordering::Relaxed),
            Event::ExpiryBusy => c.expiry_busy.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Lets the geometry's `impl fmt::Write` writers write into a `dyn` one.
struct Adapter<'a>(&'a mut dyn fmt::Write);

impl fmt::Write for Adapter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }
}
