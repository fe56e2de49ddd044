// SPDX-License-Identifier: GPL-2.0

//! Inodes, found in or read into the inode cache by number.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use kernel::bindings;
use kernel::prelude::*;

use super::{operations, super_block, Event, FileSystem, InodeKind};

/// Returns inode `ino` of `sb` with one reference the caller owns, reading it
/// in through [`FileSystem::inode_kind`] if the inode cache does not hold it.
///
/// # Safety
///
/// `sb` is a live superblock of `T` with its state set.
pub(super) unsafe fn iget<T: FileSystem>(
    sb: *mut bindings::super_block,
    ino: u64,
) -> Result<*mut bindings::inode> {
    // SAFETY: `sb` is live (caller).
    let inode = unsafe { bindings::iget_locked(sb, ino as _) };
    if inode.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `iget_locked()` returned a referenced inode; `i_state` is only
    // read here, and `I_NEW` stays set until we unlock it below.
    if unsafe { (*inode).i_state } & bindings::I_NEW == 0 {
        return Ok(inode);
    }
    // SAFETY: Guaranteed by the caller.
    let data = unsafe { super_block::data::<T>(sb) };
    let Some(kind) = T::inode_kind(data, ino) else {
        // SAFETY: The inode is new and locked; this drops our reference.
        unsafe { bindings::iget_failed(inode) };
        return Err(ENOENT);
    };
    // SAFETY: A new inode is locked (`I_NEW`) and invisible to everyone but
    // us until `unlock_new_inode()`, so its fields can be written freely; the
    // operation tables are constants of `T` with static lifetime.
    unsafe {
        match kind {
            InodeKind::Dir { nlink } => {
                (*inode).i_mode = (bindings::S_IFDIR | 0o555) as _;
                (*inode).i_op = operations::dir_inode_operations::<T>();
                (*inode).__bindgen_anon_3.i_fop = operations::dir_file_operations::<T>();
                bindings::set_nlink(inode, nlink);
            }
            InodeKind::File { size } => {
                (*inode).i_mode = (bindings::S_IFREG | 0o444) as _;
                (*inode).__bindgen_anon_3.i_fop = operations::file_operations::<T>();
                (*inode).i_size = size as _;
                bindings::set_nlink(inode, 1);
            }
        }
        bindings::simple_inode_init_ts(inode);
        T::event(data, Event::InodeNew);
        bindings::unlock_new_inode(inode);
    }
    Ok(inode)
}
