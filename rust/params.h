/* SPDX-License-Identifier: GPL-2.0 */
/* What rust/params.c offers the Rust side of the module (rust/params.rs). */
#ifndef SHRINKFS_PARAMS_H
#define SHRINKFS_PARAMS_H

/* Stalls for a random 0..race_delay_us microseconds; any context. */
void shrinkfs_race_window(void);
/* Sleeps evict_delay_ms milliseconds, less if it is lowered; process context. */
void shrinkfs_evict_delay(void);
/* The passes the module may run periodically. */
enum shrinkfs_periodic {
	SHRINKFS_PERIODIC_REAPER,	/* reap_interval_ms */
	SHRINKFS_PERIODIC_EXPIRY,	/* expiry_interval_ms */
};

/* Runs @pass every interval of @job until shrinkfs_periodic_stop(). */
void shrinkfs_periodic_start(enum shrinkfs_periodic job, void (*pass)(void));
/* Stops @job's passes and waits for one in progress. */
void shrinkfs_periodic_stop(enum shrinkfs_periodic job);

#endif /* SHRINKFS_PARAMS_H */
