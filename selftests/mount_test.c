// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs: load the module, mount and inspect the root of a shrinkfs, unmount,
 * unload - checking every step, including that the module cannot go while a
 * mount holds it.
 */

#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include "kselftest_harness.h"

#include "shrinkfs_util.h"

/* Whether /proc/filesystems lists shrinkfs. */
static int fs_registered(void)
{
	char line[128];
	int found = 0;
	FILE *f = fopen("/proc/filesystems", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strcmp(line, "nodev\tshrinkfs\n"))
			found = 1;
	fclose(f);
	return found;
}

FIXTURE(module) {
	char mnt[64];
};

FIXTURE_SETUP(module)
{
	if (getuid())
		SKIP(return, "loading modules needs root");
	ASSERT_EQ(0, shrinkfs_prepare(self->mnt, sizeof(self->mnt), "mount"));
}

FIXTURE_TEARDOWN(module)
{
	shrinkfs_cleanup(self->mnt);
}

TEST_F(module, registers_and_unregisters_the_type)
{
	ASSERT_EQ(1, fs_registered());
	ASSERT_EQ(0, shrinkfs_unload());
	ASSERT_EQ(0, fs_registered());
	ASSERT_EQ(-ENOENT, shrinkfs_unload());
}

TEST_F(module, mounts_and_stats_the_root)
{
	struct statfs sfs;
	struct stat st;

	ASSERT_EQ(0, mount("none", self->mnt, "shrinkfs", 0, NULL));
	ASSERT_EQ(0, stat(self->mnt, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0555, (int)(st.st_mode & 07777));
	EXPECT_EQ(SHRINKFS_ROOT_INO, (int)st.st_ino);
	/* The default geometry: 8 subdirectories, each linking back. */
	EXPECT_EQ(2 + 8, (int)st.st_nlink);
	EXPECT_NE(0, st.st_mtime);
	ASSERT_EQ(0, statfs(self->mnt, &sfs));
	EXPECT_EQ(SHRINKFS_MAGIC, (long)sfs.f_type);
	ASSERT_EQ(0, umount(self->mnt));
	ASSERT_EQ(0, shrinkfs_unload());
}

TEST_F(module, is_read_only)
{
	char path[128];

	ASSERT_EQ(0, mount("none", self->mnt, "shrinkfs", 0, NULL));
	snprintf(path, sizeof(path), "%s/new", self->mnt);
	EXPECT_EQ(-1, mkdir(path, 0755));
	EXPECT_EQ(EROFS, errno);
	EXPECT_EQ(-1, open(path, O_CREAT | O_WRONLY, 0644));
	EXPECT_EQ(EROFS, errno);
	ASSERT_EQ(0, umount(self->mnt));
}

TEST_F(module, stays_read_only_across_a_remount)
{
	struct statvfs sv;
	char path[128];

	ASSERT_EQ(0, mount("none", self->mnt, "shrinkfs", 0, "depth=1"));
	/* Without MS_RDONLY a remount asks for read-write. */
	ASSERT_EQ(0, mount(NULL, self->mnt, NULL, MS_REMOUNT, NULL));
	ASSERT_EQ(0, statvfs(self->mnt, &sv));
	EXPECT_TRUE((sv.f_flag & ST_RDONLY) != 0);
	snprintf(path, sizeof(path), "%s/new", self->mnt);
	EXPECT_EQ(-1, mkdir(path, 0755));
	EXPECT_EQ(EROFS, errno);
	/* The geometry it was mounted with may be named again, no other. */
	EXPECT_EQ(0, mount(NULL, self->mnt, NULL, MS_REMOUNT | MS_RDONLY,
			   "depth=1"));
	EXPECT_EQ(-1, mount(NULL, self->mnt, NULL, MS_REMOUNT | MS_RDONLY,
			    "depth=2"));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, umount(self->mnt));
}

TEST_F(module, each_mount_is_its_own_superblock)
{
	char second[80];
	struct stat a, b;

	snprintf(second, sizeof(second), "%s-b", self->mnt);
	ASSERT_EQ(0, mkdir(second, 0755));
	ASSERT_EQ(0, mount("none", self->mnt, "shrinkfs", 0, NULL));
	ASSERT_EQ(0, mount("none", second, "shrinkfs", 0, NULL));
	ASSERT_EQ(0, stat(self->mnt, &a));
	ASSERT_EQ(0, stat(second, &b));
	EXPECT_NE(a.st_dev, b.st_dev);
	EXPECT_EQ(0, umount(second));
	EXPECT_EQ(0, rmdir(second));
	ASSERT_EQ(0, umount(self->mnt));
}

TEST_F(module, stays_loaded_while_mounted)
{
	ASSERT_EQ(0, mount("none", self->mnt, "shrinkfs", 0, NULL));
	EXPECT_EQ(-EWOULDBLOCK, shrinkfs_unload());
	EXPECT_EQ(1, fs_registered());
	ASSERT_EQ(0, umount(self->mnt));
	ASSERT_EQ(0, shrinkfs_unload());
}

TEST_F(module, rejects_an_unknown_option)
{
	EXPECT_EQ(-1, mount("none", self->mnt, "shrinkfs", 0, "no_such_option=1"));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
