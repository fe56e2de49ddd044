/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fuzzer's inputs, shared by fuzz_test and the torture's fuzz thread:
 * random and mutated mount option strings, ioctl numbers and arguments,
 * drawn from a caller's xorshift64* state, so a seed replays a stream; the
 * errnos each control may end in; and the two mount APIs run on them.
 */
#ifndef SHRINKFS_FUZZ_INPUTS_H
#define SHRINKFS_FUZZ_INPUTS_H

#include <stdbool.h>
#include <linux/mount.h>
#include <linux/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "shrinkfs_uapi.h"
#include "shrinkfs_util.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* Past fsconfig()'s 256-byte strings and mount(2)'s page. */
#define FUZZ_TEXT_MAX	4200

/* xorshift64*: a stream's one source of randomness, so a seed replays it. */
static inline __u64 fuzz_rnd(__u64 *rng)
{
	*rng ^= *rng >> 12;
	*rng ^= *rng << 25;
	*rng ^= *rng >> 27;
	return *rng * 0x2545f4914f6cdd1dULL;
}

static inline __u64 fuzz_below(__u64 *rng, __u64 n)
{
	return fuzz_rnd(rng) % n;
}

enum fuzz_control {
	FUZZ_MOUNT, FUZZ_FSCONFIG, FUZZ_IOCTL, FUZZ_PARAM, FUZZ_SYSFS, FUZZ_CONTROLS
};

static const char * const fuzz_control_names[] = {
	"mount(2)", "fsconfig", "ioctl", "param", "sysfs",
};

/*
 * The errnos each control may end in (besides success), for root and for
 * an unprivileged caller; README's table says why.
 */
static const int fuzz_root_errnos[FUZZ_CONTROLS][8] = {
	[FUZZ_MOUNT] = { EINVAL },
	[FUZZ_FSCONFIG] = { EINVAL, EBADF, ENOENT, ENAMETOOLONG },
	[FUZZ_IOCTL] = { ENOTTY, EINVAL, EFAULT, EOPNOTSUPP },
	[FUZZ_PARAM] = { EINVAL, EOPNOTSUPP },
	[FUZZ_SYSFS] = { EACCES, EINVAL },
};

static const int fuzz_user_errnos[FUZZ_CONTROLS][8] = {
	[FUZZ_MOUNT] = { EPERM },
	[FUZZ_FSCONFIG] = { EPERM },
	[FUZZ_IOCTL] = { ENOTTY, EPERM },
	[FUZZ_PARAM] = { EACCES },
	[FUZZ_SYSFS] = { EACCES, EINVAL },
};

static const char * const fuzz_keys[] = {
	"depth", "fanout", "files", "expire_ms", "source", "ro", "rw", "sync",
	"lazytime", "depth ", "DEPTH", "dep", "fanout\x01", "", "=", "files=",
};

static const char * const fuzz_values[] = {
	"0", "1", "2", "3", "8", "31", "32", "33", "4095", "4096", "4097",
	"1048576", "1048577", "3600000", "3600001", "4294967295", "4294967296",
	"18446744073709551616", "99999999999999999999999", "-1", "+1", "0x10",
	"010", "1e3", " 1", "1 ", "", "\xff\xfe", "caf\xc3\xa9", "1,", "=1",
};

static inline const char *fuzz_value(__u64 *rng)
{
	return fuzz_values[fuzz_below(rng, ARRAY_SIZE(fuzz_values))];
}

