/* cmd_server.c: connection and server commands: PING ECHO QUIT SELECT
 * HELLO AUTH CLIENT RESET CONFIG DBSIZE FLUSHDB FLUSHALL TIME DEBUG.
 * INFO and MEMORY live in cmd_info.c. */
#include "cmd.h"

#include "config.h"
#include "conn.h"
#include "engine/engine.h"
#include "ev.h"
#include "log.h"
#include "latency.h"
#include "reply.h"
#include "slowlog.h"
#include "snapshot.h"
#include "version.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CONFIG_VALUE_MAX 4096 /* bytes of a formatted option value */

/* Copies an argument into a NUL-terminated buffer (truncating). */
static const char *
arg_cstr(const struct resp_str *a, char *buf, size_t cap)
{
    size_t n = a->len < cap - 1 ? a->len : cap - 1;
    memcpy(buf, a->p, n);
    buf[n] = '\0';
    return buf;
}

/* ---- connection ---- */

void
cmd_ping(struct conn *c, const struct cmd_req *r)
{
    if (r->argc > 2) {
        reply_error_arity(c, "ping");
    } else if (r->argc == 2) {
        reply_bulk(c, r->argv[1].p, r->argv[1].len);
    } else {
        reply_status(c, "PONG");
    }
}

void
cmd_echo(struct conn *c, const struct cmd_req *r)
{
    reply_bulk(c, r->argv[1].p, r->argv[1].len);
}

void
cmd_quit(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    reply_ok(c);
    conn_close_after_reply(c);
}

void
cmd_select(struct conn *c, const struct cmd_req *r)
{
    long long db;
    if (!cmd_arg_ll(&r->argv[1], &db) || db < INT32_MIN || db > INT32_MAX) {
        reply_error_notint(c);
    } else if (db != 0) {
        reply_error(c, "ERR DB index is out of range");
    } else {
        reply_ok(c);
    }
}

/* Checks a password against requirepass. user may be NULL or "default";
 * with no requirepass the default user takes any password (as Redis's
 * "nopass" default user). */
static bool
password_ok(const struct resp_str *user, const struct resp_str *pass)
{
    if (user != NULL &&
        !(user->len == 7 && memcmp(user->p, "default", 7) == 0)) {
        return false;
    }
    if (cfg.requirepass[0] == '\0') {
        return true;
    }
    size_t want = strlen(cfg.requirepass);
    /* Compare in time independent of where the first difference is. */
    unsigned char diff = (unsigned char)(pass->len != want);
    for (size_t i = 0; i < pass->len && i < want; i++) {
        diff |= (unsigned char)(pass->p[i] ^ cfg.requirepass[i]);
    }
    return diff == 0;
}

void
cmd_auth(struct conn *c, const struct cmd_req *r)
{
    if (r->argc > 3) {
        reply_error_syntax(c);
        return;
    }
    const struct resp_str *user = r->argc == 3 ? &r->argv[1] : NULL;
    if (cfg.requirepass[0] == '\0' && user == NULL) {
        reply_error(c, "ERR AUTH <password> called without any password "
                       "configured for the default user. Are you sure your "
                       "configuration is correct?");
        return;
    }
    if (!password_ok(user, &r->argv[r->argc - 1])) {
        reply_error(c, "WRONGPASS invalid username-password pair or user is "
                       "disabled.");
        return;
    }
    c->authenticated = true;
    reply_ok(c);
}

static bool
valid_client_name(const struct resp_str *s)
{
    for (size_t i = 0; i < s->len; i++) {
        if (s->p[i] < '!' || s->p[i] > '~') {
            return false;
        }
    }
    return true;
}

static void
hello_reply(struct conn *c)
{
    reply_map(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "offheapd");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, OH_REDIS_COMPAT);
    reply_bulk_cstr(c, "proto");
    reply_int(c, c->resp);
    reply_bulk_cstr(c, "id");
    reply_int(c, (long long)c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, "master");
    reply_bulk_cstr(c, "modules");
    reply_array(c, 0);
}

