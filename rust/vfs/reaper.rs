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
use kernel::stack_pin_init;
use kernel::types::Opaque;

use super::fs_type::FileSystemType;
use super::spinlock::SpinGuard;
use super::{super_block, Event, FileSystem};

extern "C" {
    // rust/vfs/helpers.c: static inlines and macros of sched.h and fs.h.
    // `struct inode` is passed untyped: bindgen's copy holds types that
    // `improper_ctypes` rejects, though only the pointer crosses.
    fn shrinkfs_vfs_need_resched() -> bool;
    fn shrinkfs_vfs_cond_resched();
    fn shrinkfs_vfs_hold_inode(inode: *mut c_void);
}

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
/// The head lives where the list is pinned (the reaper's stack): making one
/// cannot fail in the middle of reclaim.
///
/// # Invariants
///
/// `head` is an initialised `list_head` whose entries are dentries' `d_lru`,
/// added and removed only through this list.
#[pin_data(PinnedDrop)]
pub(crate) struct ShrinkList {
    #[pin]
    head: Opaque<bindings::list_head>,
}

impl ShrinkList {
    pub(crate) fn new() -> impl PinInit<Self> {
        // INVARIANT: The head is initialised as an empty list.
        pin_init!(Self {
            head <- Opaque::ffi_init(|head: *mut bindings::list_head| {
                // SAFETY: `head` is valid, pinned memory; an empty list
                // points at itself.
                unsafe {
                    (*head).next = head;
                    (*head).prev = head;
                }
            }),
        })
    }

    /// Drops one reference to `dentry` onto the list; the dentry goes on
    /// the list if that was its last reference.
    ///
    /// # Safety
    ///
    /// The caller owns a reference to `dentry`, which this call consumes, and
    /// holds no `d_lock`.
    unsafe fn put(&self, dentry: *mut bindings::dentry) {
        // SAFETY: Guaranteed by the caller; the head is a valid list.
        unsafe { bindings::dput_to_list(dentry, self.head.get()) };
    }

    /// How many dentries are on the list.
    pub(crate) fn len(&self) -> usize {
        let head = self.head.get();
        let mut len = 0;
        // SAFETY: Only this list adds and removes entries (type invariant;
        // a concurrent `shrink_dcache_parent()` may kill an entry but leaves
        // it on the list), so its links change under nobody's reading.
        unsafe {
            let mut pos = (*head).next;
            while pos != head {
                len += 1;
                pos = (*pos).next;
            }
        }
        len
    }
}

#[pinned_drop]
impl PinnedDrop for ShrinkList {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The head is a valid list of dentries this list owns; the
        // drop happens in process context, where killing may sleep.
        unsafe { bindings::shrink_dentry_list(self.head.get()) };
    }
}

/// What one collection pass may take.
struct Collect<'a> {
    list: &'a ShrinkList,
    /// Dentries to take from each superblock, at most.
    per_super: usize,
    /// Inodes to look at in each superblock, at most.
    scan: usize,
}

