// SPDX-License-Identifier: GPL-2.0

//! Must not compile (`make compile-fail`): a filesystem type carries the
//! filesystem registered in it, so neither the reaper nor a registration
//! can take shrinkfs's type for another filesystem's.

use core::fmt;

use kernel::c_str;
use kernel::prelude::*;

use crate::vfs::{self, DirEntry, FileSystem, InodeKind};

struct Other;

#[vtable]
impl FileSystem for Other {
    const NAME: &'static CStr = c_str!("other");
    const MAGIC: u64 = 1;
    type Options = ();
    type Data = ();
    type OptionError = &'static str;

    fn parse_option(_: &mut (), _: &[u8], _: Option<&[u8]>) -> Result<bool, &'static str> {
        Ok(false)
    }
    fn new_super(_: &()) -> Result<(), &'static str> {
        Ok(())
    }
    fn root_ino(_: &()) -> u64 {
        1
    }
    fn inode_kind(_: &(), _: u64) -> Option<InodeKind> {
        None
    }
    fn lookup(_: &(), _: u64, _: &[u8]) -> Option<u64> {
        None
    }
    fn dir_entry(_: &(), _: u64, _: u64) -> Option<DirEntry> {
        None
    }
    fn write_content(_: &(), _: u64, _: &mut dyn fmt::Write) -> fmt::Result {
        Ok(())
    }
    fn write_stats(_: &(), _: &mut dyn fmt::Write) -> fmt::Result {
        Ok(())
    }
}

/// The reaper reading shrinkfs's superblocks as `Other`'s.
#[cfg(shrinkfs_reaper)]
fn reap_as_another_type() -> usize {
    vfs::reap::<Other>(&crate::SHRINKFS_TYPE, 1, 0)
}

/// `Other` registered in shrinkfs's type.
fn register_as_another_type(module: &'static ThisModule) -> Result<vfs::Registration<Other>> {
    vfs::Registration::<Other>::new(&crate::SHRINKFS_TYPE, module)
}
