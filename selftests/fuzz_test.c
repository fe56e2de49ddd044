// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs's controls fuzzed: random and mutated mount options through
 * mount(2) and through fsopen()/fsconfig() (lengths, encodings, duplicates,
 * huge numbers, empty values, unknown keys, every fsconfig command), random
 * ioctl numbers and arguments (NULL, unmapped, read-only, misaligned, kernel
 * addresses) on a directory, a subdirectory and a regular file, random
 * writes to every module parameter and to the mount's sysfs file, random
 * reads of that file. Each input must end in success or in the errno
 * documented for its control (see README, "Fuzzing"); an unprivileged
 * caller must be refused every control. Splats and leaks are the rig's to
 * find.
 *
 * Seeded and reproducible: input k is a function of FUZZ_SEED (printed)
 * and k alone, drawn from a generator state of its own; FUZZ_INPUTS
 * (default 5000; the unprivileged case gets a tenth more) or FUZZ_DURATION
 * (seconds in all: nine tenths as root, one as nobody) bound a run;
 * FUZZ_ONLY=k runs input k alone. FUZZ_WORKERS processes (default: one per
 * online CPU) share the stream, input k going to worker k modulo their
 * number, so they also race each other.
 */

#define _GNU_SOURCE
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <linux/mount.h>

#include "kselftest_harness.h"

#include "fuzz_inputs.h"
#include "shrinkfs_uapi.h"
#include "shrinkfs_util.h"

#define DEFAULT_INPUTS	5000
#define PROGRESS_S	10
#define REPORT_MAX	10
#define NOBODY		65534
#define WORKERS_MAX	8U
/* Unbounded runs (FUZZ_DURATION) end by the clock, not by this. */
#define FUZZ_TIMEOUT_S	(24 * 3600)

static __u64 rng;

static __u64 rnd(void)
{
	return fuzz_rnd(&rng);
}

static __u64 below(__u64 n)
{
	return fuzz_below(&rng, n);
}

/*
 * Input @k's generator state, from the stream's @key: splitmix64's mix of
 * the two, so any input is drawn without drawing those before it.
 */
