/* localread.h: hands the engine's shared memory to clients of the Unix
 * socket (LOCALREAD MAP), and takes their feedback: the hits that must
 * count for eviction, and the counters INFO shows. See localread.c. */
#pragma once

#include <stdint.h>

#include "oh_time.h"

struct conn;
struct cmd_req;

/* What INFO stats shows of local reads. */
struct localread_stats {
    uint64_t hits, misses; /* reported by clients */
    uint64_t hints;        /* access hints applied */
    uint64_t maps;         /* mappings handed out */
    uint64_t clients;      /* clients holding a mapping now */
};
extern struct localread_stats localread_stats;

/* The handler of LOCALREAD MAP | STATUS, cmd_localread, is declared with
 * the others in cmd.h. */
/* Applies every client's pending hints and counters (once a tick); also
 * tells readers whether the mapping may be read (not while loading). */
void localread_cron(oh_time now);
/* Zeroes the counters (CONFIG RESETSTAT); the client count stays. */
void localread_resetstat(void);
/* Takes the last counters of c and forgets its feedback region. */
void localread_detach(struct conn *c);
