// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs's expiry mode, FUSE's pattern: a mount with expire_ms=N gives
 * every dentry a deadline at lookup and indexes it, without a reference, in
 * buckets under spinlocks; ->d_revalidate fails an expired dentry, and an
 * expiry pass (SHRINKFS_IOC_EXPIRE, or every expiry_interval_ms) moves the
 * expired, unused ones onto a private shrink list with
 * d_dispose_if_unused() (patches/0004) and kills them. The rig's splat scan
 * and kmemleak judge the kernel; these tests check what the counters say.
 */

#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "kselftest_harness.h"

#include "shrinkfs_uapi.h"
#include "shrinkfs_util.h"

/* Far longer than a walk of the tree takes, even under KASAN and TCG. */
#define EXPIRE_MS	1000
/* 1 + 4 + 16 directories, 4 files each: 84 files, 104 dentries but root. */
#define GEOMETRY	"depth=2,fanout=4,files=4"
#define BELOW_ROOT	104

static int visit(const char *path, const struct stat *st, int type,
		 struct FTW *ftw)
{
	return 0;
}

/* Sleeps until every deadline set so far has passed. */
static void outlive_deadlines(void)
{
	struct timespec ts = {
		.tv_sec = 2 * EXPIRE_MS / 1000,
		.tv_nsec = 2 * EXPIRE_MS % 1000 * 1000000L,
	};

	nanosleep(&ts, NULL);
}

FIXTURE(expiry) {
	char mnt[64];
	int root;
};

FIXTURE_SETUP(expiry)
{
	char options[96];

	if (getuid())
		SKIP(return, "loading modules needs root");
	self->root = -1;
	ASSERT_EQ(0, shrinkfs_prepare(self->mnt, sizeof(self->mnt), "ex"));
	snprintf(options, sizeof(options), "%s,expire_ms=%d", GEOMETRY,
		 EXPIRE_MS);
	if (mount("none", self->mnt, "shrinkfs", 0, options)) {
		/* Ask the module why: it says EOPNOTSUPP without the helper. */
		ASSERT_EQ(0, mount("none", self->mnt, "shrinkfs", 0, GEOMETRY)) {
			shrinkfs_cleanup(self->mnt);
		}
		self->root = open(self->mnt, O_RDONLY | O_DIRECTORY);
		if (self->root >= 0 &&
		    ioctl(self->root, SHRINKFS_IOC_EXPIRE, 0) < 0 &&
		    errno == EOPNOTSUPP) {
			close(self->root);
			shrinkfs_cleanup(self->mnt);
			SKIP(return, "the kernel does not export d_dispose_if_unused()");
		}
		if (self->root >= 0)
			close(self->root);
		shrinkfs_cleanup(self->mnt);
		ASSERT_TRUE(false) {
			TH_LOG("mount -o %s refused: %s", options, strerror(errno));
		}
	}
	self->root = open(self->mnt, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, self->root) {
		shrinkfs_cleanup(self->mnt);
	}
}

FIXTURE_TEARDOWN(expiry)
{
	if (self->root >= 0)
		close(self->root);
	shrinkfs_cleanup(self->mnt);
}

static void stats(struct __test_metadata *_metadata, int fd,
		  struct shrinkfs_stats *s)
{
	ASSERT_EQ(0, ioctl(fd, SHRINKFS_IOC_STATS, s));
}

