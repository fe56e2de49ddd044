// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs's module parameters, writable at runtime under
 * /sys/module/shrinkfs/parameters/. 6.12's module! macro takes no
 * parameters and 6.12's Rust workqueue has no delayed work, so the
 * parameters and the timer of the periodic reaper live here; the reaper pass
 * itself is Rust (rust/shrinkfs.rs).
 */

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/random.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>

#include "params.h"

/*
 * Kbuild defines SHRINKFS_REAPER when the kernel exports dput_to_list(),
 * SHRINKFS_EXPIRY when it exports d_dispose_if_unused().
 */
#ifdef SHRINKFS_REAPER
#define HAVE_REAPER	true
#else
#define HAVE_REAPER	false
#endif
#ifdef SHRINKFS_EXPIRY
#define HAVE_EXPIRY	true
#else
#define HAVE_EXPIRY	false
#endif

#define RACE_DELAY_MAX_US	1000
#define INTERVAL_MAX_MS		60000
#define EVICT_DELAY_MAX_MS	10000
/* How long a delay in progress sleeps before it reads its parameter again. */
#define EVICT_DELAY_SLICE_MS	10U

/* A parameter of 0..max, read without a lock. */
struct bounded_param {
	unsigned int value;
	unsigned int max;
};

static struct bounded_param race_delay_us = { .max = RACE_DELAY_MAX_US };
static struct bounded_param evict_delay_ms = { .max = EVICT_DELAY_MAX_MS };

/*
 * A pass the module runs every interval_ms in a work item, one at a time,
 * while the module is loaded (pass set) and the interval is not 0.
 */
struct periodic {
	const char *param;
	/* What the kernel must export for the pass to exist. */
	const char *needs;
	bool available;
	unsigned int interval_ms;
	void (*pass)(void);
	struct delayed_work work;
};

/* Protects every periodic's pass and interval, and the arming of its work. */
static DEFINE_MUTEX(periodic_lock);

static void periodic_fn(struct work_struct *work);

static struct periodic periodic_reaper = {
	.param = "reap_interval_ms",
	.needs = "dput_to_list()",
	.available = HAVE_REAPER,
	.work = __DELAYED_WORK_INITIALIZER(periodic_reaper.work, periodic_fn, 0),
};

static struct periodic periodic_expiry = {
	.param = "expiry_interval_ms",
	.needs = "d_dispose_if_unused()",
	.available = HAVE_EXPIRY,
	.work = __DELAYED_WORK_INITIALIZER(periodic_expiry.work, periodic_fn, 0),
};

static int parse_bounded(const char *val, const char *name, unsigned int max,
			 unsigned int *n)
{
	int ret = kstrtouint(val, 0, n);

	/*
	 * Ratelimited: only root writes here, but a script's loop (a fuzzer's)
	 * would flood the console, which costs the writer every byte.
	 */
	if (ret || *n > max) {
		pr_warn_ratelimited("shrinkfs: %s must be 0..%u\n", name, max);
		return -EINVAL;
	}
	return 0;
}

static int bounded_set(const char *val, const struct kernel_param *kp)
{
	struct bounded_param *param = kp->arg;
	unsigned int n;
	int ret = parse_bounded(val, kp->name, param->max, &n);

	if (!ret)
		WRITE_ONCE(param->value, n);
	return ret;
}

static int bounded_get(char *buffer, const struct kernel_param *kp)
{
	const struct bounded_param *param = kp->arg;

	return sysfs_emit(buffer, "%u\n", READ_ONCE(param->value));
}

static const struct kernel_param_ops bounded_ops = {
	.set = bounded_set,
	.get = bounded_get,
};

module_param_cb(race_delay_us, &bounded_ops, &race_delay_us, 0644);
MODULE_PARM_DESC(race_delay_us,
		 "Widest random sleep (us) in ->evict_inode, ->d_release and the reaper between collecting and killing, to widen race windows (0..1000, default 0: off)");

module_param_cb(evict_delay_ms, &bounded_ops, &evict_delay_ms, 0644);
MODULE_PARM_DESC(evict_delay_ms,
		 "Sleep (ms) in ->evict_inode after the eviction is counted, as a filesystem waiting for its storage would; a dentry whose kill evicts its inode stays dying that long (0..10000, default 0: off)");

