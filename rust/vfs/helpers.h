/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two sides of the shrinkfs VFS glue: what rust/vfs/helpers.c offers the
 * Rust code, and what it calls back into Rust (rust/vfs/fs_context.rs).
 */
#ifndef SHRINKFS_VFS_HELPERS_H
#define SHRINKFS_VFS_HELPERS_H

#include <linux/types.h>

struct dir_context;
struct file;
struct fs_context;
struct inode;
struct kobject;
struct super_block;

/* What shrinkfs_vfs_parse_option() returns for a key that is not its own. */
#define SHRINKFS_VFS_NOT_MINE	1

/* Formats a superblock's counters into a sysfs page: bytes written. */
typedef ssize_t (*shrinkfs_vfs_show_fn)(struct super_block *sb, char *buf);

/* Offered to Rust by helpers.c. */
int shrinkfs_vfs_init_fs_context(struct fs_context *fc, const void *ops);
const void *shrinkfs_vfs_fc_ops(struct fs_context *fc);
void **shrinkfs_vfs_fc_options(struct fs_context *fc);
int shrinkfs_vfs_fc_invalid(struct fs_context *fc, const char *msg);
bool shrinkfs_vfs_need_resched(void);
void shrinkfs_vfs_cond_resched(void);
void shrinkfs_vfs_hold_inode(struct inode *inode);
bool shrinkfs_vfs_dir_emit_dots(struct file *file, struct dir_context *ctx);
bool shrinkfs_vfs_dir_emit(struct dir_context *ctx, const char *name, int len,
			   u64 ino, unsigned int type);
void shrinkfs_vfs_warn(const char *msg);
unsigned long shrinkfs_vfs_deadline(unsigned int ms);
bool shrinkfs_vfs_past(unsigned long deadline);
struct kobject *shrinkfs_vfs_sysfs_add_type(const char *name);
struct kobject *shrinkfs_vfs_sysfs_add_sb(struct kobject *type_dir,
					  struct super_block *sb,
					  shrinkfs_vfs_show_fn show_stats);
void shrinkfs_vfs_sysfs_remove(struct kobject *dir);

/* Implemented in Rust. */
int shrinkfs_vfs_fill_super(struct super_block *sb, struct fs_context *fc);
int shrinkfs_vfs_reconfigure_super(struct super_block *sb,
				   struct fs_context *fc);
int shrinkfs_vfs_parse_option(struct fs_context *fc, const char *key,
			      const char *value);
void shrinkfs_vfs_free_options(struct fs_context *fc);

#endif /* SHRINKFS_VFS_HELPERS_H */
