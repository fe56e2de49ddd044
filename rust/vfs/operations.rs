// SPDX-License-Identifier: GPL-2.0

//! The operation tables of a [`FileSystem`], built as constants per
//! implementation, and the callbacks in them.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/dcache.h`](srctree/include/linux/dcache.h)

use core::ffi::{c_int, c_uint};
use core::fmt;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::Ordering;

use kernel::bindings;
use kernel::ffi::{c_char, c_long};
use kernel::prelude::*;

use super::dentry::{self, Directory};
use super::ffi::{self, LOOKUP_RCU};
use super::inode::{self, InodeOps};
use super::super_block::{self, SuperOps};
use super::{Event, FileSystem};

struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const SUPER: bindings::super_operations = bindings::super_operations {
        statfs: Some(bindings::simple_statfs),
        // Inodes go with their last reference; their dentries keep them.
        drop_inode: Some(bindings::generic_delete_inode),
        evict_inode: Some(evict_inode::<T>),
        nr_cached_objects: Some(nr_cached_objects::<T>),
        // SAFETY: All-zero is valid for the remaining fields: `None` callbacks.
        ..unsafe { core::mem::zeroed() }
    };

    const DENTRY: bindings::dentry_operations = bindings::dentry_operations {
        d_revalidate: Some(d_revalidate::<T>),
        d_init: Some(d_init::<T>),
        d_release: Some(d_release::<T>),
        // SAFETY: As above.
        ..unsafe { core::mem::zeroed() }
    };

    const DIR_INODE: bindings::inode_operations = bindings::inode_operations {
        lookup: Some(lookup::<T>),
        // SAFETY: As above.
        ..unsafe { core::mem::zeroed() }
    };

    const DIR_FILE: bindings::file_operations = bindings::file_operations {
        llseek: Some(bindings::generic_file_llseek),
        read: Some(bindings::generic_read_dir),
        iterate_shared: Some(iterate_shared::<T>),
        unlocked_ioctl: if T::HAS_IOCTL { Some(ioctl::<T>) } else { None },
        // SAFETY: As above; a null `owner` is fine, since every open file
        // pins its mount and so the module.
        ..unsafe { core::mem::zeroed() }
    };

    const FILE: bindings::file_operations = bindings::file_operations {
        llseek: Some(bindings::generic_file_llseek),
        read: Some(read::<T>),
        // SAFETY: As above.
        ..unsafe { core::mem::zeroed() }
    };
}

impl<T: FileSystem> Tables<T> {
    const INODES: InodeOps = InodeOps {
        dir_inode: &Self::DIR_INODE,
        dir_file: &Self::DIR_FILE,
        file: &Self::FILE,
    };

    const SUPER_OPS: SuperOps = SuperOps {
        sb: &Self::SUPER,
        dentry: &Self::DENTRY,
        inodes: &Self::INODES,
        show_stats: show_stats::<T>,
    };
}

/// What a new superblock of `T` is set up with.
pub(super) fn super_ops<T: FileSystem>() -> &'static SuperOps {
    &Tables::<T>::SUPER_OPS
}

/// `kill_sb` of a filesystem type registered for `T`.
///
/// # Safety
///
/// Called by the VFS with a superblock of `T` being shut down.
pub(super) unsafe extern "C" fn kill_sb<T: FileSystem>(sb: *mut bindings::super_block) {
    // SAFETY: Guaranteed by the caller.
    unsafe { super_block::kill::<T>(sb) };
}

/// # Safety
///
/// Called by the VFS with an inode of `T` being evicted.
unsafe extern "C" fn evict_inode<T: FileSystem>(inode: *mut bindings::inode) {
    // SAFETY: The inode and its superblock are live while it is evicted, and
    // eviction happens before `kill_sb` drops the state:
    // `generic_shutdown_super()` evicts every inode before `kill_anon_super()`
    // returns. `i_data` is reached by pointer: the page cache's own locks
    // guard it, not a Rust borrow.
    unsafe {
        bindings::truncate_inode_pages_final(ptr::addr_of_mut!((*inode).i_data));
        bindings::clear_inode(inode);
        T::race_window();
        T::event(super_block::data::<T>((*inode).i_sb), Event::InodeEvict);
    }
    T::evict_delay();
}

/// The superblock shrinker's question for filesystem-private objects, asked
/// in `super_cache_count()` and `super_cache_scan()`: shrinkfs has none, but
/// counting the calls shows the memory shrinker visiting the superblock.
///
/// # Safety
///
/// Called by the VFS's shrinker with a live superblock of `T`: the shrinker
/// is freed before `kill_sb` runs.
unsafe extern "C" fn nr_cached_objects<T: FileSystem>(
    sb: *mut bindings::super_block,
    _sc: *mut bindings::shrink_control,
) -> c_long {
    // SAFETY: The superblock's state lives while its shrinker runs (caller).
    unsafe { T::event(super_block::data::<T>(sb), Event::ShrinkerCall) };
    0
}

