// SPDX-License-Identifier: GPL-2.0

//! Mount contexts: option parsing and `fill_super`, reached through the
//! `fs_context_operations` table in `helpers.c`.
//!
//! C header: [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h)

use core::ffi::c_int;

use core::fmt;
use core::marker::PhantomData;
use kernel::ffi::c_char;

use kernel::bindings;
use kernel::error::from_result;
use kernel::prelude::*;
use kernel::str::CString;

use super::ffi::{self, NOT_MINE};
use super::{operations, super_block, FileSystem};

/// The mount-context callbacks of one [`FileSystem`], monomorphised.
pub(crate) struct ContextOps {
    parse_option: unsafe fn(*mut bindings::fs_context, &[u8], Option<&[u8]>) -> c_int,
    free: unsafe fn(*mut bindings::fs_context),
    fill_super: unsafe fn(*mut bindings::super_block, *mut bindings::fs_context) -> c_int,
    reconfigure: unsafe fn(*mut bindings::super_block, *mut bindings::fs_context) -> c_int,
}

struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const OPS: ContextOps = ContextOps {
        parse_option: parse_option::<T>,
        free: free::<T>,
        fill_super: fill_super::<T>,
        reconfigure: reconfigure::<T>,
    };
}

/// `init_fs_context` of a filesystem type registered for `T`: every context
/// of the type carries `T`'s callbacks, which the C operations call back.
///
/// # Safety
///
/// Called by the VFS with a new context of a type registered for `T`.
pub(super) unsafe extern "C" fn init_fs_context<T: FileSystem>(
    fc: *mut bindings::fs_context,
) -> c_int {
    let ops: &'static ContextOps = &Tables::<T>::OPS;
    // SAFETY: `fc` is a new context (caller); `ops` lives forever.
    unsafe { ffi::shrinkfs_vfs_init_fs_context(fc, core::ptr::from_ref(ops).cast()) }
}

/// The callbacks of the filesystem `fc` mounts.
///
/// # Safety
///
/// `fc` is a live context that [`init_fs_context`] set up.
unsafe fn ops_of(fc: *mut bindings::fs_context) -> &'static ContextOps {
    // SAFETY: `init_fs_context::<T>` stored `T`'s static `ContextOps` in the
    // context (caller), as an untyped pointer to it.
    unsafe { &*ffi::shrinkfs_vfs_fc_ops(fc).cast::<ContextOps>() }
}

/// The options being parsed into `fc`, created on first use.
///
/// # Safety
///
/// `fc` is a live context of `T`, whose options slot only this module sets,
/// to a `KBox<T::Options>` or null; the VFS serialises its callbacks.
unsafe fn options_of<'a, T: FileSystem>(
    fc: *mut bindings::fs_context,
) -> Result<&'a mut T::Options> {
    // SAFETY: `fc` is valid (caller).
    let slot = unsafe { ffi::shrinkfs_vfs_fc_options(fc) }.cast::<*mut T::Options>();
    // SAFETY: `slot` points into the live context; nothing else touches it
    // concurrently (caller).
    unsafe {
        if (*slot).is_null() {
            *slot = KBox::into_raw(KBox::new(T::Options::default(), GFP_KERNEL)?);
        }
        Ok(&mut **slot)
    }
}

