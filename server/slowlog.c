/*
 * slowlog.c -- the slow log: the last N commands slower than a threshold.
 *
 * cmd.c times every command; slowlog_record() copies the slow ones into a
 * ring of `max_len` entries. Each entry is one allocation: the header,
 * then the kept arguments back to back.
 *
 *   ring: [e5][e6][e2][e3][e4]      head -> e2 (oldest), newest = e6
 *   entry: { id, time, µs, argc, lens[argc], addr, name } bytes...
 *
 * Arguments are shortened as Redis does, so tools that parse SLOWLOG GET
 * see the same shapes: at most 32 arguments (the 32nd then reads "... (N
 * more arguments)"), each at most 128 bytes (then "... (N more bytes)").
 *
 * Invariants: n <= cap; ids grow by one per recorded entry and survive
 * SLOWLOG RESET; changing slowlog-max-len keeps the newest entries.
 * Cost: one malloc per slow command (slow commands are rare by design).
 * Rejected: a fixed-size slot per entry (32 * 128 B = 4 KiB each, mostly
 * unused).
 */
#include "slowlog.h"

#include "cmd.h"
#include "conn.h"
#include "reply.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOWLOG_GET_DEFAULT 10  /* entries SLOWLOG GET returns by default */
#define SLOWLOG_CLIENT_MAX  128 /* bytes of a client address or name */
#define SLOWLOG_NOTE_MAX    48  /* bytes of a "... (N more ...)" note */

struct entry {
    uint64_t id;
    int64_t time_s;
    uint64_t duration_us;
    int argc;
    size_t lens[SLOWLOG_ARGC_MAX];
    char addr[SLOWLOG_CLIENT_MAX];
    char name[SLOWLOG_CLIENT_MAX];
    char bytes[]; /* the arguments, back to back */
};

static struct {
    struct entry **ring;
    size_t cap, head, n; /* oldest at ring[head] */
    uint64_t next_id;
    uint64_t slower_than_us;
} sl;

static void
entry_destroy(struct entry **e)
{
    free(*e);
    *e = NULL;
}

/* Index in the ring of the i-th newest entry (0: newest). */
static size_t
newest(size_t i)
{
    return (sl.head + sl.n - 1 - i) % sl.cap;
}

void
slowlog_reconfigure(uint64_t log_slower_than_us, uint64_t max_len)
{
    sl.slower_than_us = log_slower_than_us;
    if (max_len == sl.cap) {
        return;
    }
    struct entry **ring = max_len ? calloc(max_len, sizeof(*ring)) : NULL;
    if (max_len != 0 && ring == NULL) {
        return; /* keep the old ring */
    }
    size_t keep = sl.n < max_len ? sl.n : max_len;
    for (size_t i = 0; i < sl.n; i++) {
        struct entry **e = &sl.ring[newest(i)];
        if (i < keep) {
            ring[keep - 1 - i] = *e;
        } else {
            entry_destroy(e);
        }
    }
    free(sl.ring);
    sl.ring = ring;
    sl.cap = max_len;
    sl.head = 0;
    sl.n = keep;
}

void
slowlog_reset(void)
{
    for (size_t i = 0; i < sl.n; i++) {
        entry_destroy(&sl.ring[(sl.head + i) % sl.cap]);
    }
    sl.head = 0;
    sl.n = 0;
}

void
slowlog_teardown(void)
{
    slowlog_reset();
    free(sl.ring);
    sl.ring = NULL;
    sl.cap = 0;
    sl.next_id = 0;
}

size_t
slowlog_len(void)
{
    return sl.n;
}

/* ---- recording ---- */

/* Bytes kept of argument i of `r` (notes included). */
static size_t
kept_len(const struct cmd_req *r, int i)
{
    if (r->argc > SLOWLOG_ARGC_MAX && i == SLOWLOG_ARGC_MAX - 1) {
        return SLOWLOG_NOTE_MAX;
    }
    size_t len = r->argv[i].len;
    return len > SLOWLOG_ARG_MAX ? SLOWLOG_ARG_MAX + SLOWLOG_NOTE_MAX : len;
}

