/* cmd.c: the command table made real, and dispatch: lookup, arity,
 * authentication, MULTI queueing, OOM refusal, then the handler, timed and
 * counted per command. COMMAND's replies are built from the same table. */
#include "cmd.h"

#include "cmd_table.h"
#include "config.h"
#include "conn.h"
#include "engine/engine.h"
#include "ev.h"
#include "latency.h"
#include "reply.h"
#include "util.h"
#include "slowlog.h"
#include "snapshot.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CMD_NAME_MAX 32 /* bytes of the longest command name */

/* clang-format off */
const struct cmd_def cmd_table[CMD_ID_COUNT] = {
#define X(name, fn, ar, fl, fk, lk, ks, grp, since, args, sum) \
    [CMD_ID_##name] = {#name, fn, ar, fl, fk, lk, ks, grp, since, args, sum},
    OH_COMMANDS(X)
#undef X
};
/* clang-format on */

struct cmd_stats cmd_stats[CMD_ID_COUNT];

/* rename-command: the name clients use, or "" for a disabled command;
 * NULL where the table's name stands. */
static char *renamed[CMD_ID_COUNT];

/* Names to commands: open addressing, slot = cmd id + 1 (0: empty), built
 * by cmd_setup() so that a request costs one hash, not a scan. */
#define CMD_LOOKUP_SLOTS 256 /* a power of two, > 2 x CMD_ID_COUNT */
_Static_assert(CMD_LOOKUP_SLOTS > 2 * CMD_ID_COUNT && CMD_ID_COUNT < 255,
               "command lookup table too small");
static uint8_t lookup_slots[CMD_LOOKUP_SLOTS];
static bool lookup_ready;
static void lookup_build(void);

void
cmd_teardown(void)
{
    lookup_ready = false;
    for (size_t i = 0; i < CMD_ID_COUNT; i++) {
        free(renamed[i]);
        renamed[i] = NULL;
    }
}

/* Applies one "<command> <new-name>" entry. */
static int
apply_rename(const char *entry, size_t len, char *err, size_t cap)
{
    size_t old_len = 0;
    while (old_len < len && entry[old_len] != ' ') {
        old_len++;
    }
    const char *to = entry + old_len + (old_len < len);
    size_t to_len = len - (size_t)(to - entry);
    const struct cmd_def *d = cmd_lookup(entry, old_len);
    if (d == NULL || to_len >= CMD_NAME_MAX || memchr(to, ' ', to_len)) {
        snprintf(err, cap,
                 "rename-command: unknown command or bad name in "
                 "'%.*s'",
                 (int)len, entry);
        return -1;
    }
    size_t id = (size_t)(d - cmd_table);
    free(renamed[id]);
    renamed[id] = strndup(to, to_len);
    return renamed[id] != NULL ? 0 : -1;
}

int
cmd_setup(const struct oh_config *c, char *err, size_t cap)
{
    cmd_teardown();
    for (const char *p = c->rename_command; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, "\n");
        if (n > 0 && apply_rename(p, n, err, cap) != 0) {
            return -1;
        }
        p += n + (p[n] == '\n');
    }
    lookup_build();
    return 0;
}

const char *
cmd_name(const struct cmd_def *d)
{
    const char *n = renamed[d - cmd_table];
    if (n == NULL) {
        return d->name;
    }
    return n[0] != '\0' ? n : NULL;
}

size_t
cmd_enabled_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < CMD_ID_COUNT; i++) {
        n += cmd_name(&cmd_table[i]) != NULL;
    }
    return n;
}

/* Hashes a command name, folding ASCII case. */
static size_t
name_hash(const char *name, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t)tolower((unsigned char)name[i])) * 16777619u;
    }
    return h & (CMD_LOOKUP_SLOTS - 1);
}

static bool
name_is(const struct cmd_def *d, const char *name, size_t len)
{
    const char *n = cmd_name(d);
    return n != NULL && strlen(n) == len && strncasecmp(n, name, len) == 0;
}

/* Builds the lookup table from the names clients use (after renames). */
static void
lookup_build(void)
{
    memset(lookup_slots, 0, sizeof(lookup_slots));
    for (size_t i = 0; i < CMD_ID_COUNT; i++) {
        const char *n = cmd_name(&cmd_table[i]);
        if (n == NULL) {
            continue;
        }
        size_t s = name_hash(n, strlen(n));
        while (lookup_slots[s] != 0) {
            s = (s + 1) & (CMD_LOOKUP_SLOTS - 1);
        }
        lookup_slots[s] = (uint8_t)(i + 1);
    }
    lookup_ready = true;
}

