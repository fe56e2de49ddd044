/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the shrinkfs kselftests: the module and its mounts. */
#ifndef SHRINKFS_UTIL_H
#define SHRINKFS_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SHRINKFS_MAGIC		0x7368726b
#define SHRINKFS_ROOT_INO	1

/*
 * A waiting call this long that spent this share of it on the caller's CPU
 * busy-waited: shrinkfs's trees are small, so a call's own work takes
 * milliseconds, and a long call should have slept.
 */
#define BUSY_WAIT_MIN_S		0.1
#define BUSY_WAIT_SHARE		0.5

/* Clock @clock in seconds (CLOCK_THREAD_CPUTIME_ID: the caller's CPU time). */
static inline double shrinkfs_seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline const char *shrinkfs_module_path(void)
{
	const char *path = getenv("SHRINKFS_MODULE");

	return path ? path : "/shrinkfs/shrinkfs.ko";
}

/* Loads the module with parameters @params ("" for none): 0 or -errno. */
static inline int shrinkfs_load_with(const char *params)
{
	int fd = open(shrinkfs_module_path(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(__NR_finit_module, fd, params, 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/* Loads the module: 0 or -errno. */
static inline int shrinkfs_load(void)
{
	return shrinkfs_load_with("");
}

/* Unloads the module without waiting: 0 or -errno. */
static inline int shrinkfs_unload(void)
{
	return syscall(__NR_delete_module, "shrinkfs", O_NONBLOCK) ? -errno : 0;
}

/*
 * Unloads the module once nothing holds it any more, retrying -EAGAIN every
 * 10 ms for up to @deadline_s seconds; counts the retries in @waits unless
 * it is NULL: 0 or -errno. A module whose superblock was unmounted may still
 * be held for a moment: the type's module reference goes with the
 * superblock's last passive reference (__put_super()), which a reaper pass
 * walking the type's superblocks (iterate_supers_type()) may hold; and an
 * exiting thread drops its cwd in a lazily unmounted tree from task work,
 * after pthread_join().
 */
static inline int shrinkfs_unload_when_idle(unsigned int deadline_s,
					    unsigned int *waits)
{
	unsigned int tries = deadline_s * 100;
	int ret;

	while ((ret = shrinkfs_unload()) == -EAGAIN && tries--) {
		if (waits)
			(*waits)++;
		usleep(10000);
	}
	return ret;
}

/*
 * Loads the module and makes an empty mount point /tmp/shrinkfs-@tag-<pid>
 * in @mnt: 0 or -errno. On an error the module is not left loaded, so the
 * next test's load does not fail with -EEXIST.
 */
static inline int shrinkfs_prepare(char *mnt, size_t len, const char *tag)
{
	int ret = shrinkfs_load();

	if (ret)
		return ret;
	snprintf(mnt, len, "/tmp/shrinkfs-%s-%d", tag, getpid());
	if (mkdir(mnt, 0755)) {
		ret = -errno;
		shrinkfs_unload();
	}
	return ret;
}

/*
 * Undoes shrinkfs_prepare() and whatever a test left mounted. A fixture's
 * setup calls it too when it fails after shrinkfs_prepare(): the harness
 * runs the teardown only after a setup that completed.
 */
static inline void shrinkfs_cleanup(const char *mnt)
{
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	shrinkfs_unload_when_idle(10, NULL);
}

/* Writes @value to the file @path (sysfs, procfs, debugfs): 0 or -errno. */
static inline int shrinkfs_write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, value, strlen(value)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/* Reads a whole small file into @buf: its length or -errno. */
static inline int shrinkfs_read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/*
 * Writes @value to the module parameter @name
 * (/sys/module/shrinkfs/parameters/): 0 or -errno.
 */
static inline int shrinkfs_set_param(const char *name, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/shrinkfs/parameters/%s", name);
	return shrinkfs_write_file(path, value);
}

/* Has the memory shrinker reclaim every unused dentry and inode: 0 or -errno. */
static inline int shrinkfs_reclaim_dentries(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, "2\n", 2) == 2 ? 0 : -errno;
	close(fd);
	return ret;
}

/* First field of a /proc/sys/fs file: allocated dentries or inodes, or -1. */
static inline long shrinkfs_proc_first_field(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* A /proc/vmstat counter, or -1. */
static inline long shrinkfs_vmstat(const char *name)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char key[64];
	long value, found = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &value) == 2) {
		if (!strcmp(key, name)) {
			found = value;
			break;
		}
	}
	fclose(f);
	return found;
}

#endif /* SHRINKFS_UTIL_H */
