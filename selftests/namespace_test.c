// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs: the namespace a mount's geometry defines - lookups, listings,
 * file contents and attributes, bad names and bad options - checked with
 * system calls and with real tools (find, tar).
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "kselftest_harness.h"

#include "shrinkfs_util.h"

/* depth=2,fanout=3,files=2: 1 + 3 + 9 directories, 2 files in each. */
#define GEOMETRY	"depth=2,fanout=3,files=2"
#define DIRS		13
#define FILES		(2 * DIRS)

static int walk_dirs, walk_files;

static int count_entry(const char *path, const struct stat *st, int type,
		       struct FTW *ftw)
{
	if (type == FTW_D)
		walk_dirs++;
	else if (type == FTW_F && S_ISREG(st->st_mode))
		walk_files++;
	else
		return -1;
	return 0;
}

/* Runs a shell pipeline and returns the number it prints, or -1. */
static long run_count(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	long n = -1;

	if (!p)
		return -1;
	if (fscanf(p, "%ld", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

/* A mount point and room for one path below it. */
struct mount_paths {
	char mnt[64];
	char path[256];
};

FIXTURE(mount) {
	struct mount_paths p;
};

FIXTURE_SETUP(mount)
{
	if (getuid())
		SKIP(return, "loading modules needs root");
	ASSERT_EQ(0, shrinkfs_prepare(self->p.mnt, sizeof(self->p.mnt), "ns"));
	/* A failed setup has no teardown: it undoes itself. */
	ASSERT_EQ(0, mount("none", self->p.mnt, "shrinkfs", 0, GEOMETRY)) {
		shrinkfs_cleanup(self->p.mnt);
	}
}

FIXTURE_TEARDOWN(mount)
{
	shrinkfs_cleanup(self->p.mnt);
}

/* @rel below the mount point. */
static const char *at(struct mount_paths *p, const char *rel)
{
	snprintf(p->path, sizeof(p->path), "%s%s", p->mnt, rel);
	return p->path;
}

TEST_F(mount, walk_finds_exactly_the_geometry)
{
	walk_dirs = 0;
	walk_files = 0;
	ASSERT_EQ(0, nftw(self->p.mnt, count_entry, 16, FTW_PHYS));
	EXPECT_EQ(DIRS, walk_dirs);
	EXPECT_EQ(FILES, walk_files);
}

TEST_F(mount, real_tools_count_the_geometry)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "find %s | wc -l", self->p.mnt);
	EXPECT_EQ(DIRS + FILES, run_count(cmd));
	snprintf(cmd, sizeof(cmd), "find %s -type f | wc -l", self->p.mnt);
	EXPECT_EQ(FILES, run_count(cmd));
	snprintf(cmd, sizeof(cmd), "ls -R %s | grep -c '^f'", self->p.mnt);
	EXPECT_EQ(FILES, run_count(cmd));
	snprintf(cmd, sizeof(cmd), "tar cf - -C %s . | tar tf - | grep -c '/f[0-9]*$'",
		 self->p.mnt);
	EXPECT_EQ(FILES, run_count(cmd));
}

TEST_F(mount, root_lists_dots_subdirs_then_files)
{
	static const char * const expected[] = {
		".", "..", "d0", "d1", "d2", "f0", "f1",
	};
	static const unsigned char types[] = {
		DT_DIR, DT_DIR, DT_DIR, DT_DIR, DT_DIR, DT_REG, DT_REG,
	};
	struct dirent *de;
	unsigned int i = 0;
	DIR *dir = opendir(self->p.mnt);

	ASSERT_NE(NULL, dir);
	while ((de = readdir(dir))) {
		ASSERT_LT(i, ARRAY_SIZE(expected));
		EXPECT_STREQ(expected[i], de->d_name);
		EXPECT_EQ(types[i], de->d_type);
		i++;
	}
	EXPECT_EQ(ARRAY_SIZE(expected), i);
	closedir(dir);
}

TEST_F(mount, listing_offsets_are_stable)
{
	char first[NAME_MAX + 1], again[NAME_MAX + 1];
	struct dirent *de;
	DIR *dir = opendir(at(&self->p, "/d1"));
	long pos;

	ASSERT_NE(NULL, dir);
	ASSERT_NE(NULL, readdir(dir));
	ASSERT_NE(NULL, readdir(dir));
	pos = telldir(dir);
	ASSERT_NE(NULL, (de = readdir(dir)));
	snprintf(first, sizeof(first), "%s", de->d_name);
	while (readdir(dir))
		;
	seekdir(dir, pos);
	ASSERT_NE(NULL, (de = readdir(dir)));
	snprintf(again, sizeof(again), "%s", de->d_name);
	EXPECT_STREQ(first, again);
	rewinddir(dir);
	ASSERT_NE(NULL, (de = readdir(dir)));
	EXPECT_STREQ(".", de->d_name);
	closedir(dir);
}

TEST_F(mount, files_hold_their_own_path)
{
	struct stat st, other;
	char buf[128];
	ssize_t n;
	int fd;

	ASSERT_EQ(0, stat(at(&self->p, "/d1/d2/f1"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0444, (int)(st.st_mode & 07777));
	EXPECT_EQ(1, (int)st.st_nlink);
	EXPECT_EQ((long)strlen("/d1/d2/f1\n"), (long)st.st_size);
	EXPECT_NE(0, st.st_mtime);

	fd = open(at(&self->p, "/d1/d2/f1"), O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_EQ(st.st_size, n);
	buf[n] = '\0';
	EXPECT_STREQ("/d1/d2/f1\n", buf);
	/* A read at the end returns nothing; pread from the middle works. */
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(4, pread(fd, buf, 4, 3));
	EXPECT_EQ(0, memcmp(buf, "/d2/", 4));
	close(fd);

	/* Inode numbers are unique and stable across lookups. */
	ASSERT_EQ(0, stat(at(&self->p, "/d1/d2/f0"), &other));
	EXPECT_NE(st.st_ino, other.st_ino);
	ASSERT_EQ(0, stat(at(&self->p, "/d1/d2/f1"), &other));
	EXPECT_EQ(st.st_ino, other.st_ino);
}

TEST_F(mount, directories_count_their_links)
{
	struct stat st;

	ASSERT_EQ(0, stat(at(&self->p, "/d0"), &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(2 + 3, (int)st.st_nlink);
	/* Leaves have files but no subdirectories. */
	ASSERT_EQ(0, stat(at(&self->p, "/d0/d2"), &st));
	EXPECT_EQ(2, (int)st.st_nlink);
	EXPECT_EQ(-1, stat(at(&self->p, "/d0/d2/d0"), &st));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(mount, names_outside_the_geometry_do_not_exist)
{
	static const char * const absent[] = {
		"/d3", "/f2", "/d01", "/x", "/d", "/d-1", "/D0", "/f0/x",
	};
	struct stat st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(absent); i++) {
		errno = 0;
		EXPECT_EQ(-1, stat(at(&self->p, absent[i]), &st)) {
			TH_LOG("%s exists", absent[i]);
		}
		EXPECT_TRUE(errno == ENOENT || errno == ENOTDIR) {
			TH_LOG("%s: errno %d", absent[i], errno);
		}
	}
}

TEST_F(mount, writes_fail_with_erofs)
{
	EXPECT_EQ(-1, open(at(&self->p, "/f0"), O_WRONLY));
	EXPECT_EQ(EROFS, errno);
	EXPECT_EQ(-1, unlink(at(&self->p, "/f0")));
	EXPECT_EQ(EROFS, errno);
	EXPECT_EQ(-1, rmdir(at(&self->p, "/d0")));
	EXPECT_EQ(EROFS, errno);
	EXPECT_EQ(-1, rename(at(&self->p, "/d0"), at(&self->p, "/d9")));
	EXPECT_EQ(EROFS, errno);
	EXPECT_EQ(-1, open(at(&self->p, "/new"), O_CREAT | O_WRONLY, 0644));
	EXPECT_EQ(EROFS, errno);
}

TEST_F(mount, statfs_reports_the_magic)
{
	struct statfs sfs;

	ASSERT_EQ(0, statfs(at(&self->p, "/d0"), &sfs));
	EXPECT_EQ(SHRINKFS_MAGIC, (long)sfs.f_type);
}

FIXTURE(options) {
	char mnt[64];
};

FIXTURE_SETUP(options)
{
	if (getuid())
		SKIP(return, "loading modules needs root");
	ASSERT_EQ(0, shrinkfs_prepare(self->mnt, sizeof(self->mnt), "opt"));
}

FIXTURE_TEARDOWN(options)
{
	shrinkfs_cleanup(self->mnt);
}

TEST_F(options, bad_options_fail_with_einval)
{
	static const char * const bad[] = {
		"depth=abc", "depth=", "depth", "depth=-1", "depth=33",
		"fanout=0", "fanout=4097", "files=1048577", "fanout=+3",
		"depth=6,fanout=16,files=4096", "depth=32,fanout=4096",
		"no_such_option", "depth=99999999999999999999",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, mount("none", self->mnt, "shrinkfs", 0, bad[i])) {
			TH_LOG("-o %s was accepted", bad[i]);
			umount(self->mnt);
		}
		EXPECT_EQ(EINVAL, errno) {
			TH_LOG("-o %s: errno %d", bad[i], errno);
		}
	}
}

TEST_F(options, defaults_and_edges_mount)
{
	static const char * const good[] = {
		"", "depth=0", "depth=0,fanout=1,files=0", "fanout=4096,depth=1",
		"depth=32,fanout=1,files=1", "files=4096,depth=0",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		EXPECT_EQ(0, mount("none", self->mnt, "shrinkfs", 0, good[i])) {
			TH_LOG("-o '%s': errno %d", good[i], errno);
			continue;
		}
		EXPECT_EQ(0, umount(self->mnt));
	}
}

TEST_HARNESS_MAIN