/// Collects unused dentries of regular files of every mounted superblock of
/// `fs_type` onto `list`, up to `per_super` of each.
fn collect<T: FileSystem>(
    fs_type: &'static FileSystemType<T>,
    list: &ShrinkList,
    per_super: usize,
) {
    let mut state = Collect {
        list,
        per_super,
        scan: 64 * per_super,
    };
    // SAFETY: `fs_type` is a static `file_system_type` (unregistered, it has
    // no superblocks to visit); every superblock of it is `T`'s (type
    // invariant of `FileSystemType<T>`); the callback gets `state` back as
    // `arg` and uses it only during the call.
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
/// The walk of `s_inodes` yields the CPU when it should, as
/// `drop_pagecache_sb()` does: it pins the inode it stands on with a
/// reference, so that inode stays on the list while the lock is dropped.
///
/// # Safety
///
/// `sb` is a live superblock of `T` and `arg` the `Collect` of [`collect`].
unsafe extern "C" fn collect_super<T: FileSystem>(
    sb: *mut bindings::super_block,
    arg: *mut c_void,
) {
    // SAFETY: Guaranteed by the caller.
    let state = unsafe { &*arg.cast::<Collect<'_>>() };
    let before = state.list.len();
    let mut taken = 0;
    let mut scanned = 0;
    // The inode whose reference keeps the walk's place across a resched.
    let mut cursor: *mut bindings::inode = ptr::null_mut();
    // SAFETY: `s_umount` keeps `sb` alive (caller); `s_inode_list_lock`
    // protects `s_inodes`, and `i_lock` an inode's state and alias list,
    // taken in the VFS's order (evict_inodes(), d_prune_aliases()).
    unsafe {
        let list_lock = ptr::addr_of_mut!((*sb).s_inode_list_lock);
        let head = ptr::addr_of_mut!((*sb).s_inodes);
        let mut list_guard = SpinGuard::lock(list_lock);
        let mut pos = (*head).next;
        while pos != head && taken < state.per_super && scanned < state.scan {
            let inode = pos
                .byte_sub(offset_of!(bindings::inode, i_sb_list))
                .cast::<bindings::inode>();
            scanned += 1;
            let inode_guard = SpinGuard::lock(ptr::addr_of_mut!((*inode).i_lock));
            let i_state = ptr::read_volatile(ptr::addr_of!((*inode).i_state));
            let alive =
                i_state & (bindings::I_NEW | bindings::I_FREEING | bindings::I_WILL_FREE) == 0;
            // `i_mode` is written before `I_NEW` is cleared under `i_lock`.
            if alive && (*inode).i_mode as u32 & S_IFMT == bindings::S_IFREG {
                taken += collect_aliases(inode, state.list);
            }
            let yield_cpu = alive && shrinkfs_vfs_need_resched();
            if yield_cpu {
                shrinkfs_vfs_hold_inode(inode.cast());
            }
            drop(inode_guard);
            if yield_cpu {
                drop(list_guard);
                if !cursor.is_null() {
                    bindings::iput(cursor);
                }
                cursor = inode;
                shrinkfs_vfs_cond_resched();
                list_guard = SpinGuard::lock(list_lock);
            }
            pos = (*pos).next;
        }
        drop(list_guard);
        if !cursor.is_null() {
            bindings::iput(cursor);
        }
        let data = super_block::data::<T>(sb);
        for _ in before..state.list.len() {
            T::event(data, Event::Reaped);
        }
    }
}

/// Moves the unused, hashed dentries of `inode` onto `list`; returns how
/// many references it dropped there.
///
/// A dentry is unhashed before its last reference is dropped onto the list:
/// `dput_to_list()` keeps a hashed dentry worth keeping on the LRU, as
/// `dput()` would, and an evicting reclaimer does not want it found again.
/// Only regular files: a second dentry for a directory is not allowed.
///
/// # Safety
///
/// `inode` is a live inode whose `i_lock` the caller holds.
unsafe fn collect_aliases(inode: *mut bindings::inode, list: &ShrinkList) -> usize {
    let mut taken = 0;
    // SAFETY: `i_lock` protects the alias list and keeps its dentries from
    // being freed; each dentry's `d_lock` protects its count and flags, and
    // while it is held no lockless `lockref` update can succeed.
    unsafe {
        let mut node = (*inode).__bindgen_anon_2.i_dentry.first;
        while !node.is_null() {
            let dentry = node
                .byte_sub(offset_of!(bindings::dentry, d_u))
                .cast::<bindings::dentry>();
            node = (*node).next;
            let lockref = ptr::addr_of_mut!((*dentry).d_lockref.__bindgen_anon_1.__bindgen_anon_1);
            let d_lock = SpinGuard::lock(ptr::addr_of_mut!((*lockref).lock));
            let unused = (*lockref).count == 0
                && (*dentry).d_flags & DCACHE_SHRINK_LIST == 0
                && !(*dentry).d_hash.pprev.is_null();
            if unused {
                // dget_dlock(), then unhash.
                (*lockref).count += 1;
                bindings::__d_drop(dentry);
            }
            drop(d_lock);
            if unused {
                list.put(dentry);
                taken += 1;
            }
        }
    }
    taken
}

/// One pass of the reaper: collects up to `per_super` dentries of each
/// mounted superblock of `fs_type`, holds them for
/// `hold_ms` milliseconds (the window in which umount must wait for or steal
/// them), then kills what is left. Returns how many it collected.
///
/// A hold breaks `dput_to_list()`'s rule to shrink promptly, on purpose: it
/// stretches the window a real reaper stuck elsewhere would open.
///
/// Runs in process context: an ioctl, or the periodic reaper's work item.
pub(crate) fn reap<T: FileSystem>(
    fs_type: &'static FileSystemType<T>,
    per_super: usize,
    hold_ms: u32,
) -> usize {
    stack_pin_init!(let list = ShrinkList::new());
    collect::<T>(fs_type, &list, per_super);
    let taken = list.len();
    T::race_window();
    if hold_ms > 0 {
        // SAFETY: Process context, which may sleep (see above).
        unsafe { bindings::msleep(hold_ms) };
    }
    // Dropping `list` at the end of the scope kills what is left on it.
    taken
}
