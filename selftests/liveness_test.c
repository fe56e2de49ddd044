// SPDX-License-Identifier: GPL-2.0
/*
 * Liveness of shrink_dcache_parent(): while what it waits for is held
 * elsewhere, it has to sleep, not spin. Each test times one call on the
 * waiting thread, wall clock against that thread's CPU time, and fails when
 * a call of BUSY_WAIT_MIN_S or more spent BUSY_WAIT_SHARE of it on the CPU.
 *
 * dying_dentry: a file's dentry is being killed by another thread, whose
 *   ->evict_inode sleeps (evict_delay_ms). 6.12 counts the dying dentry as
 *   found and goes round d_walk() until the kill ends.
 * dying_dentry_rt_waiter: the same with the waiter SCHED_FIFO on the
 *   killer's CPU, RT throttling and the fair server off, so that nothing
 *   but the waiter's sleeping lets the killer run. On 6.12 the killer never
 *   runs again: a watchdog on another CPU dumps the tasks (sysrq l, w) after
 *   WATCHDOG_S, restores the limits and reports how long the waiter spun.
 * busy_dentry_on_reclaim_list: the memory shrinker holds a file's unused
 *   dentry on its private shrink list while it evicts the batch before it;
 *   another thread opens the file (count 1, still on that list). 6.12 counts
 *   it as found, cannot take it, and spins until the shrinker gets to it.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"

#include "shrinkfs_uapi.h"
#include "shrinkfs_util.h"

/* d0 and d1 under the root, FILES files in each. */
#define GEOMETRY		"depth=1,fanout=2,files=8"
#define FILES			8
/* How long a dying file's kill sleeps in ->evict_inode. */
#define EVICT_DELAY_MS		"1000"
#define EVICT_DELAY_S		1.0
/* Each eviction of the shrinker's batch, in busy_dentry_on_reclaim_list. */
#define RECLAIM_EVICT_DELAY_MS	"100"
/* How long the RT waiter may run before the watchdog calls it a livelock. */
#define WATCHDOG_S		5.0
#define RT_RUNTIME		"/proc/sys/kernel/sched_rt_runtime_us"
#define FAIR_SERVER_RUNTIME	"/sys/kernel/debug/sched/fair_server/cpu%d/runtime"

#define TIMED_FORMAT \
	"liveness: %s: shrink_dcache_parent() took %.1f ms, %.1f ms of it on the CPU (%.0f%%)\n"
#define LIVELOCK_FORMAT \
	"liveness: livelock: the SCHED_FIFO waiter still runs after %.1f s; dumping tasks (sysrq l, w)\n"
#define SPUN_FORMAT \
	"hard livelock: the waiter spun %.1f s on CPU 0, where the killer it waited for " \
	"never ran again, until RT throttling came back"
#define BUSY_ON_LIST_FORMAT \
	"busy-waited on a busy dentry of another shrink list: %.0f%% of %.1f ms on the CPU, " \
	"while that list's owner evicted %lld inodes"

FIXTURE(tree) {
	char mnt[64];
	int root;
	int dir[2];
};

/* Undoes the fixture's setup, as much of it as was done. */
static void release_tree(FIXTURE_DATA(tree) * self)
{
	int i;

	for (i = 0; i < 2; i++)
		if (self->dir[i] >= 0)
			close(self->dir[i]);
	if (self->root >= 0)
		close(self->root);
	shrinkfs_cleanup(self->mnt);
}

FIXTURE_SETUP(tree)
{
	if (getuid())
		SKIP(return, "loading modules needs root");
	self->root = -1;
	self->dir[0] = -1;
	self->dir[1] = -1;
	ASSERT_EQ(0, shrinkfs_prepare(self->mnt, sizeof(self->mnt), "live"));
	/* A failed setup has no teardown: it undoes itself. */
	ASSERT_EQ(0, mount("none", self->mnt, "shrinkfs", 0, GEOMETRY)) {
		release_tree(self);
	}
	self->root = open(self->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, self->root) {
		release_tree(self);
	}
	self->dir[0] = openat(self->root, "d0", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, self->dir[0]) {
		release_tree(self);
	}
	self->dir[1] = openat(self->root, "d1", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, self->dir[1]) {
		release_tree(self);
	}
}

FIXTURE_TEARDOWN(tree)
{
	shrinkfs_set_param("evict_delay_ms", "0");
	release_tree(self);
}

/* Looks up f0..f<n-1> of @dir and lets them go: unused dentries on the LRU. */
static int use_files(int dir, int n)
{
	struct stat st;
	char name[16];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		if (fstatat(dir, name, &st, 0))
			return -errno;
	}
	return 0;
}

static long long evictions(int root)
{
	struct shrinkfs_stats stats;

	return ioctl(root, SHRINKFS_IOC_STATS, &stats) ? -1 : (long long)stats.evictions;
}

/*
 * Waits until the superblock has counted @n evictions: a thread whose kill
 * got that far sleeps in ->evict_inode. False after ten seconds.
 */
