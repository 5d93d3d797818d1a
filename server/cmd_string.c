/*
 * cmd_string.c -- the string command handlers (GET, SET and friends,
 * APPEND, SETRANGE, the INCR family).
 *
 * Every handler answers exactly as Redis 7 does, errors included. Values
 * are binary. A value is read through a PINNED engine item, which stays
 * valid even if the key is overwritten or deleted meanwhile; so a
 * read-modify-write (APPEND, SETRANGE, INCR*) reads the pinned item, builds
 * the new value in a temporary buffer, stores it, then releases the pin,
 * and GETSET/SET GET/GETDEL can answer with the old item after the write.
 *
 * Expiry: SET, GETSET and MSET drop an existing TTL; APPEND, SETRANGE and
 * INCR* keep it (ENGINE_SET_KEEPTTL). Expiry arguments are converted to an
 * absolute time in milliseconds with every step checked for overflow: a
 * value that cannot be represented is "invalid expire time", never a
 * wrapped-around time. An absolute time already past stores nothing and
 * removes the key, which is what storing an already-expired value means.
 */
#include "cmd.h"
#include "config.h"
#include "engine/engine.h"
#include "reply.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Values up to this size are built on the stack. */
#define TMP_STACK_BYTES 256 /* bytes */

/* ---- helpers ---- */

/* A scratch buffer: on the stack when small, else malloc'ed. */
struct tmpbuf {
    char *p;
    char stack[TMP_STACK_BYTES];
};

/* Returns n bytes of scratch (OWNED by t: tmpbuf_deinit), or NULL. */
static char *
tmpbuf_init(struct tmpbuf *t, size_t n)
{
    t->p = n <= sizeof(t->stack) ? t->stack : malloc(n);
    return t->p;
}

static void
tmpbuf_deinit(struct tmpbuf *t)
{
    if (t->p != t->stack) {
        free(t->p);
    }
    t->p = NULL;
}

/* Checks that a string of `len + add` bytes is allowed (at most
 * proto-max-bulk-len, as Redis); answers if not. */
static bool
check_length(struct conn *c, uint64_t len, uint64_t add)
{
    uint64_t max = cfg.proto_max_bulk_len;

    if (add > max || len > max - add) {
        reply_error(c, "ERR string exceeds maximum allowed size "
                       "(proto-max-bulk-len)");
        return false;
    }
    return true;
}

/* Answers with a pinned item's value, or null when `found` is 0. */
static void
reply_found(struct conn *c, int found, struct engine_item *it)
{
    if (found) {
        reply_item_value(c, it);
    } else {
        reply_null(c);
    }
}

/* ---- expiry arguments ---- */

/* How an expiry argument reads. */
struct expire_unit {
    const char *word; /* option name, lower case */
    unsigned flag;    /* OPT_EX ... */
    bool seconds;     /* else milliseconds */
    bool relative;    /* else a Unix time */
};

/* Options of SET and GETEX. */
#define OPT_NX      0x001u
#define OPT_XX      0x002u
#define OPT_GET     0x004u
#define OPT_KEEPTTL 0x008u
#define OPT_PERSIST 0x010u
#define OPT_EX      0x020u
#define OPT_PX      0x040u
#define OPT_EXAT    0x080u
#define OPT_PXAT    0x100u
#define OPT_EXPIRE  (OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT)

static const struct expire_unit expire_units[] = {
    {"ex", OPT_EX, true, true},
    {"px", OPT_PX, false, true},
    {"exat", OPT_EXAT, true, false},
    {"pxat", OPT_PXAT, false, false},
};
#define N_EXPIRE_UNITS (sizeof(expire_units) / sizeof(expire_units[0]))

/* Converts expiry argument `a` to an absolute time in ms. Answers with an
 * error and returns false if it is not a positive integer or the time
 * cannot be represented. `cmd` names the command in the message. */
