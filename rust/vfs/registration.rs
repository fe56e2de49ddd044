// SPDX-License-Identifier: GPL-2.0

//! Registering a filesystem: `T`'s callbacks installed in its
//! [`FileSystemType<T>`], the type's sysfs directory, `register_filesystem()`.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use core::sync::atomic::Ordering;

use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;

use super::fs_type::FileSystemType;
use super::sysfs::SysfsDir;
use super::{fs_context, operations, FileSystem};

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
            (*raw).kill_sb = Some(operations::kill_sb::<T>);
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
