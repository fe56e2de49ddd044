// SPDX-License-Identifier: GPL-2.0

//! Superblocks: setting one up, its per-filesystem state, tearing it down.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use core::ptr;

use kernel::bindings;
use kernel::prelude::*;

#[cfg(shrinkfs_expiry)]
use super::expiry_index::ExpiryIndex;
use super::ffi::{ShowFn, SB_RDONLY};
use super::fs_type::FileSystemType;
use super::inode::{self, InodeOps};
use super::sysfs::SysfsDir;
use super::FileSystem;

/// What a new superblock of a filesystem is set up with.
pub(super) struct SuperOps {
    pub(super) sb: &'static bindings::super_operations,
    pub(super) dentry: &'static bindings::dentry_operations,
    pub(super) inodes: &'static InodeOps,
    /// Formats the superblock's `stats` file in sysfs.
    pub(super) show_stats: ShowFn,
}

/// What `s_fs_info` points at.
///
/// Callbacks borrow `data` only; `sysfs` is touched by [`fill`] and
/// [`kill`] alone, through raw pointers, so the two never alias.
struct SuperState<T: FileSystem> {
    data: T::Data,
    /// The dentries that expire, for a mount with an expiry time.
    #[cfg(shrinkfs_expiry)]
    expiry: Option<ExpiryIndex>,
    /// `/sys/fs/<type>/<major>:<minor>/`; gone before `data` is.
    sysfs: Option<SysfsDir>,
}

/// The state of superblock `sb`.
///
/// # Safety
///
/// `sb` is a superblock of `T` that [`fill`] gave its state, and [`kill`]
/// has not dropped that state yet: true in every callback the VFS makes for
/// the superblock's dentries and inodes, since `kill` drops the state only
/// after `kill_anon_super()` has released all of them.
pub(super) unsafe fn data<'a, T: FileSystem>(sb: *mut bindings::super_block) -> &'a T::Data {
    // SAFETY: By the caller's guarantee `s_fs_info` holds a live
    // `KBox<SuperState<T>>`, whose `data` is only read until `kill` drops it.
    unsafe { &(*(*sb).s_fs_info.cast::<SuperState<T>>()).data }
}

/// The state of superblock `sb` and its expiry index, if it has one.
///
/// # Safety
///
/// As [`data`].
#[cfg(shrinkfs_expiry)]
pub(super) unsafe fn expiry<'a, T: FileSystem>(
    sb: *mut bindings::super_block,
) -> Option<(&'a T::Data, &'a ExpiryIndex)> {
    // SAFETY: As in `data`; `expiry` is set by `fill` before the superblock
    // has dentries, and only read until `kill` drops the state.
    let state = unsafe { &*(*sb).s_fs_info.cast::<SuperState<T>>() };
    state.expiry.as_ref().map(|index| (&state.data, index))
}

/// Sets up a new superblock: state, operations `ops`, root directory.
///
/// # Safety
///
/// `sb` is a new superblock of `T` inside `fill_super`, not yet visible to
/// anyone else.
pub(super) unsafe fn fill<T: FileSystem>(
    sb: *mut bindings::super_block,
    data: T::Data,
    ops: &SuperOps,
) -> Result {
    let root_ino = T::root_ino(&data);
    #[cfg(shrinkfs_expiry)]
    let expiry = match T::expire_ms(&data) {
        0 => None,
        ms => Some(ExpiryIndex::new(ms)?),
    };
    let state = KBox::new(
        SuperState::<T> {
            data,
            #[cfg(shrinkfs_expiry)]
            expiry,
            sysfs: None,
        },
        GFP_KERNEL,
    )?;
    let state = KBox::into_raw(state);
    // SAFETY: The superblock is valid and unshared (caller), so plain writes
    // cannot race. The state box is released in `kill`, which `kill_sb`
    // calls even if the rest of this function fails.
    unsafe {
        (*sb).s_fs_info = state.cast();
        (*sb).s_magic = T::MAGIC as _;
        (*sb).s_op = ops.sb;
        (*sb).s_d_op = ops.dentry;
        (*sb).s_blocksize = bindings::PAGE_SIZE as _;
        (*sb).s_blocksize_bits = bindings::PAGE_SHIFT as _;
        (*sb).s_time_gran = 1;
        (*sb).s_flags |= SB_RDONLY;
    }
    // SAFETY: `sb` is a superblock of `T`, so `s_type` is the registered
    // `FileSystemType<T>` (a mount holds the registration); `sb` has its state
    // and its anonymous device, and `kill` removes the directory before it
    // drops the state; `show_stats` reads the state of a superblock of `T`.
    let sysfs = unsafe {
        FileSystemType::<T>::from_raw((*sb).s_type)
            .sysfs()
            .for_super(sb, ops.show_stats)
    }?;
    // SAFETY: Nobody else touches `sysfs` (see `SuperState`).
    unsafe { ptr::addr_of_mut!((*state).sysfs).write(Some(sysfs)) };
    // SAFETY: `sb` is a valid superblock of `T` and `state` its state, which
    // lives until `kill` (above).
    let root = unsafe { inode::iget::<T>(sb, &(*state).data, root_ino, ops.inodes) }?;
    // SAFETY: `d_make_root()` takes over the inode reference, also on failure.
    let dentry = unsafe { bindings::d_make_root(root) };
    if dentry.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: As above, the superblock is not shared yet.
    unsafe { (*sb).s_root = dentry };
    Ok(())
}

/// Tears a superblock down: the sysfs directory (before `kill_anon_super()`
/// frees the device number that names it), the anonymous-superblock
/// teardown, then the state. No callback of the superblock comes after:
/// `kill_anon_super()`'s `generic_shutdown_super()` kills every dentry and
/// evicts every inode, and the shrinker is gone, before it returns.
///
/// # Safety
///
/// `sb` is a superblock of `T` being shut down (`kill_sb`).
pub(super) unsafe fn kill<T: FileSystem>(sb: *mut bindings::super_block) {
    // SAFETY: `sb` is valid until `kill_anon_super()` returns (caller).
    let state = unsafe { (*sb).s_fs_info }.cast::<SuperState<T>>();
    if !state.is_null() {
        // SAFETY: `fill` set the state; nobody else touches `sysfs` (see
        // `SuperState`), and removing it waits for reads in progress.
        drop(unsafe { ptr::addr_of_mut!((*state).sysfs).replace(None) });
    }
    // SAFETY: Guaranteed by the caller.
    unsafe { bindings::kill_anon_super(sb) };
    if !state.is_null() {
        // SAFETY: `fill` leaked this box into `s_fs_info`; the superblock's
        // dentries and inodes are all gone, and this is its only release.
        drop(unsafe { KBox::from_raw(state) });
    }
}