static bool
expire_at_arg(struct conn *c, const struct resp_str *a,
              const struct expire_unit *u, oh_time now, const char *cmd,
              oh_time *out)
{
    long long v;

    if (!cmd_arg_ll(a, &v)) {
        reply_error_notint(c);
        return false;
    }
    if (v <= 0 || !cmd_expiry_ms(v, u->seconds, u->relative, now, &v)) {
        reply_errorf(c, "ERR invalid expire time in '%s' command", cmd);
        return false;
    }
    *out = (oh_time)v;
    return true;
}

/* Returns the expiry unit named by `a`, or NULL. */
static const struct expire_unit *
expire_unit_of(const struct resp_str *a)
{
    for (size_t i = 0; i < N_EXPIRE_UNITS; i++) {
        if (cmd_arg_is(a, expire_units[i].word)) {
            return &expire_units[i];
        }
    }
    return NULL;
}

/* Parsed options of SET / GETEX. */
struct set_opts {
    unsigned flags;                 /* OPT_* */
    const struct expire_unit *unit; /* the expiry option given, or NULL */
    const struct resp_str *expire;  /* its argument */
};

/* Applies one option word at argv[j] (SET if is_set, else GETEX). Returns
 * how many arguments it used, or 0 if it is not valid here. */
static int
parse_set_opt(const struct cmd_req *r, int j, bool is_set, struct set_opts *o)
{
    const struct resp_str *a = &r->argv[j];
    const struct expire_unit *u;
    unsigned f = o->flags;

    if (is_set && cmd_arg_is(a, "nx") && !(f & OPT_XX)) {
        o->flags |= OPT_NX;
    } else if (is_set && cmd_arg_is(a, "xx") && !(f & OPT_NX)) {
        o->flags |= OPT_XX;
    } else if (is_set && cmd_arg_is(a, "get")) {
        o->flags |= OPT_GET;
    } else if (is_set && cmd_arg_is(a, "keepttl") &&
               !(f & (OPT_PERSIST | OPT_EXPIRE))) {
        o->flags |= OPT_KEEPTTL;
    } else if (!is_set && cmd_arg_is(a, "persist") &&
               !(f & (OPT_KEEPTTL | OPT_EXPIRE))) {
        o->flags |= OPT_PERSIST;
    } else if ((u = expire_unit_of(a)) != NULL && j + 1 < r->argc &&
               !(f & (OPT_KEEPTTL | OPT_PERSIST | (OPT_EXPIRE & ~u->flag)))) {
        o->flags |= u->flag;
        o->unit = u;
        o->expire = &r->argv[j + 1];
        return 2;
    } else {
        return 0;
    }
    return 1;
}

/* Parses the options from argv[first]; answers "syntax error" if bad. */
static bool
parse_set_opts(struct conn *c, const struct cmd_req *r, int first, bool is_set,
               struct set_opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int j = first; j < r->argc;) {
        int used = parse_set_opt(r, j, is_set, o);
        if (used == 0) {
            reply_error_syntax(c);
            return false;
        }
        j += used;
    }
    return true;
}

/* ---- GET SET SETNX SETEX PSETEX GETEX GETDEL GETSET ---- */

void
cmd_get(struct conn *c, const struct cmd_req *r)
{
    struct engine_item it;
    int found = engine_get(r->argv[1].p, r->argv[1].len, r->now, &it);

    reply_found(c, found, &it);
}

/* How set_generic() answers a successful store (a refused one is a null
 * bulk for SET, 0 for SETNX). */
enum set_reply { SET_REPLY_OK, SET_REPLY_INT };

/* Stores an already expired value: removes the key unless NX/XX forbid.
 * Returns 1 if "stored", 0 if NX/XX prevented it. */
static int
set_expired(const struct resp_str *key, unsigned opt, oh_time now)
{
    struct engine_item it;
    int exists = engine_peek(key->p, key->len, now, &it);

    if (exists) {
        engine_release(&it);
    }
    if (((opt & OPT_NX) && exists) || ((opt & OPT_XX) && !exists)) {
        return 0;
    }
    if (exists) {
        engine_del(key->p, key->len, now);
    }
    return 1;
}