/// Whether a dentry is as new as its directory's generation.
///
/// # Safety
///
/// Called by the VFS with a dentry of `T`, referenced or (in RCU walk mode,
/// `LOOKUP_RCU`) under `rcu_read_lock()`: either way its parent and the
/// parent's inode stay allocated for the call.
unsafe extern "C" fn d_revalidate<T: FileSystem>(
    dentry: *mut bindings::dentry,
    flags: c_uint,
) -> c_int {
    // SAFETY: `dentry` is live (caller); a parent read once is kept allocated
    // by the reference or RCU (caller), and shrinkfs never renames, so it is
    // the parent the dentry was looked up in.
    let dir = unsafe {
        let parent = ptr::read_volatile(ptr::addr_of!((*dentry).d_parent));
        if parent == dentry {
            return 1;
        }
        ptr::read_volatile(ptr::addr_of!((*parent).d_inode))
    };
    // SAFETY: The dentry's superblock is live while its dentries are walked,
    // and the dentry is live (caller).
    #[cfg(shrinkfs_expiry)]
    unsafe {
        if let Some((data, index)) = super_block::expiry::<T>((*dentry).d_sb) {
            if index.expired(dentry) {
                T::event(data, Event::Expired);
                return 0;
            }
        }
    }
    if dir.is_null() {
        return if flags & LOOKUP_RCU != 0 {
            ECHILD.to_errno()
        } else {
            0
        };
    }
    // SAFETY: `dir` is the live directory inode of the parent (above).
    let current = unsafe { inode::generation(dir) }.load(Ordering::Acquire);
    // SAFETY: `dentry` is a live dentry of `T` (caller).
    let seen = unsafe { dentry::stamp(dentry) }.load(Ordering::Acquire);
    if seen == current {
        return 1;
    }
    // SAFETY: The dentry's superblock is live while its dentries are walked.
    unsafe { T::event(super_block::data::<T>((*dentry).d_sb), Event::Stale) };
    0
}

/// # Safety
///
/// Called by the VFS with a new dentry of a superblock of `T`.
unsafe extern "C" fn d_init<T: FileSystem>(dentry: *mut bindings::dentry) -> c_int {
    // A deadline before the dentry can be found: `d_time` starts undefined.
    // SAFETY: As below.
    #[cfg(shrinkfs_expiry)]
    unsafe {
        if let Some((_, index)) = super_block::expiry::<T>((*dentry).d_sb) {
            index.stamp(dentry);
        }
    }
    // SAFETY: The dentry is live; its superblock's state is set before the
    // first dentry (the root) is made.
    unsafe { T::event(super_block::data::<T>((*dentry).d_sb), Event::DentryInit) };
    0
}

/// # Safety
///
/// Called by the VFS with a dentry of `T` being freed.
unsafe extern "C" fn d_release<T: FileSystem>(dentry: *mut bindings::dentry) {
    T::race_window();
    // SAFETY: As below; `->d_release` runs with no dentry lock held.
    #[cfg(shrinkfs_expiry)]
    unsafe {
        if let Some((_, index)) = super_block::expiry::<T>((*dentry).d_sb) {
            index.forget(dentry);
        }
    }
    // SAFETY: The dentry is live in this callback, and its superblock's state
    // too: `generic_shutdown_super()` kills every dentry of the superblock
    // (`shrink_dcache_for_umount()`, which waits for those on other shrink
    // lists) before `kill_anon_super()` returns and `kill_sb` drops the state.
    unsafe { T::event(super_block::data::<T>((*dentry).d_sb), Event::DentryRelease) };
}

/// # Safety
///
/// Called by the VFS with a directory of `T`, locked, and a new dentry in it.
unsafe extern "C" fn lookup<T: FileSystem>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    _flags: c_uint,
) -> *mut bindings::dentry {
    // SAFETY: `dir` and `dentry` are live (caller); `d_name` is stable while
    // the parent is locked, and `name` points at `len` bytes.
    let (sb, dir_ino, name) = unsafe {
        let qstr = &(*dentry).d_name;
        let len = qstr.__bindgen_anon_1.__bindgen_anon_1.len as usize;
        (
            (*dir).i_sb,
            (*dir).i_ino as u64,
            core::slice::from_raw_parts(qstr.name, len),
        )
    };
    // SAFETY: A superblock with a directory being looked up has its state.
    let data = unsafe { super_block::data::<T>(sb) };
    T::event(data, Event::Lookup);
    // SAFETY: `dir` is live (caller).
    let seen = unsafe { inode::generation(dir) }.load(Ordering::Acquire);
    // SAFETY: `dentry` is a live dentry of `T` (caller).
    unsafe { dentry::stamp(dentry) }.store(seen, Ordering::Release);
    let inode = match T::lookup(data, dir_ino, name) {
        // A negative dentry: the name is cached as absent.
        None => core::ptr::null_mut(),
        // SAFETY: `sb` is live with its state set.
        Some(ino) => match unsafe { inode::iget::<T>(sb, data, ino, &Tables::<T>::INODES) } {
            Ok(inode) => inode,
            Err(e) => return e.to_ptr(),
        },
    };
    // SAFETY: `d_splice_alias()` takes over our inode reference (or null).
    let alias = unsafe { bindings::d_splice_alias(inode, dentry) };
    // A directory has one dentry: if it has one already (an invalidated
    // dentry kept alive by a cwd or an open file), the walk goes on with
    // that one, which still carries the generation it was looked up in.
    let Ok(found) = kernel::error::from_err_ptr(alias) else {
        return alias;
    };
    if !found.is_null() {
        // SAFETY: `d_splice_alias()` returned a live, referenced dentry of
        // the same superblock.
        unsafe { dentry::stamp(found) }.store(seen, Ordering::Release);
    }
    // SAFETY: The dentry the walk goes on with is live and referenced (as
    // above); a superblock with a lookup in progress has its state.
    #[cfg(shrinkfs_expiry)]
    unsafe {
        let found = if found.is_null() { dentry } else { found };
        if let Some((data, index)) = super_block::expiry::<T>(sb) {
            if !index.track(found) {
                T::event(data, Event::ExpiryUnindexed);
            }
        }
    }
    alias
}