/* Parses HELLO's options. Returns false after replying an error. */
static bool
hello_options(struct conn *c, const struct cmd_req *r, bool *authed,
              const struct resp_str **name)
{
    for (int i = 2; i < r->argc; i++) {
        int left = r->argc - i - 1;
        if (cmd_arg_is(&r->argv[i], "auth") && left >= 2) {
            if (!password_ok(&r->argv[i + 1], &r->argv[i + 2])) {
                reply_error(c, "WRONGPASS invalid username-password pair or "
                               "user is disabled.");
                return false;
            }
            *authed = true;
            i += 2;
        } else if (cmd_arg_is(&r->argv[i], "setname") && left >= 1) {
            *name = &r->argv[++i];
            if (!valid_client_name(*name)) {
                reply_error(c, "ERR Client names cannot contain spaces, "
                               "newlines or special characters.");
                return false;
            }
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'",
                         (int)(r->argv[i].len < 128 ? r->argv[i].len : 128),
                         r->argv[i].p);
            return false;
        }
    }
    return true;
}

void
cmd_hello(struct conn *c, const struct cmd_req *r)
{
    long long ver = c->resp;
    if (r->argc >= 2) {
        if (!cmd_arg_ll(&r->argv[1], &ver)) {
            reply_error(c, "ERR Protocol version is not an integer or out of "
                           "range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    bool authed = false;
    const struct resp_str *name = NULL;
    if (!hello_options(c, r, &authed, &name)) {
        return;
    }
    if (authed && cfg.requirepass[0] != '\0') {
        c->authenticated = true;
    }
    if (!c->authenticated) {
        reply_error(c, "NOAUTH HELLO must be called with the client already "
                       "authenticated, otherwise the HELLO <proto> AUTH <user> "
                       "<pass> option can be used to authenticate the client "
                       "and select the RESP protocol version at the same time");
        return;
    }
    if (name != NULL) {
        arg_cstr(name, c->name, sizeof(c->name));
    }
    c->resp = (int)ver;
    hello_reply(c);
}

void
cmd_reset(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    cmd_multi_reset(c);
    cmd_monitor_forget(c);
    c->reply_keep = c->reply_off; /* RESET's own reply is sent after OFF */
    c->reply_off = false;
    c->reply_skip = false;
    c->resp = 2;
    c->name[0] = '\0';
    c->authenticated = cfg.requirepass[0] == '\0';
    reply_status(c, "RESET");
}

/* ---- CLIENT ---- */

#define CLIENT_LINE_MAX 1024 /* bytes of one CLIENT LIST line */

static bool
client_wanted(const struct conn *x, const struct cmd_req *r, bool by_id)
{
    for (int i = 3; by_id && i < r->argc; i++) {
        long long id;
        if (cmd_arg_ll(&r->argv[i], &id) && (uint64_t)id == x->id) {
            return true;
        }
    }
    return !by_id;
}

/* CLIENT LIST [TYPE normal] [ID id ...] */
static void
client_list(struct conn *c, const struct cmd_req *r)
{
    bool by_id = r->argc > 3 && cmd_arg_is(&r->argv[2], "id");
    bool by_type = r->argc == 4 && cmd_arg_is(&r->argv[2], "type");
    if (r->argc > 2 && !by_id && !by_type) {
        reply_error_syntax(c);
        return;
    }
    size_t n = 0;
    for (struct conn *x = conn_first(); x != NULL; x = x->next) {
        n += client_wanted(x, r, by_id);
    }
    char *out = malloc(n * CLIENT_LINE_MAX + 1);
    if (out == NULL) {
        reply_error(c, "ERR out of memory");
        return;
    }
    size_t len = 0;
    for (struct conn *x = conn_first(); x != NULL; x = x->next) {
        if (client_wanted(x, r, by_id)) {
            len += conn_describe(x, r->now, out + len, CLIENT_LINE_MAX);
            out[len++] = '\n';
        }
    }
    reply_verbatim(c, out, len);
    free(out);
}

/* CLIENT KILL addr | CLIENT KILL [ID id] [ADDR addr] [LADDR addr]
 * [SKIPME yes|no] */
static void
client_kill(struct conn *c, const struct cmd_req *r)
{
    char addr[CONN_ADDR_MAX] = "", laddr[CONN_ADDR_MAX] = "";
    long long id = -1;
    bool skipme = true, old_form = r->argc == 3;
    bool none = false; /* TYPE other than normal: offheapd has none */
    if (old_form) {
        arg_cstr(&r->argv[2], addr, sizeof(addr));
    }
    for (int i = 2; !old_form && i < r->argc; i += 2) {
        if (i + 1 >= r->argc) {
            reply_error_syntax(c);
            return;
        }
        const struct resp_str *v = &r->argv[i + 1];
        if (cmd_arg_is(&r->argv[i], "id")) {
            if (!cmd_arg_ll(v, &id) || id <= 0) {
                reply_error(c, "ERR client-id should be greater than 0");
                return;
            }
        } else if (cmd_arg_is(&r->argv[i], "addr")) {
            arg_cstr(v, addr, sizeof(addr));
        } else if (cmd_arg_is(&r->argv[i], "laddr")) {
            arg_cstr(v, laddr, sizeof(laddr));
        } else if (cmd_arg_is(&r->argv[i], "skipme")) {
            if (!cmd_arg_is(v, "yes") && !cmd_arg_is(v, "no")) {
                reply_error_syntax(c);
                return;
            }
            skipme = cmd_arg_is(v, "yes");
        } else if (cmd_arg_is(&r->argv[i], "type")) {
            if (!cmd_arg_is(v, "normal") && !cmd_arg_is(v, "master") &&
                !cmd_arg_is(v, "replica") && !cmd_arg_is(v, "slave") &&
                !cmd_arg_is(v, "pubsub")) {
                reply_errorf(c, "ERR Unknown client type '%.*s'",
                             (int)(v->len < 64 ? v->len : 64), v->p);
                return;
            }
            none = !cmd_arg_is(v, "normal");
        } else if (cmd_arg_is(&r->argv[i], "user")) {
            if (!cmd_arg_is(v, "default")) {
                reply_errorf(c, "ERR No such user '%.*s'",
                             (int)(v->len < 64 ? v->len : 64), v->p);
                return;
            }
        } else {
            reply_error_syntax(c);
            return;
        }
    }
    long long killed = 0;
    struct conn *next;
    for (struct conn *x = conn_first(); x != NULL; x = next) {
        next = x->next;
        if (none || (id > 0 && x->id != (uint64_t)id) ||
            (addr[0] && strcmp(addr, x->addr) != 0) ||
            (laddr[0] && strcmp(laddr, x->laddr) != 0) ||
            (x == c && skipme && !old_form)) {
            continue;
        }
        killed++;
        if (x == c) {
            conn_close_after_reply(c);
        } else {
            conn_kill(x);
        }
    }
    if (!old_form) {
        reply_int(c, killed);
    } else if (killed == 0) {
        reply_error(c, "ERR No such client");
    } else {
        reply_ok(c);
    }
}

static void
client_setinfo(struct conn *c, const struct cmd_req *r)
{
    char *dst;
    if (cmd_arg_is(&r->argv[2], "lib-name")) {
        dst = c->lib_name;
    } else if (cmd_arg_is(&r->argv[2], "lib-ver")) {
        dst = c->lib_ver;
    } else {
        reply_errorf(c, "ERR Unrecognized option '%.*s'",
                     (int)(r->argv[2].len < 64 ? r->argv[2].len : 64),
                     r->argv[2].p);
        return;
    }
    if (!valid_client_name(&r->argv[3])) {
        reply_error(c, "ERR lib-name and lib-ver cannot contain spaces, "
                       "newlines or special characters.");
        return;
    }
    arg_cstr(&r->argv[3], dst, CONN_NAME_MAX);
    reply_ok(c);
}

static void
client_setname(struct conn *c, const struct cmd_req *r)
{
    if (!valid_client_name(&r->argv[2])) {
        reply_error(c, "ERR Client names cannot contain spaces, newlines or "
                       "special characters.");
        return;
    }
    arg_cstr(&r->argv[2], c->name, sizeof(c->name));
    reply_ok(c);
}

static void
client_help(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    static const char *const lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ID",
        "    Return the ID of the current connection.",
        "GETNAME",
        "    Return the name of the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Set client library name or version.",
        "LIST [ID <id> ...]",
        "    Return information about client connections.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port> | KILL [ID <id>] [ADDR <ip:port>] [LADDR <ip:port>] "
        "[SKIPME yes|no]",
        "    Kill connections.",
        "NO-EVICT (ON|OFF)",
        "    Accepted for compatibility.",
        "NO-TOUCH (ON|OFF)",
        "    Accepted for compatibility.",
        "HELP",
        "    Print this help."};
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

static void
client_id(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    reply_int(c, (long long)c->id);
}

static void
client_getname(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    if (c->name[0] == '\0') {
        reply_null(c);
    } else {
        reply_bulk_cstr(c, c->name);
    }
}

static void
client_info(struct conn *c, const struct cmd_req *r)
{
    char line[1024];
    size_t n = conn_describe(c, r->now, line, sizeof(line) - 1);
    line[n++] = '\n';
    reply_verbatim(c, line, n);
}

/* CLIENT NO-EVICT / NO-TOUCH: accepted; offheapd's eviction does not
 * distinguish clients. */
static void
client_onoff(struct conn *c, const struct cmd_req *r)
{
    if (cmd_arg_is(&r->argv[2], "on") || cmd_arg_is(&r->argv[2], "off")) {
        reply_ok(c);
    } else {
        reply_error_syntax(c);
    }
}

/* CLIENT REPLY ON|OFF|SKIP: OFF and SKIP are not answered. */
static void
client_reply(struct conn *c, const struct cmd_req *r)
{
    if (cmd_arg_is(&r->argv[2], "on")) {
        c->reply_off = false;
        c->reply_keep = true;
        reply_ok(c);
    } else if (cmd_arg_is(&r->argv[2], "off")) {
        c->reply_off = true;
    } else if (cmd_arg_is(&r->argv[2], "skip")) {
        c->reply_skip = !c->reply_off;
    } else {
        reply_error_syntax(c);
    }
}

static const struct cmd_sub client_subs[] = {
    {"reply", 3, client_reply},     {"id", 2, client_id},
    {"getname", 2, client_getname}, {"setname", 3, client_setname},
    {"setinfo", 4, client_setinfo}, {"list", -2, client_list, CMD_ADMIN},
    {"info", 2, client_info},       {"kill", -3, client_kill, CMD_ADMIN},
    {"no-evict", 3, client_onoff},  {"no-touch", 3, client_onoff},
    {"help", 2, client_help},       {NULL, 0, NULL}};

void
cmd_client(struct conn *c, const struct cmd_req *r)
{
    cmd_sub_dispatch(c, r, "client", client_subs);
}

/* ---- CONFIG ---- */

static void
config_get(struct conn *c, const struct cmd_req *r)
{
    bool picked[256] = {false};
    size_t n = 0;
    for (int i = 2; i < r->argc; i++) {
        for (size_t o = 0; o < cfg_opt_count && o < 256; o++) {
            char name[64];
            cfg_name(&cfg_opts[o], name, sizeof(name));
            if (!picked[o] && util_glob_match(r->argv[i].p, r->argv[i].len,
                                              name, strlen(name), true)) {
                picked[o] = true;
                n++;
            }
        }
    }
    reply_map(c, n);
    for (size_t o = 0; o < cfg_opt_count && o < 256; o++) {
        if (picked[o]) {
            char name[64], val[CONFIG_VALUE_MAX];
            reply_bulk_cstr(c, cfg_name(&cfg_opts[o], name, sizeof(name)));
            reply_bulk_cstr(c, cfg_format(&cfg_opts[o], val, sizeof(val)));
        }
    }
}

/* Applies the side effects of a changed option. */
static void
config_apply(const struct cfg_opt *o)
{
    if (strcmp(o->name, "loglevel") == 0) {
        log_set_level(cfg.loglevel);
    } else if (strncmp(o->name, "maxmemory", 9) == 0) {
        engine_reconfigure(&cfg);
    } else if (strncmp(o->name, "snapshot_", 9) == 0 ||
               strcmp(o->name, "save") == 0) {
        snapshot_reconfigure(cfg.snapshot_file, cfg.save,
                             strcmp(cfg.snapshot_on_corrupt, "refuse") == 0);
    } else if (strncmp(o->name, "slowlog_", 8) == 0) {
        slowlog_reconfigure(cfg.slowlog_log_slower_than, cfg.slowlog_max_len);
    } else if (strcmp(o->name, "latency_monitor_threshold") == 0) {
        latency_reconfigure(cfg.latency_monitor_threshold);
    }
}

/* Restores the old values of options [0, n) of a failed CONFIG SET. */
static void
config_restore(const struct cfg_opt **opts, char (*old)[CONFIG_VALUE_MAX],
               int n)
{
    char err[256];
    for (int i = n - 1; i >= 0; i--) {
        cfg_set(opts[i], old[i], false, err, sizeof(err));
        config_apply(opts[i]);
    }
}

#define CONFIG_SET_MAX 32 /* options per CONFIG SET */

static void
config_set(struct conn *c, const struct cmd_req *r)
{
    if (r->argc % 2 != 0 || (r->argc - 2) / 2 > CONFIG_SET_MAX) {
        reply_error_arity(c, "config|set");
        return;
    }
    const struct cfg_opt *opts[CONFIG_SET_MAX];
    static char old[CONFIG_SET_MAX][CONFIG_VALUE_MAX];
    int n = 0;
    for (int i = 2; i < r->argc; i += 2, n++) {
        char name[64], val[CONFIG_VALUE_MAX], err[256];
        arg_cstr(&r->argv[i], name, sizeof(name));
        opts[n] = cfg_find(name);
        if (opts[n] == NULL || r->argv[i].len >= sizeof(name)) {
            config_restore(opts, old, n);
            reply_errorf(c,
                         "ERR Unknown option or number of arguments for "
                         "CONFIG SET - '%s'",
                         name);
            return;
        }
        for (int j = 0; j < n; j++) {
            if (opts[j] == opts[n]) {
                config_restore(opts, old, n);
                reply_errorf(c,
                             "ERR CONFIG SET failed (possibly related to "
                             "argument '%s') - duplicate parameter",
                             name);
                return;
            }
        }
        cfg_format(opts[n], old[n], sizeof(old[n]));
        arg_cstr(&r->argv[i + 1], val, sizeof(val));
        if (cfg_set(opts[n], val, true, err, sizeof(err)) != 0) {
            config_restore(opts, old, n);
            reply_errorf(c,
                         "ERR CONFIG SET failed (possibly related to "
                         "argument '%s') - %s",
                         name, err);
            return;
        }
        config_apply(opts[n]);
    }
    reply_ok(c);
}

static void
config_resetstat(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    cmd_info_resetstat();
    reply_ok(c);
}

static void
config_rewrite(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    if (cfg_file_path == NULL) {
        reply_error(c, "ERR The server is running without a config file");
    } else if (cfg_rewrite(cfg_file_path) != 0) {
        reply_errorf(c, "ERR Rewriting config file: %s", strerror(errno));
    } else {
        reply_ok(c);
    }
}

static void
config_help(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    static const char *const lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern> [<pattern> ...]",
        "    Return parameters matching the glob-like patterns and their "
        "values.",
        "SET <directive> <value> [<directive> <value> ...]",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Print this help."};
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

static const struct cmd_sub config_subs[] = {{"get", -3, config_get},
                                             {"set", -4, config_set},
                                             {"resetstat", 2, config_resetstat},
                                             {"rewrite", 2, config_rewrite},
                                             {"help", 2, config_help},
                                             {NULL, 0, NULL}};

void
cmd_config(struct conn *c, const struct cmd_req *r)
{
    cmd_sub_dispatch(c, r, "config", config_subs);
}

/* ---- keyspace-wide ---- */

void
cmd_dbsize(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    reply_int(c, (long long)engine_count());
}

static void
flush(struct conn *c, const struct cmd_req *r)
{
    if (r->argc > 2 || (r->argc == 2 && !cmd_arg_is(&r->argv[1], "async") &&
                        !cmd_arg_is(&r->argv[1], "sync"))) {
        reply_error_syntax(c);
        return;
    }
    cmd_all_keys_modified(r->now);
    engine_flush();
    reply_ok(c);
}

void
cmd_flushdb(struct conn *c, const struct cmd_req *r)
{
    flush(c, r);
}

void
cmd_flushall(struct conn *c, const struct cmd_req *r)
{
    flush(c, r);
}

void
cmd_time(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    uint64_t us = ev_wall_us();
    reply_array(c, 2);
    reply_bulk_ll(c, (long long)(us / 1000000));
    reply_bulk_ll(c, (long long)(us % 1000000));
}

/* ---- FUNCTION: offheapd runs no code, so there are never functions ---- */

static void
function_flush(struct conn *c, const struct cmd_req *r)
{
    if (r->argc > 3) {
        reply_error(c, "ERR unknown subcommand or wrong number of arguments "
                       "for 'flush'. Try FUNCTION HELP.");
    } else if (r->argc == 3 && !cmd_arg_is(&r->argv[2], "async") &&
               !cmd_arg_is(&r->argv[2], "sync")) {
        reply_error(c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    } else {
        reply_ok(c);
    }
}

static void
function_list(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    reply_array(c, 0);
}

static const struct cmd_sub function_subs[] = {{"flush", -2, function_flush},
                                               {"list", -2, function_list},
                                               {NULL, 0, NULL}};

void
cmd_function(struct conn *c, const struct cmd_req *r)
{
    cmd_sub_dispatch(c, r, "function", function_subs);
}

/* ---- DEBUG ---- */

#define DEBUG_SLEEP_MAX_S 60.0 /* longest DEBUG SLEEP */

static void
debug_sleep(struct conn *c, const struct cmd_req *r)
{
    long double secs;
    if (!cmd_arg_ld(&r->argv[2], &secs) || secs < 0 ||
        secs > DEBUG_SLEEP_MAX_S) {
        reply_error(c, "ERR invalid sleep time");
        return;
    }
    struct timespec ts = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9L)};
    nanosleep(&ts, NULL);
    reply_ok(c);
}

static void
debug_object(struct conn *c, const struct cmd_req *r)
{
    struct engine_item it;
    if (engine_peek(r->argv[2].p, r->argv[2].len, r->now, &it) != 1) {
        reply_error(c, "ERR no such key");
        return;
    }
    char buf[256];
    snprintf(buf, sizeof(buf),
             "Value at:0x%" PRIxPTR " refcount:1 encoding:raw "
             "serializedlength:%zu lru:0 lru_seconds_idle:0",
             (uintptr_t)it.val, it.vlen);
    engine_release(&it);
    reply_status(c, buf);
}

/* Parses DEBUG POPULATE's optional size: -1 when absent. */
static bool
populate_size(const struct cmd_req *r, long long *size)
{
    *size = -1;
    return r->argc < 5 || (cmd_arg_ll(&r->argv[4], size) && *size >= 0 &&
                           (unsigned long long)*size <= cfg.proto_max_bulk_len);
}

/* DEBUG POPULATE count [prefix] [size]: stores prefix:0 .. prefix:count-1
 * (prefix "key" by default) = "value:N", padded with zero bytes or cut to
 * `size` when given; keys that exist are left alone. For filling a server
 * to measure it; runs to the end in one go, as SET would count times. */
static void
debug_populate(struct conn *c, const struct cmd_req *r)
{
    long long count, size;
    if (r->argc > 5) {
        reply_error(c, "ERR wrong number of arguments for 'debug|populate' "
                       "command");
        return;
    }
    if (!cmd_arg_ll(&r->argv[2], &count) || count < 0 ||
        !populate_size(r, &size)) {
        reply_error(c, "ERR value is out of range, must be positive");
        return;
    }
    struct resp_str prefix = {"key", 3};
    if (r->argc >= 4) {
        prefix = r->argv[3];
    }
    size_t vcap = size >= 0 ? (size_t)size : 32;
    char *key = malloc(prefix.len + 24), *val = calloc(1, vcap + 32);
    int rc = key != NULL && val != NULL ? 0 : OH_NOMEM;
    if (rc == 0) {
        memcpy(key, prefix.p, prefix.len);
    }
    for (long long i = 0; i < count && rc >= 0; i++) {
        size_t klen =
            prefix.len + (size_t)snprintf(key + prefix.len, 24, ":%lld", i);
        size_t vlen = (size_t)snprintf(val, vcap + 32, "value:%lld", i);
        if (size >= 0) {
            memset(val + vlen, 0, vcap + 32 - vlen); /* pad with zeros */
            vlen = (size_t)size;
        }
        rc = engine_set(key, klen, val, vlen, OH_TIME_NONE, ENGINE_SET_NX,
                        r->now);
        if (rc == 1) {
            cmd_key_modified(key, klen);
        }
    }
    free(key);
    free(val);
    if (rc < 0) {
        reply_engine_error(c, rc);
        return;
    }
    reply_ok(c);
}

/* DEBUG SET-ACTIVE-EXPIRE 0|1: turns proactive expiry off or on again
 * (tests of lazy expiry; Redis's own suite uses it). */
static void
debug_set_active_expire(struct conn *c, const struct cmd_req *r)
{
    long long on;
    if (!cmd_arg_ll(&r->argv[2], &on) || (on != 0 && on != 1)) {
        reply_error(c, "ERR value is out of range, must be 0 or 1");
        return;
    }
    engine_set_active_expire(on == 1);
    reply_ok(c);
}

/* DEBUG PROTOCOL <type>: one reply of each RESP type, for checking how a
 * client parses them (Redis's own suite uses it). */
static void
protocol_aggregate(struct conn *c, char kind)
{
    if (kind == '%') {
        reply_map(c, 3);
    } else if (kind == '~') {
        reply_set(c, 3);
    } else {
        reply_array(c, 3);
    }
    for (long long i = 0; i < 3; i++) {
        reply_int(c, i);
        if (kind == '%') {
            reply_bool(c, i == 1);
        }
    }
}

static void
protocol_attrib(struct conn *c)
{
    if (c->resp == 3) {
        reply_attribute(c, 1);
        reply_bulk_cstr(c, "key-popularity");
        reply_array(c, 2);
        reply_bulk_cstr(c, "key:123");
        reply_int(c, 90);
    }
    reply_bulk_cstr(c, "Some real reply following the attribute");
}

static void
protocol_push(struct conn *c)
{
    if (c->resp != 3) {
        reply_error(c, "ERR RESP2 is not supported by this command");
        return;
    }
    reply_push(c, 2);
    reply_bulk_cstr(c, "server-cpu-usage");
    reply_int(c, 42);
    reply_bulk_cstr(c, "Some real reply following the push reply");
}

static void
debug_protocol(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *t = &r->argv[2];
    if (cmd_arg_is(t, "string")) {
        reply_bulk_cstr(c, "Hello World");
    } else if (cmd_arg_is(t, "integer")) {
        reply_int(c, 12345);
    } else if (cmd_arg_is(t, "double")) {
        reply_double(c, 3.141);
    } else if (cmd_arg_is(t, "bignum")) {
        reply_bignum(c, "1234567999999999999999999999999999999");
    } else if (cmd_arg_is(t, "null")) {
        reply_null(c);
    } else if (cmd_arg_is(t, "array")) {
        protocol_aggregate(c, '*');
    } else if (cmd_arg_is(t, "set")) {
        protocol_aggregate(c, '~');
    } else if (cmd_arg_is(t, "map")) {
        protocol_aggregate(c, '%');
    } else if (cmd_arg_is(t, "attrib")) {
        protocol_attrib(c);
    } else if (cmd_arg_is(t, "push")) {
        protocol_push(c);
    } else if (cmd_arg_is(t, "verbatim")) {
        const char *v = "This is a verbatim\nstring";
        reply_verbatim(c, v, strlen(v));
    } else if (cmd_arg_is(t, "true") || cmd_arg_is(t, "false")) {
        reply_bool(c, cmd_arg_is(t, "true"));
    } else {
        reply_error(c, "ERR Wrong protocol type name. Please use one of the "
                       "following: string|integer|double|bignum|null|array|"
                       "set|map|attrib|push|verbatim|true|false");
    }
}

static void
debug_help(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    reply_array(c, 11);
    reply_status(c, "DEBUG <subcommand> [<arg> ...]. Subcommands are:");
    reply_status(c, "SLEEP <seconds>");
    reply_status(c, "    Stop the server for <seconds> (decimals allowed).");
    reply_status(c, "OBJECT <key>");
    reply_status(c, "    Show low-level information about the key.");
    reply_status(c, "POPULATE <count> [<prefix>] [<size>]");
    reply_status(c, "    Create <count> string keys <prefix>:N (default "
                    "prefix 'key') with values 'value:N' (of <size> bytes).");
    reply_status(c, "PROTOCOL <type>");
    reply_status(c,
                 "    Reply with a test value of a RESP type: string, integer, "
                 "double, bignum, null, array, set, map, attrib, push, "
                 "verbatim, true, false.");
    reply_status(c, "SET-ACTIVE-EXPIRE <0|1>");
    reply_status(c, "    Turn proactive expiry off (keys then expire only when "
                    "accessed) or on.");
}

static const struct cmd_sub debug_subs[] = {
    {"sleep", 3, debug_sleep},
    {"object", 3, debug_object},
    {"populate", -3, debug_populate},
    {"protocol", 3, debug_protocol},
    {"set-active-expire", 3, debug_set_active_expire},
    {"help", 2, debug_help},
    {NULL, 0, NULL}};

void
cmd_debug(struct conn *c, const struct cmd_req *r)
{
    cmd_sub_dispatch(c, r, "debug", debug_subs);
}
