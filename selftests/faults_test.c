// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs: every allocation failure an operation can meet, taken one at a
 * time, as syzkaller takes them: the calling task's n-th slab or page
 * allocation fails (/proc/thread-self/fail-nth) for n = 1, 2, ... until the
 * operation runs through without reaching an n-th one; the memory
 * shrinker's allocations too, run by drop_caches in the task's own context.
 * Each injected run must end in the result of a run without injection (the
 * failure was absorbed) or in ENOMEM, and leave nothing behind: no dentry
 * or inode of the mount alive but its root once the tree is shrunk, no
 * stray mount or sysfs directory. A reclaim pass (shrink, reaper, expiry)
 * runs when memory is short, so it may not end in ENOMEM at all: what it
 * frees must not wait on an allocation.
 * Leaks are kmemleak's to find (the rig scans after the programs), splats
 * the rig's console scanner's.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/mount.h>

#include "kselftest_harness.h"

#include "fault_injection.h"
#include "shrinkfs_uapi.h"
#include "shrinkfs_util.h"

/*
 * More allocations than any operation here makes: a loop that reaches it
 * did not end, and fails. A module load, the longest, made 375.
 */
#define MAX_POINTS	5000u
/*
 * Under KASAN and TCG a module load took 375 failure points at ~0.2 s each,
 * a mount with expire_ms 189 at ~0.05 s: timeouts with room to spare.
 */
#define LOAD_TIMEOUT_S	600
#define OPERATION_TIMEOUT_S	120
#define FILE_PATH	"d1/d2/f3"
#define ABSENT_PATH	"d1/absent"
#define EXPIRY_OPTION	"expire_ms=60000"

struct injector {
	int fail_nth;
	struct fault_attrs attrs;
};

/* Opens the task's fail-nth and arms the fault attributes: NULL, or why not. */
static const char *injector_start(struct injector *inj)
{
	const char *why = fault_attrs_arm(&inj->attrs);

	if (why)
		return why;
	inj->fail_nth = fail_nth_open();
	if (inj->fail_nth >= 0)
		return NULL;
	fault_attrs_restore(&inj->attrs);
	return "no /proc/thread-self/fail-nth";
}

static void injector_stop(struct injector *inj)
{
	fault_attrs_restore(&inj->attrs);
	close(inj->fail_nth);
}

struct fixture;

/*
 * One operation: run() is what the failures are injected into, the rest
 * runs without. prepare() brings the state every run starts from, undo()
 * takes back a run that succeeded, left_behind() says what a run left that
 * it should not have (NULL: nothing). A reclaim pass must absorb every
 * failure.
 */
struct operation {
	const char *name;
	int (*prepare)(struct fixture *f);
	int (*run)(struct fixture *f);
	void (*undo)(struct fixture *f);
	const char *(*left_behind)(struct fixture *f);
	bool reclaims;
};

struct fixture {
	struct injector inj;
	char mnt[64];
	char other[80];
	char path[160];
	int root;
	int drop_caches;	/* /proc/sys/vm/drop_caches, once opened */
	bool expiry;
};

/* 0 or -errno, from a call that returns -1 and sets errno. */
static int status(long ret)
{
	return ret < 0 ? -errno : 0;
}

static int no_preparation(struct fixture *f)
{
	return 0;
}

static void no_undo(struct fixture *f)
{
}

/* The main mount's tree, shrunk, holds its root and nothing else. */
static const char *main_mount_left_behind(struct fixture *f)
{
	static char why[96];
	struct shrinkfs_stats stats;

	if (ioctl(f->root, SHRINKFS_IOC_SHRINK, 0) ||
	    ioctl(f->root, SHRINKFS_IOC_STATS, &stats))
		return "SHRINK or STATS failed on the root";
	if (stats.dentries_alive == 1 && stats.inodes_alive == 1)
		return NULL;
	snprintf(why, sizeof(why), "%lld dentries and %lld inodes alive, not 1 and 1",
		 (long long)stats.dentries_alive, (long long)stats.inodes_alive);
	return why;
}

/* Sub-directories of @dir, or -1. */
static int subdirectories(const char *dir)
{
	struct dirent *entry;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((entry = readdir(d)))
		n += entry->d_type == DT_DIR && entry->d_name[0] != '.';
	closedir(d);
	return n;
}

/* No mount on the second mount point, and the main mount's sysfs only. */
static const char *other_mount_left_behind(struct fixture *f)
{
	struct stat mnt, other;

	if (stat(f->other, &other) || stat("/tmp", &mnt))
		return "cannot stat the mount point";
	if (other.st_dev != mnt.st_dev)
		return "a mount left on the second mount point";
	if (subdirectories("/sys/fs/shrinkfs") != 1)
		return "a sysfs directory besides the main mount's";
	return NULL;
}