/* Caller holds periodic_lock. */
static void periodic_arm(struct periodic *p)
{
	if (p->pass && p->interval_ms)
		mod_delayed_work(system_unbound_wq, &p->work,
				 msecs_to_jiffies(p->interval_ms));
}

static void periodic_fn(struct work_struct *work)
{
	struct periodic *p = container_of(to_delayed_work(work),
					  struct periodic, work);
	void (*pass)(void);

	mutex_lock(&periodic_lock);
	pass = p->interval_ms ? p->pass : NULL;
	mutex_unlock(&periodic_lock);
	if (!pass)
		return;
	pass();
	mutex_lock(&periodic_lock);
	periodic_arm(p);
	mutex_unlock(&periodic_lock);
}

static int interval_set(const char *val, const struct kernel_param *kp)
{
	struct periodic *p = kp->arg;
	unsigned int n;
	int ret = parse_bounded(val, p->param, INTERVAL_MAX_MS, &n);

	if (ret)
		return ret;
	if (n && !p->available) {
		pr_warn_ratelimited("shrinkfs: %s needs a kernel that exports %s\n",
				    p->param, p->needs);
		return -EOPNOTSUPP;
	}
	mutex_lock(&periodic_lock);
	p->interval_ms = n;
	if (n)
		periodic_arm(p);
	else
		cancel_delayed_work(&p->work);
	mutex_unlock(&periodic_lock);
	return 0;
}

static int interval_get(char *buffer, const struct kernel_param *kp)
{
	const struct periodic *p = kp->arg;

	return sysfs_emit(buffer, "%u\n", READ_ONCE(p->interval_ms));
}

static const struct kernel_param_ops interval_ops = {
	.set = interval_set,
	.get = interval_get,
};

module_param_cb(reap_interval_ms, &interval_ops, &periodic_reaper, 0644);
MODULE_PARM_DESC(reap_interval_ms,
		 "Run the cross-superblock reaper every this many ms (0..60000, default 0: only on SHRINKFS_IOC_REAP); needs a kernel that exports dput_to_list()");

module_param_cb(expiry_interval_ms, &interval_ops, &periodic_expiry, 0644);
MODULE_PARM_DESC(expiry_interval_ms,
		 "Dispose of the expired, unused dentries of expire_ms= mounts every this many ms (0..60000, default 0: never); needs a kernel that exports d_dispose_if_unused()");

/*
 * Sleeps rather than spins: every window is in a context that may sleep
 * (->evict_inode, ->d_release, the reaper between collecting and killing),
 * and a spin would make the caller look like a busy-waiter to the
 * torture's liveness gate - a reaper pass of 256 kills at 200 us was 90 ms
 * on the CPU. A sleep also lets another task run on the same CPU inside
 * the window.
 */
void shrinkfs_race_window(void)
{
	unsigned int max = READ_ONCE(race_delay_us.value);

	might_sleep();
	if (max)
		fsleep(get_random_u32_below(max + 1));
}

/*
 * Sleeps evict_delay_ms from the call, in slices that read the parameter
 * again: a value written back ends a delay in progress. Else a value that
 * took for a moment (a fuzzer's, written back at once) put each eviction
 * begun meanwhile to sleep for up to 10 s.
 */
void shrinkfs_evict_delay(void)
{
	unsigned long start = jiffies;
	unsigned int ms;

	while ((ms = READ_ONCE(evict_delay_ms.value)) &&
	       time_before(jiffies, start + msecs_to_jiffies(ms)))
		msleep(min(ms, EVICT_DELAY_SLICE_MS));
}

static struct periodic *periodic_of(enum shrinkfs_periodic job)
{
	return job == SHRINKFS_PERIODIC_EXPIRY ? &periodic_expiry :
						 &periodic_reaper;
}

void shrinkfs_periodic_start(enum shrinkfs_periodic job, void (*pass)(void))
{
	struct periodic *p = periodic_of(job);

	mutex_lock(&periodic_lock);
	p->pass = pass;
	periodic_arm(p);
	mutex_unlock(&periodic_lock);
}

void shrinkfs_periodic_stop(enum shrinkfs_periodic job)
{
	struct periodic *p = periodic_of(job);

	mutex_lock(&periodic_lock);
	p->pass = NULL;
	mutex_unlock(&periodic_lock);
	/* Waits for a pass in progress; a pass that ends does not re-arm. */
	cancel_delayed_work_sync(&p->work);
}
