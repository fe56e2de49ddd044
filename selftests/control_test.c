// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs's other controls: the per-superblock counters as text in sysfs
 * (/sys/fs/shrinkfs/<major>:<minor>/stats) and the module parameters
 * race_delay_us and reap_interval_ms (the periodic reaper), with their
 * bad values refused.
 */

#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "kselftest_harness.h"

#include "shrinkfs_uapi.h"
#include "shrinkfs_util.h"

#define GEOMETRY	"depth=2,fanout=3,files=2"
/* 1 + 3 + 9 directories, 2 files each. */
#define FILES		26
#define PARAMS		"/sys/module/shrinkfs/parameters/"

static int visit(const char *path, const struct stat *st, int type,
		 struct FTW *ftw)
{
	return 0;
}

/* The sysfs directory of the mount on @mnt, named by its device. */
static void sysfs_dir(const char *mnt, char *dir, size_t len)
{
	struct stat st;

	if (stat(mnt, &st))
		st.st_dev = 0;
	snprintf(dir, len, "/sys/fs/shrinkfs/%u:%u", major(st.st_dev),
		 minor(st.st_dev));
}

/* Reads the value of @name from a stats file's "name value" lines. */
static int stats_value(const char *text, const char *name, long long *value)
{
	size_t len = strlen(name);
	const char *line;

	for (line = text; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, name, len) && line[len] == ' ')
			return sscanf(line + len, "%lld", value) == 1 ? 0 : -EINVAL;
	}
	return -ENOENT;
}

FIXTURE(mount) {
	char mnt[64];
	int root;
};

FIXTURE_SETUP(mount)
{
	if (getuid())
		SKIP(return, "loading modules needs root");
	ASSERT_EQ(0, shrinkfs_prepare(self->mnt, sizeof(self->mnt), "ctl"));
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

TEST_F(mount, sysfs_stats_match_the_ioctl)
{
	static const char * const names[] = {
		"lookups", "dentries_alive", "dentry_releases", "inodes_alive",
		"evictions", "shrink_requests", "generation_bumps",
		"stale_dentries", "reaped", "shrinker_calls", "expired",
		"expiry_passes", "expiry_disposed", "expiry_busy",
		"expiry_unindexed",
	};
	struct shrinkfs_stats stats;
	char dir[64], path[96], text[1024];
	long long value;
	unsigned int i;

	ASSERT_EQ(0, nftw(self->mnt, visit, 16, FTW_PHYS));
	ASSERT_EQ(0, ioctl(self->root, SHRINKFS_IOC_SHRINK, 0));
	ASSERT_EQ(0, nftw(self->mnt, visit, 16, FTW_PHYS));
	ASSERT_EQ(0, ioctl(self->root, SHRINKFS_IOC_STATS, &stats));
	sysfs_dir(self->mnt, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/stats", dir);
	ASSERT_LT(0, shrinkfs_read_text(path, text, sizeof(text)));
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		ASSERT_EQ(0, stats_value(text, names[i], &value)) {
			TH_LOG("no %s in %s", names[i], path);
		}
		EXPECT_EQ(((__s64 *)&stats)[i], value) {
			TH_LOG("%s differs from SHRINKFS_IOC_STATS", names[i]);
		}
	}
	EXPECT_EQ(1, (long)stats.shrink_requests);
}

TEST_F(mount, sysfs_dir_lives_as_long_as_the_superblock)
{
	char dir[64], other_dir[64], other[80];
	struct stat st;

	sysfs_dir(self->mnt, dir, sizeof(dir));
	ASSERT_EQ(0, stat(dir, &st));
	snprintf(other, sizeof(other), "%s-2", self->mnt);
	ASSERT_EQ(0, mkdir(other, 0755));
	ASSERT_EQ(0, mount("none", other, "shrinkfs", 0, GEOMETRY));
	sysfs_dir(other, other_dir, sizeof(other_dir));
	EXPECT_STRNE(dir, other_dir);
	EXPECT_EQ(0, stat(other_dir, &st));
	ASSERT_EQ(0, umount(other));
	rmdir(other);
	EXPECT_EQ(-1, stat(other_dir, &st));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, stat(dir, &st));
}