/// Fails the mount with `EINVAL`, logging `why` in the context's log.
///
/// # Safety
///
/// `fc` is a live context.
unsafe fn invalid(fc: *mut bindings::fs_context, why: &dyn fmt::Display) -> c_int {
    match CString::try_from_fmt(kernel::fmt!("{}", why)) {
        // SAFETY: `fc` is valid (caller); `msg` is a NUL-terminated string.
        Ok(msg) => unsafe { ffi::shrinkfs_vfs_fc_invalid(fc, msg.as_char_ptr()) },
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// `fc` is a live context of `T`.
unsafe fn parse_option<T: FileSystem>(
    fc: *mut bindings::fs_context,
    key: &[u8],
    value: Option<&[u8]>,
) -> c_int {
    // SAFETY: Guaranteed by the caller.
    let options = match unsafe { options_of::<T>(fc) } {
        Ok(options) => options,
        Err(e) => return e.to_errno(),
    };
    match T::parse_option(options, key, value) {
        Ok(true) => 0,
        Ok(false) => NOT_MINE,
        // SAFETY: Guaranteed by the caller.
        Err(why) => unsafe { invalid(fc, &why) },
    }
}

/// # Safety
///
/// `fc` is a context of `T` being freed.
unsafe fn free<T: FileSystem>(fc: *mut bindings::fs_context) {
    // SAFETY: `fc` is valid until this callback returns (caller).
    let slot = unsafe { ffi::shrinkfs_vfs_fc_options(fc) }.cast::<*mut T::Options>();
    // SAFETY: A non-null slot holds the box `options_of` leaked, freed once.
    unsafe {
        if !(*slot).is_null() {
            drop(KBox::from_raw(*slot));
            *slot = core::ptr::null_mut();
        }
    }
}

/// # Safety
///
/// `sb` is the new superblock `get_tree_nodev()` made for `fc`, a context
/// of `T`.
unsafe fn fill_super<T: FileSystem>(
    sb: *mut bindings::super_block,
    fc: *mut bindings::fs_context,
) -> c_int {
    from_result(|| {
        // SAFETY: Guaranteed by the caller.
        let options = unsafe { options_of::<T>(fc) }?;
        let data = match T::new_super(options) {
            Ok(data) => data,
            // SAFETY: Guaranteed by the caller.
            Err(why) => return Err(Error::from_errno(unsafe { invalid(fc, &why) })),
        };
        // SAFETY: Guaranteed by the caller.
        unsafe { super_block::fill::<T>(sb, data, operations::super_ops::<T>()) }?;
        Ok(0)
    })
}

/// # Safety
///
/// `sb` is a mounted superblock of `T` (its `s_umount` held by the VFS) and
/// `fc` the context that reconfigures it.
unsafe fn reconfigure<T: FileSystem>(
    sb: *mut bindings::super_block,
    fc: *mut bindings::fs_context,
) -> c_int {
    // SAFETY: Guaranteed by the caller.
    let options = match unsafe { options_of::<T>(fc) } {
        Ok(options) => options,
        Err(e) => return e.to_errno(),
    };
    if !T::HAS_RECONFIGURE {
        // SAFETY: `fc` is valid (caller); only this module sets the slot,
        // when the first option of the filesystem is parsed.
        let parsed_any = unsafe { !(*ffi::shrinkfs_vfs_fc_options(fc)).is_null() };
        if parsed_any {
            // SAFETY: Guaranteed by the caller.
            return unsafe { invalid(fc, &"options cannot change on remount") };
        }
        return 0;
    }
    // SAFETY: A mounted superblock of `T` has its state (caller).
    let data = unsafe { super_block::data::<T>(sb) };
    match T::reconfigure(data, options) {
        Ok(()) => 0,
        // SAFETY: Guaranteed by the caller.
        Err(why) => unsafe { invalid(fc, &why) },
    }
}

/// `->reconfigure`, after `helpers.c` kept the superblock read-only.
///
/// # Safety
///
/// Called by the VFS (through `helpers.c`) with a mounted superblock of a
/// registered shrinkfs type and the context that reconfigures it.
#[no_mangle]
unsafe extern "C" fn shrinkfs_vfs_reconfigure_super(
    sb: *mut bindings::super_block,
    fc: *mut bindings::fs_context,
) -> c_int {
    // SAFETY: Guaranteed by the caller.
    unsafe { (ops_of(fc).reconfigure)(sb, fc) }
}

/// # Safety
///
/// Called by `helpers.c` with a live context of a registered shrinkfs type
/// and NUL-terminated `key` and (unless null) `value`.
#[no_mangle]
unsafe extern "C" fn shrinkfs_vfs_parse_option(
    fc: *mut bindings::fs_context,
    key: *const c_char,
    value: *const c_char,
) -> c_int {
    // SAFETY: Guaranteed by the caller.
    let (key, value) = unsafe {
        (
            CStr::from_char_ptr(key).as_bytes(),
            (!value.is_null()).then(|| CStr::from_char_ptr(value).as_bytes()),
        )
    };
    // SAFETY: Guaranteed by the caller.
    unsafe { (ops_of(fc).parse_option)(fc, key, value) }
}

/// # Safety
///
/// Called by the VFS (through `helpers.c`) on a context being freed.
#[no_mangle]
unsafe extern "C" fn shrinkfs_vfs_free_options(fc: *mut bindings::fs_context) {
    // SAFETY: Guaranteed by the caller.
    unsafe { (ops_of(fc).free)(fc) }
}

/// `get_tree_nodev()`'s callback.
///
/// # Safety
///
/// Called by the VFS with a new, locked superblock and its context.
#[no_mangle]
unsafe extern "C" fn shrinkfs_vfs_fill_super(
    sb: *mut bindings::super_block,
    fc: *mut bindings::fs_context,
) -> c_int {
    // SAFETY: Guaranteed by the caller.
    unsafe { (ops_of(fc).fill_super)(sb, fc) }
}
