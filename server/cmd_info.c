/* cmd_info.c: INFO and MEMORY. Sections are one table (name, writer,
 * whether the default INFO includes it); the engine section prints the
 * engine's metrics table, so no stat is written by hand twice. */
#include "cmd.h"

#include "config.h"
#include "conn.h"
#include "engine/engine.h"
#include "ev.h"
#include "localread.h"
#include "reply.h"
#include "snapshot.h"
#include "version.h"

#include <inttypes.h>
#include <jemalloc/jemalloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#define OH_STRINGIFY_(x) #x
#define OH_STRINGIFY(x)  OH_STRINGIFY_(x)

/* A growable text buffer. */
struct text {
    char *p;
    size_t len, cap;
    bool failed; /* an append did not fit in memory: the text is cut */
};

static void text_printf(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_printf(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t ncap = (t->cap + (size_t)n + 1) * 2;
        char *np = realloc(t->p, ncap);
        if (np == NULL) {
            t->failed = true;
            return;
        }
        t->p = np;
        t->cap = ncap;
    }
}

/* Answers with the text (verbatim in RESP3), or an error if it was cut
 * for want of memory; frees it. */
static void
reply_text(struct conn *c, struct text *t)
{
    if (t->failed) {
        reply_error(c, "ERR out of memory");
    } else {
        reply_verbatim(c, t->p != NULL ? t->p : "", t->len);
    }
    free(t->p);
}

static void
human_bytes(char *buf, size_t cap, uint64_t n)
{
    const char *units = "BKMGTP";
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0) {
        snprintf(buf, cap, "%" PRIu64 "B", n);
    } else {
        snprintf(buf, cap, "%.2f%c", v, units[u]);
    }
}

static uint64_t
rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2) {
            resident = 0;
        }
        fclose(f);
    }
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t
jemalloc_stat(const char *name)
{
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    size_t v = 0;
    sz = sizeof(v);
    if (mallctl(name, &v, &sz, NULL, 0) != 0) {
        return 0;
    }
    return v;
}

/* ---- sections ---- */

static char run_id[41];

static void
info_server(struct text *t)
{
    struct utsname u;
    uname(&u);
    if (run_id[0] == '\0') {
        for (int i = 0; i < 40; i++) {
            run_id[i] = "0123456789abcdef"[random() % 16];
        }
    }
    uint64_t up = ev_uptime();
    text_printf(t,
                "redis_version:%s\r\noffheap_version:%s\r\n"
                "redis_mode:standalone\r\nos:%s %s %s\r\narch_bits:%d\r\n"
                "multiplexing_api:epoll\r\nprocess_id:%d\r\nrun_id:%s\r\n"
                "tcp_port:%d\r\nserver_time_usec:%" PRIu64 "\r\n"
                "uptime_in_seconds:%" PRIu64 "\r\nuptime_in_days:%" PRIu64
                "\r\nhz:%" PRIu64 "\r\nconfigured_hz:%" PRIu64 "\r\n"
                "config_file:%s\r\n",
                OH_REDIS_COMPAT, OH_VERSION, u.sysname, u.release, u.machine,
                (int)(sizeof(void *) * 8), (int)getpid(), run_id, ev_port(),
                ev_wall_us(), up, up / 86400, cfg.hz, cfg.hz,
                cfg_file_path != NULL ? cfg_file_path : "");
}

static void
info_clients(struct text *t)
{
    size_t max_in = 0;
    uint64_t max_out = 0;
    for (struct conn *c = conn_first(); c != NULL; c = c->next) {
        if (c->ilen - c->ipos > max_in) {
            max_in = c->ilen - c->ipos;
        }
        if (c->out_bytes > max_out) {
            max_out = c->out_bytes;
        }
    }
    text_printf(t,
                "connected_clients:%zu\r\nmaxclients:%" PRIu64 "\r\n"
                "client_recent_max_input_buffer:%zu\r\n"
                "client_recent_max_output_buffer:%" PRIu64 "\r\n"
                "blocked_clients:0\r\ntracking_clients:0\r\n"
                "clients_in_timeout_table:0\r\n",
                conn_count(), cfg.maxclients, max_in, max_out);
}

static uint64_t used_peak; /* highest used_memory seen by the tick */

void
cmd_info_sample(void)
{
    struct engine_memory m;
    engine_memory(&m);
    if (m.used_bytes - m.index_bytes > used_peak) {
        used_peak = m.used_bytes - m.index_bytes;
    }
}

