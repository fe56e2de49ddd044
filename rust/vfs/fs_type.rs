// SPDX-License-Identifier: GPL-2.0

//! Filesystem types and their registration.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::offset_of;
use core::sync::atomic::AtomicBool;

use kernel::bindings;
use kernel::types::Opaque;

use super::sysfs::SysfsDir;
use super::FileSystem;

/// Storage for the `struct file_system_type` of filesystem `T`.
///
/// Lockdep accepts the lock class keys embedded in `file_system_type` only
/// from static storage, so this type is meant for a `static`, and
/// `Registration` takes it by `&'static`. Carrying `T` in the type ties
/// everything that reaches the C object back (the superblocks' callbacks,
/// the reaper) to the filesystem registered in it.
///
/// # Invariants
///
/// `raw` and `sysfs` are written only while `registered` is false and by the
/// one `Registration::new` call that set it; afterwards they are read-only
/// until that registration is dropped. While registered, `raw` holds `T`'s
/// callbacks and no other type's.
pub(crate) struct FileSystemType<T: FileSystem> {
    pub(super) raw: Opaque<bindings::file_system_type>,
    /// `/sys/fs/<name>/`, parent of the superblocks' directories.
    pub(super) sysfs: UnsafeCell<Option<SysfsDir>>,
    pub(super) registered: AtomicBool,
    _fs: PhantomData<T>,
}

// SAFETY: Writes happen only under the exclusive claim of `registered` (see
// the type invariants); every other access is a read.
unsafe impl<T: FileSystem> Sync for FileSystemType<T> {}

impl<T: FileSystem> FileSystemType<T> {
    /// An unregistered type, all zeroes as C expects of a static.
    pub(crate) const fn new() -> Self {
        Self {
            // SAFETY: All-zero is a valid `file_system_type`: null pointers,
            // `None` callbacks, zero flags, empty list heads and lock keys.
            raw: Opaque::new(unsafe { core::mem::zeroed() }),
            sysfs: UnsafeCell::new(None),
            registered: AtomicBool::new(false),
            _fs: PhantomData,
        }
    }

    /// The C object, for functions that take a filesystem type.
    #[cfg(shrinkfs_reaper)]
    pub(super) fn raw_ptr(&self) -> *mut bindings::file_system_type {
        self.raw.get()
    }

    /// The type whose C object is `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is the `file_system_type` of a [`FileSystemType<T>`], as the
    /// `s_type` of every superblock `T`'s callbacks get is (type invariant).
    pub(super) unsafe fn from_raw<'a>(raw: *mut bindings::file_system_type) -> &'a Self {
        // SAFETY: `raw` is the `raw` field of a `FileSystemType<T>` (caller),
        // a static that lives as long as anything can reach it.
        unsafe { &*raw.byte_sub(offset_of!(Self, raw)).cast::<Self>() }
    }

    /// The sysfs directory of the type.
    ///
    /// # Safety
    ///
    /// The type is registered, and stays so while the result is used.
    pub(super) unsafe fn sysfs(&self) -> &SysfsDir {
        // SAFETY: `sysfs` is set and read-only while the type is registered
        // (caller, type invariants).
        let sysfs = unsafe { &*self.sysfs.get() };
        sysfs
            .as_ref()
            .expect("a registered shrinkfs type has its sysfs directory")
    }
}