/// # Safety
///
/// Called by the VFS with an open directory of `T` and its listing context.
unsafe extern "C" fn iterate_shared<T: FileSystem>(
    file: *mut bindings::file,
    ctx: *mut bindings::dir_context,
) -> c_int {
    // SAFETY: `file` and `ctx` are live for the call (caller).
    if !unsafe { ffi::shrinkfs_vfs_dir_emit_dots(file.cast(), ctx) } {
        return 0;
    }
    // SAFETY: An open file pins its inode, the inode its superblock.
    let (data, dir) = unsafe {
        let inode = (*file).f_inode;
        (super_block::data::<T>((*inode).i_sb), (*inode).i_ino as u64)
    };
    loop {
        // SAFETY: `ctx` is live and only this callback moves `pos` meanwhile.
        let pos = unsafe { (*ctx).pos };
        // Positions 0 and 1 are `.` and `..`; entry `i` is at `i + 2`.
        let Some(entry) = u64::try_from(pos - 2)
            .ok()
            .and_then(|i| T::dir_entry(data, dir, i))
        else {
            return 0;
        };
        let d_type = if entry.is_dir {
            bindings::DT_DIR
        } else {
            bindings::DT_REG
        };
        // SAFETY: `ctx` is live; the name is `name_len` initialised bytes.
        let more = unsafe {
            ffi::shrinkfs_vfs_dir_emit(
                ctx,
                entry.name.as_ptr().cast(),
                entry.name_len as c_int,
                entry.ino,
                d_type,
            )
        };
        if !more {
            return 0;
        }
        // SAFETY: As above.
        unsafe { (*ctx).pos += 1 };
    }
}

/// Text formatted into a fixed buffer: a file's content on the stack, or a
/// sysfs page.
struct Buffer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Buffer<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    fn text(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl fmt::Write for Buffer<'_> {
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

/// Longest content of a regular file.
const CONTENT_MAX: usize = 512;

/// # Safety
///
/// Called by the VFS with an open regular file of `T`, a user buffer of
/// `count` bytes and the file position.
unsafe extern "C" fn read<T: FileSystem>(
    file: *mut bindings::file,
    buf: *mut c_char,
    count: usize,
    ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: An open file pins its inode, the inode its superblock.
    let (data, ino) = unsafe {
        let inode = (*file).f_inode;
        (super_block::data::<T>((*inode).i_sb), (*inode).i_ino as u64)
    };
    let mut storage = [0u8; CONTENT_MAX];
    let mut content = Buffer::new(&mut storage);
    if T::write_content(data, ino, &mut content).is_err() {
        return EIO.to_errno() as isize;
    }
    // SAFETY: `buf` is a user pointer of `count` bytes and `ppos` the file
    // position (caller); `simple_read_from_buffer()` copies with
    // `copy_to_user()` and checks both.
    unsafe {
        bindings::simple_read_from_buffer(
            buf.cast(),
            count,
            ppos,
            content.text().as_ptr().cast(),
            content.text().len(),
        )
    }
}

/// # Safety
///
/// Called by the VFS with an open directory of `T`.
unsafe extern "C" fn ioctl<T: FileSystem>(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: kernel::ffi::c_ulong,
) -> kernel::ffi::c_long {
    // SAFETY: An open file pins its inode, the inode its superblock.
    let data = unsafe { super_block::data::<T>((*(*file).f_inode).i_sb) };
    // SAFETY: The file stays open for the whole ioctl.
    let dir = unsafe { Directory::of_file(file) };
    match T::ioctl(data, &dir, cmd, arg as usize) {
        Ok(ret) => ret as kernel::ffi::c_long,
        Err(e) => e.to_errno() as kernel::ffi::c_long,
    }
}

/// Reads a superblock's `stats` in sysfs.
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
    let mut page = Buffer::new(buf);
    // SAFETY: The state lives for the call (caller).
    let data = unsafe { super_block::data::<T>(sb) };
    match T::write_stats(data, &mut page) {
        Ok(()) => page.text().len() as isize,
        Err(fmt::Error) => -(bindings::EOVERFLOW as isize),
    }
}