/* used_memory is the bytes of segments (and large values) holding entries,
 * live or dead; the index is reported apart, and both count against
 * maxmemory (maxmemory_used). */
static void
info_memory(struct text *t)
{
    struct engine_memory m;
    engine_memory(&m);
    uint64_t used = m.used_bytes - m.index_bytes;
    cmd_info_sample();
    uint64_t peak = used_peak;
    uint64_t rss = rss_bytes();
    char h_used[32], h_rss[32], h_peak[32], h_max[32];
    human_bytes(h_used, sizeof(h_used), used);
    human_bytes(h_rss, sizeof(h_rss), rss);
    human_bytes(h_peak, sizeof(h_peak), peak);
    human_bytes(h_max, sizeof(h_max), cfg.maxmemory);
    double frag = used ? (double)rss / (double)used : 0.0;
    text_printf(t,
                "used_memory:%" PRIu64 "\r\nused_memory_human:%s\r\n"
                "used_memory_rss:%" PRIu64 "\r\nused_memory_rss_human:%s\r\n"
                "used_memory_peak:%" PRIu64 "\r\nused_memory_peak_human:%s\r\n"
                "used_memory_dataset:%" PRIu64 "\r\n"
                "used_memory_index:%" PRIu64 "\r\n"
                "maxmemory_used:%" PRIu64 "\r\n"
                "heap_total:%" PRIu64 "\r\nheap_used:%" PRIu64 "\r\n"
                "allocator_allocated:%" PRIu64 "\r\n"
                "allocator_resident:%" PRIu64 "\r\n"
                "maxmemory:%" PRIu64 "\r\nmaxmemory_human:%s\r\n"
                "maxmemory_policy:%s\r\nmem_fragmentation_ratio:%.2f\r\n"
                "mem_allocator:jemalloc\r\n",
                used, h_used, rss, h_rss, peak, h_peak, m.live_bytes,
                m.index_bytes, m.used_bytes, m.reserved_bytes, m.live_bytes,
                jemalloc_stat("stats.allocated"),
                jemalloc_stat("stats.resident"), cfg.maxmemory, h_max,
                cfg.maxmemory_policy, frag);
}

static void
info_persistence(struct text *t)
{
    char buf[2048];
    snapshot_info(buf, sizeof(buf), ev_now());
    text_printf(t, "%s", buf);
}

/* Reads one engine metric by name (0 if the engine has no such metric). */
static uint64_t
engine_metric(const char *name)
{
    const struct engine_metrics *m = engine_metrics_get();
    for (const struct metric_desc *d = engine_metric_descs;
         m != NULL && d->name != NULL; d++) {
        if (strcmp(d->name, name) == 0) {
            return metric_read(m, d);
        }
    }
    return 0;
}

static void
info_stats(struct text *t)
{
    const struct conn_stats *s = &conn_stats;
    text_printf(
        t,
        "total_connections_received:%" PRIu64 "\r\n"
        "total_commands_processed:%" PRIu64 "\r\n"
        "total_net_input_bytes:%" PRIu64 "\r\n"
        "total_net_output_bytes:%" PRIu64 "\r\n"
        "rejected_connections:%" PRIu64 "\r\n"
        "expired_keys:%" PRIu64 "\r\nevicted_keys:%" PRIu64 "\r\n"
        "keyspace_hits:%" PRIu64 "\r\nkeyspace_misses:%" PRIu64 "\r\n"
        "total_error_replies:%" PRIu64 "\r\n"
        "total_protocol_errors:%" PRIu64 "\r\n"
        "client_query_buffer_limit_disconnections:%" PRIu64 "\r\n"
        "client_output_buffer_limit_disconnections:%" PRIu64 "\r\n"
        "local_read_hits:%" PRIu64 "\r\nlocal_read_misses:%" PRIu64
        "\r\nlocal_read_hints:%" PRIu64 "\r\nlocal_read_clients:%" PRIu64
        "\r\n",
        s->connections_received, s->total_commands, s->net_input_bytes,
        s->net_output_bytes, s->rejected_connections,
        engine_metric("engine_expired"), engine_metric("engine_evicted"),
        engine_metric("engine_get_hit") + localread_stats.hits,
        engine_metric("engine_get_miss") + localread_stats.misses,
        reply_error_count, s->protocol_errors,
        s->client_query_buffer_limit_disconnections,
        s->client_output_buffer_limit_disconnections, localread_stats.hits,
        localread_stats.misses, localread_stats.hints, localread_stats.clients);
}

