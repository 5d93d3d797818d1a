/* snapshot.h: warm restart. Writes every live entry (key, value, absolute
 * expiry) to a snapshot file and streams it back into the engine at start.
 * The file is written to "<path>.tmp-<pid>", fsynced and renamed, so a
 * crash never leaves a half-written snapshot under the real name. Event-loop
 * thread only (a background save runs in a forked child). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oh_time.h"

struct conn;
struct cmd_req;

/* ---- file format (all integers little-endian) ----
 *   header   "OFFHEAP-SNAP" u32 version  u64 created_ms
 *            u64 key count hint (engine_count() when the save began: lets
 *            a loader size the index up front; the exact count is in the
 *            trailer)
 *   entry*   u8 SNAPSHOT_OP_ENTRY  varint klen  varint vlen
 *            varint expire_at_ms (0: none)  key bytes  value bytes
 *   trailer  u8 SNAPSHOT_OP_END  u64 entry count
 *            u32 CRC-32C of every byte before this field
 * varint: LEB128, 7 bits per byte, low bits first, at most 10 bytes. */
#define SNAPSHOT_MAGIC       "OFFHEAP-SNAP"
#define SNAPSHOT_MAGIC_LEN   12
#define SNAPSHOT_VERSION     1
#define SNAPSHOT_HEADER_LEN  32 /* bytes */
#define SNAPSHOT_TRAILER_LEN 13 /* bytes, op byte included */
#define SNAPSHOT_OP_ENTRY    0x01
#define SNAPSHOT_OP_END      0xFF
#define SNAPSHOT_LEN_MAX     (1ULL << 32) /* bytes of a key or value */
#define SNAPSHOT_RULES_MAX   16           /* pairs in the `save` option */
#define SNAPSHOT_RETRY_MS                                                      \
    5000 /* ms before a failed BGSAVE is                                       \
            retried by the schedule */

/* The error a data command gets while a snapshot is loading. */
#define SNAPSHOT_LOADING_ERR "LOADING offheapd is loading the dataset in memory"
/* The error a write command gets while snapshots are failing (Redis's). */
#define SNAPSHOT_MISCONF_ERR                                                   \
    "MISCONF offheapd is configured to save snapshots, but it's currently "    \
    "unable to persist to disk. Commands that may modify the data set are "    \
    "disabled, because this instance is configured to report errors during "   \
    "writes if snapshotting fails (stop-writes-on-bgsave-error option). "      \
    "Please check the offheapd logs for details about the snapshot error."

/* clang-format off */
/*  name       code  message */
#define SNAPSHOT_ERRORS(X)                                                  \
    X(OK,         0, "ok")                                                  \
    X(NOFILE,    -1, "no snapshot file")                                    \
    X(IO,        -2, "I/O error (see the log)")                             \
    X(BADMAGIC,  -3, "not an offheap snapshot (bad magic)")                 \
    X(BADVERSION,-4, "unsupported snapshot version")                        \
    X(TRUNCATED, -5, "snapshot is truncated")                               \
    X(CORRUPT,   -6, "snapshot is malformed")                               \
    X(CHECKSUM,  -7, "snapshot checksum mismatch")                          \
    X(BUSY,      -8, "a background save is in progress")                    \
    X(NOMEM,     -9, "out of memory")                                       \
    X(DISABLED, -10, "no snapshot file configured (snapshot-file is empty)") \
    X(REFUSED,  -11, "bad snapshot; refusing to start (snapshot-on-corrupt refuse)") \
    X(INTERRUPTED, -12, "save interrupted by a second stop signal")
/* clang-format on */

typedef enum {
#define X(name, code, msg) SNAPSHOT_##name = (code),
    SNAPSHOT_ERRORS(X)
#undef X
} snapshot_rc;

/* Makes a save in progress stop at its next batch, leave the previous
 * snapshot untouched and remove its temporary file (a second SIGTERM while
 * saving at shutdown). Async-signal-safe. */
void snapshot_interrupt(void);

/* Returns the message of a snapshot_rc (a static string). */
const char *snapshot_strerror(int rc);

/* What one save or load did. */
struct snapshot_result {
    uint64_t keys;     /* entries written, or stored into the engine */
    uint64_t expired;  /* load: dropped, they expired meanwhile */
    uint64_t rejected; /* load: the engine refused them (memory full) */
    uint64_t bytes;    /* size of the file */
    oh_time created;   /* load: when the snapshot was written (ms) */
};

/* ---- lifecycle and settings ---- */

/* Resets the statistics; `now` becomes the last save time (as Redis's
 * LASTSAVE at start-up). Called twice, warns and re-creates. */
void snapshot_setup(oh_time now);
/* Stops a running background save (and removes its temporary file), ends
 * a load in progress. Without setup, does nothing. */
void snapshot_teardown(void);
/* Applies the options: the snapshot file (relative to the working dir;
 * "" disables snapshots), the background save schedule as Redis's `save`
 * option ("<seconds> <changes> ..." pairs: save when at least <changes>
 * writes happened and <seconds> passed since the last save; "" none), and
 * what a bad file at start-up does (true: refuse to start). Returns 0, or
 * -1 if `save` is malformed (then no schedule is kept). */
