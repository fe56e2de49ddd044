// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs: many mount/umount cycles and module load/unload cycles leave
 * nothing behind - every cycle succeeds, and the dcache and icache shrink back
 * to where they started.
 */

#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"

#include "shrinkfs_util.h"

#define MOUNT_CYCLES	1000
#define MODULE_CYCLES	100
/*
 * Seconds either loop may take: under KASAN and TCG a module cycle (load,
 * mount, stat, umount, unload) took 0.43 s on average in a run whose 100
 * cycles went past the harness's default 30 s.
 */
#define CYCLES_TIMEOUT_S	180
/* Dentries and inodes the rest of the system may make meanwhile. */
#define SLACK		64

FIXTURE(cycles) {
	char mnt[64];
	char file[128];
	long dentries, inodes;
};

FIXTURE_SETUP(cycles)
{
	if (getuid())
		SKIP(return, "loading modules needs root");
	snprintf(self->mnt, sizeof(self->mnt), "/tmp/shrinkfs-lc-%d", getpid());
	snprintf(self->file, sizeof(self->file), "%s/d1/d2/f3", self->mnt);
	ASSERT_EQ(0, mkdir(self->mnt, 0755));
	ASSERT_EQ(0, shrinkfs_reclaim_dentries());
	self->dentries = shrinkfs_proc_first_field("/proc/sys/fs/dentry-state");
	self->inodes = shrinkfs_proc_first_field("/proc/sys/fs/inode-nr");
	ASSERT_LT(0, self->dentries);
	ASSERT_LT(0, self->inodes);
}

FIXTURE_TEARDOWN(cycles)
{
	shrinkfs_cleanup(self->mnt);
}

static void expect_back_to_start(struct __test_metadata *_metadata,
				 FIXTURE_DATA(cycles) * self)
{
	long dentries, inodes;

	ASSERT_EQ(0, shrinkfs_reclaim_dentries());
	dentries = shrinkfs_proc_first_field("/proc/sys/fs/dentry-state");
	inodes = shrinkfs_proc_first_field("/proc/sys/fs/inode-nr");
	EXPECT_GE(self->dentries + SLACK, dentries) {
		TH_LOG("dentries: %ld before, %ld after", self->dentries, dentries);
	}
	EXPECT_GE(self->inodes + SLACK, inodes) {
		TH_LOG("inodes: %ld before, %ld after", self->inodes, inodes);
	}
}

TEST_F_TIMEOUT(cycles, mount_umount, CYCLES_TIMEOUT_S)
{
	struct stat st;
	int i;

	ASSERT_EQ(0, shrinkfs_load());
	for (i = 0; i < MOUNT_CYCLES; i++) {
		ASSERT_EQ(0, mount("none", self->mnt, "shrinkfs", 0, NULL)) {
			TH_LOG("cycle %d: mount: errno %d", i, errno);
		}
		ASSERT_EQ(0, stat(self->file, &st));
		ASSERT_EQ(0, umount(self->mnt)) {
			TH_LOG("cycle %d: umount: errno %d", i, errno);
		}
	}
	ASSERT_EQ(0, shrinkfs_unload());
	expect_back_to_start(_metadata, self);
}

TEST_F_TIMEOUT(cycles, load_unload, CYCLES_TIMEOUT_S)
{
	struct stat st;
	int i;

	for (i = 0; i < MODULE_CYCLES; i++) {
		ASSERT_EQ(0, shrinkfs_load()) {
			TH_LOG("cycle %d: load", i);
		}
		ASSERT_EQ(0, mount("none", self->mnt, "shrinkfs", 0, NULL));
		ASSERT_EQ(0, stat(self->file, &st));
		ASSERT_EQ(0, umount(self->mnt));
		ASSERT_EQ(0, shrinkfs_unload()) {
			TH_LOG("cycle %d: unload", i);
		}
	}
	expect_back_to_start(_metadata, self);
}

TEST_HARNESS_MAIN
