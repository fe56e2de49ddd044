// SPDX-License-Identifier: GPL-2.0

//! Superblocks: setting one up, its per-filesystem state, tearing it down.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use kernel::bindings;
use kernel::prelude::*;

use super::{inode, operations, FileSystem};

/// `SB_RDONLY` of include/linux/fs.h: `BIT(0)`, which bindgen cannot evaluate.
const SB_RDONLY: usize = 1 << 0;

/// The state of superblock `sb`.
///
/// # Safety
///
/// `sb` is a superblock of `T` that [`fill`] gave its state, and `kill_sb`
/// has not dropped that state yet: true in every callback the VFS makes for
/// the superblock's dentries and inodes, since `kill_sb` drops the state only
/// after `kill_anon_super()` has released all of them.
pub(super) unsafe fn data<'a, T: FileSystem>(sb: *mut bindings::super_block) -> &'a T::Data {
    // SAFETY: By the caller's guarantee `s_fs_info` holds a live
    // `KBox<T::Data>`, which is only read until `kill_sb` drops it.
    unsafe { &*(*sb).s_fs_info.cast::<T::Data>() }
}

/// Sets up a new superblock: state, operations, root directory.
///
/// # Safety
///
/// `sb` is a new superblock of `T` inside `fill_super`, not yet visible to
/// anyone else.
pub(super) unsafe fn fill<T: FileSystem>(sb: *mut bindings::super_block, data: T::Data) -> Result {
    let data = KBox::new(data, GFP_KERNEL)?;
    let root_ino = T::root_ino(&data);
    // SAFETY: The superblock is valid and unshared (caller), so plain writes
    // cannot race. The state box is released in `kill_sb`, which the VFS
    // calls even if the rest of this function fails.
    unsafe {
        (*sb).s_fs_info = KBox::into_raw(data).cast();
        (*sb).s_magic = T::MAGIC as _;
        (*sb).s_op = operations::super_operations::<T>();
        (*sb).s_d_op = operations::dentry_operations::<T>();
        (*sb).s_blocksize = bindings::PAGE_SIZE as _;
        (*sb).s_blocksize_bits = bindings::PAGE_SHIFT as _;
        (*sb).s_time_gran = 1;
        (*sb).s_flags |= SB_RDONLY;
    }
    // SAFETY: `sb` is a valid superblock of `T` whose state is set.
    let root = unsafe { inode::iget::<T>(sb, root_ino) }?;
    // SAFETY: `d_make_root()` takes over the inode reference, also on failure.
    let dentry = unsafe { bindings::d_make_root(root) };
    if dentry.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: As above, the superblock is not shared yet.
    unsafe { (*sb).s_root = dentry };
    Ok(())
}

/// `kill_sb`: the anonymous-superblock teardown, then the state. A callback
/// of the superblock that comes after this finds the state freed, which KASAN
/// reports.
///
/// # Safety
///
/// Called by the VFS with a superblock of `T` being shut down.
pub(super) unsafe extern "C" fn kill_sb<T: FileSystem>(sb: *mut bindings::super_block) {
    // SAFETY: `sb` is valid until `kill_anon_super()` returns (caller).
    let data = unsafe { (*sb).s_fs_info }.cast::<T::Data>();
    // SAFETY: Guaranteed by the caller.
    unsafe { bindings::kill_anon_super(sb) };
    if !data.is_null() {
        // SAFETY: `fill` leaked this box into `s_fs_info`; the superblock's
        // dentries and inodes are all gone, and this is its only release.
        drop(unsafe { KBox::from_raw(data) });
    }
}
