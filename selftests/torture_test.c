// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs torture: shrink_dcache_parent() x the memory shrinker x umount x
 * the cross-superblock reaper, all at once, for a while.
 *
 * Threads, each with its own seeded schedule of operations:
 *   walkers   random lookups, stat, open+read, getdents over several mounts
 *             of different geometries, some holding a directory fd or their
 *             cwd in a subtree for a while;
 *   shrinker  drop_caches, memory.reclaim of the memory cgroup the test runs
 *             in, and squeezes of its memory.high, so super_cache_scan()
 *             runs from real reclaim;
 *   shrinker of subtrees  SHRINKFS_IOC_SHRINK (shrink_dcache_parent()) and
 *             SHRINKFS_IOC_BUMP_GENERATION (d_invalidate() on the next
 *             lookup) on random directories;
 *   reaper    SHRINKFS_IOC_REAP with random holds (and the periodic reaper),
 *             when the kernel exports dput_to_list();
 *   expiry    SHRINKFS_IOC_EXPIRE (and the periodic expiry pass) on mounts
 *             whose dentries expire (expire_ms=), disposing of the expired,
 *             unused ones without a reference, when the kernel exports
 *             d_dispose_if_unused();
 *   umounter  umount (EBUSY counted), lazy umount and mount again;
 * and, when asked for (TORTURE_FAULTS, TORTURE_FUZZ), where the scheduler
 * puts them:
 *   faults    lookups, reads, listings, shrinks, sysfs reads, mounts and
 *             drop_caches (the memory shrinker, in this thread's context),
 *             each meeting an allocation failure at a random n-th slab or
 *             page allocation of the call (fail-nth); each must end as it
 *             would without, or in ENOMEM;
 *   fuzz      fuzz_test's inputs (mount options through both mount APIs,
 *             ioctl numbers and arguments, sysfs reads and writes) on the
 *             torture's mounts; each must end in success or an errno of its
 *             control.
 * The run is cut into rounds; between rounds everything is unmounted and
 * the module reloaded. The module's race_delay_us widens its race windows.
 * Each round also places the threads on the CPUs its own way: where the
 * scheduler likes, pinned to CPUs drawn at random, or all on one CPU; and
 * counts how often two of the forces that reclaim (drop_caches/memcg,
 * shrink_dcache_parent(), the reaper, umount) were inside the kernel at the
 * same moment, and how often on two different CPUs. Each of their calls is
 * timed, wall clock and the thread's CPU time: a drop_caches, shrink, reap
 * or umount call of 100 ms or more that spent half of it on the CPU was
 * busy-waiting, not sleeping, and fails the run (the trees are small: their
 * own work takes milliseconds).
 *
 * The kernel's own checks (KASAN, lockdep, shrinkfs's WARN when kill_sb
 * finds objects alive) are judged by the rig from the console; this program
 * checks what userspace can see: file contents and listings match the
 * geometry, an umounted superblock is gone, the module unloads, the dcache
 * and icache shrink back, and every force fired.
 *
 * Environment: TORTURE_DURATION (seconds, default 60), TORTURE_SEED
 * (default: from the clock; printed), TORTURE_ROUND (seconds per round,
 * default 15), TORTURE_PROGRESS (seconds between progress lines, default 10),
 * TORTURE_RACE_DELAYS (the race_delay_us values a round draws from,
 * comma-separated, default 0,10,50,200; "0" runs without widened windows),
 * TORTURE_FAULTS and TORTURE_FUZZ (1: start that thread).
 * The same seed gives every thread the same sequence of operations; how the
 * threads interleave is the scheduler's.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "kselftest_harness.h"

#include "fault_injection.h"
#include "fuzz_inputs.h"
#include "shrinkfs_uapi.h"
#include "shrinkfs_util.h"

#define MOUNTS		3
#define WALKERS		4
/* Walkers, shrinker, subtree shrinker, umounter, reaper, expiry. */
#define FORCE_THREADS	(WALKERS + 5)
/* And the fault and fuzz threads. */
#define THREADS		(FORCE_THREADS + 2)
/*
 * The n-th allocation of a call fails for n up to these: a lookup, read or
 * listing makes fewer (faults_test counts them), a mount up to ~190 under
 * kmemleak.
 */
#define FAULT_NTH_MAX		24
#define FAULT_NTH_MAX_MOUNT	200
#define FAULT_OPTIONS	"depth=2,fanout=3,files=2"
#define MAX_DURATION	(4 * 3600)
#define CGROUP_ROOT	"/sys/fs/cgroup"
#define PARAMS		"/sys/module/shrinkfs/parameters/"
/* Dentries and inodes the rest of the system may make meanwhile. */
#define SLACK		64
/* How long a round's last superblocks may take to die after it. */
#define UNLOAD_DEADLINE_S	10

#define START_FORMAT \
	"torture: seed %u, %u s in rounds of %u s; repeat with TORTURE_SEED=%u TORTURE_DURATION=%u\n"
#define CALLS_FORMAT \
	"torture: calls %s %llu: wall p50 <= %.2f ms, p99 <= %.2f ms, max %.2f ms; of those >= %.0f ms, most on the CPU: %.0f%% (%.1f of %.1f ms)\n"
#define PROGRESS_FORMAT \
	"torture [%4.0f/%u s] round %u: %.0f lookups/s, drop_caches %llu, memory.reclaim %llu, shrink %llu, bumps %llu, reaps %llu (%llu dentries), expiry %llu (%llu dentries), umounts %llu (%llu busy, %llu lazy)\n"

#define PROGRESS_FAULTS_FORMAT \
	"torture [%4.0f/%u s] round %u: faults taken %llu (%llu ENOMEM), fuzz inputs %llu (%llu refused)\n"

/* race_delay_us and reap_interval_ms of a round: one of these each. */
#define RACE_DELAYS_DEFAULT	"0,10,50,200"
#define MAX_RACE_DELAYS		16
static const unsigned int reap_intervals_ms[] = { 0, 5, 50 };

/*
 * Where a round's threads run: wherever the scheduler puts them (and
 * migrates them), each pinned to a CPU drawn for it, or all on one CPU.
 */
enum placement { PLACE_FREE, PLACE_SCATTERED, PLACE_ONE_CPU };

/* Half the rounds scattered over the CPUs, a quarter each the others. */
static const enum placement round_placements[] = {
	PLACE_FREE, PLACE_SCATTERED, PLACE_SCATTERED, PLACE_ONE_CPU,
};

static const char * const placement_names[] = {
	[PLACE_FREE] = "free", [PLACE_SCATTERED] = "scattered",
	[PLACE_ONE_CPU] = "one CPU",
};

/*
 * The forces that reclaim dentries; their overlaps are counted. Each is
 * one thread's (drop_caches and memory.reclaim the shrinker's).
 */
enum force {
	F_DROP_CACHES, F_MEMCG_RECLAIM, F_SHRINK, F_REAP, F_UMOUNT, F_EXPIRE,
	NR_FORCES
};

static const char * const force_names[NR_FORCES] = {
	[F_DROP_CACHES] = "drop_caches", [F_MEMCG_RECLAIM] = "memory.reclaim",
	[F_SHRINK] = "shrink_dcache_parent", [F_REAP] = "reaper",
	[F_UMOUNT] = "umount", [F_EXPIRE] = "expiry",
};

/*
 * Calls that must not busy-wait. memory.reclaim retries reclaim on its own
 * CPU until it freed what it was asked or gave up, and drop_caches repeats
 * its slab pass while the pass still frees (drop_slab()) as the walkers
 * keep making dentries: their CPU time is work. (Three 30-minute runs with
 * the expiry force had drop_caches calls of 46, 59 and 62% on the CPU, no
 * splat; the calls that wait for another shrink list stayed under 25%.)
 */
static const bool waits_only[NR_FORCES] = {
	[F_SHRINK] = true, [F_REAP] = true, [F_UMOUNT] = true, [F_EXPIRE] = true,
};

struct geometry {
	unsigned int depth, fanout, files;
};

