/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * shrinkfs control interface: ioctls on a directory of a shrinkfs mount.
 * Root only (CAP_SYS_ADMIN); an unknown command gets ENOTTY.
 */
#ifndef _UAPI_SHRINKFS_H
#define _UAPI_SHRINKFS_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* What happened to one superblock's objects since it was mounted. */
struct shrinkfs_stats {
	__u64 lookups;		/* ->lookup calls */
	__s64 dentries_alive;	/* ->d_init minus ->d_release */
	__u64 dentry_releases;	/* ->d_release calls */
	__s64 inodes_alive;	/* inodes read in minus evicted */
	__u64 evictions;	/* ->evict_inode calls */
	__u64 shrink_requests;	/* SHRINKFS_IOC_SHRINK calls */
	__u64 generation_bumps;	/* SHRINKFS_IOC_BUMP_GENERATION calls */
	__u64 stale_dentries;	/* ->d_revalidate calls that said "stale" */
	__u64 reaped;		/* dentries the reaper put on its list */
	__u64 shrinker_calls;	/* memory shrinker visits (count and scan) */
	__u64 expired;		/* ->d_revalidate calls that said "expired" */
	__u64 expiry_passes;	/* expiry passes over the superblock */
	__u64 expiry_disposed;	/* expired, unused dentries they disposed of */
	__u64 expiry_busy;	/* expired dentries they found in use */
	__u64 expiry_unindexed;	/* lookups whose dentry found its bucket full */
};

#define SHRINKFS_IOC_MAGIC	0xb7

/* shrink_dcache_parent() on the directory: kill its unused subtree now. */
#define SHRINKFS_IOC_SHRINK	_IO(SHRINKFS_IOC_MAGIC, 1)
/*
 * Make the directory's cached entries stale: the next lookup through one
 * fails ->d_revalidate and the VFS prunes it with d_invalidate().
 */
#define SHRINKFS_IOC_BUMP_GENERATION	_IO(SHRINKFS_IOC_MAGIC, 3)
/*
 * One pass of the cross-superblock reaper: unused file dentries of every
 * shrinkfs mount go onto one private shrink list (dput_to_list()), are held
 * there for the argument's milliseconds (0..1000), then killed
 * (shrink_dentry_list()). Returns how many it took. EOPNOTSUPP when the
 * module was built against a kernel that does not export dput_to_list().
 */
#define SHRINKFS_IOC_REAP	_IO(SHRINKFS_IOC_MAGIC, 4)
/*
 * One expiry pass now: the expired, unused dentries of every shrinkfs mount
 * with expire_ms go onto a private shrink list (d_dispose_if_unused(), under
 * the locks of the mount's index, no reference taken) and are killed.
 * Returns how many it disposed of. No argument. EOPNOTSUPP when the module
 * was built against a kernel that does not export d_dispose_if_unused().
 */
#define SHRINKFS_IOC_EXPIRE	_IO(SHRINKFS_IOC_MAGIC, 5)
/* Read the superblock's counters. */
#define SHRINKFS_IOC_STATS	_IOR(SHRINKFS_IOC_MAGIC, 2, struct shrinkfs_stats)

#endif /* _UAPI_SHRINKFS_H */
