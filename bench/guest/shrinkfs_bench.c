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
 * Usage: shrinkfs_bench [-s sizes] [-S shapes] [-t tmpfs_max]
 *   sizes   comma-separated nominal dentry counts (default 1000,10000,100000)
 *   shapes  comma-separated of flat, bushy, deep (default all)
 *   tmpfs_max  largest size that also gets the tmpfs reference (default 10000)
 */
#define _GNU_SOURCE
#include <math.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "shrinkfs_uapi.h"
#include "shrinkfs_util.h"

#define MNT		"/tmp/bench"
#define MAX_SIZES	16

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

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what)
{
	printf("# shrinkfs_bench: %s: %s\n", what, strerror(errno));
	exit(1);
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

/* Looks up every name below @dir (an open directory at @level): returns names. */
static long walk(int dir, const struct shape *s, unsigned int level)
{
	char name[24];
	struct stat st;
	long names = 0;
	unsigned int i;

	for (i = 0; i < s->files; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW))
			die(name);
		names++;
	}
	if (level == s->depth)
		return names;
	for (i = 0; i < s->fanout; i++) {
		int sub;

		snprintf(name, sizeof(name), "d%u", i);
		sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			die(name);
		names += 1 + walk(sub, s, level + 1);
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
	start = now_ns();
	names = walk(root, s, 0);
	*ns = now_ns() - start;
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
	__u64 start = now_ns();

	if (shrinkfs_reclaim_dentries())
		die("drop_caches");
	return now_ns() - start;
}

static __u64 timed_umount(void)
{
	__u64 start = now_ns();

	if (umount(MNT))
		die("umount");
	return now_ns() - start;
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
	ns = timed_drop_caches();
	report("shrinker", s, n, before.dentries_alive - stats().dentries_alive, ns);

	timed_walk(s, &unused);
	before = stats();
	if (timed_ioctl(SHRINKFS_IOC_SHRINK, 0, &ns) < 0)
		die("SHRINKFS_IOC_SHRINK");
	report("shrink_parent", s, n, before.dentries_alive - stats().dentries_alive, ns);

	/* A pass takes a bounded batch: reap until the tree is bare. */
	timed_walk(s, &unused);
	names = 0;
	ns = 0;
	do {
		ret = timed_ioctl(SHRINKFS_IOC_REAP, 0, &pass);
		names += ret > 0 ? ret : 0;
		ns += pass;
	} while (ret > 0);
	if (ret == 0)
		report("reaper", s, n, names, ns);
	else if (ret != -EOPNOTSUPP)
		die("SHRINKFS_IOC_REAP");

	timed_walk(s, &unused);
	before = stats();
	report("umount", s, n, before.dentries_alive, timed_umount());
}

/* The same tree in tmpfs, made with mkdir and mknod. */
static long build_tmpfs(int dir, const struct shape *s, unsigned int level)
{
	char name[24];
	long names = 0;
	unsigned int i;

	for (i = 0; i < s->files; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		if (mknodat(dir, name, S_IFREG | 0644, 0))
			die(name);
		names++;
	}
	if (level == s->depth)
		return names;
	for (i = 0; i < s->fanout; i++) {
		int sub;

		snprintf(name, sizeof(name), "d%u", i);
		if (mkdirat(dir, name, 0755))
			die(name);
		sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			die(name);
		names += 1 + build_tmpfs(sub, s, level + 1);
		close(sub);
	}
	return names;
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
	names = build_tmpfs(root, s, 0);
	close(root);
	timed_walk(s, &ns);
	report("tmpfs_warm_lookup", s, n, names, ns);
	report("tmpfs_umount", s, n, names + 1, timed_umount());
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
	int nsizes, opt, ret, i, k;

	while ((opt = getopt(argc, argv, "s:S:t:")) != -1) {
		switch (opt) {
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
			fprintf(stderr, "usage: %s [-s sizes] [-S shapes] [-t tmpfs_max]\n",
				argv[0]);
			return 2;
		}
	}
	nsizes = parse_sizes(size_list, sizes);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = shrinkfs_load();
	if (ret && ret != -EEXIST) {
		errno = -ret;
		die("loading shrinkfs");
	}
	if (mkdir(MNT, 0755) && errno != EEXIST)
		die(MNT);
	for (i = 0; i < nsizes; i++) {
		for (k = 0; k < 3; k++) {
			struct shape s;

			if (!strstr(only, shapes[k].name))
				continue;
			shapes[k].make(&s, sizes[i]);
			printf("# %s n=%lu: depth=%u fanout=%u files=%u\n", s.name, sizes[i],
			       s.depth, s.fanout, s.files);
			shrinkfs_figures(&s, sizes[i]);
			if (sizes[i] <= tmpfs_max)
				tmpfs_figures(&s, sizes[i]);
		}
	}
	if (shrinkfs_unload())
		die("unloading shrinkfs");
	return 0;
}
