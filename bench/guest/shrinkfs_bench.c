// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs_bench: what the dcache's reclaim paths cost per dentry, run in
 * the benchmark guest. For each shape and size it mounts a shrinkfs tree and
 * times, with CLOCK_MONOTONIC around the one call that does the work:
 *
 *   cold_lookup    the first walk of every path (dentries and inodes made)
 *   warm_lookup    the same walk on the hot dcache
 *   shrinker       drop_caches over the cached tree (the sb shrinker)
 *   shrink_parent  SHRINKFS_IOC_SHRINK on the root: shrink_dcache_parent()
 *   reaper         SHRINKFS_IOC_REAP: dput_to_list() + shrink_dentry_list()
 *   umount         umount(2) with the tree cached
 *
 * and, as a reference, a tmpfs tree of the same shape: tmpfs_warm_lookup
 * and tmpfs_umount. How many dentries each call dealt with comes from the
 * module's own counters where it can, not from arithmetic.
 *
 * Under `qemu -icount shift=0` the guest clock advances one nanosecond per
 * instruction, so the same figures are instruction counts there.
 *
 * Output, one line per figure:
 *   bench metric=M shape=S n=N dentries=D value=NS
 *
 * With -p it times nothing and instead explains drop_caches and umount:
 * how often each of a list of kernel functions ran per dentry (ftrace's
 * function profiler) and how the slab caches and page counts moved:
 *   profile metric=M shape=S n=N dentries=D what=W count=C per_dentry=X
 *
 * Timed calls run SCHED_FIFO so that no RCU grace period ends inside them
 * (see settle()); -r lets them run as an ordinary task instead, which is how
 * -p shows where a growing tree's extra cost per dentry comes from: freeing
 * the dentries the call killed earlier, once it lasts long enough for a grace
 * period to end inside it.
 *
 * Usage: shrinkfs_bench [-s sizes] [-S shapes] [-t tmpfs_max] [-p] [-r]
 *   sizes   comma-separated nominal dentry counts (default 1000,10000,100000)
 *   shapes  comma-separated of flat, bushy, deep (default all)
 *   tmpfs_max  largest size that also gets the tmpfs reference (default 10000)
 */
#define _GNU_SOURCE
#include <glob.h>
#include <math.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "shrinkfs_uapi.h"
#include "shrinkfs_util.h"

#define MNT		"/tmp/bench"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_SIZES	16
#define TICK_US		4000	/* one tick at HZ=250, the benchmark kernels' */
#define QUIET_TICKS	5
#define RCU_IDLE_TIMEOUT_TICKS	15000	/* a minute */
#define RT_RUNTIME	"/proc/sys/kernel/sched_rt_runtime_us"
#define DEBUGFS		"/sys/kernel/debug"
#define FAIR_SERVERS	DEBUGFS "/sched/fair_server"

struct shape {
	const char *name;
	unsigned int depth, fanout, files;
};

/* One directory of files. */
static void flat(struct shape *s, unsigned long n)
{
	*s = (struct shape){ "flat", 0, 1, n > 1 ? n - 1 : 1 };
}

/* Three levels of subdirectories, four files in each directory. */
static void bushy(struct shape *s, unsigned long n)
{
	unsigned int f = lround(cbrt(n / 5.0));

	*s = (struct shape){ "bushy", 3, f ? f : 1, 4 };
}

/* A binary tree of directories only: every dentry is some dentry's parent. */
static void deep(struct shape *s, unsigned long n)
{
	unsigned int levels = lround(log2(n + 1.0));

	*s = (struct shape){ "deep", levels > 1 ? levels - 1 : 1, 2, 0 };
}

/* Taken before every timed call: see settle(). */
static int hold_grace_periods = 1;

