// SPDX-License-Identifier: GPL-2.0

//! Inodes, found in or read into the inode cache by number.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::AtomicUsize;

use kernel::bindings;
use kernel::prelude::*;

use super::{Event, FileSystem, InodeKind};

/// The operation tables a new inode of a filesystem gets, by kind.
pub(super) struct InodeOps {
    pub(super) dir_inode: &'static bindings::inode_operations,
    pub(super) dir_file: &'static bindings::file_operations,
    pub(super) file: &'static bindings::file_operations,
}

/// The generation of directory `inode`, kept in its `i_private`.
///
/// # Safety
///
/// `inode` is a live inode of a shrinkfs mount: nothing but this function
/// touches `i_private` of those, and only atomically.
pub(super) unsafe fn generation<'a>(inode: *mut bindings::inode) -> &'a AtomicUsize {
    // SAFETY: `i_private` is a pointer-sized, pointer-aligned field of a live
    // inode that is only ever accessed through this atomic view (caller).
    unsafe { AtomicUsize::from_ptr(ptr::addr_of_mut!((*inode).i_private).cast()) }
}

/// A new inode, locked (`I_NEW`) and seen by nobody but its creator: set up
/// and published by [`New::publish`], or failed with `iget_failed()` when
/// dropped.
///
/// Its birth is counted ([`Event::InodeNew`]) when it is made, so that the
/// eviction `iget_failed()` runs has its matching event.
///
/// # Invariants
///
/// `inode` is a new inode of a superblock of `T` with `I_NEW` set, and this
/// owns the reference `iget_locked()` returned for it.
struct New<T: FileSystem> {
    inode: *mut bindings::inode,
    _fs: PhantomData<T>,
}

impl<T: FileSystem> New<T> {
    /// Gives the inode its kind and unlocks it for everyone.
    fn publish(self, kind: InodeKind, ops: &InodeOps) -> *mut bindings::inode {
        let inode = self.inode;
        core::mem::forget(self);
        // SAFETY: A new inode is locked (`I_NEW`) and invisible to everyone
        // but us until `unlock_new_inode()` (type invariant), so its fields
        // can be written freely; the operation tables `ops` are static.
        unsafe {
            match kind {
                InodeKind::Dir { nlink } => {
                    (*inode).i_mode = (bindings::S_IFDIR | 0o555) as _;
                    (*inode).i_op = ops.dir_inode;
                    (*inode).__bindgen_anon_3.i_fop = ops.dir_file;
                    bindings::set_nlink(inode, nlink);
                }
                InodeKind::File { size } => {
                    (*inode).i_mode = (bindings::S_IFREG | 0o444) as _;
                    (*inode).__bindgen_anon_3.i_fop = ops.file;
                    (*inode).i_size = size as _;
                    bindings::set_nlink(inode, 1);
                }
            }
            bindings::simple_inode_init_ts(inode);
            bindings::unlock_new_inode(inode);
        }
        inode
    }
}

impl<T: FileSystem> Drop for New<T> {
    fn drop(&mut self) {
        // SAFETY: The inode is new and locked, and this owns its reference
        // (type invariant), which `iget_failed()` drops.
        unsafe { bindings::iget_failed(self.inode) };
    }
}

/// Returns inode `ino` of `sb` with one reference the caller owns, reading it
/// in through [`FileSystem::inode_kind`] if the inode cache does not hold it,
/// with the operation tables `ops`.
///
/// # Safety
///
/// `sb` is a live superblock of `T` and `data` its state.
pub(super) unsafe fn iget<T: FileSystem>(
    sb: *mut bindings::super_block,
    data: &T::Data,
    ino: u64,
    ops: &InodeOps,
) -> Result<*mut bindings::inode> {
    // SAFETY: `sb` is live (caller).
    let inode = unsafe { bindings::iget_locked(sb, ino as _) };
    if inode.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `iget_locked()` returned a referenced inode. Only its creator
    // clears `I_NEW`, but other bits of a cached inode's `i_state` change
    // under `i_lock` meanwhile: one untorn read, as `READ_ONCE()` does.
    let i_state = unsafe { ptr::read_volatile(ptr::addr_of!((*inode).i_state)) };
    if i_state & bindings::I_NEW == 0 {
        return Ok(inode);
    }
    T::event(data, Event::InodeNew);
    // INVARIANT: `iget_locked()` made it new and gave us its reference.
    let new = New::<T> {
        inode,
        _fs: PhantomData,
    };
    match T::inode_kind(data, ino) {
        Some(kind) => Ok(new.publish(kind, ops)),
        // Dropping `new` fails the inode.
        None => Err(ENOENT),
    }
}
