// SPDX-License-Identifier: GPL-2.0

//! Superblocks being set up.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use core::marker::PhantomData;

use kernel::bindings;
use kernel::error::from_err_ptr;
use kernel::prelude::*;

use super::{FileSystem, NewInode};

/// `SB_RDONLY` of include/linux/fs.h: `BIT(0)`, which bindgen cannot evaluate.
const SB_RDONLY: usize = 1 << 0;

/// The superblock operations every shrinkfs mount uses: libfs's `statfs`,
/// and inodes dropped with their last reference (their dentries keep them).
static SUPER_OPERATIONS: bindings::super_operations = bindings::super_operations {
    statfs: Some(bindings::simple_statfs),
    drop_inode: Some(bindings::generic_delete_inode),
    // SAFETY: All-zero is valid for the remaining fields: `None` callbacks.
    ..unsafe { core::mem::zeroed() }
};

/// A superblock inside `fill_super`: locked, not yet visible to anyone else.
///
/// # Invariants
///
/// `ptr` is a valid superblock that `get_tree_nodev()` is setting up, for `'a`.
pub(crate) struct NewSuperBlock<'a> {
    ptr: *mut bindings::super_block,
    _lifetime: PhantomData<&'a mut bindings::super_block>,
}

impl NewSuperBlock<'_> {
    /// # Safety
    ///
    /// `ptr` is a superblock in `fill_super`, valid while the result lives.
    pub(super) unsafe fn from_raw(ptr: *mut bindings::super_block) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            ptr,
            _lifetime: PhantomData,
        }
    }

    /// Sets the fields every mount of `T` shares.
    pub(super) fn init<T: FileSystem>(&self) {
        // SAFETY: By the type invariant the superblock is valid and not yet
        // shared, so plain writes cannot race.
        unsafe {
            (*self.ptr).s_magic = T::MAGIC as _;
            (*self.ptr).s_op = &SUPER_OPERATIONS;
            (*self.ptr).s_blocksize = bindings::PAGE_SIZE as _;
            (*self.ptr).s_blocksize_bits = bindings::PAGE_SHIFT as _;
            (*self.ptr).s_time_gran = 1;
            (*self.ptr).s_flags |= SB_RDONLY;
        }
    }

    /// A new inode of this superblock.
    pub(crate) fn new_inode(&self) -> Result<NewInode> {
        // SAFETY: The superblock is valid (type invariant).
        let inode = from_err_ptr(unsafe { bindings::new_inode(self.ptr) })?;
        if inode.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `new_inode()` returned a new inode holding one reference,
        // which passes to the `NewInode`.
        Ok(unsafe { NewInode::from_raw(inode) })
    }

    pub(super) fn set_root(&self, root: NewInode) -> Result {
        // SAFETY: `d_make_root()` consumes the inode reference (it calls
        // `iput()` itself on failure); the superblock is valid and unshared.
        unsafe {
            let dentry = bindings::d_make_root(root.into_raw());
            if dentry.is_null() {
                return Err(ENOMEM);
            }
            (*self.ptr).s_root = dentry;
        }
        Ok(())
    }
}