/* Appends a random key[=value] to @s (at most @max bytes long). */
static inline void fuzz_append_option(__u64 *rng, char *s, size_t max)
{
	size_t len = strlen(s);
	char value[96];
	const char *key = fuzz_keys[fuzz_below(rng, ARRAY_SIZE(fuzz_keys))];
	unsigned int i, n;

	switch (fuzz_below(rng, 4)) {
	case 0:
		snprintf(value, sizeof(value), "%llu",
			 (unsigned long long)fuzz_rnd(rng) >> fuzz_below(rng, 64));
		break;
	case 1:
		n = fuzz_below(rng, sizeof(value) - 1);
		for (i = 0; i < n; i++)
			value[i] = 1 + fuzz_below(rng, 255);
		value[n] = '\0';
		break;
	default:
		snprintf(value, sizeof(value), "%s", fuzz_value(rng));
	}
	snprintf(s + len, max - len, "%s%s%s%s", len ? "," : "", key,
		 fuzz_below(rng, 5) ? "=" : "", fuzz_below(rng, 5) ? value : "");
}

/* A random or mutated option string. */
static inline void fuzz_options(__u64 *rng, char *s, size_t max)
{
	unsigned int i, n = fuzz_below(rng, 6);
	size_t len;

	s[0] = '\0';
	for (i = 0; i < n; i++)
		fuzz_append_option(rng, s, max);
	len = strlen(s);
	switch (fuzz_below(rng, 6)) {
	case 0: /* a byte flipped */
		if (len)
			s[fuzz_below(rng, len)] = 1 + fuzz_below(rng, 255);
		break;
	case 1: /* cut short */
		s[fuzz_below(rng, len + 1)] = '\0';
		break;
	case 2: /* long: past fsconfig's 256 and mount(2)'s page */
		n = fuzz_below(rng, max - len);
		memset(s + len, "a,=9"[fuzz_below(rng, 4)], n);
		s[len + n] = '\0';
		break;
	}
}

static const unsigned int fuzz_shrinkfs_ioctls[] = {
	SHRINKFS_IOC_SHRINK, SHRINKFS_IOC_BUMP_GENERATION, SHRINKFS_IOC_REAP,
	SHRINKFS_IOC_EXPIRE, SHRINKFS_IOC_STATS,
};

/*
 * Whether the VFS may answer @cmd itself (do_vfs_ioctl(), file_ioctl())
 * before shrinkfs sees it: the FIO* ('T'), XFS-heritage ('X'), FS_IOC_*
 * ('f'), clone (0x94) and fs-info (0x15) types, FIBMAP and FIGETBSZ. Those
 * are the VFS's to get right, and are not drawn.
 */
static inline bool fuzz_vfs_ioctl(unsigned int cmd)
{
	unsigned int type = _IOC_TYPE(cmd);

	return type == 'T' || type == 'X' || type == 'f' || type == 0x94 ||
	       type == 0x15 || (type == 0 && _IOC_NR(cmd) <= 2);
}

/* Argument pointers and values worth trying, set up once. */
struct fuzz_arguments {
	char *buffer;		/* a writable page */
	char *read_only;	/* a read-only page */
	char *unmapped;		/* an address with nothing mapped */
};

/* Maps @a's pages: a writable one, a read-only one, a hole. 0 or -errno. */
static inline int fuzz_arguments_map(struct fuzz_arguments *a)
{
	a->buffer = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (a->buffer == MAP_FAILED)
		return -errno;
	a->read_only = a->buffer + 4096;
	a->unmapped = a->buffer + 2 * 4096;
	if (mprotect(a->read_only, 4096, PROT_READ) || munmap(a->unmapped, 4096))
		return -errno;
	return 0;
}

static inline unsigned long fuzz_ioctl_arg(__u64 *rng, const struct fuzz_arguments *a)
{
	switch (fuzz_below(rng, 10)) {
	case 0: return 0;
	case 1: return 1 + fuzz_below(rng, 3);	/* a reaper hold of a few ms */
	case 2: return 1001;
	case 3: return -1UL;
	case 4: return (unsigned long)a->buffer;
	case 5: return (unsigned long)a->buffer + 1 + fuzz_below(rng, 7); /* misaligned */
	case 6: return (unsigned long)a->read_only;
	case 7: return (unsigned long)a->unmapped;
	case 8: return 0xffffffff81000000UL + fuzz_below(rng, 1 << 20);	/* the kernel's */
	default: return fuzz_rnd(rng);
	}
}

