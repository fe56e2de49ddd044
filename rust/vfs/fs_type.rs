// SPDX-License-Identifier: GPL-2.0

//! Filesystem types and their registration.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use core::cell::UnsafeCell;
use core::ffi::c_int;
use core::sync::atomic::{AtomicBool, Ordering};

use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

use super::fs_context::{self, ContextOps};
use super::sysfs::SysfsDir;
use super::{super_block, FileSystem};

extern "C" {
    // rust/vfs/helpers.c: 6.12's bindings cannot reach fs_context.h.
    fn shrinkfs_vfs_init_fs_context(fc: *mut bindings::fs_context) -> c_int;
}

/// Storage for a `struct file_system_type`.
///
/// Lockdep accepts the lock class keys embedded in `file_system_type` only
/// from static storage, so this type is meant for a `static`, and
/// [`Registration`] takes it by `&'static`.
///
/// # Invariants
///
/// `raw`, `ops` and `sysfs` are written only while `registered` is false and by the
/// one [`Registration::new`] call that set it; afterwards they are read-only
/// until that registration is dropped.
#[repr(C)]
pub(crate) struct FileSystemType {
    // Must stay the first field: the C callbacks get `&raw` and cast it back.
    raw: Opaque<bindings::file_system_type>,
    ops: UnsafeCell<Option<&'static ContextOps>>,
    /// `/sys/fs/<name>/`, parent of the superblocks' directories.
    sysfs: UnsafeCell<Option<SysfsDir>>,
    registered: AtomicBool,
}

// SAFETY: Writes happen only under the exclusive claim of `registered` (see
// the type invariants); every other access is a read.
unsafe impl Sync for FileSystemType {}

impl FileSystemType {
    /// An unregistered type, all zeroes as C expects of a static.
    pub(crate) const fn new() -> Self {
        Self {
            // SAFETY: All-zero is a valid `file_system_type`: null pointers,
            // `None` callbacks, zero flags, empty list heads and lock keys.
            raw: Opaque::new(unsafe { core::mem::zeroed() }),
            ops: UnsafeCell::new(None),
            sysfs: UnsafeCell::new(None),
            registered: AtomicBool::new(false),
        }
    }

    /// The C object, for functions that take a filesystem type.
    #[cfg(shrinkfs_reaper)]
    pub(super) fn raw_ptr(&self) -> *mut bindings::file_system_type {
        self.raw.get()
    }

    /// The callbacks of the registered filesystem behind `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is the `file_system_type` of a registered [`FileSystemType`].
    pub(super) unsafe fn ops_of(raw: *mut bindings::file_system_type) -> &'static ContextOps {
        // SAFETY: By the caller's guarantee `raw` is the first field of a
        // registered `#[repr(C)]` `FileSystemType`, whose `ops` is set and
        // read-only while it is registered.
        let ops = unsafe { *(*raw.cast::<FileSystemType>()).ops.get() };
        ops.expect("a registered shrinkfs type has its operations")
    }

    /// The sysfs directory of the registered filesystem behind `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is the `file_system_type` of a registered [`FileSystemType`].
    pub(super) unsafe fn sysfs_of<'a>(raw: *mut bindings::file_system_type) -> &'a SysfsDir {
        // SAFETY: As in `ops_of`: `sysfs` is set and read-only while the
        // type is registered, and it outlives every superblock of the type.
        let sysfs = unsafe { &*(*raw.cast::<FileSystemType>()).sysfs.get() };
        sysfs.as_ref().expect("a registered shrinkfs type has its sysfs directory")
    }
}

/// A registered filesystem type; unregistered on drop.
pub(crate) struct Registration {
    fs_type: &'static FileSystemType,
}

impl Registration {
    /// Registers `T` in `fs_type`; fails with `EBUSY` if `fs_type` already
    /// holds a registration.
    pub(crate) fn new<T: FileSystem>(
        fs_type: &'static FileSystemType,
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
        unsafe {
            (*raw).name = T::NAME.as_char_ptr();
            (*raw).owner = module.as_ptr();
            (*raw).init_fs_context = Some(shrinkfs_vfs_init_fs_context);
            (*raw).kill_sb = Some(super_block::kill_sb::<T>);
            *fs_type.ops.get() = Some(fs_context::ops::<T>());
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

impl Drop for Registration {
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
