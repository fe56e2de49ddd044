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
use kernel::stack_pin_init;

use super::ffi::{self, DCACHE_SHRINK_LIST, S_IFMT};
use super::fs_type::FileSystemType;
use super::shrink_list::ShrinkList;
use super::spinlock::SpinGuard;
use super::{super_block, Event, FileSystem};

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
            let yield_cpu = alive && ffi::shrinkfs_vfs_need_resched();
            if yield_cpu {
                ffi::shrinkfs_vfs_hold_inode(inode.cast());
            }
            drop(inode_guard);
            if yield_cpu {
                drop(list_guard);
                if !cursor.is_null() {
                    bindings::iput(cursor);
                }
                cursor = inode;
                ffi::shrinkfs_vfs_cond_resched();
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
