// SPDX-License-Identifier: GPL-2.0
/*
 * C glue for the shrinkfs Rust VFS layer.
 *
 * The module must build against a stock 6.12 kernel too (the benchmarks
 * compare stock and patched kernels with the same module), so it cannot lean
 * on a series patch that adds <linux/fs_context.h> to the Rust bindings.
 * 6.12's bindings do not reach fs_context.h at all, so the
 * fs_context_operations table lives here and calls back into Rust; the rest
 * are static inlines and macros the bindings cannot see. The per-superblock
 * sysfs directories are here too: 6.12 has no Rust kobject abstraction.
 */

#include <linux/bug.h>
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/jiffies.h>
#include <linux/kobject.h>
#include <linux/lockdep.h>
#include <linux/namei.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "helpers.h"

/* Values rust/vfs/ffi.rs copies by hand: bindgen cannot evaluate them. */
static_assert(DCACHE_SHRINK_LIST == 1 << 10);
static_assert(S_IFMT == 0170000);
static_assert(SB_RDONLY == 1 << 0);
static_assert(LOOKUP_RCU == 0x0040);
static_assert(SHRINKFS_VFS_NOT_MINE == 1);

static int shrinkfs_vfs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, shrinkfs_vfs_fill_super);
}

static int shrinkfs_vfs_parse_param(struct fs_context *fc,
				    struct fs_parameter *param)
{
	const char *value;
	int ret;

	switch (param->type) {
	case fs_value_is_flag:
		value = NULL;
		break;
	case fs_value_is_string:
		value = param->string;
		break;
	default:
		return invalfc(fc, "%s takes a plain value", param->key);
	}
	ret = shrinkfs_vfs_parse_option(fc, param->key, value);
	/* Not ours: let the VFS handle "source" and reject the rest. */
	return ret == SHRINKFS_VFS_NOT_MINE ? -ENOPARAM : ret;
}

/*
 * A remount keeps the superblock read-only whatever it asks for, as
 * squashfs does, and the filesystem refuses options it cannot change.
 */
static int shrinkfs_vfs_reconfigure(struct fs_context *fc)
{
	fc->sb_flags |= SB_RDONLY;
	return shrinkfs_vfs_reconfigure_super(fc->root->d_sb, fc);
}

/*
 * What a shrinkfs mount context carries in fs_private: the Rust callbacks of
 * its filesystem type, handed over by that type's init_fs_context, and the
 * options parsed so far.
 */
struct shrinkfs_vfs_fc {
	const void *ops;
	void *options;
};

static void shrinkfs_vfs_free(struct fs_context *fc)
{
	shrinkfs_vfs_free_options(fc);
	kfree(fc->fs_private);
}

static const struct fs_context_operations shrinkfs_vfs_context_ops = {
	.get_tree	= shrinkfs_vfs_get_tree,
	.parse_param	= shrinkfs_vfs_parse_param,
	.reconfigure	= shrinkfs_vfs_reconfigure,
	.free		= shrinkfs_vfs_free,
};

int shrinkfs_vfs_init_fs_context(struct fs_context *fc, const void *ops)
{
	struct shrinkfs_vfs_fc *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	ctx->ops = ops;
	fc->fs_private = ctx;
	fc->ops = &shrinkfs_vfs_context_ops;
	return 0;
}

const void *shrinkfs_vfs_fc_ops(struct fs_context *fc)
{
	const struct shrinkfs_vfs_fc *ctx = fc->fs_private;

	return ctx->ops;
}

void **shrinkfs_vfs_fc_options(struct fs_context *fc)
{
	struct shrinkfs_vfs_fc *ctx = fc->fs_private;

	return &ctx->options;
}

/* Fails the mount with -EINVAL and @msg in the fs_context log and dmesg. */
int shrinkfs_vfs_fc_invalid(struct fs_context *fc, const char *msg)
{
	return invalfc(fc, "%s", msg);
}

bool shrinkfs_vfs_need_resched(void)
{
	return need_resched();
}

