// SPDX-License-Identifier: GPL-2.0

//! A superblock's index of dentries that expire, as FUSE keeps one: buckets
//! of dentry addresses under spinlocks, no reference held. A lookup stamps a
//! deadline on its dentry and indexes it; `->d_release` takes it out; the
//! expiry pass hands the expired, unused ones to a private shrink list.
//!
//! Lock order: a bucket's lock, then `d_lock` (taken inside
//! `d_dispose_if_unused()`). `->d_release` runs with no dentry lock held and
//! takes the bucket lock, so while the pass holds a bucket's lock no dentry
//! in that bucket can get past `->d_release` and be freed: that is what
//! lets the pass touch dentries it holds no reference to. Dropping the lock
//! before the dispose is the use-after-free upstream shipped and fixed in
//! January 2026 ("fuse: fix race when disposing stale dentries"); removing
//! the entry in `->d_prune` instead, under `d_lock`, inverts the order.
//!
//! C header: [`include/linux/dcache.h`](srctree/include/linux/dcache.h)

use core::ptr;
use core::sync::atomic::Ordering;

use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::SpinLock;

use super::dentry::{self, RELEASED};
use super::ffi;
use super::shrink_list::ShrinkList;

/// Buckets per superblock, and dentries a bucket indexes at most; a
/// dentry of a full bucket is never disposed of early, only failed by
/// `->d_revalidate` once expired.
const BUCKETS: usize = 64;
const SLOTS: usize = 32;

/// The dentries of one bucket, by address; null slots are free.
struct Slots([*mut bindings::dentry; SLOTS]);

// SAFETY: The addresses are only compared, and dereferenced only under the
// bucket's lock while the dentry is indexed (see `ExpiryIndex`), whichever
// task holds it.
unsafe impl Send for Slots {}

/// What one expiry pass over an index did.
#[derive(Default, Clone, Copy)]
pub(crate) struct Disposal {
    /// Expired dentries moved onto the pass's shrink list.
    pub(crate) disposed: usize,
    /// Expired dentries left alone: in use, dying or on another shrink list.
    pub(crate) busy: usize,
}

/// The index of a superblock mounted with an expiry time.
///
/// # Invariants
///
/// Every non-null slot holds a live dentry of the superblock, put there by
/// [`ExpiryIndex::track`] and removed, under the bucket's lock, by
/// [`ExpiryIndex::forget`] in its `->d_release` or by a pass that moved it
/// onto a shrink list.
pub(super) struct ExpiryIndex {
    expire_ms: u32,
    buckets: KVec<Pin<KBox<SpinLock<Slots>>>>,
}

impl ExpiryIndex {
    /// An empty index whose dentries expire `expire_ms` after their lookup.
    pub(super) fn new(expire_ms: u32) -> Result<Self> {
        let mut buckets = KVec::with_capacity(BUCKETS, GFP_KERNEL)?;
        for _ in 0..BUCKETS {
            let bucket = KBox::pin_init(
                kernel::new_spinlock!(Slots([ptr::null_mut(); SLOTS]), "shrinkfs_expiry_bucket"),
                GFP_KERNEL,
            )?;
            buckets.push(bucket, GFP_KERNEL)?;
        }
        Ok(Self { expire_ms, buckets })
    }

    fn bucket(&self, dentry: *mut bindings::dentry) -> &SpinLock<Slots> {
        // Dentries are a few cache lines apart: hash above those bits.
        let hash = (dentry as usize >> 8) ^ (dentry as usize >> 16);
        &self.buckets[hash % BUCKETS]
    }

    /// Gives `dentry` a deadline `expire_ms` from now.
    ///
    /// # Safety
    ///
    /// `dentry` is a live dentry of this index's superblock.
    pub(super) unsafe fn stamp(&self, dentry: *mut bindings::dentry) {
        // SAFETY: A call into C without preconditions.
        let mut deadline = unsafe { ffi::shrinkfs_vfs_deadline(self.expire_ms) } as usize;
        if deadline == RELEASED {
            deadline -= 1;
        }
        // SAFETY: `dentry` is a live dentry of a shrinkfs mount (caller).
        unsafe { dentry::deadline(dentry) }.store(deadline, Ordering::Release);
    }

