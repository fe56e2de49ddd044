// SPDX-License-Identifier: GPL-2.0

//! The expiry pass: every mounted superblock of a type with an expiry time
//! hands its expired, unused dentries to a private shrink list (under its
//! index's bucket locks, no reference taken) and kills them.
//!
//! It needs `d_dispose_if_unused()` (patches/0004) and the exported
//! `shrink_dentry_list()` (patches/0001); Kbuild builds it only when the
//! target kernel's `Module.symvers` has both.
//!
//! C header: [`include/linux/dcache.h`](srctree/include/linux/dcache.h)

use core::ffi::c_void;
use core::ptr;

use kernel::bindings;
use kernel::stack_pin_init;

use super::expiry_index::Disposal;
use super::fs_type::FileSystemType;
use super::shrink_list::ShrinkList;
use super::{super_block, Event, FileSystem};

/// One expiry pass over every mounted superblock of `fs_type`. Returns what
/// it disposed of and what it had to leave.
///
/// Runs in process context: the periodic work item or an ioctl.
pub(crate) fn expire<T: FileSystem>(fs_type: &'static FileSystemType<T>) -> Disposal {
    let mut total = Disposal::default();
    // SAFETY: `fs_type` is a static `file_system_type`; every superblock of
    // it is `T`'s (type invariant of `FileSystemType<T>`); the callback
    // gets `total` back as `arg` and uses it only during the call.
    unsafe {
        bindings::iterate_supers_type(
            fs_type.raw_ptr(),
            Some(expire_super::<T>),
            ptr::addr_of_mut!(total).cast(),
        )
    };
    total
}

/// `iterate_supers_type()`'s callback: runs with `s_umount` held shared, so
/// the superblock and its index cannot be torn down meanwhile.
///
/// # Safety
///
/// `sb` is a live superblock of `T` and `arg` the `Disposal` of [`expire`].
unsafe extern "C" fn expire_super<T: FileSystem>(sb: *mut bindings::super_block, arg: *mut c_void) {
    // SAFETY: `s_umount` keeps the superblock's state alive (caller).
    let Some((data, index)) = (unsafe { super_block::expiry::<T>(sb) }) else {
        return;
    };
    stack_pin_init!(let list = ShrinkList::new());
    let done = index.dispose_expired(&list);
    T::event(data, Event::ExpiryPass);
    for _ in 0..done.disposed {
        T::event(data, Event::ExpiryDisposed);
    }
    for _ in 0..done.busy {
        T::event(data, Event::ExpiryBusy);
    }
    // SAFETY: `arg` is the caller's `Disposal`, alive for the call (caller).
    let total = unsafe { &mut *arg.cast::<Disposal>() };
    total.disposed += done.disposed;
    total.busy += done.busy;
    // Between collecting and killing, as the reaper.
    T::race_window();
    // Dropping `list` kills what is on it, in process context.
}