static void die(const char *what)
{
	printf("# shrinkfs_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* RCU softirqs run so far, summed over every CPU (/proc/softirqs). */
static unsigned long long rcu_softirqs(void)
{
	char line[4096], *field, *save = NULL;
	unsigned long long total = 0;
	FILE *f = fopen("/proc/softirqs", "r");

	if (!f)
		die("/proc/softirqs");
	while (fgets(line, sizeof(line), f)) {
		field = strtok_r(line, " \t\n", &save);
		if (!field || strcmp(field, "RCU:"))
			continue;
		while ((field = strtok_r(NULL, " \t\n", &save)))
			total += strtoull(field, NULL, 10);
	}
	fclose(f);
	return total;
}

/*
 * Sleeps until RCU has had nothing to do for QUIET_TICKS ticks in a row: no
 * grace period in flight and no callback left to invoke, so the freeing that
 * earlier work deferred is over and cannot run inside the next timed call.
 * Idle time is free under icount's sleep=off.
 */
static void wait_for_rcu_idle(void)
{
	unsigned long long before = rcu_softirqs(), now;
	unsigned int quiet = 0, waited = 0;

	while (quiet < QUIET_TICKS) {
		usleep(TICK_US);
		now = rcu_softirqs();
		quiet = now == before ? quiet + 1 : 0;
		before = now;
		if (++waited == RCU_IDLE_TIMEOUT_TICKS) {
			errno = ETIMEDOUT;
			die("RCU never went idle");
		}
	}
}

static void set_policy(int policy, int priority)
{
	struct sched_param param = { .sched_priority = priority };

	if (sched_setscheduler(0, policy, &param))
		die(policy == SCHED_FIFO ? "SCHED_FIFO" : "SCHED_OTHER");
}

/*
 * Called right before a timed call. Lets earlier work's deferred freeing
 * finish. Then, holding grace periods, turns this task SCHED_FIFO: RCU's
 * grace-period kthread is an ordinary task, so on icount's one CPU (with
 * unlimit_fifo()) no grace period starts or ends until release(), and none
 * of the call's own RCU callbacks (a dentry's and an inode's per kill) run
 * inside its window. Otherwise how much of that freeing lands in the window
 * hangs on when a grace period happens to end, which is a cliff: at 10^4
 * dentries one kernel's umount took the whole batch of 2*10^4 callbacks and
 * the other's none. So the window measures the call's own work, at every
 * size alike; with -r it measures the call as an ordinary task does, freeing
 * and all. Last it waits for a timer tick (the coarse clock moves only
 * there), so every call starts at the same phase of the tick and meets the
 * same ticks.
 */
static void settle(void)
{
	struct timespec start, now;

	wait_for_rcu_idle();
	if (hold_grace_periods)
		set_policy(SCHED_FIFO, 1);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &start);
	do
		clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	while (now.tv_nsec == start.tv_nsec && now.tv_sec == start.tv_sec);
}

/* Called right after a timed call: grace periods may run again. */
static void release(void)
{
	if (hold_grace_periods)
		set_policy(SCHED_OTHER, 0);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void report(const char *metric, const struct shape *s, unsigned long n,
		   long dentries, __u64 ns)
{
	if (dentries <= 0) {
		printf("# %s %s n=%lu: no dentries, no figure\n", metric, s->name, n);
		return;
	}
	printf("bench metric=%s shape=%s n=%lu dentries=%ld value=%llu\n",
	       metric, s->name, n, dentries, (unsigned long long)ns);
	fflush(stdout);
}

/*
 * Visits every name below @dir (an open directory at @level) in the
 * geometry's order; with @create, makes each one first (the tmpfs copy).
 * Returns how many names it visited.
 */
static long each_name(int dir, const struct shape *s, unsigned int level, int create)
{
	char name[24];
	struct stat st;
	long names = 0;
	unsigned int i;

	for (i = 0; i < s->files; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		if (create ? mknodat(dir, name, S_IFREG | 0644, 0) :
			     fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW))
			die(name);
		names++;
	}
	if (level == s->depth)
		return names;
	for (i = 0; i < s->fanout; i++) {
		int sub;

		snprintf(name, sizeof(name), "d%u", i);
		if (create && mkdirat(dir, name, 0755))
			die(name);
		sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			die(name);
		names += 1 + each_name(sub, s, level + 1, create);
		close(sub);
	}
	return names;
}

static long timed_walk(const struct shape *s, __u64 *ns)
{
	int root = open(MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	__u64 start;
	long names;

	if (root < 0)
		die(MNT);
	settle();
	start = now_ns();
	names = each_name(root, s, 0, 0);
	*ns = now_ns() - start;
	release();
	close(root);
	return names;
}

static struct shrinkfs_stats stats(void)
{
	struct shrinkfs_stats st;
	int root = open(MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (root < 0 || ioctl(root, SHRINKFS_IOC_STATS, &st))
		die("SHRINKFS_IOC_STATS");
	close(root);
	return st;
}

/* Times one ioctl on the mount's root. */
static long timed_ioctl(unsigned long request, unsigned long arg, __u64 *ns)
{
	int root = open(MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	__u64 start;
	long ret;

	if (root < 0)
		die(MNT);
	start = now_ns();
	ret = ioctl(root, request, arg);
	*ns = now_ns() - start;
	close(root);
	return ret < 0 ? -errno : ret;
}

static __u64 timed_drop_caches(void)
{
	__u64 start;

	start = now_ns();
	if (shrinkfs_reclaim_dentries())
		die("drop_caches");
	return now_ns() - start;
}

static __u64 timed_umount(void)
{
	__u64 start;

	start = now_ns();
	if (umount(MNT))
		die("umount");
	return now_ns() - start;
}

#define TRACING		"/sys/kernel/tracing"
#define MAX_CACHES	256

/* Where a dentry kill's instructions might go as N grows. */
static const char * const profiled[] = {
	"shrink_dentry_list", "d_walk", "dentry_free", "__d_free", "call_rcu",
	"kmem_cache_free", "__slab_free", "free_frozen_pages", "__free_pages_ok",
	"free_pcppages_bulk", "evict", "destroy_inode", "i_callback",
	"rcu_core", "rcu_do_batch", "rcu_segcblist_enqueue", "invoke_rcu_core",
	"__cond_resched", "__schedule", "irq_exit_rcu", "handle_softirqs",
	"list_lru_del", "list_lru_add", "d_lru_shrink_move", "__d_drop",
	"___d_drop", "shrink_dcache_parent", "prune_dcache_sb",
	"_raw_spin_lock", "_raw_spin_unlock", "lock_for_kill", "to_shrink_list",
	"shrink_kill", "__dentry_kill", "d_shrink_add", "d_shrink_del",
	"rcu_gp_init", "rcu_gp_cleanup", "rcu_force_quiescent_state",
	"rcu_accelerate_cbs", "rcu_report_qs_rdp", "note_gp_changes",
};

/* A slab cache's objects and slabs, or a vmstat counter. */
struct counter {
	char name[64];
	long value, slabs;
};

static int write_file(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags);
	ssize_t len = strlen(text), done;

	if (fd < 0)
		return -errno;
	done = write(fd, text, len);
	close(fd);
	return done == len ? 0 : -EINVAL;
}

/* A scheduler setting the benchmark changes, and what it was. */
struct knob {
	char path[96];
	char old[32];
};

#define MAX_KNOBS	(1 + 64)

static struct knob knobs[MAX_KNOBS];
static unsigned int nknobs;

static void set_knob(const char *path, const char *value)
{
	struct knob *k = &knobs[nknobs];
	FILE *f = fopen(path, "r");

	if (nknobs == MAX_KNOBS || !f || !fgets(k->old, sizeof(k->old), f))
		die(path);
	fclose(f);
	snprintf(k->path, sizeof(k->path), "%s", path);
	if (write_file(path, value, 0))
		die(path);
	nknobs++;
}

static void restore_knobs(void)
{
	while (nknobs--)
		if (write_file(knobs[nknobs].path, knobs[nknobs].old, 0))
			die(knobs[nknobs].path);
}

/*
 * A held call must keep the CPU however long it runs (umount of 10^6
 * dentries is about 2 s), but the scheduler guards ordinary tasks against
 * SCHED_FIFO hogs twice: RT throttling leaves them 5% of each second, and
 * since 6.12 each CPU's fair server (a SCHED_DEADLINE reservation) runs them
 * once they have starved for most of a second, RCU's grace-period kthread
 * among them. Both are lifted for the run.
 */
static void unlimit_fifo(void)
{
	glob_t servers;
	size_t i;

	set_knob(RT_RUNTIME, "-1");
	if (access(FAIR_SERVERS, F_OK) && mount("debugfs", DEBUGFS, "debugfs", 0, NULL))
		die("mounting debugfs (CONFIG_DEBUG_FS)");
	if (glob(FAIR_SERVERS "/cpu*/runtime", 0, NULL, &servers))
		die(FAIR_SERVERS " (CONFIG_SCHED_DEBUG)");
	for (i = 0; i < servers.gl_pathc; i++)
		set_knob(servers.gl_pathv[i], "0");
	globfree(&servers);
}

static void profile_start(void)
{
	char path[] = TRACING "/set_ftrace_filter";
	unsigned int i;

	if (write_file(TRACING "/function_profile_enabled", "0", 0) ||
	    write_file(path, "", O_TRUNC))
		die("ftrace's function profiler (CONFIG_FUNCTION_PROFILER, tracefs)");
	for (i = 0; i < ARRAY_SIZE(profiled); i++)
		if (write_file(path, profiled[i], O_APPEND))
			printf("# profile: cannot trace %s (inlined?)\n", profiled[i]);
	/* Enabling resets the counts. */
	if (write_file(TRACING "/function_profile_enabled", "1", 0))
		die("function_profile_enabled");
}

/* Hits of @fn summed over every CPU's trace_stat/functionN. */
static long profile_hits(const char *fn)
{
	char path[64], line[256], name[128];
	long total = 0, hits;
	int cpu;

	for (cpu = 0;; cpu++) {
		FILE *f;

		snprintf(path, sizeof(path), TRACING "/trace_stat/function%d", cpu);
		f = fopen(path, "r");
		if (!f)
			break;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%127s %ld", name, &hits) == 2 && !strcmp(name, fn))
				total += hits;
		fclose(f);
	}
	return total;
}

/*
 * The profiled functions' hits so far, every slab cache's active objects and
 * slabs, some vmstat counters and this task's context switches.
 */
static int snapshot(struct counter *c)
{
	static const char * const vmstat[] = {
		"pgfree", "nr_slab_reclaimable", "nr_slab_unreclaimable",
	};
	char line[512];
	int count = 0;
	unsigned int i;
	FILE *f;

	/* First, so that reading the rest does not count. */
	for (i = 0; i < ARRAY_SIZE(profiled); i++) {
		snprintf(c[count].name, sizeof(c[count].name), "%s", profiled[i]);
		c[count].value = profile_hits(profiled[i]);
		c[count].slabs = 0;
		count++;
	}
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		die("/proc/slabinfo (CONFIG_SLUB_DEBUG)");
	while (fgets(line, sizeof(line), f) && count < MAX_CACHES) {
		long active, total, size, per_slab, pages, slabs;

		if (sscanf(line, "%63s %ld %ld %ld %ld %ld : tunables %*d %*d %*d : slabdata %ld",
			   c[count].name, &active, &total, &size, &per_slab, &pages,
			   &slabs) == 7) {
			c[count].value = active;
			c[count].slabs = slabs;
			count++;
		}
	}
	fclose(f);
	for (i = 0; i < ARRAY_SIZE(vmstat) && count < MAX_CACHES; i++) {
		snprintf(c[count].name, sizeof(c[count].name), "%s", vmstat[i]);
		c[count].value = shrinkfs_vmstat(vmstat[i]);
		c[count].slabs = 0;
		count++;
	}
	/* Whether this task lost the CPU inside the window, and how. */
	f = fopen("/proc/self/status", "r");
	if (!f)
		die("/proc/self/status");
	while (fgets(line, sizeof(line), f) && count < MAX_CACHES) {
		if (sscanf(line, "%63[^:]: %ld", c[count].name, &c[count].value) != 2 ||
		    !strstr(c[count].name, "ctxt_switches"))
			continue;
		c[count].slabs = 0;
		count++;
	}
	fclose(f);
	return count;
}

static void profile_line(const char *metric, const struct shape *s, unsigned long n,
			 long dentries, const char *what, long count)
{
	printf("profile metric=%s shape=%s n=%lu dentries=%ld what=%s count=%ld per_dentry=%.4f\n",
	       metric, s->name, n, dentries, what, count, (double)count / dentries);
}

static void profile_stop(const char *metric, const struct shape *s, unsigned long n,
			 long dentries, const struct counter *before, const struct counter *after,
			 int ncounters)
{
	char what[96];
	int k;

	if (write_file(TRACING "/function_profile_enabled", "0", 0))
		die("stopping the profiler");
	for (k = 0; k < ncounters; k++) {
		long objects = after[k].value - before[k].value;
		long slabs = after[k].slabs - before[k].slabs;

		/* Every function, even at 0; of the rest, what moved. */
		if (objects || k < (int)ARRAY_SIZE(profiled))
			profile_line(metric, s, n, dentries, after[k].name, objects);
		if (slabs) {
			snprintf(what, sizeof(what), "%s.slabs", after[k].name);
			profile_line(metric, s, n, dentries, what, slabs);
		}
	}
}

/*
 * Runs @call in a window as the timed figures have it, between two
 * snapshots of every counter. Returns how many counters there are.
 */
static int profile_window(__u64 (*call)(void), struct counter *before, struct counter *after)
{
	int count;

	profile_start();
	settle();
	count = snapshot(before);
	call();
	if (snapshot(after) != count)
		die("a slab cache came or went");
	release();
	return count;
}

/* Explains drop_caches and umount of a cached tree instead of timing them. */
static void shrinkfs_profile(const struct shape *s, unsigned long n)
{
	struct counter *before = calloc(MAX_CACHES, sizeof(*before));
	struct counter *after = calloc(MAX_CACHES, sizeof(*after));
	struct shrinkfs_stats st;
	char options[96];
	__u64 unused;
	int count;

	snprintf(options, sizeof(options), "depth=%u,fanout=%u,files=%u",
		 s->depth, s->fanout, s->files);
	if (!before || !after || mount("none", MNT, "shrinkfs", 0, options))
		die(options);

	timed_walk(s, &unused);
	st = stats();
	count = profile_window(timed_drop_caches, before, after);
	profile_stop("shrinker", s, n, st.dentries_alive - stats().dentries_alive, before, after,
		     count);

	timed_walk(s, &unused);
	st = stats();
	count = profile_window(timed_umount, before, after);
	profile_stop("umount", s, n, st.dentries_alive, before, after, count);
	free(before);
	free(after);
}

static void shrinkfs_figures(const struct shape *s, unsigned long n)
{
	char options[96];
	struct shrinkfs_stats before;
	__u64 ns, pass, unused;
	long names, ret;

	snprintf(options, sizeof(options), "depth=%u,fanout=%u,files=%u",
		 s->depth, s->fanout, s->files);
	if (mount("none", MNT, "shrinkfs", 0, options))
		die(options);

	before = stats();
	timed_walk(s, &ns);
	report("cold_lookup", s, n, stats().lookups - before.lookups, ns);
	names = timed_walk(s, &ns);
	report("warm_lookup", s, n, names, ns);

	before = stats();
	settle();
	ns = timed_drop_caches();
	release();
	report("shrinker", s, n, before.dentries_alive - stats().dentries_alive, ns);

	timed_walk(s, &unused);
	before = stats();
	settle();
	if (timed_ioctl(SHRINKFS_IOC_SHRINK, 0, &ns) < 0)
		die("SHRINKFS_IOC_SHRINK");
	release();
	report("shrink_parent", s, n, before.dentries_alive - stats().dentries_alive, ns);

	/* A pass takes a bounded batch: reap until the tree is bare. */
	timed_walk(s, &unused);
	names = 0;
	ns = 0;
	settle();
	do {
		ret = timed_ioctl(SHRINKFS_IOC_REAP, 0, &pass);
		names += ret > 0 ? ret : 0;
		ns += pass;
	} while (ret > 0);
	release();
	if (ret == 0)
		report("reaper", s, n, names, ns);
	else if (ret != -EOPNOTSUPP)
		die("SHRINKFS_IOC_REAP");

	timed_walk(s, &unused);
	before = stats();
	settle();
	ns = timed_umount();
	release();
	report("umount", s, n, before.dentries_alive, ns);
}

static void tmpfs_figures(const struct shape *s, unsigned long n)
{
	__u64 ns;
	long names;
	int root;

	if (mount("none", MNT, "tmpfs", 0, "size=90%"))
		die("mount tmpfs");
	root = open(MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		die(MNT);
	names = each_name(root, s, 0, 1); /* the same tree, made with mkdir and mknod */
	close(root);
	timed_walk(s, &ns);
	report("tmpfs_warm_lookup", s, n, names, ns);
	settle();
	ns = timed_umount();
	release();
	report("tmpfs_umount", s, n, names + 1, ns);
}

static int parse_sizes(char *list, unsigned long *sizes)
{
	char *tok, *save = NULL;
	int count = 0;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long n = strtoul(tok, &end, 10);

		if (*end || n < 2 || n > 10000000 || count == MAX_SIZES) {
			fprintf(stderr, "shrinkfs_bench: bad size '%s' (2..10000000, at most %d)\n",
				tok, MAX_SIZES);
			exit(2);
		}
		sizes[count++] = n;
	}
	return count;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*make)(struct shape *s, unsigned long n);
	} shapes[] = { { "flat", flat }, { "bushy", bushy }, { "deep", deep } };
	char default_sizes[] = "1000,10000,100000";
	unsigned long sizes[MAX_SIZES], tmpfs_max = 10000;
	const char *only = "flat,bushy,deep";
	char *size_list = default_sizes;
	int nsizes, opt, ret, i, k, profile = 0;

	while ((opt = getopt(argc, argv, "s:S:t:pr")) != -1) {
		switch (opt) {
		case 'p':
			profile = 1;
			break;
		case 'r':
			hold_grace_periods = 0;
			break;
		case 's':
			size_list = optarg;
			break;
		case 'S':
			only = optarg;
			break;
		case 't':
			tmpfs_max = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-s sizes] [-S shapes] [-t tmpfs_max] [-p] [-r]\n",
				argv[0]);
			return 2;
		}
	}
	nsizes = parse_sizes(size_list, sizes);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# grace periods %s\n", hold_grace_periods ?
	       "held off during timed calls: deferred freeing is not counted" :
	       "run during timed calls: some of their deferred freeing is counted");
	if (hold_grace_periods)
		unlimit_fifo();
	ret = shrinkfs_load();
	if (ret && ret != -EEXIST) {
		errno = -ret;
		die("loading shrinkfs");
	}
	if (mkdir(MNT, 0755) && errno != EEXIST)
		die(MNT);
	if (profile && access(TRACING "/trace_stat", F_OK) &&
	    mount("tracefs", TRACING, "tracefs", 0, NULL))
		die("mounting tracefs");
	for (i = 0; i < nsizes; i++) {
		for (k = 0; k < 3; k++) {
			struct shape s;

			if (!strstr(only, shapes[k].name))
				continue;
			shapes[k].make(&s, sizes[i]);
			printf("# %s n=%lu: depth=%u fanout=%u files=%u\n", s.name, sizes[i],
			       s.depth, s.fanout, s.files);
			if (profile) {
				shrinkfs_profile(&s, sizes[i]);
				continue;
			}
			shrinkfs_figures(&s, sizes[i]);
			if (sizes[i] <= tmpfs_max)
				tmpfs_figures(&s, sizes[i]);
		}
	}
	if (shrinkfs_unload())
		die("unloading shrinkfs");
	restore_knobs();
	return 0;
}
