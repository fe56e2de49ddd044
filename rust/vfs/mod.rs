// SPDX-License-Identifier: GPL-2.0

//! A thin, safe layer over the VFS objects shrinkfs needs.
//!
//! 6.12 has no `kernel::fs`, so this layer follows the shape of
//! `kernel::block::mq`: a trait the filesystem implements, C callbacks that
//! dispatch to it, and one wrapper type per C object. Every `unsafe` block of
//! the module lives below this directory.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h)

mod fs_type;
mod inode;
mod super_block;

pub(crate) use fs_type::{FileSystemType, Registration};
pub(crate) use inode::NewInode;
pub(crate) use super_block::NewSuperBlock;

use kernel::prelude::*;

/// A filesystem: what a mount of it looks like.
pub(crate) trait FileSystem {
    /// The name `mount -t` takes.
    const NAME: &'static CStr;

    /// `statfs(2)`'s `f_type`.
    const MAGIC: u64;

    /// Sets up a new superblock, returning the inode of its root directory.
    fn fill_super(sb: &NewSuperBlock<'_>) -> Result<NewInode>;
}
