// SPDX-License-Identifier: GPL-2.0

//! A thin, safe layer over the VFS objects shrinkfs needs.
//!
//! 6.12 has no `kernel::fs`, so this layer follows the shape of
//! `kernel::block::mq`: a trait the filesystem implements, operation tables
//! built per implementation as constants, and C callbacks that dispatch to
//! the trait. Every `unsafe` block of the module lives below this directory,
//! but for `params.rs`, the calls into the C module parameters;
//! `helpers.c` holds what 6.12's Rust bindings cannot reach.
//!
//! Layers, each using only those before it:
//! 1. `ffi`: `helpers.c`'s functions and the constants copied by hand.
//! 2. Object wrappers, one C object each: `spinlock`, `dentry`, `inode`,
//!    `sysfs`, `fs_type`, `super_block`, `shrink_list`, `expiry_index`.
//! 3. The operation tables and their C callbacks: `operations`,
//!    `fs_context`, `registration`.
//! 4. What is built on them: `reaper`, `expiry`.
//!
//! The [`FileSystem`] trait and its plain types sit here, above all of
//! them: layers 2 and 3 are generic over it, and it names one wrapper
//! ([`Directory`]) in a signature. That is the one cycle, between a trait and
//! the objects it is implemented over, as in `kernel::block::mq`.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h),
//! [`include/linux/dcache.h`](srctree/include/linux/dcache.h)

// The C side: `helpers.c`'s functions and the constants copied by hand.
mod ffi;

// Object wrappers, one C object each.
mod dentry;
#[cfg(shrinkfs_expiry)]
mod expiry_index;
mod fs_type;
mod inode;
#[cfg(shrinkfs_reaper)]
mod shrink_list;
#[cfg(shrinkfs_reaper)]
mod spinlock;
mod super_block;
mod sysfs;

// The operation tables and the C callbacks in them.
mod fs_context;
mod operations;
mod registration;

// What the layer does on top: the reaper and the expiry pass.
#[cfg(shrinkfs_expiry)]
mod expiry;
#[cfg(shrinkfs_reaper)]
mod reaper;

pub(crate) use dentry::Directory;
#[cfg(shrinkfs_expiry)]
pub(crate) use expiry::expire;
pub(crate) use fs_type::FileSystemType;
#[cfg(shrinkfs_reaper)]
pub(crate) use reaper::reap;
pub(crate) use registration::Registration;

use core::fmt;

use kernel::prelude::*;

/// Longest name [`FileSystem::dir_entry`] can return.
pub(crate) const NAME_LEN: usize = 24;

/// What an inode is, as the filesystem describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InodeKind {
    /// A read-only directory with `nlink` links.
    Dir { nlink: u32 },
    /// A read-only regular file of `size` bytes.
    File { size: u64 },
}

/// One entry of a directory listing.
pub(crate) struct DirEntry {
    pub(crate) name: [u8; NAME_LEN],
    pub(crate) name_len: usize,
    pub(crate) ino: u64,
    pub(crate) is_dir: bool,
}

/// Things that happen to a superblock's objects, for the filesystem's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// `->lookup` ran.
    Lookup,
    /// A dentry was allocated (`->d_init`).
    DentryInit,
    /// A dentry is being freed (`->d_release`).
    DentryRelease,
    /// An inode was read in (`iget_locked()` found it new).
    InodeNew,
    /// An inode was evicted (`->evict_inode`).
    InodeEvict,
    /// The memory shrinker counted or scanned the superblock.
    ShrinkerCall,
    /// `->d_revalidate` found a dentry older than its directory's generation.
    Stale,
    /// The cross-superblock reaper put one of the superblock's dentries on
    /// its private shrink list.
    #[cfg_attr(not(shrinkfs_reaper), allow(dead_code))]
    Reaped,
    /// `->d_revalidate` found a dentry past its expiry deadline.
    #[cfg_attr(not(shrinkfs_expiry), allow(dead_code))]
    Expired,
    /// A lookup could not index its dentry for expiry: the bucket was full.
    #[cfg_attr(not(shrinkfs_expiry), allow(dead_code))]
    ExpiryUnindexed,
    /// The expiry pass visited the superblock.
    #[cfg_attr(not(shrinkfs_expiry), allow(dead_code))]
    ExpiryPass,
    /// The expiry pass put an expired, unused dentry on its shrink list.
    #[cfg_attr(not(shrinkfs_expiry), allow(dead_code))]
    ExpiryDisposed,
    /// The expiry pass left an expired dentry alone: in use, dying, or on
    /// another shrink list.
    #[cfg_attr(not(shrinkfs_expiry), allow(dead_code))]
    ExpiryBusy,
}