/* Stores key = val under the OPT_* options `opt` with absolute expiry
 * expire_at (OH_TIME_NONE if none) and answers as `how` says (with
 * OPT_GET: the old value, or null). */
static void
set_generic(struct conn *c, const struct cmd_req *r, const struct resp_str *key,
            const struct resp_str *val, unsigned opt, oh_time expire_at,
            enum set_reply how)
{
    struct engine_item old;
    int had_old = 0, rc;
    unsigned ef = ((opt & OPT_NX) ? ENGINE_SET_NX : 0) |
                  ((opt & OPT_XX) ? ENGINE_SET_XX : 0) |
                  ((opt & OPT_KEEPTTL) ? ENGINE_SET_KEEPTTL : 0);

    if (opt & OPT_GET) {
        had_old = engine_get(key->p, key->len, r->now, &old);
    }
    if (expire_at != OH_TIME_NONE && expire_at <= r->now) {
        rc = set_expired(key, opt, r->now);
    } else {
        rc = engine_set(key->p, key->len, val->p, val->len, expire_at, ef,
                        r->now);
    }
    if (rc < 0) {
        if (had_old) {
            engine_release(&old);
        }
        reply_engine_error(c, rc);
        return;
    }
    if (rc > 0) {
        cmd_key_modified(key->p, key->len);
    }
    if (opt & OPT_GET) {
        reply_found(c, had_old, &old);
    } else if (how == SET_REPLY_INT) {
        reply_int(c, rc);
    } else if (rc > 0) {
        reply_ok(c);
    } else {
        reply_null(c);
    }
}

void
cmd_set(struct conn *c, const struct cmd_req *r)
{
    struct set_opts o;
    oh_time at = OH_TIME_NONE;

    if (!parse_set_opts(c, r, 3, true, &o)) {
        return;
    }
    if (o.unit != NULL &&
        !expire_at_arg(c, o.expire, o.unit, r->now, "set", &at)) {
        return;
    }
    set_generic(c, r, &r->argv[1], &r->argv[2], o.flags, at, SET_REPLY_OK);
}

void
cmd_setnx(struct conn *c, const struct cmd_req *r)
{
    set_generic(c, r, &r->argv[1], &r->argv[2], OPT_NX, OH_TIME_NONE,
                SET_REPLY_INT);
}

/* SETEX / PSETEX key ttl value */
static void
setex_generic(struct conn *c, const struct cmd_req *r,
              const struct expire_unit *u, const char *cmd)
{
    oh_time at;

    if (!expire_at_arg(c, &r->argv[2], u, r->now, cmd, &at)) {
        return;
    }
    set_generic(c, r, &r->argv[1], &r->argv[3], 0, at, SET_REPLY_OK);
}

void
cmd_setex(struct conn *c, const struct cmd_req *r)
{
    setex_generic(c, r, &expire_units[0], "setex");
}

void
cmd_psetex(struct conn *c, const struct cmd_req *r)
{
    setex_generic(c, r, &expire_units[1], "psetex");
}

void
cmd_getex(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *key = &r->argv[1];
    struct engine_item it;
    struct set_opts o;
    oh_time at = OH_TIME_NONE;

    if (!parse_set_opts(c, r, 2, false, &o)) {
        return;
    }
    if (!engine_get(key->p, key->len, r->now, &it)) {
        reply_null(c);
        return;
    }
    if (o.unit != NULL &&
        !expire_at_arg(c, o.expire, o.unit, r->now, "getex", &at)) {
        engine_release(&it);
        return;
    }
    if (o.unit != NULL) {
        /* an absolute time already past deletes the key */
        engine_expire(key->p, key->len, at, r->now);
        cmd_key_modified(key->p, key->len);
    } else if ((o.flags & OPT_PERSIST) && it.expire_at != OH_TIME_NONE) {
        engine_expire(key->p, key->len, OH_TIME_NONE, r->now);
        cmd_key_modified(key->p, key->len);
    }
    reply_item_value(c, &it);
}

