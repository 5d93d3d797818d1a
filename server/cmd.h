/* cmd.h: command dispatch. The table is cmd_table.h; handlers live in
 * cmd_server.c (connection and server commands), cmd_string.c (string
 * commands), cmd_keys.c (key-space commands), cmd_dump.c (DUMP RESTORE)
 * and cmd_multi.c (transactions). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oh_time.h"
#include "options.h"
#include "proto/resp.h"

struct conn;

/* Command flags (the only place they are documented):
 * CMD_READ     reads the keyspace                   (COMMAND: readonly)
 * CMD_WRITE    may modify the keyspace; signals modified keys to WATCH
 * CMD_DENYOOM  refused with -OOM while memory is full under noeviction
 * CMD_FAST     O(1) or O(log n)                     (COMMAND: fast)
 * CMD_ADMIN    administrative                       (COMMAND: admin)
 * CMD_NOAUTH   allowed before AUTH                  (COMMAND: no_auth)
 * CMD_STALE    allowed while loading                (COMMAND: loading)
 * CMD_NOQUEUE  executed at once inside MULTI (MULTI EXEC DISCARD WATCH)
 * CMD_NOMULTI  refused inside MULTI (SAVE SHUTDOWN MONITOR)  (no_multi) */
#define CMD_READ    (1u << 0)
#define CMD_WRITE   (1u << 1)
#define CMD_DENYOOM (1u << 2)
#define CMD_FAST    (1u << 3)
#define CMD_ADMIN   (1u << 4)
#define CMD_NOAUTH  (1u << 5)
#define CMD_STALE   (1u << 6)
#define CMD_NOQUEUE (1u << 7)
#define CMD_NOMULTI (1u << 8)

/* One request as a handler sees it. argv[0] is the command name; the
 * strings are zero-copy views into the connection's input buffer, BORROWED
 * for the duration of the handler call only. */
struct cmd_req {
    int argc;
    const struct resp_str *argv;
    oh_time now; /* the tick's time, ms since the epoch */
};

typedef void cmd_handler(struct conn *c, const struct cmd_req *r);

struct cmd_def {
    const char *name; /* lower case */
    cmd_handler *handler;
    int arity;
    unsigned flags;
    int first_key, last_key, key_step;
    const char *group, *since;
    const char *args; /* argument syntax, see cmd_table.h */
    const char *summary;
};

/* The ids: CMD_ID_get, CMD_ID_set, ... and CMD_ID_COUNT. */
typedef enum {
#define X(name, fn, ar, fl, fk, lk, ks, grp, since, args, sum) CMD_ID_##name,
#include "cmd_table.h"
    OH_COMMANDS(X)
#undef X
        CMD_ID_COUNT
} cmd_id;

/* Every handler, declared once from the table (aliases share one). */
cmd_handler cmd_ping, cmd_echo, cmd_quit, cmd_select, cmd_hello, cmd_auth,
    cmd_client, cmd_reset, cmd_info, cmd_config, cmd_command, cmd_dbsize,
    cmd_flushdb, cmd_flushall, cmd_time, cmd_memory, cmd_debug, cmd_monitor,
    cmd_get, cmd_set, cmd_setnx, cmd_setex, cmd_psetex, cmd_getex, cmd_getdel,
    cmd_getset, cmd_mget, cmd_mset, cmd_msetnx, cmd_append, cmd_strlen,
    cmd_getrange, cmd_setrange, cmd_incr, cmd_decr, cmd_incrby, cmd_decrby,
    cmd_incrbyfloat, cmd_del, cmd_exists, cmd_type, cmd_rename, cmd_renamenx,
    cmd_expire, cmd_pexpire, cmd_expireat, cmd_pexpireat, cmd_expiretime,
    cmd_pexpiretime, cmd_ttl, cmd_pttl, cmd_persist, cmd_touch, cmd_scan,
    cmd_keys, cmd_randomkey, cmd_multi, cmd_exec, cmd_discard, cmd_watch,
    cmd_unwatch, cmd_function, cmd_lcs, cmd_getbit, cmd_setbit, cmd_bitcount,
    cmd_bitpos, cmd_bitop, cmd_copy, cmd_object, cmd_dump, cmd_restore,
    cmd_localread;

/* The table, indexed by cmd_id. */
extern const struct cmd_def cmd_table[CMD_ID_COUNT];

