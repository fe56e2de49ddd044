/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocation failures on demand, as syzkaller makes them: the calling
 * thread's n-th slab or page allocation from now fails
 * (/proc/thread-self/fail-nth).
 *
 * failslab and fail_page_alloc skip allocations that may sleep unless told
 * otherwise (ignore-gfp-wait), and dump a stack for each failure (verbose);
 * the page allocator's spares single pages (min-order). fault_attrs_arm()
 * switches all that off for a test, fault_attrs_restore() puts it back. Only a
 * thread that armed its fail-nth meets failures: the probabilities stay 0.
 */
#ifndef SHRINKFS_FAULT_INJECTION_H
#define SHRINKFS_FAULT_INJECTION_H

#include "shrinkfs_util.h"

#define FAULTS_DEBUGFS	"/sys/kernel/debug/"

/* A knob of one of the fault attributes, and its value while armed. */
struct fault_knob {
	const char *path;
	const char *armed;
};

/*
 * The slab's, then the page allocator's (min-order 0: single pages too);
 * the second set only where the kernel has it (FAIL_PAGE_ALLOC).
 */
#define FAILSLAB_KNOBS	2
#define FAULT_KNOBS	5
static const struct fault_knob fault_knobs[FAULT_KNOBS] = {
	{ "failslab/ignore-gfp-wait", "N" },
	{ "failslab/verbose", "0" },
	{ "fail_page_alloc/ignore-gfp-wait", "N" },
	{ "fail_page_alloc/min-order", "0" },
	{ "fail_page_alloc/verbose", "0" },
};

/* The knobs' values before fault_attrs_arm(), and how many it armed. */
struct fault_attrs {
	char saved[FAULT_KNOBS][16];
	unsigned int armed;
};

static inline void fault_attrs_restore(const struct fault_attrs *fs)
{
	char path[128];
	unsigned int i;

	for (i = 0; i < fs->armed; i++) {
		snprintf(path, sizeof(path), FAULTS_DEBUGFS "%s", fault_knobs[i].path);
		shrinkfs_write_file(path, fs->saved[i]);
	}
}

/*
 * Arms failslab, and the page allocator's failures where the kernel has
 * them, for fail-nth: NULL, or why it cannot.
 */
static inline const char *fault_attrs_arm(struct fault_attrs *fs)
{
	char path[128];
	unsigned int i;

	if (access("/proc/thread-self/fail-nth", W_OK))
		return "no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)";
	fs->armed = access(FAULTS_DEBUGFS "fail_page_alloc", F_OK) ? FAILSLAB_KNOBS : FAULT_KNOBS;
	for (i = 0; i < fs->armed; i++) {
		snprintf(path, sizeof(path), FAULTS_DEBUGFS "%s", fault_knobs[i].path);
		if (shrinkfs_read_text(path, fs->saved[i], sizeof(fs->saved[i])) < 0 ||
		    shrinkfs_write_file(path, fault_knobs[i].armed)) {
			fs->armed = i;
			fault_attrs_restore(fs);
			return "no failslab knobs (FAILSLAB, FAULT_INJECTION_DEBUG_FS)";
		}
	}
	return NULL;
}

/* Whether page allocations fail too, not only slab ones. */
static inline bool fault_attrs_pages(const struct fault_attrs *fs)
{
	return fs->armed == FAULT_KNOBS;
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