const struct cmd_def *
cmd_lookup(const char *name, size_t len)
{
    if (len == 0 || len >= CMD_NAME_MAX) {
        return NULL;
    }
    if (!lookup_ready) { /* during cmd_setup: the table's names */
        for (size_t i = 0; i < CMD_ID_COUNT; i++) {
            if (name_is(&cmd_table[i], name, len)) {
                return &cmd_table[i];
            }
        }
        return NULL;
    }
    for (size_t s = name_hash(name, len); lookup_slots[s] != 0;
         s = (s + 1) & (CMD_LOOKUP_SLOTS - 1)) {
        const struct cmd_def *d = &cmd_table[lookup_slots[s] - 1];
        if (name_is(d, name, len)) {
            return d;
        }
    }
    return NULL;
}

/* "ERR unknown command 'foo', with args beginning with: 'a' 'b' " */
static void
reply_unknown(struct conn *c, const struct cmd_req *r)
{
    char msg[1024];
    size_t nl = r->argv[0].len < 128 ? r->argv[0].len : 128;
    int n = snprintf(msg, sizeof(msg),
                     "ERR unknown command '%.*s', with args "
                     "beginning with: ",
                     (int)nl, r->argv[0].p);
    for (int i = 1; i < r->argc && n > 0 && (size_t)n < sizeof(msg) - 140;
         i++) {
        size_t al = r->argv[i].len < 128 ? r->argv[i].len : 128;
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, "'%.*s' ", (int)al,
                      r->argv[i].p);
    }
    reply_error(c, msg);
}

static bool
arity_ok(const struct cmd_def *d, int argc)
{
    return d->arity > 0 ? argc == d->arity : argc >= -d->arity;
}

static bool
memory_full(void)
{
    if (cfg.maxmemory == 0 || strcmp(cfg.maxmemory_policy, "noeviction") != 0) {
        return false;
    }
    struct engine_memory m;
    engine_memory(&m);
    return m.used_bytes >= cfg.maxmemory;
}

/* Checks that a command may run now. Replies and returns false if not. */
static bool
admit(struct conn *c, const struct cmd_req *r, const struct cmd_def *d)
{
    if (d == NULL) {
        reply_unknown(c, r);
        return false;
    }
    if (!arity_ok(d, r->argc)) {
        reply_error_arity(c, cmd_name(d));
        return false;
    }
    if (!c->authenticated && !(d->flags & CMD_NOAUTH)) {
        reply_error(c, "NOAUTH Authentication required.");
        return false;
    }
    if (!(d->flags & CMD_STALE) && snapshot_loading()) {
        reply_error(c, SNAPSHOT_LOADING_ERR);
        return false;
    }
    if ((d->flags & CMD_WRITE) && cfg.stop_writes_on_bgsave_error &&
        snapshot_save_failing()) {
        reply_error(c, SNAPSHOT_MISCONF_ERR);
        return false;
    }
    if ((d->flags & CMD_DENYOOM) && memory_full()) {
        reply_error_oom(c);
        return false;
    }
    return true;
}

static void
call(struct conn *c, const struct cmd_def *d, const struct cmd_req *r)
{
    size_t id = (size_t)(d - cmd_table);
    uint64_t errors = reply_error_count;
    uint64_t t0 = ev_monotonic_us();
    c->last_cmd = (int)id;
    c->last_sub = NULL;
    c->last_sub_flags = 0;
    d->handler(c, r);
    uint64_t us = ev_monotonic_us() - t0;
    cmd_stats[id].usec += us;
    cmd_stats[id].calls++;
    if (reply_error_count != errors) {
        cmd_stats[id].failed_calls++;
    } else if (d->flags & CMD_WRITE) {
        snapshot_note_write(1);
    }
    slowlog_record(r, us, r->now, c->addr, c->name);
    latency_record("command", us / 1000, r->now);
    if (!((d->flags | c->last_sub_flags) & CMD_ADMIN)) {
        cmd_monitor_feed(c, r);
    }
}

