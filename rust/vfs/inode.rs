// SPDX-License-Identifier: GPL-2.0

//! Inodes being set up.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use core::mem::ManuallyDrop;

use kernel::bindings;

/// A new inode, not yet reachable through any dentry, owning one reference.
///
/// # Invariants
///
/// `ptr` is a valid inode from `new_inode()` that only this object knows of,
/// and this object owns one reference to it.
pub(crate) struct NewInode {
    ptr: *mut bindings::inode,
}

impl NewInode {
    /// # Safety
    ///
    /// `ptr` is a new inode nobody else can reach; its one reference passes to
    /// the result.
    pub(super) unsafe fn from_raw(ptr: *mut bindings::inode) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self { ptr }
    }

    /// Makes it a read-only, libfs-managed directory with inode number `ino`.
    pub(crate) fn make_dir(self, ino: u64) -> Self {
        // SAFETY: The inode is valid and unreachable by others (type
        // invariant), so writing its fields cannot race; the operation tables
        // are statics of the kernel.
        unsafe {
            (*self.ptr).i_ino = ino as _;
            (*self.ptr).i_mode = (bindings::S_IFDIR | 0o555) as _;
            (*self.ptr).i_op = &bindings::simple_dir_inode_operations;
            (*self.ptr).__bindgen_anon_3.i_fop = &bindings::simple_dir_operations;
            bindings::set_nlink(self.ptr, 2);
            bindings::simple_inode_init_ts(self.ptr);
        }
        self
    }

    /// Gives up ownership of the reference.
    pub(super) fn into_raw(self) -> *mut bindings::inode {
        ManuallyDrop::new(self).ptr
    }
}

impl Drop for NewInode {
    fn drop(&mut self) {
        // SAFETY: This object owns one reference (type invariant).
        unsafe { bindings::iput(self.ptr) };
    }
}