static const struct geometry geometries[MOUNTS] = {
	{ 3, 4, 3 },	/* 85 directories */
	{ 2, 8, 4 },	/* 73 directories, wide */
	{ 6, 2, 2 },	/* 127 directories, deep */
};

/* expire_ms of each mount when the kernel has the expiry helper. */
static const unsigned int expire_ms[MOUNTS] = { 20, 200, 0 };

enum op {
	OP_STAT, OP_READ, OP_GETDENTS, OP_NEGATIVE, OP_GONE,
	OP_HOLD_FD, OP_HOLD_CWD,
	OP_DROP_CACHES, OP_MEMCG_RECLAIM, OP_MEMCG_SQUEEZE,
	OP_SHRINK, OP_BUMP, OP_REAP, OP_REAPED, OP_EXPIRE, OP_EXPIRED,
	OP_UMOUNT, OP_UMOUNT_BUSY, OP_UMOUNT_LAZY, OP_MOUNT,
	OP_RELOAD, OP_FAULT_TAKEN, OP_FAULT_ENOMEM, OP_FAULT_RECLAIM, OP_FUZZ, OP_FUZZ_REFUSED,
	NR_OPS
};

static const char * const op_names[NR_OPS] = {
	[OP_STAT] = "stat", [OP_READ] = "open+read",
	[OP_GETDENTS] = "getdents", [OP_NEGATIVE] = "negative lookups",
	[OP_GONE] = "lookups while unmounted",
	[OP_HOLD_FD] = "fd holds", [OP_HOLD_CWD] = "cwd holds",
	[OP_DROP_CACHES] = "drop_caches", [OP_MEMCG_RECLAIM] = "memory.reclaim",
	[OP_MEMCG_SQUEEZE] = "memory.high squeezes",
	[OP_SHRINK] = "shrink_dcache_parent", [OP_BUMP] = "generation bumps",
	[OP_REAP] = "reaper passes", [OP_REAPED] = "dentries reaped",
	[OP_EXPIRE] = "expiry passes", [OP_EXPIRED] = "dentries expired",
	[OP_UMOUNT] = "umounts", [OP_UMOUNT_BUSY] = "umounts EBUSY",
	[OP_UMOUNT_LAZY] = "lazy umounts", [OP_MOUNT] = "mounts",
	[OP_RELOAD] = "module reloads", [OP_FAULT_TAKEN] = "faults taken",
	[OP_FAULT_ENOMEM] = "faults ending ENOMEM",
	[OP_FAULT_RECLAIM] = "faults in drop_caches", [OP_FUZZ] = "fuzz inputs",
	[OP_FUZZ_REFUSED] = "fuzz inputs refused",
};

/* What the fault thread makes an allocation of fail. */
enum fault_op {
	FAULT_LOOKUP, FAULT_READ, FAULT_GETDENTS, FAULT_SHRINK, FAULT_STATS,
	FAULT_MOUNT, FAULT_RECLAIM, NR_FAULT_OPS
};

static const char * const fault_op_names[NR_FAULT_OPS] = {
	[FAULT_LOOKUP] = "lookup", [FAULT_READ] = "open+read",
	[FAULT_GETDENTS] = "getdents", [FAULT_SHRINK] = "shrink ioctl",
	[FAULT_STATS] = "sysfs stats read", [FAULT_MOUNT] = "mount",
	[FAULT_RECLAIM] = "drop_caches",
};

/* What the fuzz thread draws. */
enum fuzz_op { FUZZ_OP_IOCTL, FUZZ_OP_MOUNT, FUZZ_OP_FSCONFIG, FUZZ_OP_SYSFS, NR_FUZZ_OPS };

/* What the module counted, summed over every superblock of the run. */
enum module_counter {
	MC_LOOKUPS, MC_RELEASES, MC_EVICTIONS, MC_STALE, MC_REAPED,
	MC_SHRINKER_CALLS, MC_EXPIRED, MC_EXPIRY_PASSES, MC_EXPIRY_DISPOSED,
	MC_EXPIRY_BUSY, NR_MODULE_COUNTERS
};

static const char * const module_counter_names[NR_MODULE_COUNTERS] = {
	[MC_LOOKUPS] = "lookups", [MC_RELEASES] = "dentry_releases",
	[MC_EVICTIONS] = "evictions", [MC_STALE] = "stale_dentries",
	[MC_REAPED] = "reaped", [MC_SHRINKER_CALLS] = "shrinker_calls",
	[MC_EXPIRED] = "expired", [MC_EXPIRY_PASSES] = "expiry_passes",
	[MC_EXPIRY_DISPOSED] = "expiry_disposed", [MC_EXPIRY_BUSY] = "expiry_busy",
};

struct torture;

struct worker {
	struct torture *t;
	pthread_t thread;
	unsigned int index;
	/* The CPU this round pins it to, or -1. */
	int cpu;
	/* When its current force call began: wall clock, its own CPU time. */
	double call_wall, call_cpu;
	__u64 rng;
	/* Written by the worker, read by the progress lines: __atomic_*(). */
	unsigned long long ops[NR_OPS];
};

/* Two forces inside the kernel at once: how often, and on two CPUs. */
struct overlap {
	unsigned long long together, apart;
};

/* Wall-time buckets of a force's calls: ten a decade, from 1 us to 100 s. */
#define BUCKETS_PER_DECADE	10
#define NR_BUCKETS		(8 * BUCKETS_PER_DECADE)
#define FIRST_BUCKET_S		0.000001
/* 10^(1/BUCKETS_PER_DECADE): one bucket's upper bound over the last's. */
#define BUCKET_RATIO		1.2589254117941673

/* The calls of one force; only that force's thread writes them. */
struct call_stats {
	unsigned long long calls, buckets[NR_BUCKETS];
	double max_wall;
	/* Of the calls of at least BUSY_WAIT_MIN_S, the one most on the CPU. */
	double worst_share, worst_wall, worst_cpu;
};

struct torture {
	unsigned int seed, duration, round_seconds, progress_seconds;
	unsigned int race_delays_us[MAX_RACE_DELAYS], nr_race_delays;
	/* The CPUs the test may run on. */
	cpu_set_t cpus;
	unsigned int nr_cpus;
	/* Bit f: force f is inside its system call; its CPU as it entered. */
	unsigned int inside;
	int inside_cpu[NR_FORCES];
	/* [f][g], f < g, over the whole run. */
	struct overlap overlaps[NR_FORCES][NR_FORCES];
	/* Rounds whose threads were not all on one CPU. */
	unsigned int spread_rounds;
	struct call_stats calls[NR_FORCES];
	char dir[64];
	char mnt[MOUNTS][96];
	bool reaper;
	bool expiry;
	/* The optional threads, the fault thread's fault attributes, the fuzzer's pointers. */
	bool faults, fuzz;
	struct fault_attrs fault_attrs;
	struct fuzz_arguments fuzz_args;
	char fault_mnt[96], fuzz_mnt[96];
	/* 10 ms waits for the module to become idle after the rounds. */
	unsigned int unload_waits;
	bool memcg;
	char cgroup[96];
	bool stop;
	/* The first thing a thread found wrong; the run then fails. */
	pthread_mutex_t failure_lock;
	char failure[256];
	bool failed;
	/* Module counters of superblocks already unmounted. */
	pthread_mutex_t module_lock;
	unsigned long long module[NR_MODULE_COUNTERS];
	struct worker workers[THREADS];
	unsigned int nr_workers;
};

static void fail(struct torture *t, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&t->failure_lock);
	if (!t->failed) {
		va_start(ap, fmt);
		vsnprintf(t->failure, sizeof(t->failure), fmt, ap);
		va_end(ap);
		__atomic_store_n(&t->failed, true, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&t->failure_lock);
}

static void count(struct worker *w, enum op what, unsigned long long n)
{
	__atomic_fetch_add(&w->ops[what], n, __ATOMIC_RELAXED);
}

