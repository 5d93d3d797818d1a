/*
 * latency.c -- the latency monitor: LATENCY LATEST / HISTORY / RESET.
 *
 * A few named events ("engine-step", "command", "snapshot-save",
 * "snapshot-fork", ...) are timed by their callers, which report a spike
 * with latency_record() when it reaches latency-monitor-threshold ms. Each
 * event keeps the latest spike, the all-time maximum and a ring of the last
 * LATENCY_HISTORY samples, one per second at most (two spikes in the same
 * second keep the larger), as Redis's latency monitor does.
 *
 *   events[]: { name, latest, max, ring[160] }  ring: oldest .. newest
 *
 * Invariants: at most LATENCY_EVENTS_MAX names; a record for an unknown
 * name when full is dropped (and counted in latency_dropped). Names are
 * static strings of the callers; they are never freed.
 * Rejected: a histogram per event (LATENCY HISTOGRAM is per command in
 * Redis 7 and cmd.c already keeps per-command µs totals).
 */
#include "latency.h"

#include "cmd.h"
#include "conn.h"
#include "reply.h"

#include <string.h>
#include <strings.h>

#define LATENCY_EVENTS_MAX 16 /* distinct event names */

struct sample {
    int64_t time_s; /* unix seconds */
    uint64_t ms;
};

struct event {
    const char *name; /* NULL: free slot */
    struct sample latest;
    uint64_t max_ms;
    struct sample ring[LATENCY_HISTORY];
    size_t head, n; /* ring: oldest at head, n samples */
};

static struct event events[LATENCY_EVENTS_MAX];
static uint64_t threshold_ms;
static uint64_t latency_dropped;

void
latency_reconfigure(uint64_t threshold)
{
    threshold_ms = threshold;
}

static struct event *
find(const char *name, size_t len, bool create)
{
    for (size_t i = 0; i < LATENCY_EVENTS_MAX; i++) {
        const char *n = events[i].name;
        if (n != NULL && strlen(n) == len && strncasecmp(n, name, len) == 0) {
            return &events[i];
        }
    }
    for (size_t i = 0; create && i < LATENCY_EVENTS_MAX; i++) {
        if (events[i].name == NULL) {
            memset(&events[i], 0, sizeof(events[i]));
            events[i].name = name;
            return &events[i];
        }
    }
    return NULL;
}

static void
push(struct event *e, struct sample s)
{
    if (e->n > 0) {
        struct sample *last = &e->ring[(e->head + e->n - 1) % LATENCY_HISTORY];
        if (last->time_s == s.time_s) {
            if (s.ms > last->ms) {
                last->ms = s.ms;
            }
            return;
        }
    }
    if (e->n == LATENCY_HISTORY) {
        e->head = (e->head + 1) % LATENCY_HISTORY;
        e->n--;
    }
    e->ring[(e->head + e->n) % LATENCY_HISTORY] = s;
    e->n++;
}

void
latency_record(const char *event, uint64_t ms, oh_time now)
{
    if (threshold_ms == 0 || ms < threshold_ms) {
        return;
    }
    struct event *e = find(event, strlen(event), true);
    if (e == NULL) {
        latency_dropped++;
        return;
    }
    struct sample s = {now / 1000, ms};
    e->latest = s;
    if (ms > e->max_ms) {
        e->max_ms = ms;
    }
    push(e, s);
}

size_t
latency_reset(const char *event)
{
    size_t n = 0;
    for (size_t i = 0; i < LATENCY_EVENTS_MAX; i++) {
        if (events[i].name != NULL &&
            (event == NULL || strcasecmp(events[i].name, event) == 0)) {
            memset(&events[i], 0, sizeof(events[i]));
            n++;
        }
    }
    return n;
}

bool
latency_latest(const char *event, int64_t *time_s, uint64_t *latest_ms,
               uint64_t *max_ms)
{
    struct event *e = find(event, strlen(event), false);
    if (e == NULL) {
        return false;
    }
    *time_s = e->latest.time_s;
    *latest_ms = e->latest.ms;
    *max_ms = e->max_ms;
    return true;
}

/* ---- LATENCY ---- */

static void
latest_reply(struct conn *c)
{
    size_t n = 0;
    for (size_t i = 0; i < LATENCY_EVENTS_MAX; i++) {
        n += events[i].name != NULL;
    }
    reply_array(c, n);
    for (size_t i = 0; i < LATENCY_EVENTS_MAX; i++) {
        const struct event *e = &events[i];
        if (e->name == NULL) {
            continue;
        }
        reply_array(c, 4);
        reply_bulk_cstr(c, e->name);
        reply_int(c, e->latest.time_s);
        reply_int(c, (long long)e->latest.ms);
        reply_int(c, (long long)e->max_ms);
    }
}

static void
history_reply(struct conn *c, const struct resp_str *name)
{
    const struct event *e = find(name->p, name->len, false);
    if (e == NULL) {
        reply_array(c, 0);
        return;
    }
    reply_array(c, e->n);
    for (size_t i = 0; i < e->n; i++) {
        const struct sample *s = &e->ring[(e->head + i) % LATENCY_HISTORY];
        reply_array(c, 2);
        reply_int(c, s->time_s);
        reply_int(c, (long long)s->ms);
    }
}

static void
reset_reply(struct conn *c, const struct cmd_req *r)
{
    if (r->argc == 2) {
        reply_int(c, (long long)latency_reset(NULL));
        return;
    }
    long long n = 0;
    for (int i = 2; i < r->argc; i++) {
        struct event *e = find(r->argv[i].p, r->argv[i].len, false);
        if (e != NULL) {
            memset(e, 0, sizeof(*e));
            n++;
        }
    }
    reply_int(c, n);
}

static void
help_reply(struct conn *c)
{
    static const char *const lines[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event>.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HELP",
        "    Print this help.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

void
latency_cmd(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *sub = &r->argv[1];
    if (cmd_arg_is(sub, "latest") && r->argc == 2) {
        latest_reply(c);
    } else if (cmd_arg_is(sub, "history") && r->argc == 3) {
        history_reply(c, &r->argv[2]);
    } else if (cmd_arg_is(sub, "reset")) {
        reset_reply(c, r);
    } else if (cmd_arg_is(sub, "help") && r->argc == 2) {
        help_reply(c);
    } else {
        reply_errorf(c,
                     "ERR unknown subcommand or wrong number of arguments "
                     "for '%.*s'. Try LATENCY HELP.",
                     (int)(sub->len < 128 ? sub->len : 128), sub->p);
    }
}
