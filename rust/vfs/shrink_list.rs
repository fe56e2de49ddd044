// SPDX-License-Identifier: GPL-2.0

//! Private shrink lists: unused dentries a caller owns until it kills them
//! (`dput_to_list()`, `shrink_dentry_list()`, exported by the series).
//!
//! C header: [`include/linux/dcache.h`](srctree/include/linux/dcache.h)

use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

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
    pub(super) unsafe fn put(&self, dentry: *mut bindings::dentry) {
        // SAFETY: Guaranteed by the caller; the head is a valid list.
        unsafe { bindings::dput_to_list(dentry, self.head.get()) };
    }

    /// Moves `dentry` onto the list if nobody uses it, nobody kills it and
    /// it is on no other shrink list (`d_dispose_if_unused()`, patches/0004);
    /// returns whether it did. No reference changes hands.
    ///
    /// # Safety
    ///
    /// The caller keeps `dentry` from being freed across the call without
    /// a reference: it holds the lock under which the dentry's
    /// `->d_release` must remove it from where the caller found it. That
    /// lock is taken before `d_lock`, and the caller holds no `d_lock`.
    #[cfg(shrinkfs_expiry)]
    pub(super) unsafe fn dispose_if_unused(&self, dentry: *mut bindings::dentry) -> bool {
        // SAFETY: Guaranteed by the caller; the head is a valid list.
        unsafe { bindings::d_dispose_if_unused(dentry, self.head.get()) }
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
