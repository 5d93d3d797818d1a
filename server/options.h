/* options.h: THE list of configuration options.
 *
 * The C field is the name below; the config-file key and the CONFIG GET/SET
 * name are the same with '_' written as '-' (Redis's spelling, e.g.
 * proto-max-bulk-len). config.c builds its table from this list, and
 * cfg_defaults(), cfg_load(), CONFIG GET/SET, --help-config and the test of
 * conf/offheapd.conf all iterate over it. A module owns the options with its
 * prefix; the engine's live in engine/engine_options.h. */
#pragma once

#include <stdint.h>

#include "engine/engine_options.h"

typedef enum {
    OPT_UINT,  /* unsigned integer, checked against [min, max] */
    OPT_BYTES, /* byte count; accepts b, k, kb, m, mb, g, gb suffixes */
    OPT_BOOL,  /* yes | no */
    OPT_OCTAL, /* file mode, octal digits */
    OPT_STR,   /* free text ("" when unset) */
    OPT_ENUM,  /* one word of the |-separated list held in default_str's
                  companion: the option's `choices` */
    OPT_LIST,  /* repeatable: each occurrence in the file or on the command
                  line adds one entry (entries are kept '\n'-separated) */
    OPT_OBUF,  /* client output buffer limits, Redis's form: "class hard
                  soft seconds" groups (a value updates only the classes it
                  names), or one byte count (the normal class's hard limit) */
} opt_type;

typedef enum {
    OPT_STATIC = 0, /* read at start-up only */
    OPT_LIVE = 1,   /* CONFIG SET changes it at run time */
    OPT_SECRET = 2, /* never logged */
} opt_flags;

/* Redis's defaults for the classes offheapd has no clients of; a normal
 * client may queue 1 GiB. */
#define OBUF_DEFAULT                                                           \
    "normal 1073741824 0 0 replica 268435456 67108864 60 pubsub 33554432 "     \
    "8388608 60"

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

/* C type of each option type */
#define OPT_CTYPE_OPT_UINT  uint64_t
#define OPT_CTYPE_OPT_BYTES uint64_t
#define OPT_CTYPE_OPT_BOOL  uint64_t
#define OPT_CTYPE_OPT_OCTAL uint64_t
#define OPT_CTYPE_OPT_STR   char *
#define OPT_CTYPE_OPT_ENUM  char *
#define OPT_CTYPE_OPT_LIST  char *
#define OPT_CTYPE_OPT_OBUF  char *