TEST_F(expiry, an_expired_name_is_looked_up_again)
{
	struct shrinkfs_stats first, cached, expired;
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/d1/f2", self->mnt);
	ASSERT_EQ(0, stat(path, &st));
	stats(_metadata, self->root, &first);
	ASSERT_EQ(0, stat(path, &st));
	stats(_metadata, self->root, &cached);
	EXPECT_EQ(first.lookups, cached.lookups);
	outlive_deadlines();
	ASSERT_EQ(0, stat(path, &st));
	stats(_metadata, self->root, &expired);
	/*
	 * d1 failed ->d_revalidate, and d_invalidate() took f2 with it: both
	 * went to ->lookup again.
	 */
	EXPECT_EQ(2, (long)(expired.lookups - cached.lookups));
	EXPECT_LE(1, (long)(expired.expired - cached.expired));
	EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(expiry, a_pass_kills_what_expired_unused)
{
	struct shrinkfs_stats before, after;
	int disposed;

	ASSERT_EQ(0, nftw(self->mnt, visit, 16, FTW_PHYS));
	stats(_metadata, self->root, &before);
	ASSERT_EQ(BELOW_ROOT + 1, before.dentries_alive);
	/* Nothing has expired yet. */
	EXPECT_EQ(0, ioctl(self->root, SHRINKFS_IOC_EXPIRE, 0));
	outlive_deadlines();
	disposed = ioctl(self->root, SHRINKFS_IOC_EXPIRE, 0);
	stats(_metadata, self->root, &after);
	/*
	 * The 84 files; the 20 directories are in use by their children's
	 * references, and die with their last child, pruned by the list.
	 */
	EXPECT_EQ(84, disposed);
	EXPECT_EQ(84, (long)(after.expiry_disposed - before.expiry_disposed));
	EXPECT_EQ(20, (long)(after.expiry_busy - before.expiry_busy));
	EXPECT_EQ(0, (long)after.expiry_unindexed);
	/* Gone from the dcache: released, not merely unhashed. */
	EXPECT_EQ(BELOW_ROOT, (long)(after.dentry_releases - before.dentry_releases));
	EXPECT_EQ(1, after.dentries_alive);
	EXPECT_EQ(1, after.inodes_alive);
}

TEST_F(expiry, a_dentry_in_use_is_left_alone)
{
	struct shrinkfs_stats before, after;
	char path[128], buf[16];
	int fd;

	snprintf(path, sizeof(path), "%s/d0/f1", self->mnt);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	stats(_metadata, self->root, &before);
	outlive_deadlines();
	EXPECT_LE(0, ioctl(self->root, SHRINKFS_IOC_EXPIRE, 0));
	stats(_metadata, self->root, &after);
	/* f1 is open, d0 its parent: both expired, both in use. */
	EXPECT_LE(2, (long)(after.expiry_busy - before.expiry_busy));
	EXPECT_EQ(before.dentry_releases, after.dentry_releases);
	EXPECT_LT(0, read(fd, buf, sizeof(buf)));
	close(fd);
}

TEST_F(expiry, remount_keeps_the_expiry_time)
{
	EXPECT_EQ(0, mount("none", self->mnt, "shrinkfs", MS_REMOUNT | MS_RDONLY,
			   "expire_ms=1000"));
	EXPECT_EQ(-1, mount("none", self->mnt, "shrinkfs",
			    MS_REMOUNT | MS_RDONLY, "expire_ms=1001"));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(expiry, out_of_range_is_refused)
{
	char other[80];

	snprintf(other, sizeof(other), "%s-2", self->mnt);
	ASSERT_EQ(0, mkdir(other, 0755));
	EXPECT_EQ(-1, mount("none", other, "shrinkfs", 0, "expire_ms=3600001"));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mount("none", other, "shrinkfs", 0, "expire_ms=-1"));
	EXPECT_EQ(EINVAL, errno);
	rmdir(other);
}

/*
 * Mount, look up and unmount while the periodic pass runs every millisecond;
 * kmemleak and the kill_sb checks judge what is left.
 */
TEST_F_TIMEOUT(expiry, a_thousand_mount_cycles_with_the_work_running, 240)
{
	char other[80], file[96];
	struct stat st;
	int i;

	snprintf(other, sizeof(other), "%s-c", self->mnt);
	snprintf(file, sizeof(file), "%s/d1/f0", other);
	ASSERT_EQ(0, mkdir(other, 0755));
	ASSERT_EQ(0, shrinkfs_set_param("expiry_interval_ms", "1"));
	for (i = 0; i < 1000; i++) {
		ASSERT_EQ(0, mount("none", other, "shrinkfs", 0,
				   "depth=1,fanout=2,files=2,expire_ms=1"));
		ASSERT_EQ(0, stat(file, &st));
		ASSERT_EQ(0, umount(other));
	}
	EXPECT_EQ(0, shrinkfs_set_param("expiry_interval_ms", "0"));
	rmdir(other);
}

TEST_HARNESS_MAIN