void
cmd_getdel(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *key = &r->argv[1];
    struct engine_item it;

    if (!engine_get(key->p, key->len, r->now, &it)) {
        reply_null(c);
        return;
    }
    engine_del(key->p, key->len, r->now);
    cmd_key_modified(key->p, key->len);
    reply_item_value(c, &it);
}

void
cmd_getset(struct conn *c, const struct cmd_req *r)
{
    set_generic(c, r, &r->argv[1], &r->argv[2], OPT_GET, OH_TIME_NONE,
                SET_REPLY_OK);
}

/* ---- MGET MSET MSETNX ---- */

void
cmd_mget(struct conn *c, const struct cmd_req *r)
{
    reply_array(c, (size_t)(r->argc - 1));
    for (int j = 1; j < r->argc; j++) {
        struct engine_item it;
        int found = engine_get(r->argv[j].p, r->argv[j].len, r->now, &it);
        reply_found(c, found, &it);
    }
}

/* Stores every key/value pair of argv[1..]; answers and returns false on
 * the first failure (the pairs before it stay stored). */
static bool
mset_all(struct conn *c, const struct cmd_req *r)
{
    for (int j = 1; j + 1 < r->argc; j += 2) {
        const struct resp_str *k = &r->argv[j], *v = &r->argv[j + 1];
        int rc =
            engine_set(k->p, k->len, v->p, v->len, OH_TIME_NONE, 0, r->now);
        if (rc < 0) {
            reply_engine_error(c, rc);
            return false;
        }
        cmd_key_modified(k->p, k->len);
    }
    return true;
}

void
cmd_mset(struct conn *c, const struct cmd_req *r)
{
    if (r->argc % 2 == 0) {
        reply_error_arity(c, "mset");
        return;
    }
    if (mset_all(c, r)) {
        reply_ok(c);
    }
}

void
cmd_msetnx(struct conn *c, const struct cmd_req *r)
{
    if (r->argc % 2 == 0) {
        reply_error_arity(c, "msetnx");
        return;
    }
    for (int j = 1; j < r->argc; j += 2) {
        struct engine_item it;
        if (engine_peek(r->argv[j].p, r->argv[j].len, r->now, &it)) {
            engine_release(&it);
            reply_int(c, 0);
            return;
        }
    }
    if (mset_all(c, r)) {
        reply_int(c, 1);
    }
}

/* ---- APPEND STRLEN GETRANGE SETRANGE ---- */

/* Stores argv[1] = buf[0..len), keeping the TTL if `keep` (the key
 * exists) or with none, and answers with len. */
static void
store_len(struct conn *c, const struct cmd_req *r, const char *buf, size_t len,
          bool keep)
{
    const struct resp_str *key = &r->argv[1];
    int rc = engine_set(key->p, key->len, buf, len, OH_TIME_NONE,
                        keep ? ENGINE_SET_KEEPTTL : 0, r->now);

    if (rc < 0) {
        reply_engine_error(c, rc);
        return;
    }
    cmd_key_modified(key->p, key->len);
    reply_int(c, (long long)len);
}

/* Builds the value of `old` (NULL: missing key, empty) with add written
 * at offset `off` (zero bytes fill any gap) and stores it, keeping the
 * TTL; answers with the new length. The caller has checked off + add->len
 * with check_length(). */
static void
splice_store(struct conn *c, const struct cmd_req *r,
             const struct engine_item *old, size_t off,
             const struct resp_str *add)
{
    size_t olen = old != NULL ? old->vlen : 0;
    size_t len = off + add->len > olen ? off + add->len : olen;
    struct tmpbuf t;
    char *buf = tmpbuf_init(&t, len > 0 ? len : 1);

    if (buf == NULL) {
        reply_error_oom(c);
        return;
    }
    if (olen > 0) {
        memcpy(buf, old->val, olen);
    }
    if (off > olen) {
        memset(buf + olen, 0, off - olen);
    }
    if (add->len > 0) {
        memcpy(buf + off, add->p, add->len);
    }
    store_len(c, r, buf, len, old != NULL);
    tmpbuf_deinit(&t);
}