static __u64 input_rng(__u64 key, unsigned long k)
{
	__u64 z = key + (k + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	/* xorshift's one state that never leaves itself */
	return z ? z : 1;
}

/* One input: which control, and everything its call is made of. */
struct input {
	enum fuzz_control control;
	unsigned int fsconfig_cmd;
	int set_fd;		/* the fd an FSCONFIG_SET_FD names */
	unsigned int cmd;	/* ioctl */
	unsigned long arg;
	int target;		/* ioctl file, parameter */
	long long offset;	/* sysfs read or write */
	bool write;
	char text[FUZZ_TEXT_MAX];	/* options, a key=value list, or a write */
};

/* What the fixture opens for ioctls, in order. */
static const char * const ioctl_targets[] = { "the root", "a directory", "a file" };

static const char * const params[] = {
	"race_delay_us", "evict_delay_ms", "reap_interval_ms", "expiry_interval_ms",
};

/* An input drawn from rng's state. */
static void make_input(struct input *in, const struct fuzz_arguments *a)
{
	unsigned int i, n;

	memset(in, 0, offsetof(struct input, text) + 1);
	in->control = below(FUZZ_CONTROLS);
	switch (in->control) {
	case FUZZ_MOUNT:
	case FUZZ_FSCONFIG:
		fuzz_options(&rng, in->text, sizeof(in->text));
		/* Mostly strings and flags; now and then another command. */
		in->fsconfig_cmd = below(4) ? FSCONFIG_SET_STRING : below(9);
		in->set_fd = below(64);
		break;
	case FUZZ_IOCTL:
		in->cmd = fuzz_ioctl_cmd(&rng);
		in->arg = fuzz_ioctl_arg(&rng, a);
		in->target = below(3);
		break;
	case FUZZ_PARAM:
		in->target = below(ARRAY_SIZE(params));
		if (below(2)) {
			snprintf(in->text, sizeof(in->text), "%s", fuzz_value(&rng));
		} else {
			n = below(64);
			for (i = 0; i < n; i++)
				in->text[i] = 1 + below(255);
			in->text[n] = '\0';
		}
		break;
	default:
		in->write = below(4) == 0;
		in->offset = below(4) ? (long long)below(8192) : (long long)rnd();
		snprintf(in->text, sizeof(in->text), "%s", fuzz_value(&rng));
	}
}

/* @s with its bytes past printable ASCII escaped, cut at @max bytes. */
static const char *printable(const char *s, size_t max)
{
	static char out[512];
	size_t o = 0;

	for (; *s && max-- && o + 5 < sizeof(out); s++) {
		if (isprint((unsigned char)*s) && *s != '\\')
			out[o++] = *s;
		else
			o += snprintf(out + o, sizeof(out) - o, "\\x%02x", (unsigned char)*s);
	}
	out[o] = '\0';
	return out;
}

static void describe(const struct input *in, char *buf, size_t len)
{
	switch (in->control) {
	case FUZZ_MOUNT:
		snprintf(buf, len, "mount(2) options \"%s\" (%zu bytes)",
			 printable(in->text, 120), strlen(in->text));
		break;
	case FUZZ_FSCONFIG:
		snprintf(buf, len, "fsconfig command %u, \"%s\" (%zu bytes)", in->fsconfig_cmd,
			 printable(in->text, 120), strlen(in->text));
		break;
	case FUZZ_IOCTL:
		snprintf(buf, len, "ioctl 0x%08x arg 0x%lx on %s", in->cmd, in->arg,
			 ioctl_targets[in->target]);
		break;
	case FUZZ_PARAM:
		snprintf(buf, len, "%s <- \"%s\"", params[in->target], printable(in->text, 120));
		break;
	default:
		snprintf(buf, len, "stats %s at %lld", in->write ? "write" : "read", in->offset);
	}
}

/* What bounds a run, and the stream it draws. */
struct bounds {
	unsigned long seed;
	__u64 key;		/* the stream's: the seed's, as root or nobody */
	unsigned long duration;	/* seconds, or 0: ... */
	unsigned long inputs;	/* ... this many inputs */
	long only;		/* the one input to run, or -1 */
};

/* One worker's results: per control, successes and each errno's count. */
struct tally {
	unsigned long ok[FUZZ_CONTROLS], failed[FUZZ_CONTROLS][8];
	/* Wall time in each control's calls: where a run's time goes. */
	double seconds[FUZZ_CONTROLS];
	unsigned long inputs, bad;
};

/* What the worker processes share, in memory they all map: a tally each. */
struct shared {
	struct tally tallies[WORKERS_MAX];
};

struct fuzzer {
	char mnt[64];
	/* The worker's own second mount point, for the mounts it makes. */
	char other[96];
	char stats[96];
	int fds[3];
	/*
	 * A worker's fds for the parameters and the stats file, opened on
	 * first use and kept: the sysfs path walk cost more than the call it
	 * led to (2.6 and 1.4 ms a parameter and a stats input, against 0.08
	 * ms an ioctl, measured).
	 */
	int param_fds[ARRAY_SIZE(params)];
	int stats_fds[2];	/* for reading, for writing */
	struct fuzz_arguments args;
	char saved[ARRAY_SIZE(params)][32];
	unsigned int workers;
	struct shared *shared;
};

/* *@fd, opened from @path on first use: the fd or -errno (tried again next time). */
static int kept_open(int *fd, const char *path, int flags)
{
	if (*fd < 0)
		*fd = open(path, flags | O_CLOEXEC);
	return *fd < 0 ? -errno : *fd;
}

static int run_param(struct fuzzer *f, const struct input *in)
{
	const char *saved = f->saved[in->target];
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), "/sys/module/shrinkfs/parameters/%s", params[in->target]);
	fd = kept_open(&f->param_fds[in->target], path, O_WRONLY);
	if (fd < 0)
		return fd;
	ret = pwrite(fd, in->text, strlen(in->text), 0) < 0 ? -errno : 0;
	/* A value that took is taken back: the run stays as fast as it began. */
	if (!ret && pwrite(fd, saved, strlen(saved), 0) < 0)
		return -EIO;
	return ret;
}

