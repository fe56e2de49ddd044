// SPDX-License-Identifier: GPL-2.0

//! shrinkfs: a filesystem whose dentries live and die on the real dcache, for
//! beating up dcache changes.

mod geometry;
mod params;
mod shrinkfs;
mod vfs;

#[cfg(shrinkfs_compile_fail)]
#[path = "compile_fail/reap_with_another_type.rs"]
mod compile_fail;

use kernel::prelude::*;

module! {
    type: ShrinkFsModule,
    name: "shrinkfs",
    author: "shrinkfs developers",
    description: "A filesystem for torturing the dcache's shrinking paths",
    license: "GPL",
}

/// Storage for the filesystem type: static, as lockdep requires.
pub(crate) static SHRINKFS_TYPE: vfs::FileSystemType<shrinkfs::ShrinkFs> =
    vfs::FileSystemType::new();

struct ShrinkFsModule {
    // Dropped first: no pass may run once the type is unregistered.
    _periodic_reaper: Option<params::Periodic>,
    _periodic_expiry: Option<params::Periodic>,
    _registration: vfs::Registration<shrinkfs::ShrinkFs>,
}

impl kernel::Module for ShrinkFsModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let registration = vfs::Registration::new(&SHRINKFS_TYPE, module)?;
        pr_info!("registered filesystem type shrinkfs\n");
        Ok(Self {
            _periodic_reaper: shrinkfs::periodic_reaper(),
            _periodic_expiry: shrinkfs::periodic_expiry(),
            _registration: registration,
        })
    }
}