void
cmd_append(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *key = &r->argv[1], *add = &r->argv[2];
    struct engine_item it;

    if (!engine_get(key->p, key->len, r->now, &it)) {
        store_len(c, r, add->p, add->len, false);
        return;
    }
    if (check_length(c, it.vlen, add->len)) {
        splice_store(c, r, &it, it.vlen, add);
    }
    engine_release(&it);
}

void
cmd_strlen(struct conn *c, const struct cmd_req *r)
{
    struct engine_item it;

    if (!engine_get(r->argv[1].p, r->argv[1].len, r->now, &it)) {
        reply_int(c, 0);
        return;
    }
    reply_int(c, (long long)it.vlen);
    engine_release(&it);
}

/* Clamps [start, end] (negative: from the end) to a string of len bytes.
 * Returns false if the range is empty. */
static bool
clamp_range(long long start, long long end, size_t len, size_t *from, size_t *n)
{
    long long slen = (long long)len;

    if ((start < 0 && end < 0 && start > end) || len == 0) {
        return false;
    }
    start = start < 0 ? (start < -slen ? 0 : slen + start) : start;
    end = end < 0 ? (end < -slen ? 0 : slen + end) : end;
    if (end >= slen) {
        end = slen - 1;
    }
    if (start > end) {
        return false;
    }
    *from = (size_t)start;
    *n = (size_t)(end - start + 1);
    return true;
}

void
cmd_getrange(struct conn *c, const struct cmd_req *r)
{
    struct engine_item it;
    long long start, end;
    size_t from, n;

    if (!cmd_arg_ll(&r->argv[2], &start) || !cmd_arg_ll(&r->argv[3], &end)) {
        reply_error_notint(c);
        return;
    }
    if (!engine_get(r->argv[1].p, r->argv[1].len, r->now, &it)) {
        reply_bulk(c, "", 0);
        return;
    }
    if (clamp_range(start, end, it.vlen, &from, &n)) {
        reply_bulk(c, it.val + from, n);
    } else {
        reply_bulk(c, "", 0);
    }
    engine_release(&it);
}

void
cmd_setrange(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *key = &r->argv[1], *add = &r->argv[3];
    struct engine_item it;
    long long off;

    if (!cmd_arg_ll(&r->argv[2], &off)) {
        reply_error_notint(c);
        return;
    }
    if (off < 0) {
        reply_error(c, "ERR offset is out of range");
        return;
    }
    if (!engine_get(key->p, key->len, r->now, &it)) {
        /* writing nothing to a missing key creates nothing */
        if (add->len == 0) {
            reply_int(c, 0);
        } else if (check_length(c, (uint64_t)off, add->len)) {
            splice_store(c, r, NULL, (size_t)off, add);
        }
        return;
    }
    if (add->len == 0) {
        reply_int(c, (long long)it.vlen);
    } else if (check_length(c, (uint64_t)off, add->len)) {
        splice_store(c, r, &it, (size_t)off, add);
    }
    engine_release(&it);
}

/* ---- INCR DECR INCRBY DECRBY INCRBYFLOAT ---- */

/* Adds `incr` to the integer at argv[1] (0 if missing), keeping its TTL,
 * and answers with the new value. */
static void
incr_generic(struct conn *c, const struct cmd_req *r, long long incr)
{
    const struct resp_str *key = &r->argv[1];
    struct engine_item it;
    char buf[32];
    long long v = 0;
    int found = engine_get(key->p, key->len, r->now, &it);

    if (found && !resp_str2ll(it.val, it.vlen, &v)) {
        engine_release(&it);
        reply_error_notint(c);
        return;
    }
    if (found) {
        engine_release(&it);
    }
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
        (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
        reply_error(c, "ERR increment or decrement would overflow");
        return;
    }
    v += incr;
    size_t len = resp_fmt_ll(buf, v);
    int rc = engine_set(key->p, key->len, buf, len, OH_TIME_NONE,
                        found ? ENGINE_SET_KEEPTTL : 0, r->now);
    if (rc < 0) {
        reply_engine_error(c, rc);
        return;
    }
    cmd_key_modified(key->p, key->len);
    reply_int(c, v);
}

