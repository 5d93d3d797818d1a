/* share.h: engine memory that other processes may map read-only (local
 * reads). With sharing on, the segments, the index and a small header live
 * in one memfd laid out as proto/shm.h says; the engine publishes there
 * what a reader needs (segment words, index tables, the seqlock). With it
 * off, the same calls hand out anonymous memory and publish nothing, so
 * the engine runs exactly as before. The engine never sends the
 * descriptor anywhere: engine_share_fd() gives it to the server. See
 * share.c for the design. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "item.h"
#include "proto/shm.h"

/* Creates the shared file (on) or nothing (off). Returns 0, or OH_NOMEM
 * when the memfd cannot be made (the caller may retry with sharing off). */
int share_setup(bool on, uint32_t seg_size, uint64_t seed);
/* Marks the mapping stale for readers and releases it. */
void share_teardown(void);
bool share_on(void);
/* The memfd (read-write; the server reopens it read-only), or -1. */
int share_fd(void);
/* Segment ids the arena may hand out (SEG_MAX when off). */
uint32_t share_seg_ids(void);
/* Bytes of the shared file. */
uint64_t share_bytes(void);
/* Sets shm_header.state (SHM_STATE_*). */
void share_set_state(uint32_t state);

/* ---- the segment arena ---- */

/* Returns the address of segment 0 of the shared arena, or NULL (off: the
 * arena maps its own anonymous memory). */
char *share_arena(void);
/* Gives the pages of [p, p + n) of the arena back, keeping the range. */
void share_trim(void *p, size_t n);
/* Publishes segment `id`: its epoch, whether readers may use it (young or
 * old), its bases; `reused` bumps its reuse count (a borrow). */
void share_seg(uint32_t id, uint32_t epoch, bool live,
               const struct item_bases *b, bool reused);
/* Publishes the REL16 base of segment `id` once item_write() set it. */
void share_seg_bases(uint32_t id, const struct item_bases *b);

/* ---- index memory ---- */

/* Returns `bytes` of zeroed, page-aligned memory for index tables and
 * overflow chunks (OWNED: release with share_unmap), or NULL. */
void *share_map(size_t bytes);
/* Releases a whole share_map() range. */
void share_unmap(void *p, size_t bytes);
/* Gives back part [p, p + n) of a share_map() range early (a resize moving
 * on); the range itself is released later by share_unmap(). */
void share_unmap_part(void *p, size_t n);
/* True if share_unmap_part() left the range's address space in place (it
 * must still be released whole). */
bool share_ranges_whole(void);

/* ---- what readers validate against ---- */

/* Brackets a change that moves slots between buckets, reuses index
 * memory or rewrites an item in place. Nestable. */
void share_change_begin(void);
void share_change_end(void);
/* Publishes the index tables (buckets address, mask) and the resize
 * cursor (-1: none). */
void share_index(const void *t0, uint64_t mask0, const void *t1, uint64_t mask1,
                 int64_t rehash);

/* ---- background saves ---- */

/* In a forked child that saves a snapshot: gives the child a private copy
 * of the index (the parent goes on changing the shared one) and stops the
 * child from publishing or trimming anything shared. Returns 0 or -1. */
int share_fork_child(void);