/// A read-only filesystem whose namespace the implementation computes.
///
/// Inodes are identified by number; the layer keeps them in the inode cache
/// and their dentries in the dcache, and asks the filesystem only what an
/// inode number is, what a directory holds and what a file says.
///
/// A `#[vtable]`: an operation left out (`reconfigure`, `ioctl`) leaves its
/// C callback unset, as in the C tables of a filesystem that has none.
#[vtable]
pub(crate) trait FileSystem: Sized + 'static {
    /// The name `mount -t` takes.
    const NAME: &'static CStr;

    /// `statfs(2)`'s `f_type`.
    const MAGIC: u64;

    /// Mount options as parsed so far. A mount context, and so its options,
    /// may be made by one task and freed by another.
    type Options: Default + Send;

    /// Per-superblock state (`s_fs_info`). It is dropped by `kill_sb` after
    /// every dentry and inode of the superblock is gone.
    type Data: Send + Sync;

    /// Why an option or a set of options is refused: one line for the log.
    type OptionError: fmt::Display;

    /// Parses `key[=value]`: `Ok(true)` if it is one of the filesystem's
    /// options, `Ok(false)` if not (the VFS handles `source` and refuses the
    /// rest).
    fn parse_option(
        options: &mut Self::Options,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<bool, Self::OptionError>;

    /// The state of a new superblock mounted with `options`.
    fn new_super(options: &Self::Options) -> Result<Self::Data, Self::OptionError>;

    /// Whether a remount with `options` may go ahead on a superblock with
    /// state `data`; the superblock stays read-only either way. Without it
    /// a remount may change nothing but flags.
    fn reconfigure(_data: &Self::Data, _options: &Self::Options) -> Result<(), Self::OptionError> {
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Milliseconds after its lookup at which a dentry of the superblock
    /// expires: `->d_revalidate` then fails it, and the expiry pass
    /// ([`expire`]) disposes of it if unused. 0: never.
    fn expire_ms(_data: &Self::Data) -> u32 {
        0
    }

    fn root_ino(data: &Self::Data) -> u64;

    /// What inode `ino` is, or `None` if the filesystem has no such inode.
    fn inode_kind(data: &Self::Data, ino: u64) -> Option<InodeKind>;

    /// The inode number of `name` in directory `dir`, or `None` (the VFS then
    /// caches a negative dentry).
    fn lookup(data: &Self::Data, dir: u64, name: &[u8]) -> Option<u64>;

    /// The `index`-th entry of directory `dir` after `.` and `..`.
    fn dir_entry(data: &Self::Data, dir: u64, index: u64) -> Option<DirEntry>;

    /// Writes the content of regular file `ino`.
    fn write_content(data: &Self::Data, ino: u64, out: &mut dyn fmt::Write) -> fmt::Result;

    /// Counts what happens to the superblock's objects.
    fn event(_data: &Self::Data, _event: Event) {}

    /// Writes the superblock's counters as text, for
    /// `/sys/fs/<type>/<major>:<minor>/stats`.
    fn write_stats(data: &Self::Data, out: &mut dyn fmt::Write) -> fmt::Result;

    /// Runs where a late or racing callback would do harm: in
    /// `->evict_inode` and `->d_release` before they touch the state, and in
    /// the reaper between collecting and killing, each in process context
    /// without locks. A filesystem may sleep here to widen those race
    /// windows.
    fn race_window() {}

    /// Called by `->evict_inode` once the eviction is counted; may sleep,
    /// as a filesystem that writes an inode back or frees its storage does.
    fn evict_delay() {}

    /// `ioctl(2)` on directory `dir`, with the raw command and argument.
    /// Without it, directories have no `unlocked_ioctl` (`ENOTTY`).
    fn ioctl(_data: &Self::Data, _dir: &Directory<'_>, _cmd: u32, _arg: usize) -> Result<i64> {
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// Whether the calling task may administer the system (`CAP_SYS_ADMIN`).
pub(crate) fn capable_sys_admin() -> bool {
    // SAFETY: `capable()` only looks at the current task's credentials.
    unsafe { kernel::bindings::capable(kernel::bindings::CAP_SYS_ADMIN as _) }
}

/// A kernel `WARN()` with a formatted message: a splat the rig fails on.
pub(crate) fn warn(args: fmt::Arguments<'_>) {
    let msg = kernel::str::CString::try_from_fmt(args);
    let msg = msg
        .as_deref()
        .unwrap_or(kernel::c_str!("(message lost: out of memory)"));
    // SAFETY: `msg` is a NUL-terminated string that outlives the call.
    unsafe { ffi::shrinkfs_vfs_warn(msg.as_char_ptr()) };
}
