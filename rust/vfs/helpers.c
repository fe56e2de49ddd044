// SPDX-License-Identifier: GPL-2.0
/*
 * C glue for the shrinkfs Rust VFS layer.
 *
 * The module must build against a stock 6.12 kernel too (the benchmarks
 * compare stock and patched kernels with the same module), so it cannot lean
 * on a series patch that adds <linux/fs_context.h> to the Rust bindings.
 * 6.12's bindings do not reach fs_context.h at all, so the
 * fs_context_operations table lives here and calls back into Rust; anything
 * else here is a static inline the bindings cannot see.
 */

#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/fs_context.h>

/* Implemented in Rust (rust/vfs/mod.rs). */
int shrinkfs_vfs_fill_super(struct super_block *sb, struct fs_context *fc);

static int shrinkfs_vfs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, shrinkfs_vfs_fill_super);
}

static const struct fs_context_operations shrinkfs_vfs_context_ops = {
	.get_tree	= shrinkfs_vfs_get_tree,
};

int shrinkfs_vfs_init_fs_context(struct fs_context *fc)
{
	fc->ops = &shrinkfs_vfs_context_ops;
	return 0;
}

struct file_system_type *shrinkfs_vfs_fc_fs_type(struct fs_context *fc)
{
	return fc->fs_type;
}
