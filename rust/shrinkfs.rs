// SPDX-License-Identifier: GPL-2.0

//! The filesystem itself, in safe Rust over [`crate::vfs`].

use kernel::c_str;
use kernel::prelude::*;

use crate::vfs::{FileSystem, NewInode, NewSuperBlock};

/// Inode number of every mount's root directory.
const ROOT_INO: u64 = 1;

pub(crate) struct ShrinkFs;

impl FileSystem for ShrinkFs {
    const NAME: &'static CStr = c_str!("shrinkfs");
    // "shrk"
    const MAGIC: u64 = 0x7368_726b;

    fn fill_super(sb: &NewSuperBlock<'_>) -> Result<NewInode> {
        Ok(sb.new_inode()?.make_dir(ROOT_INO))
    }
}