static bool await_evictions(int root, long long n)
{
	double deadline = shrinkfs_seconds(CLOCK_MONOTONIC) + 10;

	while (evictions(root) < n) {
		if (shrinkfs_seconds(CLOCK_MONOTONIC) > deadline)
			return false;
		usleep(1000);
	}
	return true;
}

/* One SHRINKFS_IOC_SHRINK, timed on the calling thread. */
struct timed_shrink {
	int dir;
	int ret;
	double wall, cpu;
	/* Set once the call returned. */
	bool done;
};

static void timed_shrink(struct timed_shrink *call)
{
	double wall = shrinkfs_seconds(CLOCK_MONOTONIC);
	double cpu = shrinkfs_seconds(CLOCK_THREAD_CPUTIME_ID);

	call->ret = ioctl(call->dir, SHRINKFS_IOC_SHRINK, 0) ? -errno : 0;
	call->cpu = shrinkfs_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu;
	call->wall = shrinkfs_seconds(CLOCK_MONOTONIC) - wall;
	__atomic_store_n(&call->done, true, __ATOMIC_RELEASE);
}

static void *timed_shrink_thread(void *arg)
{
	timed_shrink(arg);
	return NULL;
}

static bool busy_waited(const struct timed_shrink *call)
{
	return call->wall >= BUSY_WAIT_MIN_S && call->cpu >= BUSY_WAIT_SHARE * call->wall;
}

static void report(const char *test, const struct timed_shrink *call)
{
	ksft_print_msg(TIMED_FORMAT, test, call->wall * 1e3, call->cpu * 1e3,
		       call->wall > 0 ? 100 * call->cpu / call->wall : 0);
}

/* Starts @fn(@arg) on CPU @cpu (-1: anywhere), SCHED_FIFO at @rt_priority if not 0. */
static int start_thread(pthread_t *thread, int cpu, int rt_priority,
			void *(*fn)(void *), void *arg)
{
	struct sched_param param = { .sched_priority = rt_priority };
	pthread_attr_t attr;
	cpu_set_t cpus;
	int ret;

	pthread_attr_init(&attr);
	if (cpu >= 0) {
		CPU_ZERO(&cpus);
		CPU_SET(cpu, &cpus);
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	}
	if (rt_priority) {
		pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
		pthread_attr_setschedparam(&attr, &param);
	}
	ret = pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return ret;
}

TEST_F(tree, dying_dentry)
{
	struct timed_shrink kill = { .dir = self->dir[0] };
	struct timed_shrink wait = { .dir = self->dir[0] };
	pthread_t killer;
	long long before;

	ASSERT_EQ(0, use_files(self->dir[0], 1));
	before = evictions(self->root);
	ASSERT_EQ(0, shrinkfs_set_param("evict_delay_ms", EVICT_DELAY_MS));
	ASSERT_EQ(0, start_thread(&killer, -1, 0, timed_shrink_thread, &kill));
	ASSERT_TRUE(await_evictions(self->root, before + 1));
	timed_shrink(&wait);
	ASSERT_EQ(0, pthread_join(killer, NULL));
	report("dying dentry", &wait);
	EXPECT_EQ(0, kill.ret);
	EXPECT_EQ(0, wait.ret);
	/* It waited for the kill to end, as umount has to... */
	EXPECT_LE(EVICT_DELAY_S / 2, wait.wall);
	/* ...asleep. */
	EXPECT_FALSE(busy_waited(&wait)) {
		TH_LOG("busy-waited on a dying dentry: %.0f%% of %.1f ms on the CPU",
		       100 * wait.cpu / wait.wall, wait.wall * 1e3);
	}
}

/* The first line of the file @path, without its newline: 0 or -errno. */
static int read_value(const char *path, char *buf, size_t len)
{
	int n = shrinkfs_read_text(path, buf, len);

	if (n <= 0)
		return n ? n : -ENODATA;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The CPU time limits that keep a SCHED_FIFO spinner from starving CPU 0. */
struct rt_limits {
	char fair_server_path[96];
	char rt_runtime[32], fair_server_runtime[32];
};

static int save_rt_limits(struct rt_limits *saved)
{
	int ret;

	if (mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL) && errno != EBUSY)
		return -errno;
	snprintf(saved->fair_server_path, sizeof(saved->fair_server_path),
		 FAIR_SERVER_RUNTIME, 0);
	ret = read_value(RT_RUNTIME, saved->rt_runtime, sizeof(saved->rt_runtime));
	if (!ret)
		ret = read_value(saved->fair_server_path, saved->fair_server_runtime,
				 sizeof(saved->fair_server_runtime));
	return ret;
}

static int lift_rt_limits(const struct rt_limits *saved)
{
	int ret = shrinkfs_write_file(RT_RUNTIME, "-1");

	return ret ? ret : shrinkfs_write_file(saved->fair_server_path, "0");
}

static int restore_rt_limits(const struct rt_limits *saved)
{
	int ret = shrinkfs_write_file(saved->fair_server_path, saved->fair_server_runtime);
	int ret2 = shrinkfs_write_file(RT_RUNTIME, saved->rt_runtime);

	return ret ? ret : ret2;
}

