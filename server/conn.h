/* conn.h: one client connection: socket, input buffer and parser state,
 * output queue, protocol version, authentication, transaction state.
 * Only conn.c (and ev.c) touch libevent. All fields are owned by the event
 * loop thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "oh_time.h"
#include "proto/resp.h"

struct event;
struct out_chunk;
struct multi_cmd;
struct watch_key;
struct localread_client;

#define CONN_NAME_MAX 128 /* bytes of CLIENT SETNAME / SETINFO values */
#define CONN_ADDR_MAX 64  /* "ip:port" text */

struct conn {
    uint64_t id;
    int fd;
    bool is_unix;
    struct event *ev_read, *ev_write;
    struct conn *prev, *next; /* in the list of all clients */

    /* input: [ibuf, ibuf + ilen) read so far; a request starts at ipos */
    char *ibuf;
    size_t icap, ilen, ipos;
    size_t ipeak; /* most bytes ilen reached since the last resize check */
    struct resp_parser parser;
    struct resp_arg *args; /* offsets of the current request's arguments */
    size_t args_cap;
    struct resp_str *argv; /* the same as pointers, built before dispatch */
    size_t argv_cap;

    /* output: a queue of chunks (copied bytes or pinned engine items) */
    struct out_chunk *out_head, *out_tail;
    uint64_t out_bytes;      /* bytes queued and not yet written */
    oh_time obuf_soft_since; /* when out_bytes passed the soft limit, 0 */
    size_t out_chunks;

    int resp; /* 2 or 3 */
    bool authenticated;
    bool closing;     /* close once the pending replies are written */
    bool close_now;   /* close without writing (errors, limits) */
    bool in_dispatch; /* a request is being executed */
    bool monitor;     /* receives every command (MONITOR) */
    bool reply_off;   /* CLIENT REPLY OFF: replies are dropped */
    bool reply_skip;  /* CLIENT REPLY SKIP: drop the next command's reply */
    bool reply_keep;  /* set by CLIENT REPLY ON: keep this reply */

    /* MULTI / WATCH */
    bool in_multi;
    bool in_exec;     /* EXEC is running the queued commands */
    bool multi_dirty; /* a queued command was refused: EXECABORT */
    struct multi_cmd *multi_head, *multi_tail;
    size_t multi_count;
    bool watch_dirty;          /* a watched key changed */
    struct watch_key *watched; /* list of keys this client watches */

    struct localread_client *lr; /* LOCALREAD MAP's feedback, or NULL */

    oh_time created, last_active; /* ms */
    int last_cmd;                 /* cmd_id of the last command, -1 none */
    const char *last_sub;         /* its subcommand name (static), or NULL */
    unsigned last_sub_flags;      /* that subcommand's CMD_ flags */
    char addr[CONN_ADDR_MAX], laddr[CONN_ADDR_MAX];
    char name[CONN_NAME_MAX], lib_name[CONN_NAME_MAX], lib_ver[CONN_NAME_MAX];
};

/* Module lifecycle: needs ev_setup() first. */
void conn_setup(void);
/* Closes every connection. */
void conn_teardown(void);

/* Adopts an accepted socket. Refuses it with -ERR max number of clients
 * reached when full, and non-loopback TCP peers in protected mode. */
void conn_accept(int fd, bool is_unix);

/* Writes the replies every client is owed, waiting up to timeout_ms for
 * slow sockets (graceful shutdown). */
void conn_flush_all(int timeout_ms);
/* Marks `c` to be closed after its pending replies are written. */
void conn_close_after_reply(struct conn *c);
/* Writes pending output of a client that is not the one being served
 * (MONITOR feeds), now or when its socket is ready. */
void conn_out_push(struct conn *c);
/* Marks `c` to be closed at once (CLIENT KILL). Safe from inside a
 * command: the connection is freed after the current request. */
void conn_kill(struct conn *c);

/* The list of all clients (for CLIENT LIST/KILL and INFO). */
struct conn *conn_first(void);
size_t conn_count(void);
/* Finds a client by id; NULL if none. */
struct conn *conn_by_id(uint64_t id);
/* Periodic work: closes idle clients (timeout), applies output limits,
 * shrinks the input buffers of idle clients. */
void conn_cron(oh_time now);

/* Appends raw bytes to the output queue. */
void conn_out_append(struct conn *c, const void *p, size_t len);
/* Queues the value of a PINNED item without copying; the pin is released
 * once written (or when the connection closes). */
void conn_out_item(struct conn *c, struct engine_item *item);
/* Reserves `len` bytes of output to be filled later (deferred lengths):
 * they end their chunk, so they can shrink. Returns a pointer to them,
 * stable until the reply is complete, and their chunk in *chunk. */
char *conn_out_reserve(struct conn *c, size_t len, struct out_chunk **chunk);
/* Returns the start of the `reserved` bytes at the end of `chunk`. */
char *conn_out_reserved_ptr(struct out_chunk *chunk, size_t reserved);
/* Shrinks the `reserved` bytes reserved at the end of `chunk` to `used`. */
void conn_out_fix(struct conn *c, struct out_chunk *chunk, size_t reserved,
                  size_t used);

/* Statistics for INFO clients/stats. */
struct conn_stats {
    uint64_t connections_received, rejected_connections, total_commands;
    uint64_t net_input_bytes, net_output_bytes, protocol_errors;
    uint64_t client_query_buffer_limit_disconnections;
    uint64_t client_output_buffer_limit_disconnections;
    uint64_t max_input_buffer, max_output_buffer; /* recent maxima */
};
extern struct conn_stats conn_stats;
/* Writes one CLIENT LIST line for `c` (without the newline) into buf. */
size_t conn_describe(const struct conn *c, oh_time now, char *buf, size_t cap);