static int run_sysfs(struct fuzzer *f, const struct input *in)
{
	int fd = kept_open(&f->stats_fds[in->write], f->stats, in->write ? O_WRONLY : O_RDONLY);
	char buf[256];

	if (fd < 0)
		return fd;
	if (in->write)
		return pwrite(fd, in->text, strlen(in->text), in->offset) < 0 ? -errno : 0;
	return pread(fd, buf, sizeof(buf), in->offset) < 0 ? -errno : 0;
}

static int run_input(struct fuzzer *f, const struct input *in)
{
	switch (in->control) {
	case FUZZ_MOUNT:
		return fuzz_mount_legacy(f->other, in->text);
	case FUZZ_FSCONFIG:
		return fuzz_mount_new(f->other, in->fsconfig_cmd, in->set_fd, in->text);
	case FUZZ_IOCTL:
		return ioctl(f->fds[in->target], in->cmd, in->arg) < 0 ? -errno : 0;
	case FUZZ_PARAM:
		return run_param(f, in);
	default:
		return run_sysfs(f, in);
	}
}

/* Counts @ret for control @c; false if it is not an errno the control may give. */
static bool record(struct tally *t, enum fuzz_control c, int ret,
		   const int allowed[FUZZ_CONTROLS][8])
{
	unsigned int i;

	if (!ret) {
		t->ok[c]++;
		return true;
	}
	for (i = 0; i < 8 && allowed[c][i]; i++) {
		if (-ret == allowed[c][i]) {
			t->failed[c][i]++;
			return true;
		}
	}
	return false;
}

/* The workers' tallies added up. */
static struct tally total(const struct fuzzer *f)
{
	struct tally sum = { 0 };
	unsigned int w, c, i;

	for (w = 0; w < f->workers; w++) {
		const struct tally *t = &f->shared->tallies[w];

		for (c = 0; c < FUZZ_CONTROLS; c++) {
			sum.ok[c] += t->ok[c];
			sum.seconds[c] += t->seconds[c];
			for (i = 0; i < 8; i++)
				sum.failed[c][i] += t->failed[c][i];
		}
		sum.inputs += t->inputs;
		sum.bad += t->bad;
	}
	return sum;
}

static void print_tally(const struct tally *t, const int allowed[FUZZ_CONTROLS][8])
{
	unsigned long inputs;
	char line[512];
	unsigned int c, i;
	int o;

	for (c = 0; c < FUZZ_CONTROLS; c++) {
		inputs = t->ok[c];
		o = snprintf(line, sizeof(line), "%s: success %lu", fuzz_control_names[c],
			     t->ok[c]);
		for (i = 0; i < 8 && allowed[c][i]; i++) {
			inputs += t->failed[c][i];
			o += snprintf(line + o, sizeof(line) - o, ", %s %lu",
				      strerrorname_np(allowed[c][i]), t->failed[c][i]);
		}
		if (inputs)
			snprintf(line + o, sizeof(line) - o, "; %.0f us each, %.0f s in all",
				 t->seconds[c] * 1e6 / inputs, t->seconds[c]);
		ksft_print_msg("fuzz: %s\n", line);
	}
}

static unsigned long env_number(const char *name, unsigned long fallback)
{
	const char *value = getenv(name);

	return value && *value ? strtoul(value, NULL, 0) : fallback;
}

/* Points @f->other at worker @w's mount point. */
static void other_of(struct fuzzer *f, unsigned int w)
{
	snprintf(f->other, sizeof(f->other), "%s-other-%u", f->mnt, w);
}