static void
info_replication(struct text *t)
{
    text_printf(t, "role:master\r\nconnected_slaves:0\r\n"
                   "master_repl_offset:0\r\n");
}

static void
info_cpu(struct text *t)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    text_printf(t, "used_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n",
                (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec,
                (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
}

static void
info_keyspace(struct text *t)
{
    uint64_t keys = engine_count();
    if (keys > 0) {
        text_printf(t, "db0:keys=%" PRIu64 ",expires=%" PRIu64 ",avg_ttl=0\r\n",
                    keys, engine_metric("engine_keys_with_ttl_curr"));
    }
}

static void
info_commandstats(struct text *t)
{
    for (size_t i = 0; i < CMD_ID_COUNT; i++) {
        const struct cmd_stats *s = &cmd_stats[i];
        if (s->calls == 0 && s->rejected_calls == 0) {
            continue;
        }
        text_printf(t,
                    "cmdstat_%s:calls=%" PRIu64 ",usec=%" PRIu64
                    ",usec_per_call=%.2f,rejected_calls=%" PRIu64
                    ",failed_calls=%" PRIu64 "\r\n",
                    cmd_table[i].name, s->calls, s->usec,
                    s->calls ? (double)s->usec / (double)s->calls : 0.0,
                    s->rejected_calls, s->failed_calls);
    }
}

static void
info_errorstats(struct text *t)
{
    for (int i = 0; i < REPLY_ERRSTATS_MAX && reply_errstats[i].code[0]; i++) {
        text_printf(t, "errorstat_%s:count=%" PRIu64 "\r\n",
                    reply_errstats[i].code, reply_errstats[i].count);
    }
}

static void
info_engine(struct text *t)
{
    const struct engine_metrics *m = engine_metrics_get();
    for (const struct metric_desc *d = engine_metric_descs;
         m != NULL && d->name != NULL; d++) {
        text_printf(t, "%s:%" PRIu64 "\r\n", d->name, metric_read(m, d));
    }
}

/* clang-format off */
static const struct {
    const char *name, *title;
    void (*write)(struct text *t);
    bool by_default;
} sections[] = {
    {"server",       "Server",       info_server,       true},
    {"clients",      "Clients",      info_clients,      true},
    {"memory",       "Memory",       info_memory,       true},
    {"persistence",  "Persistence",  info_persistence,  true},
    {"stats",        "Stats",        info_stats,        true},
    {"replication",  "Replication",  info_replication,  true},
    {"cpu",          "CPU",          info_cpu,          true},
    {"engine",       "Engine",       info_engine,       true},
    {"commandstats", "Commandstats", info_commandstats, false},
    {"errorstats",   "Errorstats",   info_errorstats,   false},
    {"keyspace",     "Keyspace",     info_keyspace,     true},
};
/* clang-format on */
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* Marks the sections named by the arguments (all defaults if none). */
static void
pick_sections(const struct cmd_req *r, bool *want)
{
    for (size_t s = 0; s < NSECTIONS; s++) {
        want[s] = r->argc == 1 && sections[s].by_default;
    }
    for (int i = 1; i < r->argc; i++) {
        bool all = cmd_arg_is(&r->argv[i], "all") ||
                   cmd_arg_is(&r->argv[i], "everything");
        bool dflt = cmd_arg_is(&r->argv[i], "default");
        for (size_t s = 0; s < NSECTIONS; s++) {
            if (all || (dflt && sections[s].by_default) ||
                cmd_arg_is(&r->argv[i], sections[s].name)) {
                want[s] = true;
            }
        }
    }
}

void
cmd_info(struct conn *c, const struct cmd_req *r)
{
    bool want[NSECTIONS];
    pick_sections(r, want);
    struct text t = {NULL, 0, 0, false};
    text_printf(&t, "%s", "");
    for (size_t s = 0; s < NSECTIONS; s++) {
        if (want[s]) {
            text_printf(&t, "%s# %s\r\n", t.len ? "\r\n" : "",
                        sections[s].title);
            sections[s].write(&t);
        }
    }
    reply_text(c, &t);
}

void
cmd_info_resetstat(void)
{
    memset(cmd_stats, 0, sizeof(cmd_stats));
    memset(reply_errstats, 0, sizeof(reply_errstats));
    reply_error_count = 0;
    memset(&conn_stats, 0, sizeof(conn_stats));
    engine_metrics_reset();
    localread_resetstat();
}

/* ---- MEMORY ---- */

static void
memory_stats(struct conn *c)
{
    struct engine_memory m;
    engine_memory(&m);
    uint64_t keys = engine_count();
    cmd_info_sample();
    reply_map(c, 10);
    reply_bulk_cstr(c, "peak.allocated"); /* used_memory_peak */
    reply_int(c, (long long)used_peak);
    reply_bulk_cstr(c, "total.allocated"); /* used_memory */
    reply_int(c, (long long)(m.used_bytes - m.index_bytes));
    reply_bulk_cstr(c, "allocator.allocated"); /* jemalloc's own heap */
    reply_int(c, (long long)jemalloc_stat("stats.allocated"));
    reply_bulk_cstr(c, "dataset.bytes");
    reply_int(c, (long long)m.live_bytes);
    reply_bulk_cstr(c, "keys.count");
    reply_int(c, (long long)keys);
    reply_bulk_cstr(c, "keys.bytes-per-key");
    reply_int(c, keys ? (long long)(m.used_bytes / keys) : 0);
    reply_bulk_cstr(c, "engine.heap-total");
    reply_int(c, (long long)m.reserved_bytes);
    reply_bulk_cstr(c, "engine.index");
    reply_int(c, (long long)m.index_bytes);
    reply_bulk_cstr(c, "rss");
    reply_int(c, (long long)rss_bytes());
    reply_bulk_cstr(c, "fragmentation");
    uint64_t used = m.used_bytes - m.index_bytes;
    reply_double(c, used ? (double)rss_bytes() / (double)used : 0.0);
}

static void
memory_usage(struct conn *c, const struct cmd_req *r)
{
    long long samples;
    if (r->argc == 4 ||
        (r->argc == 5 && (!cmd_arg_is(&r->argv[3], "samples") ||
                          !cmd_arg_ll(&r->argv[4], &samples)))) {
        reply_error_syntax(c);
        return;
    }
    size_t n = engine_usage(r->argv[2].p, r->argv[2].len, r->now);
    if (n == 0) {
        reply_null(c);
    } else {
        reply_int(c, (long long)n);
    }
}

static void
memory_stats_sub(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    memory_stats(c);
}

static void
memory_purge(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    mallctl("arena." OH_STRINGIFY(MALLCTL_ARENAS_ALL) ".purge", NULL, NULL,
            NULL, 0);
    reply_ok(c);
}

/* jemalloc's statistics writer appends to a struct text. */
static void
text_append(void *arg, const char *s)
{
    text_printf(arg, "%s", s);
}

/* MEMORY MALLOC-STATS: jemalloc's own report, as text. */
static void
memory_malloc_stats(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    struct text t = {NULL, 0, 0, false};
    malloc_stats_print(text_append, &t, NULL);
    reply_text(c, &t);
}

static void
memory_doctor(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    struct engine_memory m;
    engine_memory(&m);
    char text[512];
    uint64_t rss = rss_bytes();
    int n = snprintf(text, sizeof(text),
                     "used_memory %" PRIu64 " bytes, rss %" PRIu64
                     " bytes, live entries %" PRIu64 " bytes.%s",
                     m.used_bytes, rss, m.live_bytes,
                     m.used_bytes > 0 && rss > 2 * m.used_bytes + 64 * 1048576
                         ? " RSS is more than twice used_memory: memory is "
                           "fragmented or held by the allocator."
                         : " No memory problems found.");
    reply_verbatim(c, text, n > 0 ? (size_t)n : 0);
}

static void
memory_help(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    static const char *const lines[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value.",
        "PURGE",
        "    Ask the allocator to release memory.",
        "MALLOC-STATS",
        "    Return the allocator's (jemalloc) internal statistics report.",
        "HELP",
        "    Print this help."};
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

static const struct cmd_sub memory_subs[] = {
    {"usage", -3, memory_usage},
    {"stats", 2, memory_stats_sub},
    {"purge", 2, memory_purge},
    {"doctor", 2, memory_doctor},
    {"malloc-stats", 2, memory_malloc_stats},
    {"help", 2, memory_help},
    {NULL, 0, NULL}};

void
cmd_memory(struct conn *c, const struct cmd_req *r)
{
    cmd_sub_dispatch(c, r, "memory", memory_subs);
}
