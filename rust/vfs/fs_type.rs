// SPDX-License-Identifier: GPL-2.0

//! Filesystem types and their registration.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, Ordering};

use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

use super::fs_context;
use super::sysfs::SysfsDir;
use super::{super_block, FileSystem};

/// Storage for the `struct file_system_type` of filesystem `T`.
///
/// Lockdep accepts the lock class keys embedded in `file_system_type` only
/// from static storage, so this type is meant for a `static`, and
/// [`Registration`] takes it by `&'static`. Carrying `T` in the type ties
/// everything that reaches the C object back (the superblocks' callbacks,
/// the reaper) to the filesystem registered in it.
///
/// # Invariants
///
/// `raw` and `sysfs` are written only while `registered` is false and by the
/// one [`Registration::new`] call that set it; afterwards they are read-only
/// until that registration is dropped. While registered, `raw` holds `T`'s
/// callbacks and no other type's.
pub(crate) struct FileSystemType<T: FileSystem> {
    raw: Opaque<bindings::file_system_type>,
    /// `/sys/fs/<name>/`, parent of the superblocks' directories.
    sysfs: UnsafeCell<Option<SysfsDir>>,
    registered: AtomicBool,
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

/// A registered filesystem type; unregistered on drop.
pub(crate) struct Registration<T: FileSystem> {
    fs_type: &'static FileSystemType<T>,
}

impl<T: FileSystem> Registration<T> {
    /// Registers `T` in `fs_type`; fails with `EBUSY` if `fs_type` already
    /// holds a registration.
    pub(crate) fn new(
        fs_type: &'static FileSystemType<T>,
        module: &'static ThisModule,
    ) -> Result<Self> {
        if fs_type
            .registered
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(EBUSY);
        }
        let sysfs = match SysfsDir::for_type(T::NAME) {
            Ok(sysfs) => sysfs,
            Err(e) => {
                fs_type.registered.store(false, Ordering::Release);
                return Err(e);
            }
        };
        let raw = fs_type.raw.get();
        // SAFETY: We won `registered`, so nobody else reads or writes these
        // fields until `register_filesystem()` publishes them below.
        // INVARIANT: The callbacks are `T`'s.
        unsafe {
            (*raw).name = T::NAME.as_char_ptr();
            (*raw).owner = module.as_ptr();
            (*raw).init_fs_context = Some(fs_context::init_fs_context::<T>);
            (*raw).kill_sb = Some(super_block::kill_sb::<T>);
            *fs_type.sysfs.get() = Some(sysfs);
        }
        // SAFETY: `raw` is a fully initialised `file_system_type` in static
        // storage that stays valid and unmoved for the rest of the module's life.
        let ret = unsafe { bindings::register_filesystem(raw) };
        if let Err(e) = to_result(ret) {
            // SAFETY: Not registered, so still ours alone.
            drop(unsafe { (*fs_type.sysfs.get()).take() });
            fs_type.registered.store(false, Ordering::Release);
            return Err(e);
        }
        Ok(Self { fs_type })
    }
}

impl<T: FileSystem> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: The type was registered by `Registration::new`. Module
        // unload cannot race a mount: the VFS holds a module reference for
        // every live superblock of the type.
        unsafe { bindings::unregister_filesystem(self.fs_type.raw.get()) };
        // SAFETY: Unregistered and without superblocks, the type is ours
        // alone again until `registered` is cleared.
        drop(unsafe { (*self.fs_type.sysfs.get()).take() });
        self.fs_type.registered.store(false, Ordering::Release);
    }
}