/* Whether the run is to stop; written by the main thread only. */
static bool stopping(struct torture *t)
{
	return __atomic_load_n(&t->stop, __ATOMIC_RELAXED);
}

static bool has_failed(struct torture *t)
{
	return __atomic_load_n(&t->failed, __ATOMIC_RELAXED);
}

/* splitmix64: turns (seed, round, thread) into a well-mixed state. */
static __u64 mix(__u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* xorshift64*: the per-thread schedule. */
static __u32 next(struct worker *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (w->rng * 0x2545f4914f6cdd1dULL) >> 32;
}

static __u32 below(struct worker *w, __u32 n)
{
	return n ? next(w) % n : 0;
}

/* The @n-th CPU of @t's set. */
static int nth_cpu(struct torture *t, unsigned int n)
{
	int cpu;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &t->cpus) && !n--)
			return cpu;
	return -1;
}

/*
 * Worker @w's force @f enters the kernel: counts an overlap with every
 * other force inside it now (each overlap once, by the one that came
 * second), and starts timing the call.
 */
static void force_enter(struct worker *w, enum force f)
{
	struct torture *t = w->t;
	int cpu = sched_getcpu();
	unsigned int others, g;

	__atomic_store_n(&t->inside_cpu[f], cpu, __ATOMIC_RELAXED);
	others = __atomic_fetch_or(&t->inside, 1U << f, __ATOMIC_SEQ_CST);
	for (g = 0; g < NR_FORCES; g++) {
		struct overlap *o;

		if (!(others & (1U << g)))
			continue;
		o = f < g ? &t->overlaps[f][g] : &t->overlaps[g][f];
		__atomic_fetch_add(&o->together, 1, __ATOMIC_RELAXED);
		if (__atomic_load_n(&t->inside_cpu[g], __ATOMIC_RELAXED) != cpu)
			__atomic_fetch_add(&o->apart, 1, __ATOMIC_RELAXED);
	}
	w->call_cpu = shrinkfs_seconds(CLOCK_THREAD_CPUTIME_ID);
	w->call_wall = shrinkfs_seconds(CLOCK_MONOTONIC);
}

static void force_leave(struct worker *w, enum force f)
{
	struct torture *t = w->t;
	double wall = shrinkfs_seconds(CLOCK_MONOTONIC) - w->call_wall;
	double cpu = shrinkfs_seconds(CLOCK_THREAD_CPUTIME_ID) - w->call_cpu;
	struct call_stats *c = &t->calls[f];
	double bound = FIRST_BUCKET_S;
	unsigned int b;

	__atomic_fetch_and(&t->inside, ~(1U << f), __ATOMIC_SEQ_CST);
	for (b = 0; b < NR_BUCKETS - 1 && wall > bound; b++)
		bound *= BUCKET_RATIO;
	c->buckets[b]++;
	c->calls++;
	if (wall > c->max_wall)
		c->max_wall = wall;
	if (wall >= BUSY_WAIT_MIN_S && cpu / wall > c->worst_share) {
		c->worst_share = cpu / wall;
		c->worst_wall = wall;
		c->worst_cpu = cpu;
	}
}

/* The upper bound of the bucket that holds quantile @q of @c's calls. */
static double call_quantile(const struct call_stats *c, double q)
{
	unsigned long long seen = 0;
	double bound = FIRST_BUCKET_S;
	unsigned int b;

	for (b = 0; b < NR_BUCKETS - 1; b++, bound *= BUCKET_RATIO) {
		seen += c->buckets[b];
		if (seen >= q * c->calls)
			break;
	}
	return bound;
}

static void print_calls(struct torture *t)
{
	unsigned int f;

	for (f = 0; f < NR_FORCES; f++) {
		const struct call_stats *c = &t->calls[f];

		ksft_print_msg(CALLS_FORMAT, force_names[f], c->calls,
			       call_quantile(c, 0.5) * 1e3,
			       call_quantile(c, 0.99) * 1e3, c->max_wall * 1e3,
			       BUSY_WAIT_MIN_S * 1e3, c->worst_share * 100,
			       c->worst_cpu * 1e3, c->worst_wall * 1e3);
	}
}

/* Paces a thread for up to @max_us; keeps the guest responsive. */
static void pause_up_to(struct worker *w, unsigned int max_us)
{
	usleep(below(w, max_us) + 1);
}

/*
 * A random node of mount @m's geometry as a path relative to its root
 * ("d1/d0/f2"), into @rel. Returns its kind: 'd', 'f', or 'x' for a name
 * outside the geometry. @level is the directory level it is at or in.
 */
static char random_node(struct worker *w, unsigned int m, char *rel, size_t len,
			unsigned int *level)
{
	const struct geometry *g = &geometries[m];
	unsigned int depth = below(w, g->depth + 1), i;
	size_t pos = 0;
	char kind = 'd';

	rel[0] = '\0';
	for (i = 0; i < depth; i++)
		pos += snprintf(rel + pos, len - pos, "%sd%u", i ? "/" : "",
				below(w, g->fanout));
	*level = depth;
	switch (below(w, 10)) {
	case 0:
		/* A name outside the geometry: a negative dentry. */
		snprintf(rel + pos, len - pos, "%s%c%u", pos ? "/" : "",
			 below(w, 2) ? 'x' : 'f', g->files + below(w, 8));
		return 'x';
	case 1 ... 5:
		if (g->files) {
			snprintf(rel + pos, len - pos, "%sf%u", pos ? "/" : "",
				 below(w, g->files));
			kind = 'f';
		}
		break;
	}
	if (!rel[0])
		snprintf(rel, len, ".");
	return kind;
}

/* Entries a directory at @level lists, "." and ".." included. */
static unsigned int listing_size(const struct geometry *g, unsigned int level)
{
	return 2 + (level < g->depth ? g->fanout : 0) + g->files;
}

static void check_read(struct worker *w, int dirfd, const char *rel)
{
	char expected[256], got[256];
	int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		count(w, OP_GONE, 1);
		return;
	}
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	count(w, OP_READ, 1);
	snprintf(expected, sizeof(expected), "/%s\n", rel);
	if (n < 0 || (size_t)n != strlen(expected) ||
	    memcmp(got, expected, n))
		fail(w->t, "reading %s gave %zd bytes, not its path", rel, n);
}

static void check_getdents(struct worker *w, unsigned int m, int dirfd,
			   const char *rel, unsigned int level)
{
	unsigned int entries = 0, expected = listing_size(&geometries[m], level);
	int fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir;

	if (fd < 0) {
		count(w, OP_GONE, 1);
		return;
	}
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	while (readdir(dir))
		entries++;
	closedir(dir);
	count(w, OP_GETDENTS, 1);
	if (entries != expected)
		fail(w->t, "mount %u: %s lists %u entries, not %u", m, rel,
		     entries, expected);
}

/*
 * The root of mount @m, or -1 while it is unmounted (the mount point below
 * is then no shrinkfs, and its ioctls are not ours).
 */