void
cmd_incr(struct conn *c, const struct cmd_req *r)
{
    incr_generic(c, r, 1);
}

void
cmd_decr(struct conn *c, const struct cmd_req *r)
{
    incr_generic(c, r, -1);
}

void
cmd_incrby(struct conn *c, const struct cmd_req *r)
{
    long long incr;

    if (!cmd_arg_ll(&r->argv[2], &incr)) {
        reply_error_notint(c);
        return;
    }
    incr_generic(c, r, incr);
}

void
cmd_decrby(struct conn *c, const struct cmd_req *r)
{
    long long decr;

    if (!cmd_arg_ll(&r->argv[2], &decr)) {
        reply_error_notint(c);
        return;
    }
    if (decr == LLONG_MIN) {
        reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, r, -decr);
}

/* Reads the float at argv[1] (0 if missing; *found tells) plus argv[2]
 * into *sum; answers and returns false if either is not a valid float. */
static bool
incrbyfloat_sum(struct conn *c, const struct cmd_req *r, long double *sum,
                bool *found)
{
    struct engine_item it;
    long double v = 0, incr;
    bool ok = true;

    *found = engine_get(r->argv[1].p, r->argv[1].len, r->now, &it) == 1;
    if (*found) {
        ok = util_str2ld(it.val, it.vlen, &v);
        engine_release(&it);
    }
    if (!ok || !cmd_arg_ld(&r->argv[2], &incr)) {
        reply_error(c, "ERR value is not a valid float");
        return false;
    }
    *sum = v + incr;
    return true;
}

void
cmd_incrbyfloat(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *key = &r->argv[1];
    char buf[UTIL_LD_MAX];
    long double v;
    size_t len;
    bool found;
    int rc;

    if (!incrbyfloat_sum(c, r, &v, &found)) {
        return;
    }
    len = util_ld2str(buf, sizeof(buf), v);
    if (len == 0) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    rc = engine_set(key->p, key->len, buf, len, OH_TIME_NONE,
                    found ? ENGINE_SET_KEEPTTL : 0, r->now);
    if (rc < 0) {
        reply_engine_error(c, rc);
        return;
    }
    cmd_key_modified(key->p, key->len);
    reply_bulk(c, buf, len);
}

/* ---- LCS ---- */

/* One common run found by LCS IDX: a[astart..aend] == b[bstart..bend]. */
struct lcs_range {
    uint32_t astart, aend, bstart, bend;
};

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest
 * common subsequence, by the quadratic dynamic programme (as Redis, whose
 * replies, including the order and the boundaries of IDX's ranges, this
 * reproduces). Missing keys are empty strings. */
