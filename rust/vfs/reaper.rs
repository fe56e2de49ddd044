// SPDX-License-Identifier: GPL-2.0

//! The cross-superblock reaper: unused dentries of every mounted superblock
//! of a type go onto one private shrink list, collected under spinlocks with
//! `dput_to_list()`, and are killed later with `shrink_dentry_list()`.
//!
//! This reproduces the reclaimer of the series' seed discussion, whose list
//! held dentries of a superblock being unmounted. It needs the series' first
//! patch (the two functions exported); Kbuild builds it only when the target
//! kernel's `Module.symvers` has `dput_to_list`.
//!
//! C header: [`include/linux/dcache.h`](srctree/include/linux/dcache.h)

use core::ffi::c_void;
use core::mem::offset_of;
use core::ptr;

use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

use super::fs_type::FileSystemType;
use super::{super_block, Event, FileSystem};

/// `DCACHE_SHRINK_LIST` of include/linux/dcache.h: `BIT(10)`.
const DCACHE_SHRINK_LIST: u32 = 1 << 10;
/// `S_IFMT` of include/uapi/linux/stat.h.
const S_IFMT: u32 = 0o170000;

/// A private shrink list; what is on it is killed when it is dropped.
///
/// Locking contract: dentries go on with [`ShrinkList::put`], which may run
/// under spinlocks (never a `d_lock`); the list owns every dentry on it
/// (`DCACHE_SHRINK_LIST`), and a concurrent `shrink_dcache_parent()`, umount's
/// included, waits for those or kills them itself, leaving them to this list
/// to free. Dropping the list kills what is left and may sleep.
///
/// # Invariants
///
/// `head` is an initialised `list_head` whose entries are dentries' `d_lru`.
pub(crate) struct ShrinkList {
    head: Pin<KBox<Opaque<bindings::list_head>>>,
    len: usize,
}

impl ShrinkList {
    pub(crate) fn new() -> Result<Self> {
        let head = KBox::pin(Opaque::<bindings::list_head>::uninit(), GFP_KERNEL)?;
        let raw = head.get();
        // SAFETY: `raw` is valid, pinned memory; an empty list points at itself.
        unsafe {
            (*raw).next = raw;
            (*raw).prev = raw;
        }
        // INVARIANT: The head was just initialised as an empty list.
        Ok(Self { head, len: 0 })
    }

