/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocation failures on demand, as syzkaller makes them: the calling
 * thread's n-th slab allocation from now fails (/proc/thread-self/fail-nth).
 *
 * failslab skips allocations that may sleep unless told otherwise
 * (ignore-gfp-wait), and dumps a stack for each failure (verbose):
 * failslab_arm() switches both off for a test, failslab_restore() puts them
 * back. Only a thread that armed its fail-nth meets failures: failslab's
 * probability stays 0.
 */
#ifndef SHRINKFS_FAULT_INJECTION_H
#define SHRINKFS_FAULT_INJECTION_H

#include "shrinkfs_util.h"

#define FAILSLAB	"/sys/kernel/debug/failslab/"
#define FAILSLAB_KNOBS	2

static const char * const failslab_knobs[FAILSLAB_KNOBS] = { "ignore-gfp-wait", "verbose" };
static const char * const failslab_armed[FAILSLAB_KNOBS] = { "N", "0" };

/* The knobs' values before failslab_arm(). */
struct failslab {
	char saved[FAILSLAB_KNOBS][16];
};

/* Arms failslab for fail-nth: NULL, or why it cannot. */
static inline const char *failslab_arm(struct failslab *fs)
{
	char path[128];
	unsigned int i;

	if (access("/proc/thread-self/fail-nth", W_OK))
		return "no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)";
	for (i = 0; i < FAILSLAB_KNOBS; i++) {
		snprintf(path, sizeof(path), FAILSLAB "%s", failslab_knobs[i]);
		if (shrinkfs_read_text(path, fs->saved[i], sizeof(fs->saved[i])) < 0 ||
		    shrinkfs_write_file(path, failslab_armed[i]))
			return "no failslab knobs (FAILSLAB, FAULT_INJECTION_DEBUG_FS)";
	}
	return NULL;
}

static inline void failslab_restore(const struct failslab *fs)
{
	char path[128];
	unsigned int i;

	for (i = 0; i < FAILSLAB_KNOBS; i++) {
		snprintf(path, sizeof(path), FAILSLAB "%s", failslab_knobs[i]);
		shrinkfs_write_file(path, fs->saved[i]);
	}
}

/* The calling thread's own fail-nth: an fd, or -1 with errno set. */
static inline int fail_nth_open(void)
{
	return open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
}

/* Makes the thread's @n-th allocation from now fail: 0 or -errno. */
static inline int fail_nth_arm(int fd, unsigned int n)
{
	char value[16];
	int len = snprintf(value, sizeof(value), "%u", n);

	return pwrite(fd, value, len, 0) == len ? 0 : -errno;
}

/*
 * Whether the failure fail_nth_arm() set up was taken (the count reached
 * zero), disarming it if not: 1, 0 or -errno.
 */
static inline int fail_nth_taken(int fd)
{
	char value[16] = "";
	ssize_t len = pread(fd, value, sizeof(value) - 1, 0);

	if (len <= 0)
		return len ? -errno : -EIO;
	if (atoi(value) == 0)
		return 1;
	return pwrite(fd, "0", 1, 0) == 1 ? 0 : -errno;
}

#endif /* SHRINKFS_FAULT_INJECTION_H */
