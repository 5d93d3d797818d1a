/* slowlog.h: the slow log (SLOWLOG GET / LEN / RESET / HELP): the last
 * slowlog-max-len commands that ran at least slowlog-log-slower-than µs,
 * newest first, with their arguments shortened as Redis does (at most
 * SLOWLOG_ARGC_MAX arguments, each at most SLOWLOG_ARG_MAX bytes).
 * Event-loop thread only. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "oh_time.h"

struct conn;
struct cmd_req;

#define SLOWLOG_ARGC_MAX 32  /* arguments kept per entry */
#define SLOWLOG_ARG_MAX  128 /* bytes kept per argument */

/* Sets the threshold (µs; 0 logs every command) and the length (entries;
 * 0 keeps none, which disables the log). Shrinking drops the oldest. */
void slowlog_reconfigure(uint64_t log_slower_than_us, uint64_t max_len);
/* Frees every entry; ids start again from 0. */
void slowlog_teardown(void);
/* Logs the request `r` that took `duration_us`, if that reaches the
 * threshold. addr and name (may be NULL) describe the client; they are
 * copied, as are the arguments. */
void slowlog_record(const struct cmd_req *r, uint64_t duration_us, oh_time now,
                    const char *addr, const char *name);
/* Returns the number of entries kept. */
size_t slowlog_len(void);
/* Removes every entry (ids keep growing). */
void slowlog_reset(void);
/* SLOWLOG GET [count] | LEN | RESET | HELP */
void slowlog_cmd(struct conn *c, const struct cmd_req *r);