FIXTURE(fuzz) {
	struct fuzzer f;
};

FIXTURE_VARIANT(fuzz) {
	bool unprivileged;
};

FIXTURE_VARIANT_ADD(fuzz, root) {
	.unprivileged = false,
};

FIXTURE_VARIANT_ADD(fuzz, unprivileged) {
	.unprivileged = true,
};

FIXTURE_SETUP(fuzz)
{
	struct fuzzer *f = &self->f;
	static const char * const files[] = { "", "/d1", "/d1/d2/f3" };
	char path[128];
	struct stat st;
	unsigned int i;

	if (getuid())
		SKIP(return, "loading modules needs root");
	ASSERT_EQ(0, shrinkfs_prepare(f->mnt, sizeof(f->mnt), "fuzz"));
	for (i = 0; i < ARRAY_SIZE(f->fds); i++)
		f->fds[i] = -1;
	/* Each worker opens its own, after it has become who it runs as. */
	for (i = 0; i < ARRAY_SIZE(f->param_fds); i++)
		f->param_fds[i] = -1;
	f->stats_fds[0] = -1;
	f->stats_fds[1] = -1;
	f->workers = env_number("FUZZ_WORKERS", sysconf(_SC_NPROCESSORS_ONLN));
	ASSERT_LT(0U, f->workers);
	ASSERT_GE(WORKERS_MAX, f->workers);
	f->shared = mmap(NULL, sizeof(*f->shared), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, f->shared);
	/* A failed setup has no teardown: the harness ends the child. */
	for (i = 0; i < f->workers; i++) {
		other_of(f, i);
		ASSERT_EQ(0, mkdir(f->other, 0755));
	}
	ASSERT_EQ(0, mount("none", f->mnt, "shrinkfs", 0, NULL));
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s%s", f->mnt, files[i]);
		f->fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, f->fds[i]);
	}
	ASSERT_EQ(0, stat(f->mnt, &st));
	snprintf(f->stats, sizeof(f->stats), "/sys/fs/shrinkfs/%u:%u/stats",
		 major(st.st_dev), minor(st.st_dev));
	for (i = 0; i < ARRAY_SIZE(params); i++) {
		snprintf(path, sizeof(path), "/sys/module/shrinkfs/parameters/%s", params[i]);
		ASSERT_LT(0, shrinkfs_read_text(path, f->saved[i], sizeof(f->saved[i])));
	}
	ASSERT_EQ(0, fuzz_arguments_map(&f->args));
}

FIXTURE_TEARDOWN(fuzz)
{
	struct fuzzer *f = &self->f;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(f->fds); i++)
		close(f->fds[i]);
	for (i = 0; i < f->workers; i++) {
		other_of(f, i);
		while (!umount2(f->other, MNT_DETACH))
			;
		rmdir(f->other);
	}
	shrinkfs_cleanup(f->mnt);
}

/* Runs input @k of @b's stream and judges it with @allowed. */
static void fuzz_one(struct __test_metadata *_metadata, struct fuzzer *f,
		     const int allowed[FUZZ_CONTROLS][8], struct tally *t,
		     const struct bounds *b, unsigned long k)
{
	struct input in;
	char what[320];
	double called;
	int ret;

	rng = input_rng(b->key, k);
	make_input(&in, &f->args);
	called = shrinkfs_seconds(CLOCK_MONOTONIC);
	ret = run_input(f, &in);
	t->seconds[in.control] += shrinkfs_seconds(CLOCK_MONOTONIC) - called;
	t->inputs++;
	if (b->only >= 0) {
		describe(&in, what, sizeof(what));
		TH_LOG("input %lu: %s: %s", k, what, ret ? strerrorname_np(-ret) : "success");
	}
	if (!record(t, in.control, ret, allowed)) {
		describe(&in, what, sizeof(what));
		if (t->bad++ < REPORT_MAX)
			TH_LOG("input %lu: %s: %s (FUZZ_SEED=%lu FUZZ_ONLY=%lu)",
			       k, what, strerrorname_np(-ret), b->seed, k);
	}
}