void
cmd_lcs(struct conn *c, const struct cmd_req *r)
{
    struct engine_item ia, ib;
    bool getlen = false, getidx = false, withmatchlen = false;
    long long minmatchlen = 0;

    for (int j = 3; j < r->argc; j++) {
        if (cmd_arg_is(&r->argv[j], "idx")) {
            getidx = true;
        } else if (cmd_arg_is(&r->argv[j], "len")) {
            getlen = true;
        } else if (cmd_arg_is(&r->argv[j], "withmatchlen")) {
            withmatchlen = true;
        } else if (cmd_arg_is(&r->argv[j], "minmatchlen") && j + 1 < r->argc) {
            if (!cmd_arg_ll(&r->argv[j + 1], &minmatchlen)) {
                reply_error_notint(c);
                return;
            }
            if (minmatchlen < 0) {
                minmatchlen = 0;
            }
            j++;
        } else {
            reply_error_syntax(c);
            return;
        }
    }
    if (getlen && getidx) {
        reply_error(c, "ERR If you want both the length and indexes, please "
                       "just use IDX.");
        return;
    }
    int fa = engine_get(r->argv[1].p, r->argv[1].len, r->now, &ia);
    int fb = engine_get(r->argv[2].p, r->argv[2].len, r->now, &ib);
    const char *a = fa ? ia.val : "", *b = fb ? ib.val : "";
    size_t alen0 = fa ? ia.vlen : 0, blen0 = fb ? ib.vlen : 0;
    uint32_t *tab = NULL;
    char *result = NULL;
    struct lcs_range *ranges = NULL;

    if (alen0 >= UINT32_MAX - 1 || blen0 >= UINT32_MAX - 1) {
        reply_error(c, "ERR String too long for LCS");
        goto done;
    }
    uint32_t alen = (uint32_t)alen0, blen = (uint32_t)blen0;
    uint64_t cells = (uint64_t)(alen + 1) * (blen + 1);
    if (cells > UINT64_MAX / sizeof(uint32_t) ||
        cells * sizeof(uint32_t) > cfg.proto_max_bulk_len) {
        reply_error(c, "ERR Insufficient memory, transient memory for LCS "
                       "exceeds proto-max-bulk-len");
        goto done;
    }
    tab = malloc((size_t)cells * sizeof(uint32_t));
    if (tab == NULL) {
        reply_error(c, "ERR Insufficient memory, failed allocating transient "
                       "memory for LCS");
        goto done;
    }
#define T(i, j) tab[(size_t)(i) * (blen + 1) + (j)]
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0) {
                T(i, j) = 0;
            } else if (a[i - 1] == b[j - 1]) {
                T(i, j) = T(i - 1, j - 1) + 1;
            } else {
                uint32_t up = T(i - 1, j), left = T(i, j - 1);
                T(i, j) = up > left ? up : left;
            }
        }
    }
    uint32_t total = T(alen, blen);
    if (getlen) {
        reply_int(c, total);
        goto done;
    }
    /* Walk back from the end, building the subsequence and the runs. */
    result = malloc(total + 1);
    ranges = malloc(sizeof(*ranges) * ((size_t)total + 1));
    if (result == NULL || ranges == NULL) {
        reply_error_oom(c);
        goto done;
    }
    size_t nranges = 0;
    uint32_t idx = total, i = alen, j = blen;
    bool open = false; /* a run is being tracked in cur */
    struct lcs_range cur = {0, 0, 0, 0};
    while (i > 0 && j > 0) {
        bool emit = false;
        if (a[i - 1] == b[j - 1]) {
            result[idx - 1] = a[i - 1];
            if (!open) {
                cur.astart = cur.aend = i - 1;
                cur.bstart = cur.bend = j - 1;
                open = true;
            } else if (cur.astart == i && cur.bstart == j) {
                /* contiguous: extend the run backwards */
                cur.astart--;
                cur.bstart--;
            } else {
                emit = true;
            }
            if (cur.astart == 0 || cur.bstart == 0) {
                emit = true;
            }
            idx--;
            i--;
            j--;
        } else {
            if (T(i - 1, j) > T(i, j - 1)) {
                i--;
            } else {
                j--;
            }
            emit = open;
        }
        if (emit) {
            uint32_t mlen = cur.aend - cur.astart + 1;
            if (minmatchlen == 0 || mlen >= (unsigned long long)minmatchlen) {
                ranges[nranges++] = cur;
            }
            open = false;
        }
    }
#undef T
    if (!getidx) {
        reply_bulk(c, result, total);
        goto done;
    }
    reply_map(c, 2);
    reply_bulk_cstr(c, "matches");
    reply_array(c, nranges);
    for (size_t k = 0; k < nranges; k++) {
        reply_array(c, withmatchlen ? 3 : 2);
        reply_array(c, 2);
        reply_int(c, ranges[k].astart);
        reply_int(c, ranges[k].aend);
        reply_array(c, 2);
        reply_int(c, ranges[k].bstart);
        reply_int(c, ranges[k].bend);
        if (withmatchlen) {
            reply_int(c, ranges[k].aend - ranges[k].astart + 1);
        }
    }
    reply_bulk_cstr(c, "len");
    reply_int(c, total);
done:
    free(tab);
    free(result);
    free(ranges);
    if (fa) {
        engine_release(&ia);
    }
    if (fb) {
        engine_release(&ib);
    }
}
