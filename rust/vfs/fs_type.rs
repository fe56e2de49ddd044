// SPDX-License-Identifier: GPL-2.0

//! Filesystem types and their registration.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use core::cell::UnsafeCell;
use core::ffi::c_int;
use core::sync::atomic::{AtomicBool, Ordering};

use kernel::bindings;
use kernel::error::{from_result, to_result};
use kernel::prelude::*;
use kernel::types::Opaque;

use super::{FileSystem, NewInode, NewSuperBlock};

extern "C" {
    // rust/vfs/helpers.c: 6.12's bindings cannot reach fs_context.h.
    fn shrinkfs_vfs_init_fs_context(fc: *mut bindings::fs_context) -> c_int;
    fn shrinkfs_vfs_fc_fs_type(fc: *mut bindings::fs_context) -> *mut bindings::file_system_type;
}

/// Fills a new superblock for one particular [`FileSystem`].
type FillSuper = unsafe fn(*mut bindings::super_block) -> Result;

/// Storage for a `struct file_system_type`.
///
/// Lockdep accepts the lock class keys embedded in `file_system_type` only
/// from static storage, so this type is meant for a `static`, and
/// [`Registration`] takes it by `&'static`.
///
/// # Invariants
///
/// `raw` and `fill_super` are written only while `registered` is false and by
/// the one [`Registration::new`] call that set it; afterwards they are read-only
/// until that registration is dropped.
#[repr(C)]
pub(crate) struct FileSystemType {
    // Must stay the first field: the C callbacks get `&raw` and cast it back.
    raw: Opaque<bindings::file_system_type>,
    fill_super: UnsafeCell<Option<FillSuper>>,
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
            fill_super: UnsafeCell::new(None),
            registered: AtomicBool::new(false),
        }
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
        let raw = fs_type.raw.get();
        // SAFETY: We won `registered`, so nobody else reads or writes these
        // fields until `register_filesystem()` publishes them below.
        unsafe {
            (*raw).name = T::NAME.as_char_ptr();
            (*raw).owner = module.as_ptr();
            (*raw).init_fs_context = Some(shrinkfs_vfs_init_fs_context);
            (*raw).kill_sb = Some(bindings::kill_anon_super);
            *fs_type.fill_super.get() = Some(fill_super_for::<T>);
        }
        // SAFETY: `raw` is a fully initialised `file_system_type` in static
        // storage that stays valid and unmoved for the rest of the module's life.
        let ret = unsafe { bindings::register_filesystem(raw) };
        if let Err(e) = to_result(ret) {
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
        self.fs_type.registered.store(false, Ordering::Release);
    }
}

/// `get_tree_nodev()`'s callback, reached through rust/vfs/helpers.c.
///
/// # Safety
///
/// Called by the VFS with a new, locked superblock and the `fs_context` of a
/// type set up by [`Registration::new`].
#[no_mangle]
unsafe extern "C" fn shrinkfs_vfs_fill_super(
    sb: *mut bindings::super_block,
    fc: *mut bindings::fs_context,
) -> c_int {
    from_result(|| {
        // SAFETY: `fc` is valid for the duration of the call.
        let raw = unsafe { shrinkfs_vfs_fc_fs_type(fc) };
        // SAFETY: Only `Registration::new` installs the callbacks that lead
        // here, so `raw` is the first field of a registered, `#[repr(C)]`
        // `FileSystemType`, whose `fill_super` is read-only while registered.
        let fill_super = unsafe { *(*raw.cast::<FileSystemType>()).fill_super.get() };
        let fill_super = fill_super.ok_or(EINVAL)?;
        // SAFETY: `sb` is the new superblock the VFS hands to this callback.
        unsafe { fill_super(sb) }?;
        Ok(0)
    })
}

/// # Safety
///
/// `sb` is a new superblock being set up by `get_tree_nodev()`.
unsafe fn fill_super_for<T: FileSystem>(sb: *mut bindings::super_block) -> Result {
    // SAFETY: Guaranteed by the caller.
    let new_sb = unsafe { NewSuperBlock::from_raw(sb) };
    new_sb.init::<T>();
    let root: NewInode = T::fill_super(&new_sb)?;
    new_sb.set_root(root)
}