static inline unsigned int fuzz_ioctl_cmd(__u64 *rng)
{
	unsigned int cmd;

	switch (fuzz_below(rng, 4)) {
	case 0:
	case 1:
		return fuzz_shrinkfs_ioctls[fuzz_below(rng, ARRAY_SIZE(fuzz_shrinkfs_ioctls))];
	case 2: /* shrinkfs's type, any number, direction and size */
		return _IOC(fuzz_below(rng, 4), SHRINKFS_IOC_MAGIC, fuzz_below(rng, 16),
			    fuzz_below(rng, 1 << 14));
	default:
		do
			cmd = fuzz_rnd(rng);
		while (fuzz_vfs_ioctl(cmd));
		return cmd;
	}
}

/* Whether @ret (0 or -errno) is success or an errno of @allowed. */
static inline bool fuzz_allowed(const int allowed[8], int ret)
{
	unsigned int i;

	for (i = 0; ret && i < 8 && allowed[i]; i++)
		if (-ret == allowed[i])
			return true;
	return !ret;
}

/*
 * Looks at the new mount on @target and unmounts it: 0 or -errno. One that
 * will not go is detached, so it cannot pile up under the next.
 */
static inline int fuzz_umount_checked(const char *target)
{
	struct stat st;
	int ret = stat(target, &st) ? -errno : 0;

	if (umount(target)) {
		if (!ret)
			ret = -errno;
		umount2(target, MNT_DETACH);
	}
	return ret;
}

/* @options through mount(2) on @target: 0, -errno, or -EIO if the mount is wrong. */
static inline int fuzz_mount_legacy(const char *target, const char *options)
{
	if (mount("none", target, "shrinkfs", 0, options))
		return -errno;
	return fuzz_umount_checked(target) ? -EIO : 0;
}

/*
 * @text as fsconfig() calls of command @cmd on one context: each
 * comma-separated item a call (key and value split at the first '=';
 * @set_fd the fd a FSCONFIG_SET_FD names), then the context created and
 * mounted on @target. The first refusal ends it.
 */
static inline int fuzz_mount_new(const char *target, unsigned int cmd, int set_fd,
				 const char *text)
{
	char copy[FUZZ_TEXT_MAX], *item, *rest = copy, *value;
	int fs, mnt, aux, ret = 0;

	fs = syscall(__NR_fsopen, "shrinkfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	snprintf(copy, sizeof(copy), "%s", text);
	while (!ret && (item = strsep(&rest, ","))) {
		value = strchr(item, '=');
		if (value)
			*value++ = '\0';
		switch (cmd) {
		case FSCONFIG_SET_FLAG:
		case FSCONFIG_CMD_CREATE:
		case FSCONFIG_CMD_RECONFIGURE:
			value = NULL;
			break;
		}
		aux = cmd == FSCONFIG_SET_BINARY && value ? (int)strlen(value) + 1 :
		      cmd == FSCONFIG_SET_FD ? set_fd : 0;
		ret = syscall(__NR_fsconfig, fs, cmd, item, value, aux) ? -errno : 0;
	}
	if (!ret)
		ret = syscall(__NR_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) ? -errno : 0;
	if (!ret) {
		/* A context that was created mounts; anything else is wrong. */
		mnt = syscall(__NR_fsmount, fs, FSMOUNT_CLOEXEC, 0);
		ret = mnt < 0 ? -EIO : 0;
		if (!ret) {
			ret = syscall(__NR_move_mount, mnt, "", AT_FDCWD, target,
				      MOVE_MOUNT_F_EMPTY_PATH) ? -EIO : 0;
			/* The fd holds the mount: closed, it can be unmounted. */
			close(mnt);
			if (!ret && fuzz_umount_checked(target))
				ret = -EIO;
		}
	}
	close(fs);
	return ret;
}

#endif /* SHRINKFS_FUZZ_INPUTS_H */
