// SPDX-License-Identifier: GPL-2.0
/*
 * shrinkfs's module parameters, writable at runtime under
 * /sys/module/shrinkfs/parameters/. 6.12's module! macro takes no
 * parameters and 6.12's Rust workqueue has no delayed work, so the
 * parameters and the timer of the periodic reaper live here; the reaper pass
 * itself is Rust (rust/shrinkfs.rs).
 */

#include <linux/delay.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/random.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>

#include "params.h"

/* Kbuild defines SHRINKFS_REAPER when the kernel exports dput_to_list(). */
#ifdef SHRINKFS_REAPER
static const bool have_reaper = true;
#else
static const bool have_reaper;
#endif

#define RACE_DELAY_MAX_US	1000
#define REAP_INTERVAL_MAX_MS	60000
#define EVICT_DELAY_MAX_MS	10000

/* A parameter of 0..max, read without a lock. */
struct bounded_param {
	unsigned int value;
	unsigned int max;
};

static struct bounded_param race_delay_us = { .max = RACE_DELAY_MAX_US };
static struct bounded_param evict_delay_ms = { .max = EVICT_DELAY_MAX_MS };
static unsigned int reap_interval_ms;

/* Protects periodic_reap and the arming of periodic_reap_work. */
static DEFINE_MUTEX(periodic_lock);
/* The pass to run; NULL while the module is not (or no longer) running. */
static void (*periodic_reap)(void);

static void periodic_reap_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(periodic_reap_work, periodic_reap_fn);

static int parse_bounded(const char *val, const char *name, unsigned int max,
			 unsigned int *n)
{
	int ret = kstrtouint(val, 0, n);

	if (ret || *n > max) {
		pr_warn("shrinkfs: %s must be 0..%u\n", name, max);
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
static void periodic_arm(void)
{
	if (periodic_reap && reap_interval_ms)
		mod_delayed_work(system_unbound_wq, &periodic_reap_work,
				 msecs_to_jiffies(reap_interval_ms));
}

static void periodic_reap_fn(struct work_struct *work)
{
	void (*reap)(void);

	mutex_lock(&periodic_lock);
	reap = reap_interval_ms ? periodic_reap : NULL;
	mutex_unlock(&periodic_lock);
	if (!reap)
		return;
	reap();
	mutex_lock(&periodic_lock);
	periodic_arm();
	mutex_unlock(&periodic_lock);
}

static int reap_interval_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int ret = parse_bounded(val, "reap_interval_ms", REAP_INTERVAL_MAX_MS,
				&n);

	if (ret)
		return ret;
	if (n && !have_reaper) {
		pr_warn("shrinkfs: reap_interval_ms needs a kernel that exports dput_to_list()\n");
		return -EOPNOTSUPP;
	}
	mutex_lock(&periodic_lock);
	reap_interval_ms = n;
	if (n)
		periodic_arm();
	else
		cancel_delayed_work(&periodic_reap_work);
	mutex_unlock(&periodic_lock);
	return 0;
}

static const struct kernel_param_ops reap_interval_ops = {
	.set = reap_interval_set,
	.get = param_get_uint,
};
module_param_cb(reap_interval_ms, &reap_interval_ops, &reap_interval_ms, 0644);
MODULE_PARM_DESC(reap_interval_ms,
		 "Run the cross-superblock reaper every this many ms (0..60000, default 0: only on SHRINKFS_IOC_REAP); needs a kernel that exports dput_to_list()");

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

void shrinkfs_evict_delay(void)
{
	unsigned int ms = READ_ONCE(evict_delay_ms.value);

	if (ms)
		msleep(ms);
}

void shrinkfs_periodic_reaper_start(void (*reap)(void))
{
	mutex_lock(&periodic_lock);
	periodic_reap = reap;
	periodic_arm();
	mutex_unlock(&periodic_lock);
}

void shrinkfs_periodic_reaper_stop(void)
{
	mutex_lock(&periodic_lock);
	periodic_reap = NULL;
	mutex_unlock(&periodic_lock);
	/* Waits for a pass in progress; a pass that ends does not re-arm. */
	cancel_delayed_work_sync(&periodic_reap_work);
}