void shrinkfs_vfs_cond_resched(void)
{
	cond_resched();
}

/*
 * __iget(): the caller holds @inode->i_lock and has seen none of I_NEW,
 * I_FREEING and I_WILL_FREE, so the inode has a reference already and
 * this one keeps it on its superblock's list.
 */
void shrinkfs_vfs_hold_inode(struct inode *inode)
{
	lockdep_assert_held(&inode->i_lock);
	__iget(inode);
}

bool shrinkfs_vfs_dir_emit_dots(struct file *file, struct dir_context *ctx)
{
	return dir_emit_dots(file, ctx);
}

bool shrinkfs_vfs_dir_emit(struct dir_context *ctx, const char *name, int len,
			   u64 ino, unsigned int type)
{
	return dir_emit(ctx, name, len, ino, type);
}

void shrinkfs_vfs_warn(const char *msg)
{
	WARN(1, "shrinkfs: %s\n", msg);
}

/* /sys/fs/<type>/<major>:<minor>/: one directory per superblock. */
struct shrinkfs_vfs_sb_kobj {
	struct kobject kobj;
	struct super_block *sb;
	shrinkfs_vfs_show_fn show_stats;
};

static struct shrinkfs_vfs_sb_kobj *to_sb_kobj(struct kobject *kobj)
{
	return container_of(kobj, struct shrinkfs_vfs_sb_kobj, kobj);
}

static ssize_t stats_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	struct shrinkfs_vfs_sb_kobj *sb_kobj = to_sb_kobj(kobj);

	return sb_kobj->show_stats(sb_kobj->sb, buf);
}

static struct kobj_attribute stats_attr = __ATTR_RO(stats);

static struct attribute *sb_attrs[] = {
	&stats_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(sb);

static void sb_kobj_release(struct kobject *kobj)
{
	kfree(to_sb_kobj(kobj));
}

static const struct kobj_type sb_ktype = {
	.sysfs_ops	= &kobj_sysfs_ops,
	.default_groups	= sb_groups,
	.release	= sb_kobj_release,
};

/* Creates /sys/fs/@name: the directory or NULL. */
struct kobject *shrinkfs_vfs_sysfs_add_type(const char *name)
{
	return kobject_create_and_add(name, fs_kobj);
}

/*
 * Creates @type_dir/<major>:<minor>/stats for @sb, whose read calls
 * @show_stats: the directory or an ERR_PTR().
 */
struct kobject *shrinkfs_vfs_sysfs_add_sb(struct kobject *type_dir,
					  struct super_block *sb,
					  shrinkfs_vfs_show_fn show_stats)
{
	struct shrinkfs_vfs_sb_kobj *sb_kobj;
	int err;

	sb_kobj = kzalloc(sizeof(*sb_kobj), GFP_KERNEL);
	if (!sb_kobj)
		return ERR_PTR(-ENOMEM);
	sb_kobj->sb = sb;
	sb_kobj->show_stats = show_stats;
	err = kobject_init_and_add(&sb_kobj->kobj, &sb_ktype, type_dir, "%u:%u",
				   MAJOR(sb->s_dev), MINOR(sb->s_dev));
	if (err) {
		kobject_put(&sb_kobj->kobj);
		return ERR_PTR(err);
	}
	return &sb_kobj->kobj;
}

/*
 * Removes a directory of either kind. kobject_del() waits for every read in
 * progress, so @show_stats is not called once this returns.
 */
void shrinkfs_vfs_sysfs_remove(struct kobject *dir)
{
	kobject_del(dir);
	kobject_put(dir);
}

/* A dentry's expiry deadline, @ms from now, in jiffies. */
unsigned long shrinkfs_vfs_deadline(unsigned int ms)
{
	return jiffies + msecs_to_jiffies(ms);
}

/* Whether @deadline (jiffies) has passed. */
bool shrinkfs_vfs_past(unsigned long deadline)
{
	return time_after(jiffies, deadline);
}