TEST_F(tree, dying_dentry_rt_waiter)
{
	struct timed_shrink kill = { .dir = self->dir[0] };
	struct timed_shrink wait = { .dir = self->dir[0] };
	double started, spun = 0;
	struct rt_limits saved;
	pthread_t killer, waiter;
	long long before;
	cpu_set_t cpus;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(cpus), &cpus));
	if (CPU_COUNT(&cpus) < 2 || !CPU_ISSET(0, &cpus) || !CPU_ISSET(1, &cpus))
		SKIP(return, "needs CPUs 0 and 1");
	if (save_rt_limits(&saved))
		SKIP(return, "no %s or fair server in debugfs", RT_RUNTIME);
	/* The watchdog: this thread, on the other CPU. */
	CPU_ZERO(&cpus);
	CPU_SET(1, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));

	ASSERT_EQ(0, use_files(self->dir[0], 1));
	before = evictions(self->root);
	ASSERT_EQ(0, shrinkfs_set_param("evict_delay_ms", EVICT_DELAY_MS));
	ASSERT_EQ(0, start_thread(&killer, 0, 0, timed_shrink_thread, &kill));
	ASSERT_TRUE(await_evictions(self->root, before + 1));
	ASSERT_EQ(0, lift_rt_limits(&saved));
	started = shrinkfs_seconds(CLOCK_MONOTONIC);
	if (start_thread(&waiter, 0, 10, timed_shrink_thread, &wait)) {
		restore_rt_limits(&saved);
		ASSERT_TRUE(false) {
			TH_LOG("cannot start a SCHED_FIFO thread on CPU 0");
		}
	}
	while (!__atomic_load_n(&wait.done, __ATOMIC_ACQUIRE) &&
	       shrinkfs_seconds(CLOCK_MONOTONIC) - started < WATCHDOG_S)
		usleep(10000);
	if (!__atomic_load_n(&wait.done, __ATOMIC_ACQUIRE)) {
		spun = shrinkfs_seconds(CLOCK_MONOTONIC) - started;
		ksft_print_msg(LIVELOCK_FORMAT, spun);
		shrinkfs_write_file("/proc/sysrq-trigger", "l");
		shrinkfs_write_file("/proc/sysrq-trigger", "w");
	}
	EXPECT_EQ(0, restore_rt_limits(&saved));
	ASSERT_EQ(0, pthread_join(waiter, NULL));
	ASSERT_EQ(0, pthread_join(killer, NULL));
	report("dying dentry, SCHED_FIFO waiter on the killer's CPU", &wait);
	EXPECT_EQ(0, kill.ret);
	EXPECT_EQ(0, wait.ret);
	EXPECT_EQ(0, spun) {
		TH_LOG(SPUN_FORMAT, spun);
	}
	EXPECT_FALSE(busy_waited(&wait)) {
		TH_LOG("busy-waited on a dying dentry: %.0f%% of %.1f ms on the CPU",
		       100 * wait.cpu / wait.wall, wait.wall * 1e3);
	}
}

static void *reclaim_thread(void *arg)
{
	int *ret = arg;

	*ret = shrinkfs_reclaim_dentries();
	return NULL;
}

TEST_F(tree, busy_dentry_on_reclaim_list)
{
	struct timed_shrink wait = { .dir = self->dir[0] };
	long long before, meanwhile;
	pthread_t reclaimer;
	int reclaimed = -1;
	int fd;

	/*
	 * The shrinker isolates the LRU's oldest dentries first and kills its
	 * list from the first isolated on: d1's files go first, one
	 * RECLAIM_EVICT_DELAY_MS each, and d0/f0, the newest, waits for them.
	 */
	ASSERT_EQ(0, use_files(self->dir[1], FILES));
	ASSERT_EQ(0, use_files(self->dir[0], 1));
	before = evictions(self->root);
	ASSERT_EQ(0, shrinkfs_set_param("evict_delay_ms", RECLAIM_EVICT_DELAY_MS));
	ASSERT_EQ(0, start_thread(&reclaimer, -1, 0, reclaim_thread, &reclaimed));
	ASSERT_TRUE(await_evictions(self->root, before + 1));
	/* Busy again while the shrinker's list holds it. */
	fd = openat(self->dir[0], "f0", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	meanwhile = evictions(self->root);
	timed_shrink(&wait);
	meanwhile = evictions(self->root) - meanwhile;
	close(fd);
	ASSERT_EQ(0, pthread_join(reclaimer, NULL));
	EXPECT_EQ(0, reclaimed);
	report("busy dentry on the shrinker's list", &wait);
	ksft_print_msg("liveness: the shrinker evicted %lld inodes while it waited\n", meanwhile);
	EXPECT_EQ(0, wait.ret);
	EXPECT_FALSE(busy_waited(&wait)) {
		TH_LOG(BUSY_ON_LIST_FORMAT, 100 * wait.cpu / wait.wall, wait.wall * 1e3, meanwhile);
	}
}

TEST_HARNESS_MAIN