    /// Gives `dentry` a new deadline and indexes it; `false` if its bucket
    /// is full.
    ///
    /// # Safety
    ///
    /// `dentry` is a live, referenced dentry of this index's superblock.
    pub(super) unsafe fn track(&self, dentry: *mut bindings::dentry) -> bool {
        // SAFETY: Guaranteed by the caller.
        unsafe { self.stamp(dentry) };
        let mut slots = self.bucket(dentry).lock();
        if slots.0.contains(&dentry) {
            return true;
        }
        match slots.0.iter_mut().find(|slot| slot.is_null()) {
            // INVARIANT: `dentry` is live, and its `->d_release` will take
            // it out (`forget`).
            Some(slot) => {
                *slot = dentry;
                true
            }
            None => false,
        }
    }

    /// Whether `dentry`'s deadline has passed.
    ///
    /// # Safety
    ///
    /// `dentry` is a live dentry of this index's superblock, referenced or
    /// under `rcu_read_lock()`.
    pub(super) unsafe fn expired(&self, dentry: *mut bindings::dentry) -> bool {
        // SAFETY: Guaranteed by the caller.
        let deadline = unsafe { dentry::deadline(dentry) }.load(Ordering::Acquire);
        // SAFETY: A call into C without preconditions.
        deadline != RELEASED && unsafe { ffi::shrinkfs_vfs_past(deadline as _) }
    }

    /// Takes `dentry` out of the index, from its `->d_release`: after this
    /// no pass can find it, and it may be freed.
    ///
    /// # Safety
    ///
    /// `dentry` is a dentry of this index's superblock in its `->d_release`,
    /// and the caller holds no `d_lock`.
    pub(super) unsafe fn forget(&self, dentry: *mut bindings::dentry) {
        let mut slots = self.bucket(dentry).lock();
        if let Some(slot) = slots.0.iter_mut().find(|slot| **slot == dentry) {
            *slot = ptr::null_mut();
        }
        // SAFETY: The dentry is live until `->d_release` returns (caller).
        unsafe { dentry::deadline(dentry) }.store(RELEASED, Ordering::Release);
    }

    /// Moves the expired, unused dentries of the index onto `list`, each
    /// under its bucket's lock, and takes them out of the index.
    pub(super) fn dispose_expired(&self, list: &ShrinkList) -> Disposal {
        let mut done = Disposal::default();
        for bucket in &self.buckets {
            let mut slots = bucket.lock();
            for i in 0..SLOTS {
                let dentry = slots.0[i];
                // SAFETY: An indexed dentry is live while its bucket's lock
                // is held (type invariant).
                if dentry.is_null() || !unsafe { self.expired(dentry) } {
                    continue;
                }
                // SAFETY: As above: its `->d_release` cannot take it out,
                // and so cannot return and let it be freed, before this
                // bucket's lock is dropped; no `d_lock` is held.
                if unsafe { dispose_indexed(list, dentry) } {
                    slots.0[i] = ptr::null_mut();
                    done.disposed += 1;
                } else {
                    done.busy += 1;
                }
            }
        }
        done
    }
}

/// `list.dispose_if_unused(dentry)`, refusing (with a WARN the rig fails
/// on) a dentry whose `->d_release` has run: the bucket lock did not keep
/// it alive.
///
/// # Safety
///
/// As [`ShrinkList::dispose_if_unused`].
unsafe fn dispose_indexed(list: &ShrinkList, dentry: *mut bindings::dentry) -> bool {
    // SAFETY: `dentry` is not freed yet (caller).
    if unsafe { dentry::deadline(dentry) }.load(Ordering::Acquire) == RELEASED {
        super::warn(format_args!(
            "expiry: disposing of a dentry after its ->d_release"
        ));
        return false;
    }
    // SAFETY: Guaranteed by the caller.
    unsafe { list.dispose_if_unused(dentry) }
}

impl Drop for ExpiryIndex {
    fn drop(&mut self) {
        // Dropped with the superblock's state, after every dentry of it
        // went through `->d_release`.
        let left: usize = self
            .buckets
            .iter()
            .map(|bucket| bucket.lock().0.iter().filter(|s| !s.is_null()).count())
            .sum();
        if left != 0 {
            super::warn(format_args!(
                "expiry: {left} dentries still indexed at kill_sb"
            ));
        }
    }
}
