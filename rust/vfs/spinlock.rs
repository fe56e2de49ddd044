// SPDX-License-Identifier: GPL-2.0

//! Spinlocks embedded in C objects (`i_lock`, `d_lock`,
//! `s_inode_list_lock`), held through a guard that unlocks on drop, in the
//! shape of `kernel::sync::Guard`.
//!
//! The lock is reached through a raw pointer: other CPUs lock, unlock and
//! (for `d_lock`, inside `d_lockref`) cmpxchg the same word, so no `&mut`
//! to it may exist.
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h)

use kernel::bindings;

/// A held spinlock of a C object.
///
/// # Invariants
///
/// `lock` points at an initialised spinlock that this guard holds and that
/// stays valid while the guard lives.
pub(super) struct SpinGuard {
    lock: *mut bindings::spinlock_t,
}

impl SpinGuard {
    /// Takes `lock`.
    ///
    /// # Safety
    ///
    /// `lock` points at an initialised spinlock that stays valid until the
    /// guard is dropped, and taking it here keeps the lock order of its
    /// class.
    pub(super) unsafe fn lock(lock: *mut bindings::spinlock_t) -> Self {
        // SAFETY: `lock` is valid (caller).
        unsafe { bindings::spin_lock(lock) };
        // INVARIANT: Just taken; valid for the guard's life (caller).
        Self { lock }
    }
}

impl Drop for SpinGuard {
    fn drop(&mut self) {
        // SAFETY: The guard holds the lock (type invariant).
        unsafe { bindings::spin_unlock(self.lock) };
    }
}