/* Applies rename-command entries ("<command> <new-name>"; an empty new name
 * disables the command). Returns 0, or -1 with a reason in err. */
int cmd_setup(const struct oh_config *c, char *err, size_t cap);
/* Forgets the renames. */
void cmd_teardown(void);
/* Returns the name clients use for `d` (renamed or not), or NULL if the
 * command is disabled. */
const char *cmd_name(const struct cmd_def *d);
/* Returns how many commands are enabled. */
size_t cmd_enabled_count(void);

/* Finds an enabled command by the name clients use (case-insensitive).
 * Returns NULL if unknown or disabled. */
const struct cmd_def *cmd_lookup(const char *name, size_t len);

/* Runs one complete request for `c`: checks arity, authentication,
 * MULTI queueing and OOM, then calls the handler and counts it. */
void cmd_dispatch(struct conn *c, const struct cmd_req *r);

/* Sends an executed request to every MONITOR client, the sender included
 * (cheap when there is none). Callers skip admin commands; AUTH's and
 * HELLO's secrets show as "(redacted)". Implemented in cmd_monitor.c. */
void cmd_monitor_feed(const struct conn *from, const struct cmd_req *r);
/* Forgets a closing client that was a monitor. */
void cmd_monitor_forget(struct conn *c);

/* Tells WATCH that `key` was modified (called by write handlers after each
 * successful change of a key). Cheap when nothing is watched. */
void cmd_key_modified(const char *key, size_t klen);
/* Tells WATCH that every key existing at `now` is about to be removed
 * (FLUSHDB, FLUSHALL): call before the flush. */
void cmd_all_keys_modified(oh_time now);

/* A subcommand (CLIENT LIST, CONFIG GET...): arity as for commands,
 * counting the parent and the subcommand name. A table of them ends with a
 * {NULL} row. */
struct cmd_sub {
    const char *name; /* lower case */
    int arity;
    cmd_handler *handler;
    unsigned flags; /* CMD_ADMIN where the parent is not (CLIENT LIST) */
};
/* Runs the subcommand named by argv[1] from `subs`, after checking its
 * arity. Replies Redis's errors for an unknown subcommand ("ERR unknown
 * subcommand 'x'. Try CLIENT HELP.") or a wrong count ("ERR wrong number
 * of arguments for 'client|setname' command"). */
void cmd_sub_dispatch(struct conn *c, const struct cmd_req *r,
                      const char *parent, const struct cmd_sub *subs);

/* ---- between the cmd_*.c files ---- */
/* Queues a copy of the request for EXEC (cmd_multi.c). */
void cmd_multi_queue(struct conn *c, const struct cmd_req *r,
                     const struct cmd_def *d);
/* Runs a queued command inside EXEC, without queueing or auth checks
 * (cmd.c). */
void cmd_call_queued(struct conn *c, const struct cmd_req *r);
/* COMMAND DOCS (cmd_docs.c). */
void cmd_docs_reply(struct conn *c, const struct cmd_req *r);
/* Resets the statistics INFO shows (CONFIG RESETSTAT; cmd_info.c). */
void cmd_info_resetstat(void);
/* Samples memory for INFO's used_memory_peak (called every tick). */
void cmd_info_sample(void);

/* Forgets the client's queued transaction and watched keys (on RESET, on
 * close). Implemented in cmd_multi.c. */
void cmd_multi_reset(struct conn *c);

/* ---- argument helpers for handlers ---- */
/* Case-insensitive comparison of an argument with a lower-case word. */
bool cmd_arg_is(const struct resp_str *a, const char *word);
/* Parses an argument as a long long (Redis's rules). Returns false if it is
 * not an integer or out of range. */
bool cmd_arg_ll(const struct resp_str *a, long long *out);
/* Parses an argument as a long double that is not NaN (INCRBYFLOAT). */
bool cmd_arg_ld(const struct resp_str *a, long double *out);
/* Converts an expiry argument v (seconds if `secs`, else ms; after `now`
 * if `relative`, else absolute) to an absolute time in ms in *out. Returns
 * false if that cannot be represented ("invalid expire time"). */
bool cmd_expiry_ms(long long v, bool secs, bool relative, oh_time now,
                   long long *out);

/* Per-command counters for INFO commandstats. */
struct cmd_stats {
    uint64_t calls, usec, rejected_calls, failed_calls;
};
extern struct cmd_stats cmd_stats[CMD_ID_COUNT];