void
cmd_dispatch(struct conn *c, const struct cmd_req *r)
{
    const struct cmd_def *d = cmd_lookup(r->argv[0].p, r->argv[0].len);
    if (!admit(c, r, d)) {
        if (d != NULL) {
            cmd_stats[d - cmd_table].rejected_calls++;
        }
        if (c->in_multi) {
            c->multi_dirty = true;
        }
        return;
    }
    if (c->in_multi && (d->flags & CMD_NOMULTI)) {
        reply_error(c, "ERR Command not allowed inside a transaction");
        c->multi_dirty = true;
        return;
    }
    if (c->in_multi && !(d->flags & CMD_NOQUEUE)) {
        cmd_multi_queue(c, r, d);
        return;
    }
    call(c, d, r);
}

void
cmd_call_queued(struct conn *c, const struct cmd_req *r)
{
    const struct cmd_def *d = cmd_lookup(r->argv[0].p, r->argv[0].len);
    if (d != NULL) {
        call(c, d, r);
    }
}

void
cmd_sub_dispatch(struct conn *c, const struct cmd_req *r, const char *parent,
                 const struct cmd_sub *subs)
{
    const struct resp_str *name = &r->argv[1];
    for (const struct cmd_sub *s = subs; s->name != NULL; s++) {
        if (!cmd_arg_is(name, s->name)) {
            continue;
        }
        c->last_sub = s->name;
        c->last_sub_flags = s->flags;
        bool ok = s->arity > 0 ? r->argc == s->arity : r->argc >= -s->arity;
        if (!ok) {
            reply_errorf(c, "ERR wrong number of arguments for '%s|%s' command",
                         parent, s->name);
            return;
        }
        s->handler(c, r);
        return;
    }
    char upper[CMD_NAME_MAX];
    size_t i = 0;
    for (; parent[i] != '\0' && i + 1 < sizeof(upper); i++) {
        upper[i] = (char)toupper((unsigned char)parent[i]);
    }
    upper[i] = '\0';
    reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                 (int)(name->len < 128 ? name->len : 128), name->p, upper);
}

/* ---- COMMAND ---- */

static void
reply_flags(struct conn *c, unsigned flags)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{CMD_WRITE, "write"},     {CMD_READ, "readonly"},
                 {CMD_DENYOOM, "denyoom"}, {CMD_ADMIN, "admin"},
                 {CMD_NOAUTH, "no_auth"},  {CMD_STALE, "loading"},
                 {CMD_FAST, "fast"}};
    size_t n = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        n += (flags & names[i].bit) != 0;
    }
    reply_set(c, n);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (flags & names[i].bit) {
            reply_status(c, names[i].name);
        }
    }
}

/* The ACL categories a command belongs to (Redis's names), derived from
 * its group and flags. */
static size_t
acl_categories(const struct cmd_def *d, const char **out)
{
    static const struct {
        const char *group, *cat;
    } groups[] = {
        {"string", "@string"},         {"bitmap", "@bitmap"},
        {"generic", "@keyspace"},      {"transactions", "@transaction"},
        {"connection", "@connection"}, {"scripting", "@scripting"}};
    size_t n = 0;
    out[n++] = (d->flags & CMD_WRITE)  ? "@write"
               : (d->flags & CMD_READ) ? "@read"
                                       : NULL;
    if (out[0] == NULL) {
        n = 0;
    }
    out[n++] = (d->flags & CMD_FAST) ? "@fast" : "@slow";
    if (d->flags & CMD_ADMIN) {
        out[n++] = "@admin";
        out[n++] = "@dangerous";
    }
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (strcmp(d->group, groups[i].group) == 0) {
            out[n++] = groups[i].cat;
        }
    }
    return n;
}

static void
reply_command_info(struct conn *c, const struct cmd_def *d)
{
    const char *cats[8];
    size_t ncats = acl_categories(d, cats);
    reply_array(c, 10);
    reply_bulk_cstr(c, cmd_name(d));
    reply_int(c, d->arity);
    reply_flags(c, d->flags);
    reply_int(c, d->first_key);
    reply_int(c, d->last_key);
    reply_int(c, d->key_step);
    reply_set(c, ncats);
    for (size_t i = 0; i < ncats; i++) {
        reply_status(c, cats[i]);
    }
    reply_array(c, 0); /* tips */
    reply_array(c, 0); /* key specs */
    reply_array(c, 0); /* subcommands */
}