/* Copies argument i of `r` to p, shortened. Returns the bytes written. */
static size_t
copy_arg(char *p, const struct cmd_req *r, int i)
{
    if (r->argc > SLOWLOG_ARGC_MAX && i == SLOWLOG_ARGC_MAX - 1) {
        int n = snprintf(p, SLOWLOG_NOTE_MAX, "... (%d more arguments)",
                         r->argc - SLOWLOG_ARGC_MAX + 1);
        return (size_t)n;
    }
    const struct resp_str *a = &r->argv[i];
    if (a->len <= SLOWLOG_ARG_MAX) {
        memcpy(p, a->p, a->len);
        return a->len;
    }
    memcpy(p, a->p, SLOWLOG_ARG_MAX);
    int n = snprintf(p + SLOWLOG_ARG_MAX, SLOWLOG_NOTE_MAX,
                     "... (%zu more bytes)", a->len - SLOWLOG_ARG_MAX);
    return SLOWLOG_ARG_MAX + (size_t)n;
}

static struct entry *
entry_create(const struct cmd_req *r)
{
    int argc = r->argc < SLOWLOG_ARGC_MAX ? r->argc : SLOWLOG_ARGC_MAX;
    size_t bytes = 0;
    for (int i = 0; i < argc; i++) {
        bytes += kept_len(r, i);
    }
    struct entry *e = malloc(sizeof(*e) + bytes + 1);
    if (e == NULL) {
        return NULL;
    }
    e->argc = argc;
    char *p = e->bytes;
    for (int i = 0; i < argc; i++) {
        e->lens[i] = copy_arg(p, r, i);
        p += e->lens[i];
    }
    return e;
}

void
slowlog_record(const struct cmd_req *r, uint64_t duration_us, oh_time now,
               const char *addr, const char *name)
{
    if (sl.cap == 0 || duration_us < sl.slower_than_us) {
        return;
    }
    struct entry *e = entry_create(r);
    if (e == NULL) {
        return;
    }
    e->id = sl.next_id++;
    e->time_s = now / 1000;
    e->duration_us = duration_us;
    snprintf(e->addr, sizeof(e->addr), "%s", addr != NULL ? addr : "");
    snprintf(e->name, sizeof(e->name), "%s", name != NULL ? name : "");
    if (sl.n == sl.cap) {
        entry_destroy(&sl.ring[sl.head]);
        sl.head = (sl.head + 1) % sl.cap;
        sl.n--;
    }
    sl.ring[(sl.head + sl.n) % sl.cap] = e;
    sl.n++;
}

/* ---- SLOWLOG ---- */

static void
entry_reply(struct conn *c, const struct entry *e)
{
    reply_array(c, 6);
    reply_int(c, (long long)e->id);
    reply_int(c, e->time_s);
    reply_int(c, (long long)e->duration_us);
    reply_array(c, (size_t)e->argc);
    const char *p = e->bytes;
    for (int i = 0; i < e->argc; i++) {
        reply_bulk(c, p, e->lens[i]);
        p += e->lens[i];
    }
    reply_bulk_cstr(c, e->addr);
    reply_bulk_cstr(c, e->name);
}

static void
get_reply(struct conn *c, const struct cmd_req *r)
{
    long long want = SLOWLOG_GET_DEFAULT;
    if (r->argc == 3 && (!cmd_arg_ll(&r->argv[2], &want) || want < -1)) {
        reply_error(c, "ERR count should be greater than or equal to -1");
        return;
    }
    size_t n =
        want < 0 || (unsigned long long)want > sl.n ? sl.n : (size_t)want;
    reply_array(c, n);
    for (size_t i = 0; i < n; i++) {
        entry_reply(c, sl.ring[newest(i)]);
    }
}

static void
help_reply(struct conn *c)
{
    static const char *const lines[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 "
        "means all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client "
        "IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Print this help.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

void
slowlog_cmd(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *sub = &r->argv[1];
    if (cmd_arg_is(sub, "get") && r->argc <= 3) {
        get_reply(c, r);
    } else if (cmd_arg_is(sub, "len") && r->argc == 2) {
        reply_int(c, (long long)sl.n);
    } else if (cmd_arg_is(sub, "reset") && r->argc == 2) {
        slowlog_reset();
        reply_ok(c);
    } else if (cmd_arg_is(sub, "help") && r->argc == 2) {
        help_reply(c);
    } else {
        reply_errorf(c,
                     "ERR unknown subcommand or wrong number of arguments "
                     "for '%.*s'. Try SLOWLOG HELP.",
                     (int)(sub->len < 128 ? sub->len : 128), sub->p);
    }
}
