/* latency.h: the latency monitor (LATENCY LATEST / HISTORY / RESET / HELP).
 * Callers time their own work and report it; events whose duration reaches
 * latency-monitor-threshold (ms; 0 disables the monitor) are kept. Event
 * names used by the server: "command" (a slow command), "engine-step" (one
 * tick of background engine work), "snapshot-save" (SAVE and the save at
 * shutdown), "snapshot-fork" (fork() of BGSAVE), "snapshot-load" (one
 * slice of the start-up load). Event-loop thread only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oh_time.h"

struct conn;
struct cmd_req;

#define LATENCY_HISTORY 160 /* samples kept per event */

/* Sets latency-monitor-threshold (ms; 0: off). */
void latency_reconfigure(uint64_t threshold_ms);
/* Records that `event` took `ms` at time `now`, if ms >= the threshold.
 * `event` must be a static string (it is kept, not copied). */
void latency_record(const char *event, uint64_t ms, oh_time now);
/* Forgets `event` (NULL: every event). Returns how many were reset. */
size_t latency_reset(const char *event);
/* Reads the latest spike of `event`. Returns false if none recorded. */
bool latency_latest(const char *event, int64_t *time_s, uint64_t *latest_ms,
                    uint64_t *max_ms);
/* LATENCY LATEST | HISTORY event | RESET [event...] | HELP */
void latency_cmd(struct conn *c, const struct cmd_req *r);
