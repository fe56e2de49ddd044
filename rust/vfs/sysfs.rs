// SPDX-License-Identifier: GPL-2.0

//! sysfs directories: `/sys/fs/<type>/` for a registered type and
//! `/sys/fs/<type>/<major>:<minor>/stats` for each of its superblocks, named
//! by the device `stat(2)` reports for the mount (the convention of ext4,
//! f2fs and btrfs, whose directories are named by their device).
//!
//! C header: [`include/linux/kobject.h`](srctree/include/linux/kobject.h)

use core::ffi::c_void;
use core::fmt::{self, Write};
use core::ptr::NonNull;

use kernel::bindings;
use kernel::error::from_err_ptr;
use kernel::ffi::c_char;
use kernel::prelude::*;

use super::{super_block, FileSystem};

type ShowFn = unsafe extern "C" fn(*mut bindings::super_block, *mut c_char) -> isize;

extern "C" {
    // rust/vfs/helpers.c: 6.12 has no Rust kobject abstraction.
    fn shrinkfs_vfs_sysfs_add_type(name: *const c_char) -> *mut bindings::kobject;
    // `sb` as `c_void`: bindgen's `super_block` holds a field-less struct
    // that `improper_ctypes` refuses.
    fn shrinkfs_vfs_sysfs_add_sb(
        type_dir: *mut bindings::kobject,
        sb: *mut c_void,
        show_stats: ShowFn,
    ) -> *mut bindings::kobject;
    fn shrinkfs_vfs_sysfs_remove(dir: *mut bindings::kobject);
}

/// A directory under `/sys/fs/`, removed when dropped.
///
/// # Invariants
///
/// `kobj` is a kobject in sysfs that this value holds the only reference to
/// outside the kobject core.
pub(super) struct SysfsDir {
    kobj: NonNull<bindings::kobject>,
}

// SAFETY: A kobject's reference count and sysfs entry may be dropped from any
// thread; only the owner ever removes it.
unsafe impl Send for SysfsDir {}
// SAFETY: `&SysfsDir` only lends the pointer to `add_sb`, which takes its
// own reference under the kobject core's locks.
unsafe impl Sync for SysfsDir {}

impl SysfsDir {
    /// Creates `/sys/fs/<name>/`.
    pub(super) fn for_type(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a NUL-terminated string; the kobject core copies it.
        let kobj = unsafe { shrinkfs_vfs_sysfs_add_type(name.as_char_ptr()) };
        // INVARIANT: A new kobject whose one reference we now own.
        NonNull::new(kobj).map(|kobj| Self { kobj }).ok_or(ENOMEM)
    }

    /// Creates `<major>:<minor>/stats` for `sb` in this type's directory;
    /// reading `stats` calls [`FileSystem::write_stats`].
    ///
    /// # Safety
    ///
    /// `sb` is a superblock of `T` with its state set and device number
    /// assigned, and the returned directory is dropped before the state is.
    pub(super) unsafe fn for_super<T: FileSystem>(
        &self,
        sb: *mut bindings::super_block,
    ) -> Result<Self> {
        // SAFETY: `self.kobj` is live (type invariant) and `sb` valid (caller);
        // `show_stats::<T>` is valid for `sb` until the directory is removed,
        // which the caller does before the state goes.
        let kobj =
            unsafe { shrinkfs_vfs_sysfs_add_sb(self.kobj.as_ptr(), sb.cast(), show_stats::<T>) };
        let kobj = from_err_ptr(kobj)?;
        // INVARIANT: `from_err_ptr` let only a valid kobject through, whose
        // one reference we now own.
        NonNull::new(kobj).map(|kobj| Self { kobj }).ok_or(ENOMEM)
    }
}

impl Drop for SysfsDir {
    fn drop(&mut self) {
        // SAFETY: We own the reference (type invariant); the call waits for
        // reads in progress, so none runs after this returns.
        unsafe { shrinkfs_vfs_sysfs_remove(self.kobj.as_ptr()) };
    }
}

/// A sysfs page being written: at most `PAGE_SIZE` bytes.
struct Page<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for Page<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self
            .len
            .checked_add(s.len())
            .filter(|&e| e <= self.buf.len());
        let end = end.ok_or(fmt::Error)?;
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Reads `stats`.
///
/// # Safety
///
/// Called by sysfs (through helpers.c) with a superblock of `T` whose state
/// lives (the directory is removed before it goes) and a page-sized buffer.
unsafe extern "C" fn show_stats<T: FileSystem>(
    sb: *mut bindings::super_block,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs hands `show` a zeroed buffer of `PAGE_SIZE` bytes that
    // nobody else touches during the call.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), bindings::PAGE_SIZE) };
    let mut page = Page { buf, len: 0 };
    // SAFETY: The state lives for the call (caller).
    let data = unsafe { super_block::data::<T>(sb) };
    match T::write_stats(data, &mut page) {
        Ok(()) => page.len as isize,
        Err(fmt::Error) => -(bindings::EOVERFLOW as isize),
    }
}
