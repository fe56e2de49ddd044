// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs's cross-superblock reaper: one private shrink list, filled with
 * dput_to_list() from several superblocks under spinlocks and killed later
 * with shrink_dentry_list(), also while one of those superblocks is being
 * unmounted - the race of the series' seed discussion. The rig's splat scan
 * judges the kernel; these tests check what the module's counters say.
 */

#define _GNU_SOURCE
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"

#include "shrinkfs_uapi.h"
#include "shrinkfs_util.h"

#define MOUNTS		3
/* 1 + 4 + 16 directories, 4 files each: 84 files a mount. */
#define GEOMETRY	"depth=2,fanout=4,files=4"
#define FILES		84
/*
 * Killing a directory's last file drops the directory's last reference, so
 * shrink_dentry_list() prunes it too: every dentry but the root goes.
 */
#define PRUNED		(FILES + 4 + 16)

static int visit(const char *path, const struct stat *st, int type,
		 struct FTW *ftw)
{
	return 0;
}

FIXTURE(mounts) {
	char mnt[MOUNTS][64];
	int root[MOUNTS];
};

/*
 * Undoes the fixture's setup, as much of it as was done; safe to call twice.
 * A reaper pass still holding a superblock holds the module for a moment.
 */
static void release_mounts(FIXTURE_DATA(mounts) * self)
{
	int i;

	for (i = 0; i < MOUNTS; i++) {
		if (self->root[i] >= 0)
			close(self->root[i]);
		self->root[i] = -1;
		umount2(self->mnt[i], MNT_DETACH);
		rmdir(self->mnt[i]);
	}
	shrinkfs_unload_when_idle(10, NULL);
}

FIXTURE_SETUP(mounts)
{
	int i;

	if (getuid())
		SKIP(return, "loading modules needs root");
	for (i = 0; i < MOUNTS; i++)
		self->root[i] = -1;
	ASSERT_EQ(0, shrinkfs_load());
	/*
	 * The harness runs no teardown after a setup that failed or skipped:
	 * from here on, the setup undoes itself.
	 */
	for (i = 0; i < MOUNTS; i++) {
		snprintf(self->mnt[i], sizeof(self->mnt[i]), "/tmp/shrinkfs-rp%d-%d",
			 i, getpid());
		ASSERT_EQ(0, mkdir(self->mnt[i], 0755)) {
			release_mounts(self);
		}
		ASSERT_EQ(0, mount("none", self->mnt[i], "shrinkfs", 0, GEOMETRY)) {
			release_mounts(self);
		}
		self->root[i] = open(self->mnt[i], O_RDONLY | O_DIRECTORY);
		ASSERT_LE(0, self->root[i]) {
			release_mounts(self);
		}
	}
	if (ioctl(self->root[0], SHRINKFS_IOC_REAP, 0) < 0 && errno == EOPNOTSUPP) {
		release_mounts(self);
		SKIP(return, "the kernel does not export dput_to_list() (no series)");
	}
}

FIXTURE_TEARDOWN(mounts)
{
	release_mounts(self);
}

TEST_F(mounts, one_list_takes_dentries_of_every_superblock)
{
	struct shrinkfs_stats before[MOUNTS], after;
	int i;

	for (i = 0; i < MOUNTS; i++) {
		ASSERT_EQ(0, nftw(self->mnt[i], visit, 16, FTW_PHYS));
		ASSERT_EQ(0, ioctl(self->root[i], SHRINKFS_IOC_STATS, &before[i]));
	}
	/* The files of all mounts, unused after the walks. */
	EXPECT_EQ(MOUNTS * FILES, ioctl(self->root[0], SHRINKFS_IOC_REAP, 1));
	for (i = 0; i < MOUNTS; i++) {
		ASSERT_EQ(0, ioctl(self->root[i], SHRINKFS_IOC_STATS, &after));
		EXPECT_EQ(FILES, (long)(after.reaped - before[i].reaped));
		EXPECT_EQ(PRUNED, (long)(after.dentry_releases - before[i].dentry_releases));
		EXPECT_EQ(1, after.dentries_alive);
	}
	/* Nothing unused is left to take. */
	EXPECT_EQ(0, ioctl(self->root[0], SHRINKFS_IOC_REAP, 0));
}

TEST_F(mounts, reaped_names_come_back_on_lookup)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/d1/f2", self->mnt[1]);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_LT(0, ioctl(self->root[0], SHRINKFS_IOC_REAP, 0));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(mounts, bad_hold_is_einval)
{
	EXPECT_EQ(-1, ioctl(self->root[0], SHRINKFS_IOC_REAP, 1001));
	EXPECT_EQ(EINVAL, errno);
}

struct reaper {
	int fd;
	int taken;
	int err;
};

static void *reap_holding(void *arg)
{
	struct reaper *r = arg;

	/* Hold the collected dentries for 300 ms: umount runs meanwhile. */
	r->taken = ioctl(r->fd, SHRINKFS_IOC_REAP, 300);
	r->err = r->taken < 0 ? errno : 0;
	return NULL;
}

TEST_F(mounts, umount_while_the_reaper_holds_its_dentries)
{
	struct reaper r = { .fd = self->root[0] };
	struct shrinkfs_stats stats;
	pthread_t thread;
	int i;

	for (i = 0; i < MOUNTS; i++)
		ASSERT_EQ(0, nftw(self->mnt[i], visit, 16, FTW_PHYS));
	ASSERT_EQ(0, pthread_create(&thread, NULL, reap_holding, &r));
	/* Until the reaper's list holds the files of mount 2... */
	do {
		ASSERT_EQ(0, ioctl(self->root[2], SHRINKFS_IOC_STATS, &stats));
	} while (stats.reaped < FILES);
	/* ...which umount must now wait for, or kill itself. */
	close(self->root[2]);
	self->root[2] = -1;
	EXPECT_EQ(0, umount(self->mnt[2]));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, r.err);
	EXPECT_EQ(MOUNTS * FILES, r.taken);
	ASSERT_EQ(0, ioctl(self->root[1], SHRINKFS_IOC_STATS, &stats));
	EXPECT_EQ(FILES, (long)stats.reaped);
	EXPECT_EQ(PRUNED, (long)stats.dentry_releases);
}

TEST_HARNESS_MAIN