int snapshot_reconfigure(const char *file, const char *save,
                         bool refuse_corrupt);
/* The configured file ("" when disabled). BORROWED until the next
 * snapshot_reconfigure(). */
const char *snapshot_file(void);

/* Called every 64 MiB of a foreground save or load with the bytes done and
 * the total (0 if unknown), so main.c can ping the systemd watchdog. NULL:
 * none. Never called in a background-save child. */
extern void (*snapshot_on_progress)(uint64_t done, uint64_t total);

/* ---- save ---- */

/* Writes every live entry as of `now` to `path` (atomically, see above).
 * Returns 0 and fills *out (may be NULL), or a negative snapshot_rc after
 * logging; the previous file at `path` is then untouched. */
int snapshot_save(const char *path, oh_time now, struct snapshot_result *out);
/* Forks a child that runs snapshot_save(path, now) and _exit()s. Returns 0
 * once the child runs, SNAPSHOT_BUSY if one already does (or a load is in
 * progress), SNAPSHOT_IO if fork failed. */
int snapshot_save_background(const char *path, oh_time now);
/* Collects a finished background save without blocking (waitpid WNOHANG).
 * Returns 0 if none finished, 1 if one succeeded, -1 if one failed. */
int snapshot_poll_child(oh_time now);
/* Tells whether snapshots are failing as Redis's stop-writes-on-bgsave-error
 * means it: a save schedule is set and the last background save failed (a
 * later successful SAVE or BGSAVE clears it). Without a schedule nothing
 * would retry, so a failed manual BGSAVE does not count, as in Redis. */
bool snapshot_save_failing(void);
/* Tells whether a background save child is running. */
bool snapshot_bgsave_in_progress(void);
/* Tick work: collects the child, starts the background saves the `save`
 * schedule or BGSAVE SCHEDULE ask for (a failed one is retried after
 * SNAPSHOT_RETRY_MS). */
void snapshot_cron(oh_time now);
/* Counts `n` changes to the keyspace (rdb_changes_since_last_save). */
void snapshot_note_write(uint64_t n);

/* ---- load ---- */

/* Loads `path` into the engine in one go, dropping entries expired as of
 * `now`. Returns 0 (SNAPSHOT_NOFILE if there is no file: nothing loaded),
 * or a negative snapshot_rc; on error the engine is flushed so it never
 * holds part of a bad file. Fills *out (may be NULL). */
int snapshot_load(const char *path, oh_time now, struct snapshot_result *out);
/* Opens the configured snapshot for an incremental load and checks its
 * header. Returns 0 if loading started (snapshot_loading() is now true),
 * SNAPSHOT_NOFILE/SNAPSHOT_DISABLED if there is nothing to load, or the
 * result of a bad file as snapshot_load_step() returns it. */
int snapshot_load_begin(oh_time now);
/* Loads about `budget_bytes` more of the file. Returns 1 while more
 * remains, 0 when done (loaded, or the file was bad and set aside under
 * snapshot-on-corrupt empty: the engine is then empty), or SNAPSHOT_REFUSED
 * (bad file under snapshot-on-corrupt refuse: the file is left in place
 * and the server must exit with EX_DATAERR). */
int snapshot_load_step(oh_time now, size_t budget_bytes);
/* Tells whether an incremental load is in progress (INFO loading:1; data
 * commands answer SNAPSHOT_LOADING_ERR). */
bool snapshot_loading(void);
/* Renames a bad snapshot aside to "<path>.corrupt-<now>" and writes the
 * new name into aside (cap bytes). Returns 0 or -1 (errno set). */
int snapshot_quarantine(const char *path, oh_time now, char *aside, size_t cap);

/* ---- shutdown ---- */

/* Called once the event loop has stopped: stops a background save, and
 * unless SHUTDOWN NOSAVE was asked, a load was interrupted, SHUTDOWN
 * already saved, or snapshots are disabled, saves synchronously. Returns 0
 * or a negative snapshot_rc (logged). */
int snapshot_shutdown(oh_time now);

/* ---- statistics ---- */

/* Writes INFO's persistence section ("name:value\r\n" lines, Redis names)
 * into buf (cap bytes, NUL-terminated). Returns the length. */
size_t snapshot_info(char *buf, size_t cap, oh_time now);
/* Unix time (s) of the last successful save (LASTSAVE). */
int64_t snapshot_last_save(void);

/* ---- commands (routed from cmd_table.h) ---- */
/* SAVE */
void snapshot_cmd_save(struct conn *c, const struct cmd_req *r);
/* BGSAVE [SCHEDULE] */
void snapshot_cmd_bgsave(struct conn *c, const struct cmd_req *r);
/* LASTSAVE */
void snapshot_cmd_lastsave(struct conn *c, const struct cmd_req *r);
/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] */
void snapshot_cmd_shutdown(struct conn *c, const struct cmd_req *r);

/* ---- exposed for tests ---- */
/* Extends a CRC-32C (Castagnoli) `crc` (0 to start) over p[0..n). */
uint32_t snapshot_crc32c(uint32_t crc, const void *p, size_t n);