static const char *nothing_left_behind(struct fixture *f)
{
	const char *why = other_mount_left_behind(f);

	return why ? why : main_mount_left_behind(f);
}

static int mount_plain(struct fixture *f)
{
	return status(mount("none", f->other, "shrinkfs", 0, NULL));
}

static int mount_expiry(struct fixture *f)
{
	return status(mount("none", f->other, "shrinkfs", 0, EXPIRY_OPTION));
}

/* The new mount API, step by step, with an option, as mount(8) does. */
static int mount_fsopen(struct fixture *f)
{
	int fs, mnt, ret;

	fs = syscall(__NR_fsopen, "shrinkfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	ret = status(syscall(__NR_fsconfig, fs, FSCONFIG_SET_STRING, "fanout", "4", 0));
	if (!ret)
		ret = status(syscall(__NR_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
	if (!ret) {
		mnt = syscall(__NR_fsmount, fs, FSMOUNT_CLOEXEC, 0);
		ret = status(mnt);
		if (!ret) {
			ret = status(syscall(__NR_move_mount, mnt, "", AT_FDCWD, f->other,
					     MOVE_MOUNT_F_EMPTY_PATH));
			close(mnt);
		}
	}
	close(fs);
	return ret;
}

static void umount_other(struct fixture *f)
{
	umount2(f->other, MNT_DETACH);
}

/* A mount on the second mount point, one of its files looked up. */
static int mount_other(struct fixture *f)
{
	struct stat st;

	umount_other(f);
	if (mount("none", f->other, "shrinkfs", 0, NULL))
		return -errno;
	snprintf(f->path, sizeof(f->path), "%s/" FILE_PATH, f->other);
	return status(stat(f->path, &st));
}

static int umount_run(struct fixture *f)
{
	return status(umount(f->other));
}

/* The main mount's unused dentries gone: a lookup goes to ->lookup. */
static int shrink_main(struct fixture *f)
{
	return status(ioctl(f->root, SHRINKFS_IOC_SHRINK, 0));
}

/* The main mount's tree cached down to the file. */
static int populate_main(struct fixture *f)
{
	struct stat st;

	snprintf(f->path, sizeof(f->path), "%s/" FILE_PATH, f->mnt);
	return status(stat(f->path, &st));
}

/*
 * The tree cached, and drop_caches open: the failures go to the memory
 * shrinker's context, not to the open.
 */
static int populate_for_reclaim(struct fixture *f)
{
	if (f->drop_caches < 0)
		f->drop_caches = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	return f->drop_caches < 0 ? -errno : populate_main(f);
}

/* The memory shrinker over every superblock, shrinkfs's among them. */
static int drop_caches_run(struct fixture *f)
{
	return status(pwrite(f->drop_caches, "2", 1, 0));
}

static int lookup_file(struct fixture *f)
{
	struct stat st;

	snprintf(f->path, sizeof(f->path), "%s/" FILE_PATH, f->mnt);
	return status(stat(f->path, &st));
}

static int lookup_absent(struct fixture *f)
{
	struct stat st;

	snprintf(f->path, sizeof(f->path), "%s/" ABSENT_PATH, f->mnt);
	return status(stat(f->path, &st));
}

static int readdir_run(struct fixture *f)
{
	char buf[4096];
	long n;
	int fd;

	snprintf(f->path, sizeof(f->path), "%s/d1", f->mnt);
	fd = open(f->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = syscall(__NR_getdents64, fd, buf, sizeof(buf))) > 0)
		;
	n = status(n);
	close(fd);
	return n;
}

static int read_run(struct fixture *f)
{
	char buf[512];
	ssize_t n;
	int fd;

	snprintf(f->path, sizeof(f->path), "%s/" FILE_PATH, f->mnt);
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/* An ioctl's result is a count (SHRINKFS_IOC_REAP): only its sign matters. */
static int ioctl_shrink(struct fixture *f)
{
	return status(ioctl(f->root, SHRINKFS_IOC_SHRINK, 0));
}

static int ioctl_bump(struct fixture *f)
{
	return status(ioctl(f->root, SHRINKFS_IOC_BUMP_GENERATION, 0));
}

static int ioctl_stats(struct fixture *f)
{
	struct shrinkfs_stats stats;

	return status(ioctl(f->root, SHRINKFS_IOC_STATS, &stats));
}

static int ioctl_reap(struct fixture *f)
{
	return status(ioctl(f->root, SHRINKFS_IOC_REAP, 0));
}

static int ioctl_expire(struct fixture *f)
{
	return status(ioctl(f->root, SHRINKFS_IOC_EXPIRE, 0));
}

static int sysfs_stats(struct fixture *f)
{
	char text[1024];
	struct stat st;

	if (stat(f->mnt, &st))
		return -errno;
	snprintf(f->path, sizeof(f->path), "/sys/fs/shrinkfs/%u:%u/stats",
		 major(st.st_dev), minor(st.st_dev));
	return shrinkfs_read_text(f->path, text, sizeof(text)) < 0 ? -errno : 0;
}

/* The module not loaded: unloaded, or never loaded. */
static int unloaded(struct fixture *f)
{
	int ret = shrinkfs_unload_when_idle(10, NULL);

	return ret == -ENOENT ? 0 : ret;
}

static int load_run(struct fixture *f)
{
	return shrinkfs_load();
}

static void unload_undo(struct fixture *f)
{
	shrinkfs_unload_when_idle(10, NULL);
}

/* After a load that failed, nothing of the module is left. */
static const char *module_left_behind(struct fixture *f)
{
	struct stat st;

	if (!stat("/sys/module/shrinkfs", &st))
		return "/sys/module/shrinkfs is left";
	if (!stat("/sys/fs/shrinkfs", &st))
		return "/sys/fs/shrinkfs is left";
	return NULL;
}

static const char *errno_name(int ret)
{
	return ret ? strerror(-ret) : "success";
}

/*
 * Takes every allocation failure point of @op, one per run, and checks each
 * run; prints how many it found and how they ended.
 */
static void take_every_failure(struct __test_metadata *_metadata, struct fixture *f,
			       const struct operation *op)
{
	unsigned int n, points = 0, enomem = 0;
	int baseline, ret, fired;
	const char *why;

	ASSERT_EQ(0, op->prepare(f)) {
		TH_LOG("%s: preparing: %s", op->name, strerror(errno));
	}
	baseline = op->run(f);
	if (!baseline)
		op->undo(f);
	for (n = 1; n <= MAX_POINTS; n++) {
		ASSERT_EQ(0, op->prepare(f)) {
			TH_LOG("%s: preparing run %u: %s", op->name, n, strerror(errno));
		}
		ASSERT_EQ(0, fail_nth_arm(f->inj.fail_nth, n));
		ret = op->run(f);
		fired = fail_nth_taken(f->inj.fail_nth);
		ASSERT_LE(0, fired);
		if (!ret)
			op->undo(f);
		if (!fired) {
			EXPECT_EQ(baseline, ret) {
				TH_LOG("%s: %s without injection, %s before", op->name,
				       errno_name(ret), errno_name(baseline));
			}
			break;
		}
		points++;
		if (ret == -ENOMEM) {
			enomem++;
			EXPECT_FALSE(op->reclaims) {
				TH_LOG("%s: allocation %u failed it: reclaim must not need memory",
				       op->name, n);
			}
		} else {
			EXPECT_EQ(baseline, ret) {
				TH_LOG("%s: allocation %u failed: %s, not ENOMEM or %s",
				       op->name, n, errno_name(ret), errno_name(baseline));
			}
		}
		why = op->left_behind(f);
		EXPECT_EQ(NULL, why) {
			TH_LOG("%s: allocation %u failed: %s", op->name, n, why);
		}
	}
	EXPECT_GE(MAX_POINTS, n) {
		TH_LOG("%s: still failing at allocation %u", op->name, n);
	}
	ksft_print_msg("faults: %s: %u failure points (%s): %u ENOMEM, %u absorbed (%s without)\n",
		       op->name, points,
		       fault_attrs_pages(&f->inj.attrs) ? "slab and page" : "slab",
		       enomem, points - enomem, errno_name(baseline));
}

FIXTURE(faults) {
	struct fixture f;
};

FIXTURE_SETUP(faults)
{
	struct fixture *f = &self->f;
	const char *why;

	if (getuid())
		SKIP(return, "loading modules and fault injection need root");
	why = injector_start(&f->inj);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, shrinkfs_prepare(f->mnt, sizeof(f->mnt), "flt")) {
		injector_stop(&f->inj);
	}
	snprintf(f->other, sizeof(f->other), "%s-other", f->mnt);
	f->root = -1;
	f->drop_caches = -1;
	/* A failed setup has no teardown: it undoes itself. */
	ASSERT_EQ(0, mkdir(f->other, 0755)) {
		shrinkfs_cleanup(f->mnt);
		injector_stop(&f->inj);
	}
	ASSERT_EQ(0, mount("none", f->mnt, "shrinkfs", 0, NULL)) {
		rmdir(f->other);
		shrinkfs_cleanup(f->mnt);
		injector_stop(&f->inj);
	}
	f->root = open(f->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, f->root) {
		rmdir(f->other);
		shrinkfs_cleanup(f->mnt);
		injector_stop(&f->inj);
	}
	f->expiry = !mount("none", f->other, "shrinkfs", 0, EXPIRY_OPTION);
	umount_other(f);
}

FIXTURE_TEARDOWN(faults)
{
	struct fixture *f = &self->f;

	close(f->root);
	close(f->drop_caches);
	umount_other(f);
	rmdir(f->other);
	shrinkfs_cleanup(f->mnt);
	injector_stop(&f->inj);
}

FIXTURE_VARIANT(faults) {
	struct operation op;
	/* The operation needs a kernel with d_dispose_if_unused(). */
	bool expiry;
};

FIXTURE_VARIANT_ADD(faults, mount) {
	.op = { "mount", no_preparation, mount_plain, umount_other, nothing_left_behind },
};

FIXTURE_VARIANT_ADD(faults, mount_expiry) {
	.op = { "mount_expiry", no_preparation, mount_expiry, umount_other,
		nothing_left_behind },
	.expiry = true,
};

FIXTURE_VARIANT_ADD(faults, mount_new_api) {
	.op = { "mount_new_api", no_preparation, mount_fsopen, umount_other,
		nothing_left_behind },
};

FIXTURE_VARIANT_ADD(faults, lookup) {
	.op = { "lookup", shrink_main, lookup_file, no_undo, nothing_left_behind },
};

FIXTURE_VARIANT_ADD(faults, lookup_negative) {
	.op = { "lookup_negative", shrink_main, lookup_absent, no_undo, nothing_left_behind },
};

FIXTURE_VARIANT_ADD(faults, readdir) {
	.op = { "readdir", shrink_main, readdir_run, no_undo, nothing_left_behind },
};

FIXTURE_VARIANT_ADD(faults, read) {
	.op = { "read", shrink_main, read_run, no_undo, nothing_left_behind },
};

FIXTURE_VARIANT_ADD(faults, ioctl_shrink) {
	.op = { "ioctl_shrink", populate_main, ioctl_shrink, no_undo, nothing_left_behind,
		.reclaims = true },
};

FIXTURE_VARIANT_ADD(faults, ioctl_bump_generation) {
	.op = { "ioctl_bump_generation", populate_main, ioctl_bump, no_undo,
		nothing_left_behind },
};

FIXTURE_VARIANT_ADD(faults, ioctl_stats) {
	.op = { "ioctl_stats", populate_main, ioctl_stats, no_undo, nothing_left_behind },
};

FIXTURE_VARIANT_ADD(faults, reaper_pass) {
	.op = { "reaper_pass", populate_main, ioctl_reap, no_undo, nothing_left_behind,
		.reclaims = true },
};

FIXTURE_VARIANT_ADD(faults, expiry_pass) {
	.op = { "expiry_pass", populate_main, ioctl_expire, no_undo, nothing_left_behind,
		.reclaims = true },
	.expiry = true,
};

FIXTURE_VARIANT_ADD(faults, memory_shrinker) {
	.op = { "memory_shrinker", populate_for_reclaim, drop_caches_run, no_undo,
		nothing_left_behind },
};

FIXTURE_VARIANT_ADD(faults, sysfs_stats) {
	.op = { "sysfs_stats", populate_main, sysfs_stats, no_undo, nothing_left_behind },
};

FIXTURE_VARIANT_ADD(faults, umount) {
	.op = { "umount", mount_other, umount_run, no_undo, main_mount_left_behind },
};

TEST_F_TIMEOUT(faults, every_allocation_failure, OPERATION_TIMEOUT_S)
{
	if (variant->expiry && !self->f.expiry)
		SKIP(return, "the kernel does not export d_dispose_if_unused()");
	take_every_failure(_metadata, &self->f, &variant->op);
}

/* The module's load: its init and the loader's error paths. */
FIXTURE(module) {
	struct fixture f;
};

FIXTURE_SETUP(module)
{
	const char *why;

	if (getuid())
		SKIP(return, "loading modules and fault injection need root");
	why = injector_start(&self->f.inj);
	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(module)
{
	injector_stop(&self->f.inj);
}

TEST_F_TIMEOUT(module, load, LOAD_TIMEOUT_S)
{
	static const struct operation op = {
		"module_load", unloaded, load_run, unload_undo,
		module_left_behind
	};

	take_every_failure(_metadata, &self->f, &op);
}

TEST_HARNESS_MAIN
