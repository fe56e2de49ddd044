/* SPDX-License-Identifier: GPL-2.0 */
/* What rust/params.c offers the Rust side of the module (rust/params.rs). */
#ifndef SHRINKFS_PARAMS_H
#define SHRINKFS_PARAMS_H

/* Stalls for a random 0..race_delay_us microseconds; any context. */
void shrinkfs_race_window(void);
/* Sleeps evict_delay_ms milliseconds; process context. */
void shrinkfs_evict_delay(void);
/* Runs @reap every reap_interval_ms until shrinkfs_periodic_reaper_stop(). */
void shrinkfs_periodic_reaper_start(void (*reap)(void));
/* Stops the periodic reaper and waits for a pass in progress. */
void shrinkfs_periodic_reaper_stop(void);

#endif /* SHRINKFS_PARAMS_H */