    /// Drops one reference to `dentry` onto the list.
    ///
    /// # Safety
    ///
    /// The caller owns a reference to `dentry`, which this call consumes, and
    /// holds no `d_lock`.
    unsafe fn put(&mut self, dentry: *mut bindings::dentry) {
        // SAFETY: Guaranteed by the caller; the head is a valid list.
        unsafe { bindings::dput_to_list(dentry, self.head.get()) };
        self.len += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for ShrinkList {
    fn drop(&mut self) {
        // SAFETY: The head is a valid list of dentries this list owns; the
        // drop happens in process context, where killing may sleep.
        unsafe { bindings::shrink_dentry_list(self.head.get()) };
    }
}

/// What one collection pass may take, and what it took.
struct Collect<'a> {
    list: &'a mut ShrinkList,
    /// Dentries to take from each superblock, at most.
    per_super: usize,
    /// Inodes to look at in each superblock, at most (bounds the time under
    /// `s_inode_list_lock`).
    scan: usize,
}

/// Collects unused dentries of regular files of every mounted superblock of
/// `fs_type` (a registration of `T`) onto `list`, up to `per_super` of each.
fn collect<T: FileSystem>(fs_type: &'static FileSystemType, list: &mut ShrinkList, per_super: usize) {
    let mut state = Collect {
        list,
        per_super,
        scan: 64 * per_super,
    };
    // SAFETY: `fs_type` is registered while its module lives; the callback
    // gets `state` back as `arg` and uses it only during the call.
    unsafe {
        bindings::iterate_supers_type(
            fs_type.raw_ptr(),
            Some(collect_super::<T>),
            ptr::addr_of_mut!(state).cast(),
        )
    };
}

/// `iterate_supers_type()`'s callback: runs with `s_umount` held shared, so
/// the superblock cannot be torn down meanwhile.
///
/// # Safety
///
/// `sb` is a live superblock of `T` and `arg` the `Collect` of [`collect`].
unsafe extern "C" fn collect_super<T: FileSystem>(sb: *mut bindings::super_block, arg: *mut c_void) {
    // SAFETY: Guaranteed by the caller.
    let state = unsafe { &mut *arg.cast::<Collect<'_>>() };
    let mut taken = 0;
    let mut scanned = 0;
    // SAFETY: `s_umount` keeps `sb` alive; `s_inode_list_lock` protects
    // `s_inodes`, and `i_lock` an inode's state and alias list, taken in the
    // VFS's order (evict_inodes(), d_prune_aliases()).
    unsafe {
        bindings::spin_lock(&mut (*sb).s_inode_list_lock);
        let head = ptr::addr_of_mut!((*sb).s_inodes);
        let mut pos = (*head).next;
        while pos != head && taken < state.per_super && scanned < state.scan {
            let inode = pos.byte_sub(offset_of!(bindings::inode, i_sb_list)).cast::<bindings::inode>();
            pos = (*pos).next;
            scanned += 1;
            if (*inode).i_mode as u32 & S_IFMT != bindings::S_IFREG {
                continue;
            }
            bindings::spin_lock(&mut (*inode).i_lock);
            if (*inode).i_state & (bindings::I_NEW | bindings::I_FREEING | bindings::I_WILL_FREE) == 0 {
                taken += collect_aliases(inode, state.list);
            }
            bindings::spin_unlock(&mut (*inode).i_lock);
        }
        bindings::spin_unlock(&mut (*sb).s_inode_list_lock);
        let data = super_block::data::<T>(sb);
        for _ in 0..taken {
            T::event(data, Event::Reaped);
        }
    }
}

/// Moves the unused, hashed dentries of `inode` onto `list`.
///
/// A dentry is unhashed before its last reference is dropped onto the list:
/// `dput_to_list()` keeps a hashed dentry worth keeping on the LRU, as
/// `dput()` would, and an evicting reclaimer does not want it found again.
/// Only regular files: a second dentry for a directory is not allowed.
///
/// # Safety
///
/// `inode` is a live inode whose `i_lock` the caller holds.
unsafe fn collect_aliases(inode: *mut bindings::inode, list: &mut ShrinkList) -> usize {
    let mut taken = 0;
    // SAFETY: `i_lock` protects the alias list and keeps its dentries from
    // being freed; each dentry's `d_lock` protects its count and flags.
    unsafe {
        let mut node = (*inode).__bindgen_anon_2.i_dentry.first;
        while !node.is_null() {
            let dentry = node
                .byte_sub(offset_of!(bindings::dentry, d_u))
                .cast::<bindings::dentry>();
            node = (*node).next;
            let lockref = &mut (*dentry).d_lockref.__bindgen_anon_1.__bindgen_anon_1;
            bindings::spin_lock(&mut lockref.lock);
            let unused = lockref.count == 0
                && (*dentry).d_flags & DCACHE_SHRINK_LIST == 0
                && !(*dentry).d_hash.pprev.is_null();
            if unused {
                // dget_dlock(), then unhash.
                lockref.count += 1;
                bindings::__d_drop(dentry);
            }
            bindings::spin_unlock(&mut lockref.lock);
            if unused {
                list.put(dentry);
                taken += 1;
            }
        }
    }
    taken
}

/// One pass of the reaper: collects up to `per_super` dentries of each
/// mounted superblock of `fs_type` (a registration of `T`), holds them for
/// `hold_ms` milliseconds (the window in which umount must wait for or steal
/// them), then kills what is left. Returns how many it collected.
///
/// A hold breaks `dput_to_list()`'s rule to shrink promptly, on purpose: it
/// stretches the window a real reaper stuck elsewhere would open.
pub(crate) fn reap<T: FileSystem>(
    fs_type: &'static FileSystemType,
    per_super: usize,
    hold_ms: u32,
) -> Result<usize> {
    let mut list = ShrinkList::new()?;
    collect::<T>(fs_type, &mut list, per_super);
    let taken = list.len();
    T::race_window();
    if hold_ms > 0 {
        // SAFETY: Called from an ioctl, in process context that may sleep.
        unsafe { bindings::msleep(hold_ms) };
    }
    drop(list);
    Ok(taken)
}
