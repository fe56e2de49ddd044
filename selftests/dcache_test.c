// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs on the dcache: lookups leave unused dentries cached, and the
 * kernel's reclaim paths - the memory shrinker (drop_caches) and
 * shrink_dcache_parent() (SHRINKFS_IOC_SHRINK), and d_invalidate() after a
 * failed ->d_revalidate (SHRINKFS_IOC_BUMP_GENERATION) - find and kill them,
 * as the module's own counters show. Also the control interface's errors.
 */

#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#include "shrinkfs_uapi.h"
#include "shrinkfs_util.h"

/* 1 + 4 + 16 + 64 directories, 3 files each: 340 inodes. */
#define GEOMETRY	"depth=3,fanout=4,files=3"
#define INODES		(85 * 4)
/* /d0 holds 1 + 4 + 16 directories and their 63 files. */
#define D0_SUBTREE	(21 * 4)

static int visit(const char *path, const struct stat *st, int type,
		 struct FTW *ftw)
{
	return 0;
}

static int read_stats(int fd, struct shrinkfs_stats *stats)
{
	return ioctl(fd, SHRINKFS_IOC_STATS, stats);
}

FIXTURE(mount) {
	char mnt[64];
	char path[256];
	int root;
};

FIXTURE_SETUP(mount)
{
	if (getuid())
		SKIP(return, "loading modules needs root");
	ASSERT_EQ(0, shrinkfs_prepare(self->mnt, sizeof(self->mnt), "dc"));
	/* A failed setup has no teardown: it undoes itself. */
	ASSERT_EQ(0, mount("none", self->mnt, "shrinkfs", 0, GEOMETRY)) {
		shrinkfs_cleanup(self->mnt);
	}
	self->root = open(self->mnt, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, self->root) {
		shrinkfs_cleanup(self->mnt);
	}
}

FIXTURE_TEARDOWN(mount)
{
	close(self->root);
	shrinkfs_cleanup(self->mnt);
}

TEST_F(mount, lookups_leave_unused_dentries_cached)
{
	struct shrinkfs_stats before, after;

	ASSERT_EQ(0, read_stats(self->root, &before));
	EXPECT_EQ(1, before.dentries_alive);
	EXPECT_EQ(1, before.inodes_alive);
	ASSERT_EQ(0, nftw(self->mnt, visit, 16, FTW_PHYS));
	ASSERT_EQ(0, read_stats(self->root, &after));
	/* Every name was looked up once and stays cached after the walk. */
	EXPECT_EQ(INODES - 1, (long)(after.lookups - before.lookups));
	EXPECT_EQ(INODES, after.dentries_alive);
	EXPECT_EQ(INODES, after.inodes_alive);
	EXPECT_EQ(0, (long)after.dentry_releases);

	/* A second walk is served from the dcache. */
	ASSERT_EQ(0, nftw(self->mnt, visit, 16, FTW_PHYS));
	ASSERT_EQ(0, read_stats(self->root, &before));
	EXPECT_EQ(after.lookups, before.lookups);
}

TEST_F(mount, negative_dentries_are_cached_too)
{
	struct shrinkfs_stats before, after;
	struct stat st;
	char path[128];

	snprintf(path, sizeof(path), "%s/d9", self->mnt);
	ASSERT_EQ(0, read_stats(self->root, &before));
	EXPECT_EQ(-1, stat(path, &st));
	EXPECT_EQ(-1, stat(path, &st));
	ASSERT_EQ(0, read_stats(self->root, &after));
	EXPECT_EQ(1, (long)(after.lookups - before.lookups));
	EXPECT_EQ(before.dentries_alive + 1, after.dentries_alive);
	EXPECT_EQ(before.inodes_alive, after.inodes_alive);
}

TEST_F(mount, memory_shrinker_reclaims_unused_dentries)
{
	struct shrinkfs_stats walked, dropped;

	ASSERT_EQ(0, nftw(self->mnt, visit, 16, FTW_PHYS));
	ASSERT_EQ(0, read_stats(self->root, &walked));
	ASSERT_EQ(INODES, walked.dentries_alive);
	ASSERT_EQ(0, shrinkfs_reclaim_dentries());
	ASSERT_EQ(0, read_stats(self->root, &dropped));
	/* Only the root, pinned by the mount and our fd, survives. */
	EXPECT_EQ(1, dropped.dentries_alive);
	EXPECT_EQ(1, dropped.inodes_alive);
	EXPECT_EQ(INODES - 1, (long)dropped.dentry_releases);
	EXPECT_EQ(INODES - 1, (long)dropped.evictions);
	/* And it was the superblock shrinker that found them. */
	EXPECT_LT(walked.shrinker_calls, dropped.shrinker_calls);
}