TEST_F(mount, bad_parameter_values_are_refused)
{
	static const char * const bad[] = { "1001", "-1", "x" };
	char value[32];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, shrinkfs_set_param("race_delay_us", bad[i])) {
			TH_LOG("race_delay_us=\"%s\" accepted", bad[i]);
		}
	}
	EXPECT_EQ(-EINVAL, shrinkfs_set_param("reap_interval_ms", "60001"));
	EXPECT_EQ(-EINVAL, shrinkfs_set_param("evict_delay_ms", "10001"));
	ASSERT_LT(0, shrinkfs_read_text(PARAMS "race_delay_us", value, sizeof(value)));
	EXPECT_STREQ("0\n", value);
	ASSERT_LT(0, shrinkfs_read_text(PARAMS "reap_interval_ms", value, sizeof(value)));
	EXPECT_STREQ("0\n", value);
	ASSERT_LT(0, shrinkfs_read_text(PARAMS "evict_delay_ms", value, sizeof(value)));
	EXPECT_STREQ("0\n", value);
}

TEST_F(mount, race_windows_keep_the_counts)
{
	struct shrinkfs_stats stats;
	char value[32];

	ASSERT_EQ(0, shrinkfs_set_param("race_delay_us", "200"));
	ASSERT_LT(0, shrinkfs_read_text(PARAMS "race_delay_us", value, sizeof(value)));
	EXPECT_STREQ("200\n", value);
	ASSERT_EQ(0, nftw(self->mnt, visit, 16, FTW_PHYS));
	ASSERT_EQ(0, shrinkfs_reclaim_dentries());
	ASSERT_EQ(0, shrinkfs_set_param("race_delay_us", "0"));
	ASSERT_EQ(0, ioctl(self->root, SHRINKFS_IOC_STATS, &stats));
	EXPECT_EQ(1, stats.dentries_alive);
	EXPECT_EQ(1, stats.inodes_alive);
	EXPECT_EQ(stats.lookups, stats.dentry_releases);
}

/* Without the series there is no reaper to make periodic. */
TEST_F(mount, periodic_reaper_runs_on_its_own)
{
	struct shrinkfs_stats stats;
	double deadline;

	if (ioctl(self->root, SHRINKFS_IOC_REAP, 0) < 0 && errno == EOPNOTSUPP) {
		EXPECT_EQ(-EOPNOTSUPP, shrinkfs_set_param("reap_interval_ms", "10"));
		SKIP(return, "the kernel does not export dput_to_list() (no series)");
	}
	ASSERT_EQ(0, nftw(self->mnt, visit, 16, FTW_PHYS));
	ASSERT_EQ(0, shrinkfs_set_param("reap_interval_ms", "10"));
	/* Every file dentry is taken within a few passes; allow slow guests. */
	deadline = shrinkfs_seconds(CLOCK_MONOTONIC) + 30;
	do {
		ASSERT_EQ(0, ioctl(self->root, SHRINKFS_IOC_STATS, &stats));
		if (stats.reaped >= FILES)
			break;
		usleep(10000);
	} while (shrinkfs_seconds(CLOCK_MONOTONIC) < deadline);
	ASSERT_EQ(0, shrinkfs_set_param("reap_interval_ms", "0"));
	EXPECT_EQ(FILES, (long)stats.reaped);
}

/* Unloading stops the timer before the type goes: no pass after exit. */
TEST(module_unloads_while_the_periodic_reaper_runs)
{
	unsigned int waits = 0;
	char mnt[64];
	int i, ret;

	if (getuid())
		SKIP(return, "loading modules needs root");
	snprintf(mnt, sizeof(mnt), "/tmp/shrinkfs-ctl-reload-%d", getpid());
	ASSERT_EQ(0, mkdir(mnt, 0755));
	for (i = 0; i < 20; i++) {
		ret = shrinkfs_load_with("reap_interval_ms=1 race_delay_us=50");
		if (ret == -EOPNOTSUPP) {
			rmdir(mnt);
			SKIP(return, "the kernel does not export dput_to_list() (no series)");
		}
		ASSERT_EQ(0, ret);
		ASSERT_EQ(0, mount("none", mnt, "shrinkfs", 0, GEOMETRY));
		ASSERT_EQ(0, nftw(mnt, visit, 16, FTW_PHYS));
		ASSERT_EQ(0, umount(mnt));
		ASSERT_EQ(0, shrinkfs_unload_when_idle(10, &waits));
	}
	rmdir(mnt);
	if (waits)
		TH_LOG("waited %u x 10 ms for a reaper pass to let go", waits);
}

TEST_HARNESS_MAIN