/*
 * Worker @w's share of the stream: the inputs whose number is @w modulo
 * the workers' count, or input b->only alone in worker 0.
 */
static void fuzz_loop(struct __test_metadata *_metadata, struct fuzzer *f,
		      const int allowed[FUZZ_CONTROLS][8], unsigned int w, const struct bounds *b)
{
	double start = shrinkfs_seconds(CLOCK_MONOTONIC), now, shown = start;
	struct tally *t = &f->shared->tallies[w], sum;
	unsigned long k;

	if (b->only >= 0) {
		if (!w)
			fuzz_one(_metadata, f, allowed, t, b, b->only);
		return;
	}
	for (k = w;; k += f->workers) {
		now = shrinkfs_seconds(CLOCK_MONOTONIC);
		if (b->duration ? now - start >= b->duration : k >= b->inputs)
			break;
		fuzz_one(_metadata, f, allowed, t, b, k);
		if (w == 0 && now - shown >= PROGRESS_S) {
			shown = now;
			sum = total(f);
			ksft_print_msg("fuzz [%4.0f s] %lu inputs, %lu ended wrongly\n",
				       now - start, sum.inputs, sum.bad);
		}
	}
}

TEST_F_TIMEOUT(fuzz, inputs, FUZZ_TIMEOUT_S)
{
	const int (*allowed)[8] = variant->unprivileged ? fuzz_user_errnos : fuzz_root_errnos;
	unsigned long duration = env_number("FUZZ_DURATION", 0);
	unsigned long inputs = env_number("FUZZ_INPUTS", DEFAULT_INPUTS);
	/* The unprivileged case gets a tenth of the time, or a tenth more inputs. */
	struct bounds b = {
		.seed = env_number("FUZZ_SEED", time(NULL) ^ getpid()),
		.duration = variant->unprivileged ? duration / 10 : duration - duration / 10,
		.inputs = variant->unprivileged ? inputs / 10 : inputs,
		.only = getenv("FUZZ_ONLY") ? (long)env_number("FUZZ_ONLY", 0) : -1,
	};
	double start = shrinkfs_seconds(CLOCK_MONOTONIC);
	struct fuzzer *f = &self->f;
	unsigned int w, failed = 0;
	pid_t pids[WORKERS_MAX];
	struct tally sum;
	int status;

	ksft_print_msg("fuzz: seed %lu, %lu %s%s, %u workers; repeat with FUZZ_SEED=%lu\n",
		       b.seed, b.duration ? b.duration : b.inputs, b.duration ? "s" : "inputs",
		       variant->unprivileged ? " as nobody" : "", f->workers, b.seed);
	b.key = b.seed * 2 + 1 + variant->unprivileged;
	for (w = 0; w < f->workers; w++) {
		pids[w] = fork();
		ASSERT_LE(0, pids[w]);
		if (pids[w])
			continue;
		/* As nobody in the workers, so the teardown still runs as root. */
		if (variant->unprivileged && (setgid(NOBODY) || setuid(NOBODY)))
			_exit(2);
		other_of(f, w);
		fuzz_loop(_metadata, f, allowed, w, &b);
		_exit(0);
	}
	for (w = 0; w < f->workers; w++) {
		ASSERT_EQ(pids[w], waitpid(pids[w], &status, 0));
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			TH_LOG("worker %u: status 0x%x", w, status);
			failed++;
		}
	}
	sum = total(f);
	print_tally(&sum, allowed);
	ksft_print_msg("fuzz: %lu inputs in %.1f s, %lu ended wrongly (seed %lu)\n", sum.inputs,
		       shrinkfs_seconds(CLOCK_MONOTONIC) - start, sum.bad, b.seed);
	EXPECT_EQ(0U, failed);
	EXPECT_EQ(0UL, sum.bad);
}

TEST_HARNESS_MAIN