/* COMMAND LIST [FILTERBY MODULE name | ACLCAT cat | PATTERN glob] */
static bool
list_filter(const struct cmd_def *d, const struct cmd_req *r)
{
    if (r->argc == 2) {
        return true;
    }
    const struct resp_str *v = &r->argv[4];
    if (cmd_arg_is(&r->argv[3], "module")) {
        return false; /* no modules */
    }
    if (cmd_arg_is(&r->argv[3], "pattern")) {
        const char *n = cmd_name(d);
        return util_glob_match(v->p, v->len, n, strlen(n), true);
    }
    const char *cats[8];
    size_t ncats = acl_categories(d, cats);
    for (size_t i = 0; i < ncats; i++) {
        if (strlen(cats[i] + 1) == v->len &&
            strncasecmp(cats[i] + 1, v->p, v->len) == 0) {
            return true;
        }
    }
    return false;
}

static void
command_list(struct conn *c, const struct cmd_req *r)
{
    if (r->argc != 2 && (r->argc != 5 || !cmd_arg_is(&r->argv[2], "filterby") ||
                         !(cmd_arg_is(&r->argv[3], "module") ||
                           cmd_arg_is(&r->argv[3], "aclcat") ||
                           cmd_arg_is(&r->argv[3], "pattern")))) {
        reply_error_syntax(c);
        return;
    }
    void *h = reply_defer_len(c);
    size_t n = 0;
    for (size_t i = 0; i < CMD_ID_COUNT; i++) {
        const struct cmd_def *d = &cmd_table[i];
        if (cmd_name(d) != NULL && list_filter(d, r)) {
            reply_bulk_cstr(c, cmd_name(d));
            n++;
        }
    }
    reply_set_deferred(c, h, '*', n);
}

/* COMMAND GETKEYS / GETKEYSANDFLAGS command [arg ...]: the key positions
 * come from the table's first key, last key and step. */
static void
command_getkeys(struct conn *c, const struct cmd_req *r)
{
    bool with_flags = cmd_arg_is(&r->argv[1], "getkeysandflags");
    const struct cmd_def *d = cmd_lookup(r->argv[2].p, r->argv[2].len);
    int argc = r->argc - 2;
    const struct resp_str *argv = r->argv + 2;
    if (d == NULL) {
        reply_error(c, "ERR Invalid command specified");
        return;
    }
    if (d->arity > 0 ? argc != d->arity : argc < -d->arity) {
        reply_error(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    if (d->first_key == 0) {
        reply_error(c, "ERR The command has no key arguments");
        return;
    }
    int last = d->last_key < 0 ? argc + d->last_key : d->last_key;
    void *h = reply_defer_len(c);
    size_t n = 0;
    for (int i = d->first_key; i <= last && i < argc; i += d->key_step) {
        if (with_flags) {
            reply_array(c, 2);
        }
        reply_bulk(c, argv[i].p, argv[i].len);
        if (with_flags) {
            reply_set(c, 1);
            reply_status(c, (d->flags & CMD_WRITE) ? "RW" : "RO");
        }
        n++;
    }
    reply_set_deferred(c, h, '*', n);
}

static void
command_count(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    reply_int(c, (long long)cmd_enabled_count());
}

static void
command_info(struct conn *c, const struct cmd_req *r)
{
    if (r->argc == 2) {
        reply_array(c, cmd_enabled_count());
        for (size_t i = 0; i < CMD_ID_COUNT; i++) {
            if (cmd_name(&cmd_table[i]) != NULL) {
                reply_command_info(c, &cmd_table[i]);
            }
        }
        return;
    }
    reply_array(c, (size_t)r->argc - 2);
    for (int i = 2; i < r->argc; i++) {
        const struct cmd_def *d = cmd_lookup(r->argv[i].p, r->argv[i].len);
        if (d != NULL) {
            reply_command_info(c, d);
        } else {
            reply_null(c);
        }
    }
}

static void
command_help(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    static const char *const lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all commands.",
        "COUNT",
        "    Return the total number of commands.",
        "DOCS [<command-name> ...]",
        "    Return documentation of commands.",
        "INFO [<command-name> ...]",
        "    Return details about commands.",
        "LIST",
        "    Return the names of all commands.",
        "HELP",
        "    Print this help."};
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

static const struct cmd_sub command_subs[] = {
    {"count", 2, command_count},      {"info", -2, command_info},
    {"docs", -2, cmd_docs_reply},     {"list", -2, command_list},
    {"getkeys", -3, command_getkeys}, {"getkeysandflags", -3, command_getkeys},
    {"help", 2, command_help},        {NULL, 0, NULL}};

void
cmd_command(struct conn *c, const struct cmd_req *r)
{
    if (r->argc == 1) {
        command_info(c, &(struct cmd_req){2, r->argv, r->now});
        return;
    }
    cmd_sub_dispatch(c, r, "command", command_subs);
}