static int open_root(struct torture *t, unsigned int m)
{
	int fd = open(t->mnt[m], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct statfs sfs;

	if (fd >= 0 && (fstatfs(fd, &sfs) || sfs.f_type != SHRINKFS_MAGIC)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * A walker: lookups through the mount roots, or relative to a directory fd
 * or cwd it holds for a while.
 */
static void *walker(void *arg)
{
	struct worker *w = arg;
	struct torture *t = w->t;
	int held_fd = -1, held_ops = 0;
	unsigned int held_m = 0;
	bool held_cwd = false;
	unsigned int level;
	char rel[160];
	struct stat st;

	/* A cwd of its own: holding one must not move the other threads'. */
	if (unshare(CLONE_FS))
		fail(t, "unshare(CLONE_FS): %s", strerror(errno));
	while (!stopping(t)) {
		unsigned int m = below(w, MOUNTS);
		int root, dirfd;
		char kind;

		if (held_ops && !--held_ops) {
			if (held_fd >= 0)
				close(held_fd);
			held_fd = -1;
			if (held_cwd && chdir("/"))
				fail(t, "chdir /: %s", strerror(errno));
			held_cwd = false;
		}
		root = open_root(t, m);
		if (root < 0) {
			count(w, OP_GONE, 1);
			continue;
		}
		dirfd = root;
		if (held_fd >= 0 && held_m == m && below(w, 2))
			dirfd = held_fd;
		else if (held_cwd && held_m == m && below(w, 2))
			dirfd = AT_FDCWD;
		kind = random_node(w, m, rel, sizeof(rel), &level);
		if (dirfd != root) {
			/* Relative to a held subtree: stat its own children. */
			kind = 'x';
			snprintf(rel, sizeof(rel), "%c%u", below(w, 2) ? 'd' : 'f',
				 below(w, 6));
		}
		switch (kind) {
		case 'x':
			if (fstatat(dirfd, rel, &st, 0) == 0)
				count(w, OP_STAT, 1);
			else
				count(w, OP_NEGATIVE, 1);
			break;
		case 'f':
			if (below(w, 3))
				check_read(w, dirfd, rel);
			else if (fstatat(dirfd, rel, &st, 0) == 0)
				count(w, OP_STAT, 1);
			else
				count(w, OP_GONE, 1);
			break;
		default:
			if (below(w, 4) == 0) {
				check_getdents(w, m, dirfd, rel, level);
			} else if (!held_ops && below(w, 8) == 0) {
				held_ops = 10 + below(w, 200);
				held_m = m;
				if (below(w, 2)) {
					held_fd = openat(root, rel, O_RDONLY |
							 O_DIRECTORY | O_CLOEXEC);
					count(w, OP_HOLD_FD, held_fd >= 0);
				} else {
					held_cwd = !fchdir(root) && !chdir(rel);
					count(w, OP_HOLD_CWD, held_cwd);
				}
			} else if (fstatat(dirfd, rel, &st, 0) == 0) {
				count(w, OP_STAT, 1);
			} else {
				count(w, OP_GONE, 1);
			}
		}
		close(root);
	}
	/* A thread's fs_struct outlives pthread_join(): leave nothing pinned. */
	if (held_fd >= 0)
		close(held_fd);
	if (held_cwd && chdir("/"))
		fail(t, "chdir /: %s", strerror(errno));
	return NULL;
}

/* The memory shrinker: drop_caches and the test's memory cgroup. */
static void *shrinker(void *arg)
{
	struct worker *w = arg;
	struct torture *t = w->t;
	char path[160], usage[32];

	while (!stopping(t)) {
		unsigned int choice = t->memcg ? below(w, 10) : 0;

		if (choice < 4) {
			force_enter(w, F_DROP_CACHES);
			if (shrinkfs_reclaim_dentries())
				fail(t, "drop_caches: %s", strerror(errno));
			force_leave(w, F_DROP_CACHES);
			count(w, OP_DROP_CACHES, 1);
		} else if (choice < 8) {
			/* EAGAIN when less than asked could be reclaimed. */
			snprintf(path, sizeof(path), "%s/memory.reclaim", t->cgroup);
			force_enter(w, F_MEMCG_RECLAIM);
			shrinkfs_write_file(path, "4M");
			force_leave(w, F_MEMCG_RECLAIM);
			count(w, OP_MEMCG_RECLAIM, 1);
		} else {
			/* Reclaim in the walkers' own allocations for a moment. */
			snprintf(path, sizeof(path), "%s/memory.current", t->cgroup);
			if (shrinkfs_read_text(path, usage, sizeof(usage)) > 0) {
				snprintf(usage, sizeof(usage), "%llu",
					 strtoull(usage, NULL, 10) * 3 / 4);
				snprintf(path, sizeof(path), "%s/memory.high",
					 t->cgroup);
				shrinkfs_write_file(path, usage);
				pause_up_to(w, 50000);
				shrinkfs_write_file(path, "max");
				count(w, OP_MEMCG_SQUEEZE, 1);
			}
		}
		pause_up_to(w, 20000);
	}
	return NULL;
}

/* shrink_dcache_parent() and generation bumps on random directories. */
static void *subtree_shrinker(void *arg)
{
	struct worker *w = arg;
	struct torture *t = w->t;
	unsigned int level;
	char rel[160];

	while (!stopping(t)) {
		unsigned int m = below(w, MOUNTS);
		int root = open_root(t, m);
		bool shrink = below(w, 5) < 3;
		int fd, ret;

		if (root < 0) {
			count(w, OP_GONE, 1);
			continue;
		}
		/* A file or a name outside the geometry: its directory. */
		if (random_node(w, m, rel, sizeof(rel), &level) != 'd')
			*(strrchr(rel, '/') ? strrchr(rel, '/') : rel) = '\0';
		fd = openat(root, rel[0] ? rel : ".",
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(root);
		if (fd < 0) {
			count(w, OP_GONE, 1);
			continue;
		}
		if (shrink)
			force_enter(w, F_SHRINK);
		ret = ioctl(fd, shrink ? SHRINKFS_IOC_SHRINK :
			    SHRINKFS_IOC_BUMP_GENERATION, 0);
		if (shrink)
			force_leave(w, F_SHRINK);
		if (ret)
			fail(t, "%s on %s: %s", shrink ? "shrink" : "bump", rel,
			     strerror(errno));
		else
			count(w, shrink ? OP_SHRINK : OP_BUMP, 1);
		close(fd);
		pause_up_to(w, 5000);
	}
	return NULL;
}

/*
 * Passes through any mount, each over all of them: SHRINKFS_IOC_REAP (the
 * reaper, sometimes holding what it took for up to 30 ms) or
 * SHRINKFS_IOC_EXPIRE (the expiry pass, over the mounts whose dentries
 * expire).
 */
static void *passes(struct worker *w, enum force force)
{
	struct torture *t = w->t;
	bool reap = force == F_REAP;

	while (!stopping(t)) {
		int root = open_root(t, below(w, MOUNTS));
		unsigned long hold = 0;
		int taken;

		if (root < 0) {
			count(w, OP_GONE, 1);
			continue;
		}
		if (reap && !below(w, 4))
			hold = below(w, 30);
		force_enter(w, force);
		taken = ioctl(root, reap ? SHRINKFS_IOC_REAP : SHRINKFS_IOC_EXPIRE,
			      hold);
		force_leave(w, force);
		close(root);
		if (taken < 0) {
			fail(t, "%s: %s", force_names[force], strerror(errno));
		} else {
			count(w, reap ? OP_REAP : OP_EXPIRE, 1);
			count(w, reap ? OP_REAPED : OP_EXPIRED, taken);
		}
		pause_up_to(w, 20000);
	}
	return NULL;
}

static void *reaper(void *arg)
{
	return passes(arg, F_REAP);
}

static void *expirer(void *arg)
{
	return passes(arg, F_EXPIRE);
}

/* The module's counters of the superblock mounted on @mnt, into the sums. */
static void collect_module_counters(struct torture *t, const char *mnt)
{
	char path[96], text[1024];
	char *line, *save;
	unsigned int i;
	struct stat st;

	if (stat(mnt, &st))
		return;
	snprintf(path, sizeof(path), "/sys/fs/shrinkfs/%u:%u/stats",
		 major(st.st_dev), minor(st.st_dev));
	if (shrinkfs_read_text(path, text, sizeof(text)) <= 0)
		return;
	pthread_mutex_lock(&t->module_lock);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		for (i = 0; i < NR_MODULE_COUNTERS; i++) {
			size_t len = strlen(module_counter_names[i]);

			if (!strncmp(line, module_counter_names[i], len) &&
			    line[len] == ' ')
				t->module[i] += strtoull(line + len + 1, NULL, 10);
		}
	pthread_mutex_unlock(&t->module_lock);
}

static int mount_one(struct torture *t, unsigned int m)
{
	const struct geometry *g = &geometries[m];
	char options[96];

	snprintf(options, sizeof(options), "depth=%u,fanout=%u,files=%u,expire_ms=%u",
		 g->depth, g->fanout, g->files, t->expiry ? expire_ms[m] : 0);
	return mount("none", t->mnt[m], "shrinkfs", 0, options) ? -errno : 0;
}

/*
 * Umounts @m (lazily or not); checks that a plain umount took the
 * superblock down with it, and mounts again.
 */
static void cycle_mount(struct worker *w, unsigned int m, bool lazy)
{
	struct torture *t = w->t;
	struct stat st, parent, dir;
	char sysfs[96];
	int ret;

	/* Only this thread mounts there: what is not mounted now stays so. */
	if (stat(t->dir, &parent) || stat(t->mnt[m], &st) ||
	    st.st_dev == parent.st_dev)
		return;
	collect_module_counters(t, t->mnt[m]);
	snprintf(sysfs, sizeof(sysfs), "/sys/fs/shrinkfs/%u:%u",
		 major(st.st_dev), minor(st.st_dev));
	if (stat(sysfs, &dir))
		fail(t, "%s: %s", sysfs, strerror(errno));
	force_enter(w, F_UMOUNT);
	ret = umount2(t->mnt[m], lazy ? MNT_DETACH : 0);
	force_leave(w, F_UMOUNT);
	if (ret) {
		if (errno != EBUSY)
			fail(t, "umount %s: %s", t->mnt[m], strerror(errno));
		count(w, OP_UMOUNT_BUSY, 1);
		return;
	}
	count(w, lazy ? OP_UMOUNT_LAZY : OP_UMOUNT, 1);
	/*
	 * Nothing pinned a plainly unmounted superblock: kill_sb ran. Its
	 * device number may already be the fault or fuzz thread's next mount's,
	 * but not its sysfs directory.
	 */
	if (!lazy && stat(sysfs, &st) == 0 && st.st_ino == dir.st_ino)
		fail(t, "%s outlived the umount of %s", sysfs, t->mnt[m]);
	pause_up_to(w, 20000);
	if (mount_one(t, m))
		fail(t, "mount %s: %s", t->mnt[m], strerror(errno));
	else
		count(w, OP_MOUNT, 1);
}

static void *umounter(void *arg)
{
	struct worker *w = arg;
	struct torture *t = w->t;

	while (!stopping(t)) {
		cycle_mount(w, below(w, MOUNTS), below(w, 10) < 3);
		pause_up_to(w, 200000);
	}
	return NULL;
}

/* The sysfs stats file of the superblock @root is on, into @path. */
static void stats_path(int root, char *path, size_t len)
{
	struct stat st;

	if (fstat(root, &st))
		st.st_dev = 0;
	snprintf(path, len, "/sys/fs/shrinkfs/%u:%u/stats", major(st.st_dev),
		 minor(st.st_dev));
}

/*
 * One call of the fault thread's @op on mount @m (its root open as @root)
 * with the thread's @n-th allocation failing: 0 or -errno, -EIO when what it
 * read is wrong. Sets @expected to what the call gives without a failure.
 */
static int faulty_call(struct worker *w, enum fault_op op, unsigned int m, int root,
		       int fail_nth, unsigned int n, int *expected)
{
	struct torture *t = w->t;
	char rel[160], path[160], want[256], got[256];
	unsigned int level, entries = 0;
	int fd = -1, ret;
	char kind = random_node(w, m, rel, sizeof(rel), &level);
	struct stat st;
	ssize_t len;
	DIR *dir;

	*expected = kind == 'x' ? -ENOENT : 0;
	if ((op == FAULT_READ && kind != 'f') || (op == FAULT_GETDENTS && kind != 'd'))
		op = FAULT_LOOKUP;
	if (op == FAULT_SHRINK) {
		*expected = 0;
		fd = kind == 'd' ? openat(root, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	}
	if (op == FAULT_STATS || op == FAULT_MOUNT || op == FAULT_RECLAIM)
		*expected = 0;
	if (op == FAULT_STATS)
		stats_path(root, path, sizeof(path));
	/* Opened first: the failure is for the memory shrinker's context. */
	if (op == FAULT_RECLAIM) {
		fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	if (fail_nth_arm(fail_nth, n))
		return -errno;
	switch (op) {
	case FAULT_LOOKUP:
		ret = fstatat(root, rel, &st, 0) ? -errno : 0;
		break;
	case FAULT_READ:
		fd = openat(root, rel, O_RDONLY | O_CLOEXEC);
		len = fd < 0 ? -1 : read(fd, got, sizeof(got) - 1);
		ret = len < 0 ? -errno : 0;
		snprintf(want, sizeof(want), "/%s\n", rel);
		if (!ret && ((size_t)len != strlen(want) || memcmp(got, want, len)))
			ret = -EIO;
		break;
	case FAULT_GETDENTS:
		fd = openat(root, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		dir = fd < 0 ? NULL : fdopendir(fd);
		ret = dir ? 0 : -errno;
		errno = 0;
		while (dir && readdir(dir))
			entries++;
		if (dir) {
			ret = errno ? -errno : 0;
			closedir(dir);
			fd = -1;
		}
		if (!ret && entries != listing_size(&geometries[m], level))
			ret = -EIO;
		break;
	case FAULT_SHRINK:
		ret = ioctl(fd >= 0 ? fd : root, SHRINKFS_IOC_SHRINK, 0) ? -errno : 0;
		break;
	case FAULT_STATS:
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ret = fd < 0 || read(fd, got, sizeof(got)) < 0 ? -errno : 0;
		break;
	case FAULT_RECLAIM:
		ret = write(fd, "2", 1) < 0 ? -errno : 0;
		break;
	default:
		ret = mount("none", t->fault_mnt, "shrinkfs", 0,
			    t->expiry && below(w, 2) ? FAULT_OPTIONS ",expire_ms=20" :
			    FAULT_OPTIONS) ? -errno : 0;
		break;
	}
	/* Disarmed before anything else runs. */
	if (fail_nth_taken(fail_nth) == 1) {
		count(w, OP_FAULT_TAKEN, 1);
		count(w, OP_FAULT_ENOMEM, ret == -ENOMEM);
		count(w, OP_FAULT_RECLAIM, op == FAULT_RECLAIM);
	}
	if (fd >= 0)
		close(fd);
	if (op == FAULT_MOUNT && !ret && umount2(t->fault_mnt, 0))
		fail(t, "faults: umount %s: %s", t->fault_mnt, strerror(errno));
	return ret;
}

/*
 * The fault thread: its calls meet an allocation failure at a random n-th
 * allocation while the other forces run, and must end as they would
 * without it, or in ENOMEM.
 */
static void *faulter(void *arg)
{
	struct worker *w = arg;
	struct torture *t = w->t;
	int fail_nth = fail_nth_open(), expected, ret;

	if (fail_nth < 0) {
		fail(t, "faults: fail-nth: %s", strerror(errno));
		return NULL;
	}
	while (!stopping(t)) {
		enum fault_op op = below(w, NR_FAULT_OPS);
		unsigned int m = below(w, MOUNTS);
		unsigned int n = 1 + below(w, op == FAULT_MOUNT ? FAULT_NTH_MAX_MOUNT :
					  FAULT_NTH_MAX);
		int root = open_root(t, m);

		if (root < 0) {
			count(w, OP_GONE, 1);
			continue;
		}
		ret = faulty_call(w, op, m, root, fail_nth, n, &expected);
		close(root);
		if (ret != expected && ret != -ENOMEM)
			fail(t, "faults: %s on mount %u, allocation %u failing: %s, not %s/ENOMEM",
			     fault_op_names[op], m, n, ret ? strerror(-ret) : "success",
			     expected ? strerror(-expected) : "success");
		pause_up_to(w, 2000);
	}
	close(fail_nth);
	return NULL;
}

/*
 * One fuzz input on mount @m (its root open as @root): 0 or -errno, and
 * its control; @what describes it.
 */
static int fuzz_call(struct worker *w, unsigned int m, int root, enum fuzz_control *control,
		     char *what, size_t len)
{
	struct torture *t = w->t;
	char text[FUZZ_TEXT_MAX], rel[160], path[160];
	unsigned int level, cmd;
	unsigned long arg;
	long long offset;
	bool write;
	int fd, ret;

	switch (below(w, NR_FUZZ_OPS)) {
	case FUZZ_OP_IOCTL:
		*control = FUZZ_IOCTL;
		if (random_node(w, m, rel, sizeof(rel), &level) == 'x')
			snprintf(rel, sizeof(rel), ".");
		cmd = fuzz_ioctl_cmd(&w->rng);
		arg = fuzz_ioctl_arg(&w->rng, &t->fuzz_args);
		snprintf(what, len, "ioctl 0x%08x arg 0x%lx on %s of mount %u", cmd, arg, rel, m);
		fd = openat(root, rel, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -EIO;
		ret = ioctl(fd, cmd, arg) < 0 ? -errno : 0;
		close(fd);
		return ret;
	case FUZZ_OP_MOUNT:
		*control = FUZZ_MOUNT;
		fuzz_options(&w->rng, text, sizeof(text));
		snprintf(what, len, "mount(2) options of %zu bytes", strlen(text));
		return fuzz_mount_legacy(t->fuzz_mnt, text);
	case FUZZ_OP_FSCONFIG:
		*control = FUZZ_FSCONFIG;
		fuzz_options(&w->rng, text, sizeof(text));
		cmd = below(w, 4) ? FSCONFIG_SET_STRING : below(w, 9);
		snprintf(what, len, "fsconfig command %u, %zu bytes", cmd, strlen(text));
		return fuzz_mount_new(t->fuzz_mnt, cmd, below(w, 64), text);
	default:
		*control = FUZZ_SYSFS;
		stats_path(root, path, sizeof(path));
		write = below(w, 4) == 0;
		offset = below(w, 4) ? (long long)below(w, 8192) : (long long)fuzz_rnd(&w->rng);
		snprintf(text, sizeof(text), "%s", fuzz_value(&w->rng));
		snprintf(what, len, "stats %s at %lld of mount %u", write ? "write" : "read",
			 offset, m);
		fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (write)
			ret = pwrite(fd, text, strlen(text), offset) < 0 ? -errno : 0;
		else
			ret = pread(fd, text, sizeof(text), offset) < 0 ? -errno : 0;
		close(fd);
		return ret;
	}
}

/*
 * The fuzz thread: fuzz_test's inputs on the torture's mounts and a mount
 * point of its own, while the other forces run; each must end in success
 * or an errno of its control.
 */
static void *fuzzer(void *arg)
{
	struct worker *w = arg;
	struct torture *t = w->t;
	enum fuzz_control control;
	char what[256];
	int ret;

	while (!stopping(t)) {
		unsigned int m = below(w, MOUNTS);
		int root = open_root(t, m);

		if (root < 0) {
			count(w, OP_GONE, 1);
			continue;
		}
		ret = fuzz_call(w, m, root, &control, what, sizeof(what));
		close(root);
		count(w, OP_FUZZ, 1);
		count(w, OP_FUZZ_REFUSED, ret != 0);
		if (!fuzz_allowed(fuzz_root_errnos[control], ret))
			fail(t, "fuzz: %s: %s", what, strerrorname_np(-ret));
		pause_up_to(w, 2000);
	}
	return NULL;
}

static unsigned int env_uint(const char *name, unsigned int fallback)
{
	const char *value = getenv(name);

	return value && *value ? strtoul(value, NULL, 10) : fallback;
}

/* TORTURE_RACE_DELAYS into @t; false if it is no list of 0..1000. */
static bool parse_race_delays(struct torture *t)
{
	const char *list = getenv("TORTURE_RACE_DELAYS");
	char *end;

	if (!list || !*list)
		list = RACE_DELAYS_DEFAULT;
	for (t->nr_race_delays = 0; *list; list = end + (*end == ',')) {
		unsigned long us = strtoul(list, &end, 10);

		if (end == list || (*end && *end != ',') || us > 1000 ||
		    t->nr_race_delays == MAX_RACE_DELAYS)
			return false;
		t->race_delays_us[t->nr_race_delays++] = us;
	}
	return t->nr_race_delays > 0;
}

/* A line in the kernel log too, so the console shows each round's knobs. */
static void announce(const char *fmt, ...)
{
	char line[256], record[280];
	va_list ap;
	int fd, len;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ksft_print_msg("torture: %s\n", line);
	/* One write() is one record; stdio's dprintf() fails on /dev/kmsg. */
	len = snprintf(record, sizeof(record), "shrinkfs-torture: %s\n", line);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, record, len) != len)
			ksft_print_msg("torture: /dev/kmsg: %s\n", strerror(errno));
		close(fd);
	}
}

/* This round's count of @op, plus @before from the rounds before it. */
static unsigned long long total(struct torture *t, const unsigned long long *before,
				enum op op)
{
	unsigned long long sum = before ? before[op] : 0;
	unsigned int i;

	for (i = 0; i < t->nr_workers; i++)
		sum += __atomic_load_n(&t->workers[i].ops[op], __ATOMIC_RELAXED);
	return sum;
}

static void print_progress(struct torture *t, const unsigned long long *before,
			   double elapsed, unsigned int round)
{
	unsigned long long lookups = total(t, before, OP_STAT) +
		total(t, before, OP_READ) + total(t, before, OP_GETDENTS) +
		total(t, before, OP_NEGATIVE);

	ksft_print_msg(PROGRESS_FORMAT, elapsed, t->duration, round, lookups / elapsed,
		       total(t, before, OP_DROP_CACHES),
		       total(t, before, OP_MEMCG_RECLAIM),
		       total(t, before, OP_SHRINK), total(t, before, OP_BUMP),
		       total(t, before, OP_REAP), total(t, before, OP_REAPED),
		       total(t, before, OP_EXPIRE), total(t, before, OP_EXPIRED),
		       total(t, before, OP_UMOUNT), total(t, before, OP_UMOUNT_BUSY),
		       total(t, before, OP_UMOUNT_LAZY));
	if (t->faults || t->fuzz)
		ksft_print_msg(PROGRESS_FAULTS_FORMAT, elapsed, t->duration, round,
			       total(t, before, OP_FAULT_TAKEN), total(t, before, OP_FAULT_ENOMEM),
			       total(t, before, OP_FUZZ), total(t, before, OP_FUZZ_REFUSED));
}

/* Puts the test into a memory cgroup of its own, if the kernel has them. */
static bool enter_memcg(struct torture *t)
{
	char path[128];

	if (access(CGROUP_ROOT "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, NULL))
		return false;
	if (shrinkfs_write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory"))
		return false;
	snprintf(t->cgroup, sizeof(t->cgroup), CGROUP_ROOT "/shrinkfs-torture-%d",
		 getpid());
	if (mkdir(t->cgroup, 0755) && errno != EEXIST)
		return false;
	snprintf(path, sizeof(path), "%s/cgroup.procs", t->cgroup);
	return shrinkfs_write_file(path, "0") == 0;
}

static void leave_memcg(struct torture *t)
{
	shrinkfs_write_file(CGROUP_ROOT "/cgroup.procs", "0");
	rmdir(t->cgroup);
}

FIXTURE(torture) {
	struct torture t;
	long dentries, inodes;
};

FIXTURE_SETUP(torture)
{
	struct torture *t = &self->t;
	unsigned int m;

	if (getuid())
		SKIP(return, "loading modules needs root");
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->failure_lock, NULL);
	pthread_mutex_init(&t->module_lock, NULL);
	t->duration = env_uint("TORTURE_DURATION", 60);
	t->seed = env_uint("TORTURE_SEED", (unsigned int)(time(NULL) ^ getpid()));
	t->round_seconds = env_uint("TORTURE_ROUND", 15);
	t->progress_seconds = env_uint("TORTURE_PROGRESS", 10);
	t->fuzz = env_uint("TORTURE_FUZZ", 0);
	ASSERT_TRUE(parse_race_delays(t)) {
		TH_LOG("TORTURE_RACE_DELAYS=%s: want up to %d values 0..1000, comma-separated",
		       getenv("TORTURE_RACE_DELAYS"), MAX_RACE_DELAYS);
	}
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(t->cpus), &t->cpus));
	t->nr_cpus = CPU_COUNT(&t->cpus);
	ASSERT_LT(0U, t->duration);
	ASSERT_GE((unsigned int)MAX_DURATION, t->duration);
	ASSERT_LT(0U, t->round_seconds);
	ASSERT_LT(0U, t->progress_seconds);
	ksft_print_msg(START_FORMAT, t->seed, t->duration, t->round_seconds, t->seed,
		       t->duration);
	ksft_print_msg("torture: %u CPUs\n", t->nr_cpus);
	snprintf(t->dir, sizeof(t->dir), "/tmp/shrinkfs-torture-%d", getpid());
	ASSERT_EQ(0, mkdir(t->dir, 0755));
	for (m = 0; m < MOUNTS; m++) {
		snprintf(t->mnt[m], sizeof(t->mnt[m]), "%s/m%u", t->dir, m);
		ASSERT_EQ(0, mkdir(t->mnt[m], 0755));
	}
	ASSERT_EQ(0, shrinkfs_reclaim_dentries());
	self->dentries = shrinkfs_proc_first_field("/proc/sys/fs/dentry-state");
	self->inodes = shrinkfs_proc_first_field("/proc/sys/fs/inode-nr");
	snprintf(t->fault_mnt, sizeof(t->fault_mnt), "%s/faults", t->dir);
	snprintf(t->fuzz_mnt, sizeof(t->fuzz_mnt), "%s/fuzz", t->dir);
	ASSERT_EQ(0, mkdir(t->fault_mnt, 0755));
	ASSERT_EQ(0, mkdir(t->fuzz_mnt, 0755));
	if (t->fuzz)
		ASSERT_EQ(0, fuzz_arguments_map(&t->fuzz_args));
	t->memcg = enter_memcg(t);
	ksft_print_msg("torture: memory cgroup %s\n",
		       t->memcg ? t->cgroup : "unavailable: drop_caches only");
	/* Last: a failed setup has no teardown to disarm it. */
	if (env_uint("TORTURE_FAULTS", 0)) {
		const char *why = fault_attrs_arm(&t->fault_attrs);

		ASSERT_EQ(NULL, why) {
			TH_LOG("TORTURE_FAULTS: %s", why);
		}
		t->faults = true;
	}
	ksft_print_msg("torture: fault thread %s, fuzz thread %s\n",
		       !t->faults ? "off" : fault_attrs_pages(&t->fault_attrs) ?
		       "on (slab and page allocations)" : "on (slab allocations)",
		       t->fuzz ? "on" : "off");
}

FIXTURE_TEARDOWN(torture)
{
	struct torture *t = &self->t;
	unsigned int m;

	for (m = 0; m < MOUNTS; m++) {
		umount2(t->mnt[m], MNT_DETACH);
		rmdir(t->mnt[m]);
	}
	umount2(t->fault_mnt, MNT_DETACH);
	umount2(t->fuzz_mnt, MNT_DETACH);
	rmdir(t->fault_mnt);
	rmdir(t->fuzz_mnt);
	rmdir(t->dir);
	if (t->faults)
		fault_attrs_restore(&t->fault_attrs);
	if (t->memcg)
		leave_memcg(t);
	shrinkfs_unload();
	/* rcutorture's closing line: the console alone tells how it ended. */
	announce("--- End of test: %s (seed %u)",
		 _metadata->exit_code == KSFT_PASS ? "SUCCESS" : "FAILURE",
		 t->seed);
}

/* Starts a thread, on the CPU @cpu (or anywhere, -1) from its first step. */
static void start(struct torture *t, void *(*fn)(void *), unsigned int round,
		  int cpu)
{
	struct worker *w = &t->workers[t->nr_workers];
	pthread_attr_t attr;
	cpu_set_t set;
	int ret;

	w->t = t;
	w->index = t->nr_workers++;
	w->cpu = cpu;
	/* add_round() sums each round's counts: every round starts from zero. */
	memset(w->ops, 0, sizeof(w->ops));
	w->rng = mix(((__u64)t->seed << 32) ^ ((__u64)round << 8) ^ w->index);
	pthread_attr_init(&attr);
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	ret = pthread_create(&w->thread, &attr, fn, w);
	if (ret)
		fail(t, "pthread_create: %s", strerror(ret));
	pthread_attr_destroy(&attr);
}

/*
 * The CPU of each of a round's @n threads under @how: -1 (anywhere), one
 * drawn for each, or one for all. Also describes it into @desc.
 */
static void place(struct torture *t, struct worker *setup, enum placement how,
		  int *cpus, unsigned int n, char *desc, size_t len)
{
	int one = nth_cpu(t, below(setup, t->nr_cpus));
	size_t pos = snprintf(desc, len, "%s", placement_names[how]);
	unsigned int i;

	for (i = 0; i < n; i++) {
		cpus[i] = how == PLACE_FREE ? -1 : how == PLACE_ONE_CPU ? one :
			  nth_cpu(t, below(setup, t->nr_cpus));
		if (how != PLACE_FREE && pos < len)
			pos += snprintf(desc + pos, len - pos, "%s%d",
					i ? "," : " ", cpus[i]);
	}
}

/*
 * Whether a round's forces, their threads on @cpus (in the order of
 * FORCE_THREADS), can be inside on two CPUs at once: they may go anywhere,
 * or the draw put two of those it starts on different CPUs. A scattered
 * draw can put them all on one (a CI run's only such round did).
 */
static bool forces_apart(const struct torture *t, const int *cpus)
{
	const bool started[] = { true, true, true, t->reaper, t->expiry };
	int first = -1;
	unsigned int i;

	if (t->nr_cpus < 2)
		return false;
	for (i = 0; i < ARRAY_SIZE(started); i++) {
		if (!started[i])
			continue;
		if (cpus[WALKERS + i] < 0 || (first >= 0 && cpus[WALKERS + i] != first))
			return true;
		first = cpus[WALKERS + i];
	}
	return false;
}

/* One round: load, mount, run every thread, stop, umount, unload. */
static void run_round(struct __test_metadata *_metadata, struct torture *t,
		      const unsigned long long *before, unsigned int round,
		      double started, double end)
{
	struct worker *setup = &t->workers[0];
	unsigned int race_delay_us, reap_interval_ms = 0, expiry_interval_ms = 0;
	char params[64], placement[64];
	int cpus[FORCE_THREADS];
	enum placement how;
	unsigned int m, i;
	double last_progress = shrinkfs_seconds(CLOCK_MONOTONIC);
	int ret;

	/* Round-wide choices come from the first worker's schedule. */
	setup->rng = mix(((__u64)t->seed << 32) ^ ((__u64)round << 8));
	race_delay_us = t->race_delays_us[below(setup, t->nr_race_delays)];
	how = round_placements[below(setup, ARRAY_SIZE(round_placements))];
	place(t, setup, how, cpus, FORCE_THREADS, placement, sizeof(placement));
	snprintf(params, sizeof(params), "race_delay_us=%u", race_delay_us);
	ASSERT_EQ(0, shrinkfs_load_with(params));
	/* The module refuses an interval when it has no expiry pass. */
	t->expiry = !shrinkfs_write_file(PARAMS "expiry_interval_ms", "60000");
	if (t->expiry) {
		expiry_interval_ms =
			reap_intervals_ms[below(setup, ARRAY_SIZE(reap_intervals_ms))];
		snprintf(params, sizeof(params), "%u", expiry_interval_ms);
		ASSERT_EQ(0, shrinkfs_write_file(PARAMS "expiry_interval_ms", params));
	}
	for (m = 0; m < MOUNTS; m++)
		ASSERT_EQ(0, mount_one(t, m));
	ret = open(t->mnt[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, ret);
	t->reaper = ioctl(ret, SHRINKFS_IOC_REAP, 0) >= 0;
	close(ret);
	if (t->reaper) {
		reap_interval_ms =
			reap_intervals_ms[below(setup, ARRAY_SIZE(reap_intervals_ms))];
		snprintf(params, sizeof(params), "%u", reap_interval_ms);
		ASSERT_EQ(0, shrinkfs_write_file(PARAMS "reap_interval_ms", params));
	}
	if (forces_apart(t, cpus))
		t->spread_rounds++;
	if (round == 1) {
		ksft_print_msg("torture: reaper %s\n", t->reaper ? "on" :
			       "off: the kernel does not export dput_to_list()");
		ksft_print_msg("torture: expiry %s\n", t->expiry ? "on" :
			       "off: the kernel does not export d_dispose_if_unused()");
	}
	/*
	 * CPUs in thread order: walkers, shrinker, subtree shrinker, umount,
	 * reaper, expiry.
	 */
	announce("round %u: race_delay_us=%u reap_interval_ms=%u expiry_interval_ms=%u cpus %s",
		 round, race_delay_us, reap_interval_ms, expiry_interval_ms,
		 placement);

	__atomic_store_n(&t->stop, false, __ATOMIC_RELAXED);
	t->nr_workers = 0;
	for (i = 0; i < WALKERS; i++)
		start(t, walker, round, cpus[i]);
	start(t, shrinker, round, cpus[i++]);
	start(t, subtree_shrinker, round, cpus[i++]);
	start(t, umounter, round, cpus[i++]);
	if (t->reaper)
		start(t, reaper, round, cpus[i]);
	i++;
	if (t->expiry)
		start(t, expirer, round, cpus[i]);
	if (t->faults)
		start(t, faulter, round, -1);
	if (t->fuzz)
		start(t, fuzzer, round, -1);
	while (shrinkfs_seconds(CLOCK_MONOTONIC) < end && !has_failed(t)) {
		usleep(100000);
		if (shrinkfs_seconds(CLOCK_MONOTONIC) - last_progress >= t->progress_seconds) {
			last_progress = shrinkfs_seconds(CLOCK_MONOTONIC);
			print_progress(t, before,
				       shrinkfs_seconds(CLOCK_MONOTONIC) - started, round);
		}
	}
	__atomic_store_n(&t->stop, true, __ATOMIC_RELAXED);
	for (i = 0; i < t->nr_workers; i++)
		pthread_join(t->workers[i].thread, NULL);

	/* Nothing is held now: every plain umount must succeed. */
	for (m = 0; m < MOUNTS; m++) {
		collect_module_counters(t, t->mnt[m]);
		while (umount2(t->mnt[m], 0) == 0)
			;
		EXPECT_EQ(EINVAL, errno) {
			TH_LOG("umount %s: %s", t->mnt[m], strerror(errno));
		}
	}
	ASSERT_EQ(0, shrinkfs_unload_when_idle(UNLOAD_DEADLINE_S, &t->unload_waits)) {
		TH_LOG("the module is still in use %u s after round %u",
		       UNLOAD_DEADLINE_S, round);
	}
}

/* Overlaps of two forces on two CPUs, every pair summed. */
static unsigned long long overlaps_apart(struct torture *t)
{
	unsigned long long sum = 0;
	unsigned int f, g;

	for (f = 0; f < NR_FORCES; f++)
		for (g = f + 1; g < NR_FORCES; g++)
			sum += t->overlaps[f][g].apart;
	return sum;
}

/* Sums of one round's counters, kept across rounds. */
static void add_round(unsigned long long *sums, struct torture *t)
{
	unsigned int op;

	for (op = 0; op < NR_OPS; op++)
		sums[op] += total(t, NULL, op);
}

TEST_F_TIMEOUT(torture, run, MAX_DURATION + 600)
{
	struct torture *t = &self->t;
	unsigned long long sums[NR_OPS] = { 0 };
	double started = shrinkfs_seconds(CLOCK_MONOTONIC), elapsed;
	unsigned int round = 0, op, i;

	while (shrinkfs_seconds(CLOCK_MONOTONIC) - started < t->duration && !has_failed(t)) {
		double end = started + t->duration;

		if (end > shrinkfs_seconds(CLOCK_MONOTONIC) + t->round_seconds)
			end = shrinkfs_seconds(CLOCK_MONOTONIC) + t->round_seconds;
		run_round(_metadata, t, sums, ++round, started, end);
		add_round(sums, t);
		sums[OP_RELOAD]++;
		if (_metadata->exit_code != KSFT_PASS)
			break;
	}
	elapsed = shrinkfs_seconds(CLOCK_MONOTONIC) - started;

	ksft_print_msg("torture: %u rounds in %.0f s, seed %u\n", round, elapsed,
		       t->seed);
	for (op = 0; op < NR_OPS; op++)
		ksft_print_msg("torture: %-24s %12llu  %10.1f/s\n", op_names[op],
			       sums[op], sums[op] / elapsed);
	for (i = 0; i < NR_MODULE_COUNTERS; i++)
		ksft_print_msg("torture: module %-17s %12llu\n",
			       module_counter_names[i], t->module[i]);
	ksft_print_msg("torture: 10 ms waits to unload  %12u\n", t->unload_waits);
	print_calls(t);
	for (op = 0; op < NR_FORCES; op++)
		for (i = op + 1; i < NR_FORCES; i++)
			ksft_print_msg("torture: overlaps %s+%s %llu, on two CPUs %llu\n",
				       force_names[op], force_names[i],
				       t->overlaps[op][i].together,
				       t->overlaps[op][i].apart);

	ASSERT_FALSE(has_failed(t)) {
		TH_LOG("%s", t->failure);
		TH_LOG("repeat with TORTURE_SEED=%u TORTURE_DURATION=%u", t->seed,
		       t->duration);
	}
	/* No call busy-waited. */
	for (op = 0; op < NR_FORCES; op++) {
		if (!waits_only[op])
			continue;
		EXPECT_GT(BUSY_WAIT_SHARE, t->calls[op].worst_share) {
			TH_LOG("a %s call took %.1f ms, %.1f ms of it on the CPU: a busy wait",
			       force_names[op], t->calls[op].worst_wall * 1e3,
			       t->calls[op].worst_cpu * 1e3);
		}
	}
	/* Every force fired, and where they could, two at once on two CPUs. */
	if (t->spread_rounds)
		EXPECT_LT(0ULL, overlaps_apart(t));
	EXPECT_LT(0ULL, t->module[MC_SHRINKER_CALLS]);
	EXPECT_LT(0ULL, sums[OP_SHRINK]);
	EXPECT_LT(0ULL, t->module[MC_STALE]);
	EXPECT_LT(0ULL, sums[OP_UMOUNT] + sums[OP_UMOUNT_LAZY]);
	if (t->reaper)
		EXPECT_LT(0ULL, t->module[MC_REAPED]);
	if (t->expiry)
		EXPECT_LT(0ULL, t->module[MC_EXPIRY_DISPOSED]);
	if (t->faults) {
		EXPECT_LT(0ULL, sums[OP_FAULT_TAKEN]);
		EXPECT_LT(0ULL, sums[OP_FAULT_ENOMEM]);
	}
	if (t->fuzz)
		EXPECT_LT(0ULL, sums[OP_FUZZ]);

	/*
	 * The dcache and icache shrink back to where they were, unless
	 * something else (TORTURE_EXTRA_LOAD) still runs and holds its own.
	 */
	ASSERT_EQ(0, shrinkfs_reclaim_dentries());
	if (getenv("TORTURE_EXTRA_LOAD")) {
		ksft_print_msg("torture: cache sizes not compared: an extra load runs\n");
		return;
	}
	EXPECT_GE(self->dentries + SLACK,
		  shrinkfs_proc_first_field("/proc/sys/fs/dentry-state"));
	EXPECT_GE(self->inodes + SLACK,
		  shrinkfs_proc_first_field("/proc/sys/fs/inode-nr"));
}

TEST_HARNESS_MAIN