TEST_F(mount, shrink_ioctl_kills_one_subtree)
{
	struct shrinkfs_stats walked, shrunk;
	char path[128];
	int d0;

	snprintf(path, sizeof(path), "%s/d0", self->mnt);
	ASSERT_EQ(0, nftw(self->mnt, visit, 16, FTW_PHYS));
	d0 = open(path, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, d0);
	ASSERT_EQ(0, read_stats(self->root, &walked));
	ASSERT_EQ(0, ioctl(d0, SHRINKFS_IOC_SHRINK, 0));
	ASSERT_EQ(0, read_stats(self->root, &shrunk));
	/* Everything below /d0 went; /d0 itself is held by our fd. */
	EXPECT_EQ(walked.dentries_alive - (D0_SUBTREE - 1), shrunk.dentries_alive);
	EXPECT_EQ(walked.shrink_requests + 1, shrunk.shrink_requests);
	close(d0);
}

TEST_F(mount, generation_bump_invalidates_the_cached_subtree)
{
	struct shrinkfs_stats walked, after;
	char path[128];
	struct stat st;
	int d0;

	ASSERT_EQ(0, nftw(self->mnt, visit, 16, FTW_PHYS));
	snprintf(path, sizeof(path), "%s/d0", self->mnt);
	d0 = open(path, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, d0);
	ASSERT_EQ(0, read_stats(self->root, &walked));
	ASSERT_EQ(0, ioctl(d0, SHRINKFS_IOC_BUMP_GENERATION, 0));
	close(d0);

	/* /d0/d1 fails revalidation; d_invalidate() prunes its subtree. */
	snprintf(path, sizeof(path), "%s/d0/d1/f0", self->mnt);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_EQ(0, read_stats(self->root, &after));
	EXPECT_EQ(1, (long)(after.generation_bumps - walked.generation_bumps));
	EXPECT_LE(1, (long)(after.stale_dentries - walked.stale_dentries));
	/* /d0/d1 held 4 leaves and 3 + 4 * 3 files: 19 dentries below it. */
	EXPECT_LE(19, (long)(after.dentry_releases - walked.dentry_releases));
	/* d1 and f0 were looked up afresh. */
	EXPECT_EQ(2, (long)(after.lookups - walked.lookups));
	/* Siblings in untouched directories stay valid. */
	snprintf(path, sizeof(path), "%s/d1/d0/f0", self->mnt);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_EQ(0, read_stats(self->root, &walked));
	EXPECT_EQ(after.lookups, walked.lookups);
}

/*
 * An invalidated directory kept alive by an open file is the alias
 * d_splice_alias() hands the next lookup of its name: it must come back
 * valid, or every later walk through it fails ->d_revalidate and is looked
 * up again.
 */
TEST_F(mount, a_directory_kept_open_is_valid_after_its_relookup)
{
	struct shrinkfs_stats relooked, after;
	char path[128];
	struct stat st;
	int d0, d1;

	snprintf(path, sizeof(path), "%s/d0/d1", self->mnt);
	d1 = open(path, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, d1);
	snprintf(path, sizeof(path), "%s/d0", self->mnt);
	d0 = open(path, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, d0);
	ASSERT_EQ(0, ioctl(d0, SHRINKFS_IOC_BUMP_GENERATION, 0));
	close(d0);

	/* d1 is stale, invalidated but held open, then spliced back. */
	snprintf(path, sizeof(path), "%s/d0/d1/f0", self->mnt);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_EQ(0, read_stats(self->root, &relooked));
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_EQ(0, read_stats(self->root, &after));
	EXPECT_EQ(0, (long)(after.stale_dentries - relooked.stale_dentries));
	EXPECT_EQ(0, (long)(after.lookups - relooked.lookups));
	close(d1);
}

TEST_F(mount, control_errors)
{
	struct shrinkfs_stats stats;
	int status;
	pid_t pid;

	EXPECT_EQ(-1, ioctl(self->root, _IO(SHRINKFS_IOC_MAGIC, 99), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->root, SHRINKFS_IOC_SHRINK, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->root, SHRINKFS_IOC_BUMP_GENERATION, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->root, SHRINKFS_IOC_STATS, (void *)8));
	EXPECT_EQ(EFAULT, errno);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (ioctl(self->root, SHRINKFS_IOC_STATS, &stats) != -1 || errno != EPERM)
			_exit(3);
		if (ioctl(self->root, SHRINKFS_IOC_SHRINK, 0) != -1 || errno != EPERM)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