/* clang-format off */
/*  name                       type       num default   str default   min  max          flags       choices (ENUM) / description */
#define OH_SERVER_OPTIONS(X)                                                                                                   \
    X(port,                    OPT_UINT,  6388,         NULL,         0,   65535,       OPT_STATIC, NULL,                       \
      "TCP port to listen on (0: no TCP listener)")                                                                           \
    X(bind,                    OPT_STR,   0,            "127.0.0.1",  0,   0,           OPT_STATIC, NULL,                       \
      "space-separated addresses to listen on; loopback by default")                                                          \
    X(tcp_backlog,             OPT_UINT,  511,          NULL,         1,   65535,       OPT_STATIC, NULL,                       \
      "listen(2) backlog")                                                                                                    \
    X(unixsocket,              OPT_STR,   0,            "",           0,   0,           OPT_STATIC, NULL,                       \
      "path of a Unix socket to listen on (empty: none)")                                                                     \
    X(unixsocketperm,          OPT_OCTAL, 0700,         NULL,         0,   0777,        OPT_STATIC, NULL,                       \
      "permissions of the Unix socket")                                                                                       \
    X(protected_mode,          OPT_BOOL,  1,            NULL,         0,   1,           OPT_LIVE,   NULL,                       \
      "refuse non-loopback clients while no requirepass is set")                                                              \
    X(requirepass,             OPT_STR,   0,            "",           0,   0,           OPT_LIVE | OPT_SECRET, NULL,            \
      "password clients must AUTH with (empty: none)")                                                                        \
    X(maxclients,              OPT_UINT,  10000,        NULL,         1,   1000000,     OPT_LIVE,   NULL,                       \
      "maximum simultaneous client connections")                                                                              \
    X(timeout,                 OPT_UINT,  0,            NULL,         0,   2147483647,  OPT_LIVE,   NULL,                       \
      "close a client idle for this many seconds (0: never)")                                                                 \
    X(tcp_keepalive,           OPT_UINT,  300,          NULL,         0,   2147483647,  OPT_LIVE,   NULL,                       \
      "TCP keepalive interval in seconds (0: off)")                                                                           \
    X(proto_max_bulk_len,      OPT_BYTES, 512 * MiB,    NULL,         1 * MiB, 4 * GiB, OPT_LIVE,   NULL,                       \
      "largest bulk string a request may carry")                                                                              \
    X(client_query_buffer_limit, OPT_BYTES, 1 * GiB,    NULL,         1 * MiB, 4 * GiB, OPT_LIVE,   NULL,                       \
      "largest unparsed input a client may queue")                                                                            \
    X(client_output_buffer_limit, OPT_OBUF, 0,          OBUF_DEFAULT, 0,   0,           OPT_LIVE,   NULL,                       \
      "per class (normal, replica, pubsub): close a client whose pending output passes `hard`, or stays above `soft` for `seconds` (0: no limit); only normal clients exist")                   \
    X(hz,                      OPT_UINT,  100,          NULL,         1,   1000,        OPT_LIVE,   NULL,                       \
      "background ticks per second (expiry, eviction, compaction, timeouts)")                                                 \
    X(loglevel,                OPT_ENUM,  0,            "notice",     0,   0,           OPT_LIVE,   "debug|verbose|notice|warning", \
      "least severe message logged")                                                                                          \
    X(logfile,                 OPT_STR,   0,            "",           0,   0,           OPT_STATIC, NULL,                       \
      "file to log to (empty: standard error)")                                                                               \
    X(dir,                     OPT_STR,   0,            ".",          0,   0,           OPT_STATIC, NULL,                       \
      "working directory (snapshots are written here)")                                                                       \
    X(databases,               OPT_UINT,  1,            NULL,         1,   1,           OPT_STATIC, NULL,                       \
      "number of databases (offheapd has one: SELECT 0)")                                                                     \
    X(rename_command,          OPT_LIST,  0,            "",           0,   0,           OPT_STATIC, NULL,                       \
      "\"<command> <new-name>\" renames a command; an empty new name disables it (repeat for each)")                          \
    X(save,                    OPT_STR,   0,            "",           0,   0,           OPT_LIVE,   NULL,                       \
      "snapshot schedule as \"<seconds> <changes> ...\" pairs (empty: only on shutdown and SAVE)")                             \
    X(snapshot_file,           OPT_STR,   0,            "dump.offheap", 0, 0,           OPT_LIVE,   NULL,                       \
      "snapshot file in dir: loaded at start-up, written at shutdown, by SAVE/BGSAVE and the save schedule (empty: none)")   \
    X(snapshot_on_corrupt,     OPT_ENUM,  0,            "empty",      0,   0,           OPT_LIVE,   "empty|refuse",             \
      "a bad snapshot at start-up: rename it aside and start empty, or leave it and refuse to start (exit 65)")               \
    X(stop_writes_on_bgsave_error, OPT_BOOL, 1,         NULL,         0,   1,           OPT_LIVE,   NULL,                       \
      "refuse write commands (-MISCONF) while a save schedule is set and the last background save failed, until a save succeeds") \
    X(slowlog_log_slower_than, OPT_UINT,  10000,        NULL,         0,   1000000000,  OPT_LIVE,   NULL,                       \
      "log commands taking at least this many microseconds in the slow log (0: every command)")                               \
    X(slowlog_max_len,         OPT_UINT,  128,          NULL,         0,   1000000,     OPT_LIVE,   NULL,                       \
      "entries the slow log keeps (0: slow log off)")                                                                         \
    X(latency_monitor_threshold, OPT_UINT, 0,           NULL,         0,   86400000,    OPT_LIVE,   NULL,                       \
      "LATENCY records events (commands, engine steps, snapshots) of at least this many milliseconds (0: off)")               \
    X(appendonly,              OPT_BOOL,  0,            NULL,         0,   0,           OPT_STATIC, NULL,                       \
      "offheapd keeps no append-only file: always no")
/* clang-format on */

#define OH_OPTIONS(X) OH_SERVER_OPTIONS(X) ENGINE_OPTIONS(X)

struct oh_config {
#define X(name, type, num, str, min, max, flags, choices, desc)                \
    OPT_CTYPE_##type name;
    OH_OPTIONS(X)
#undef X
};
