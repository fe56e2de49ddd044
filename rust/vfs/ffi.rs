// SPDX-License-Identifier: GPL-2.0

//! The C side of the layer: what `helpers.c` offers (static inlines, macros
//! and the parts of `fs_context.h` and `kobject.h` that 6.12's bindings do
//! not reach), and the constants bindgen cannot evaluate, copied by hand and
//! checked by `static_assert`s in `helpers.c`.
//!
//! Pointers to `struct file`, `struct inode` and `struct super_block` cross
//! untyped where noted: bindgen's copies hold field-less structs that
//! `improper_ctypes` refuses, though only the pointer crosses.

use core::ffi::{c_int, c_uint, c_void};

use kernel::bindings;
use kernel::ffi::c_char;

/// `DCACHE_SHRINK_LIST` of include/linux/dcache.h: `BIT(10)`.
#[cfg(shrinkfs_reaper)]
pub(super) const DCACHE_SHRINK_LIST: u32 = 1 << 10;
/// `S_IFMT` of include/uapi/linux/stat.h.
#[cfg(shrinkfs_reaper)]
pub(super) const S_IFMT: u32 = 0o170000;
/// `SB_RDONLY` of include/linux/fs.h: `BIT(0)`.
pub(super) const SB_RDONLY: usize = 1 << 0;
/// `LOOKUP_RCU` of include/linux/namei.h.
pub(super) const LOOKUP_RCU: c_uint = 0x0040;
/// `SHRINKFS_VFS_NOT_MINE` of `helpers.h`: a key that is not the filesystem's.
pub(super) const NOT_MINE: c_int = 1;

/// Formats a superblock's counters into a sysfs page: bytes written.
pub(super) type ShowFn = unsafe extern "C" fn(*mut bindings::super_block, *mut c_char) -> isize;

extern "C" {
    // Mount contexts.
    pub(super) fn shrinkfs_vfs_init_fs_context(
        fc: *mut bindings::fs_context,
        ops: *const c_void,
    ) -> c_int;
    pub(super) fn shrinkfs_vfs_fc_ops(fc: *mut bindings::fs_context) -> *const c_void;
    pub(super) fn shrinkfs_vfs_fc_options(fc: *mut bindings::fs_context) -> *mut *mut c_void;
    pub(super) fn shrinkfs_vfs_fc_invalid(
        fc: *mut bindings::fs_context,
        msg: *const c_char,
    ) -> c_int;

    // Directory listing (`file` untyped).
    pub(super) fn shrinkfs_vfs_dir_emit_dots(
        file: *mut c_void,
        ctx: *mut bindings::dir_context,
    ) -> bool;
    pub(super) fn shrinkfs_vfs_dir_emit(
        ctx: *mut bindings::dir_context,
        name: *const c_char,
        len: c_int,
        ino: u64,
        d_type: c_uint,
    ) -> bool;

    // Scheduling and inode references (`inode` untyped), for the reaper.
    #[cfg(shrinkfs_reaper)]
    pub(super) fn shrinkfs_vfs_need_resched() -> bool;
    #[cfg(shrinkfs_reaper)]
    pub(super) fn shrinkfs_vfs_cond_resched();
    #[cfg(shrinkfs_reaper)]
    pub(super) fn shrinkfs_vfs_hold_inode(inode: *mut c_void);

    // sysfs directories (`sb` untyped).
    pub(super) fn shrinkfs_vfs_sysfs_add_type(name: *const c_char) -> *mut bindings::kobject;
    pub(super) fn shrinkfs_vfs_sysfs_add_sb(
        type_dir: *mut bindings::kobject,
        sb: *mut c_void,
        show_stats: ShowFn,
    ) -> *mut bindings::kobject;
    pub(super) fn shrinkfs_vfs_sysfs_remove(dir: *mut bindings::kobject);

    // Expiry deadlines in jiffies (`jiffies` and `time_after()` are macros).
    #[cfg(shrinkfs_expiry)]
    pub(super) fn shrinkfs_vfs_deadline(ms: c_uint) -> kernel::ffi::c_ulong;
    #[cfg(shrinkfs_expiry)]
    pub(super) fn shrinkfs_vfs_past(deadline: kernel::ffi::c_ulong) -> bool;

    // WARN() is a macro.
    pub(super) fn shrinkfs_vfs_warn(msg: *const c_char);
}
